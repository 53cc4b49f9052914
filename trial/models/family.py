from django.conf import settings
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from trial.crypto import EncryptedDateField, EncryptedTextField


class IdentifierCounter(models.Model):
    """The last sequence number used per site for each kind of identifier; taken under a
    row lock, so numbers are never reused or skipped."""

    site = models.ForeignKey("sites.Site", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=20)
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["site", "kind"], name="one_counter")]

    def __str__(self) -> str:
        return f"{self.site_id} {self.kind} {self.last}"


class Family(models.Model):
    """The unit of randomisation: one or two parents and the index child."""

    trial = models.ForeignKey("trial.Trial", on_delete=models.PROTECT, related_name="families")
    site = models.ForeignKey("sites.Site", on_delete=models.PROTECT, related_name="families")
    identifier = models.CharField(max_length=32, unique=True)
    sequence = models.PositiveIntegerField()
    screening = models.OneToOneField(
        "trial.ScreeningRecord", on_delete=models.PROTECT, related_name="family"
    )
    legal_status = models.CharField(max_length=40)
    enrolled_on = models.DateField()
    enrolled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["site__code", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["site", "sequence"], name="family_sequence_in_site"),
        ]

    def __str__(self) -> str:
        return self.identifier


class Participant(models.Model):
    """A member of a family: the index child, or a parent. No identifying data here."""

    class Role(models.TextChoices):
        CHILD = "child", "Index child"
        PARENT = "parent", "Parent"

    family = models.ForeignKey(Family, on_delete=models.PROTECT, related_name="participants")
    role = models.CharField(max_length=10, choices=Role.choices)
    number = models.PositiveSmallIntegerField(help_text="parent 1 or 2; 1 for the child")
    relationship = models.CharField(max_length=40, blank=True, help_text="to the child")
    parental_responsibility = models.BooleanField(default=False)
    age_at_enrolment_years = models.PositiveSmallIntegerField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["family", "role", "number"]
        constraints = [
            models.UniqueConstraint(fields=["family", "role", "number"], name="one_per_place"),
            models.CheckConstraint(
                condition=Q(role="child", number=1) | Q(role="parent", number__in=[1, 2]),
                name="one_child_two_parents",
            ),
        ]

    def __str__(self) -> str:
        label = "child" if self.role == self.Role.CHILD else f"parent {self.number}"
        return f"{self.family.identifier} {label}"


class PersonIdentity(models.Model):
    """Who a participant is. Every value encrypted at rest; shown only to coordinators of
    the family's site, each view recorded; never exported."""

    participant = models.OneToOneField(
        Participant, on_delete=models.PROTECT, related_name="identity"
    )
    given_name = EncryptedTextField()
    family_name = EncryptedTextField()
    date_of_birth = EncryptedDateField(blank=True, null=True)
    expected_due_date = EncryptedDateField(blank=True, null=True)
    nhs_number = EncryptedTextField(blank=True)
    history = HistoricalRecords()

    def __str__(self) -> str:
        return f"identity of {self.participant}"


class FamilyIdentity(models.Model):
    """Where the family lives and who their social worker is. Encrypted like PersonIdentity."""

    family = models.OneToOneField(Family, on_delete=models.PROTECT, related_name="identity")
    address = EncryptedTextField()
    phone = EncryptedTextField(blank=True)
    social_worker_name = EncryptedTextField(blank=True)
    social_worker_contact = EncryptedTextField(blank=True)
    history = HistoricalRecords()

    def __str__(self) -> str:
        return f"contact details of {self.family}"
