from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import models
from django.db.models import F, Q
from simple_history import register
from simple_history.models import HistoricalRecords

from core.roles import DELEGABLE_DUTIES, SITE_ROLES, TRIAL_WIDE_ROLES, Duty, Role


class SiteStatus(models.TextChoices):
    PROPOSED = "proposed", "Proposed"
    APPROVED = "approved", "Approved"
    ACTIVE = "active", "Active (may recruit)"
    CLOSED_TO_RECRUITMENT = "closed_to_recruitment", "Closed to recruitment"
    CLOSED = "closed", "Closed"


class Site(models.Model):
    trial = models.ForeignKey("trial.Trial", on_delete=models.PROTECT, related_name="sites")
    code = models.CharField(
        max_length=3, help_text="Three capital letters, used in trial identifiers"
    )
    name = models.CharField(max_length=200)
    nhs_trust = models.CharField("NHS trust", max_length=200)
    local_authority = models.CharField(max_length=200)
    principal_investigator = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    recruitment_target = models.PositiveIntegerField()
    status = models.CharField(
        max_length=24, choices=SiteStatus.choices, default=SiteStatus.PROPOSED
    )
    ethics_approval_date = models.DateField(null=True, blank=True)
    rnd_approval_date = models.DateField("R&D approval date", null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["trial", "code"], name="site_code_unique_in_trial"),
            models.CheckConstraint(
                condition=Q(code__regex=r"^[A-Z]{3}$"), name="site_code_three_caps"
            ),
            models.CheckConstraint(
                condition=Q(status=SiteStatus.PROPOSED)
                | Q(ethics_approval_date__isnull=False, rnd_approval_date__isnull=False),
                name="site_approved_has_approval_dates",
            ),
            models.CheckConstraint(
                condition=Q(status__in=[SiteStatus.PROPOSED, SiteStatus.APPROVED])
                | Q(principal_investigator__isnull=False),
                name="site_active_has_pi",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} · {self.name}"

    @property
    def can_recruit(self) -> bool:
        return self.status == SiteStatus.ACTIVE


class SiteStatusStep(models.Model):
    """One dated step of a site's life; the list of them is the site's history of status."""

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="status_steps")
    from_status = models.CharField(max_length=24, choices=SiteStatus.choices)
    to_status = models.CharField(max_length=24, choices=SiteStatus.choices)
    effective_date = models.DateField()
    note = models.TextField(blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["site", "recorded_at", "id"]

    def __str__(self) -> str:
        return f"{self.site.code}: {self.from_status} → {self.to_status} on {self.effective_date}"


class Membership(models.Model):
    """A user's role at one site, or across the trial for the trial-wide roles."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="memberships"
    )
    trial = models.ForeignKey("trial.Trial", on_delete=models.PROTECT, related_name="memberships")
    site = models.ForeignKey(
        Site, null=True, blank=True, on_delete=models.PROTECT, related_name="memberships"
    )
    role = models.CharField(max_length=32, choices=Role.choices)
    starts_on = models.DateField()
    ends_on = models.DateField(null=True, blank=True)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["trial", "site__code", "role", "user__username"]
        constraints = [
            models.CheckConstraint(
                condition=Q(role__in=sorted(SITE_ROLES), site__isnull=False)
                | Q(role__in=sorted(TRIAL_WIDE_ROLES), site__isnull=True),
                name="membership_scope_fits_role",
            ),
            models.CheckConstraint(
                condition=Q(ends_on__isnull=True) | Q(ends_on__gte=F("starts_on")),
                name="membership_ends_after_start",
            ),
            # One open membership per user, role and place; ended ones stay as the record.
            models.UniqueConstraint(
                fields=["user", "site", "role"],
                condition=Q(ends_on__isnull=True, site__isnull=False),
                name="membership_one_open_per_site_role",
            ),
            models.UniqueConstraint(
                fields=["user", "trial", "role"],
                condition=Q(ends_on__isnull=True, site__isnull=True),
                name="membership_one_open_trial_wide_role",
            ),
        ]

    def __str__(self) -> str:
        place = self.site.code if self.site_id else "all sites"
        return f"{self.user} · {self.get_role_display()} · {place}"

    @property
    def delegable_duties(self) -> frozenset[str]:
        return DELEGABLE_DUTIES[self.role]

    def is_open_on(self, day) -> bool:
        return self.starts_on <= day and (self.ends_on is None or self.ends_on >= day)


class Delegation(models.Model):
    """A line of the site's delegation log: a duty delegated to a membership, with dates."""

    membership = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="delegations")
    duty = models.CharField(max_length=20, choices=Duty.choices)
    starts_on = models.DateField()
    ends_on = models.DateField(null=True, blank=True)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["membership", "duty", "starts_on"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__isnull=True) | Q(ends_on__gte=F("starts_on")),
                name="delegation_ends_after_start",
            ),
            models.UniqueConstraint(
                fields=["membership", "duty"],
                condition=Q(ends_on__isnull=True),
                name="delegation_one_open_per_duty",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.membership} · {self.get_duty_display()}"

    def is_open_on(self, day) -> bool:
        return self.starts_on <= day and (self.ends_on is None or self.ends_on >= day)


class Notification(models.Model):
    """An email the system sent, kept so that who was told what, and when, can be shown.
    `key` names what it is about (the allocation, the event, the day's reminder): one row per
    key and recipient, so a task that runs again finds the emails it recorded."""

    key = models.CharField(max_length=200)
    recipient = models.EmailField()
    subject = models.TextField()
    body = models.TextField()
    site = models.ForeignKey(
        Site, null=True, on_delete=models.PROTECT, related_name="notifications"
    )
    # Recorded (with its ledger event) when the change that causes it commits ...
    sent_at = models.DateTimeField(auto_now_add=True)
    # ... and handed to the mail server at this time; null until then.
    delivered_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-sent_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["key", "recipient"], name="notification_once_per_key_and_recipient"
            )
        ]

    def __str__(self) -> str:
        return f"{self.subject} → {self.recipient}"


# Accounts are trial records too: who held which account, and what changed in it. Never the
# password hash (a copy of every old hash would outlive each change) nor the time of the last
# sign-in (every sign-in is in the ledger already).
register(
    get_user_model(),
    app="sites",
    table_name="sites_historicaluser",
    excluded_fields=["password", "last_login"],
)
