from django.conf import settings
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from trial.crypto import EncryptedTextField


class Mode(models.TextChoices):
    TEST = "test", "Test (dummy list)"
    LIVE = "live", "Live"


class RandomisationList(models.Model):
    """A generated allocation list: the source of truth. Its seed is kept encrypted and is
    readable by no role; sealing records the list's and the seed's digests in the ledger."""

    trial = models.ForeignKey("trial.Trial", on_delete=models.PROTECT, related_name="+")
    mode = models.CharField(max_length=4, choices=Mode.choices)
    site = models.ForeignKey(
        "sites.Site",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="set when generated for one site",
    )
    method = models.CharField(max_length=20)
    algorithm_version = models.CharField(max_length=20)
    arms = models.JSONField()
    ratio = models.JSONField()
    block_sizes = models.JSONField()
    parameters = models.JSONField(
        default=dict,
        blank=True,
        help_text="minimisation: factors, weights, imbalance measure and p, as sealed",
    )
    used = models.PositiveIntegerField(default=0, help_text="minimisation: allocations so far")
    running = models.JSONField(
        default=dict,
        blank=True,
        help_text="minimisation: allocations by factor, level and arm so far",
    )
    seed = EncryptedTextField()
    seed_sha256 = models.CharField(max_length=64)
    list_sha256 = models.CharField(max_length=64)
    generated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    generated_at = models.DateTimeField(auto_now_add=True)
    sealed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    sealed_at = models.DateTimeField(null=True, blank=True)
    # The seed is secret; the running totals are a cache of the allocations (the verifier
    # recomputes them), kept out of the history that every allocation would otherwise add to.
    history = HistoricalRecords(excluded_fields=["seed", "used", "running"])

    class Meta:
        ordering = ["trial", "mode", "generated_at"]
        constraints = [
            # Minimisation has one seed per trial and mode: a second would never be used.
            models.UniqueConstraint(
                fields=["trial", "mode"],
                condition=Q(method="minimisation"),
                name="one_minimisation_seed_per_trial_and_mode",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_mode_display()} list #{self.pk}"

    @property
    def sealed(self) -> bool:
        return self.sealed_at is not None


class Stratum(models.Model):
    """One combination of factor levels, with its own stretch of the list."""

    rlist = models.ForeignKey(RandomisationList, on_delete=models.PROTECT, related_name="strata")
    trial = models.ForeignKey("trial.Trial", on_delete=models.PROTECT, related_name="+")
    mode = models.CharField(max_length=4, choices=Mode.choices)
    key = models.CharField(max_length=200, help_text="e.g. site=BUC|legal_status=cp_plan|...")
    levels = models.JSONField()
    length = models.PositiveIntegerField()
    used = models.PositiveIntegerField(default=0, help_text="slots allocated so far, in order")

    class Meta:
        ordering = ["key"]
        constraints = [
            models.UniqueConstraint(fields=["trial", "mode", "key"], name="one_list_per_stratum"),
            models.CheckConstraint(
                condition=models.Q(used__lte=models.F("length")), name="stratum_used_within_length"
            ),
        ]

    def __str__(self) -> str:
        return self.key


class Slot(models.Model):
    stratum = models.ForeignKey(Stratum, on_delete=models.PROTECT, related_name="slots")
    position = models.PositiveIntegerField()
    arm = models.CharField(max_length=40)
    block = models.PositiveIntegerField()
    block_size = models.PositiveIntegerField()

    class Meta:
        ordering = ["stratum", "position"]
        constraints = [
            models.UniqueConstraint(fields=["stratum", "position"], name="slot_position")
        ]

    def __str__(self) -> str:
        return f"{self.stratum_id}#{self.position}"


class Allocation(models.Model):
    """A family's arm: from the next unused slot of its stratum (permuted blocks), or
    decided by minimisation (with its step recorded). Never edited or deleted."""

    family = models.ForeignKey("trial.Family", on_delete=models.PROTECT, related_name="allocations")
    mode = models.CharField(max_length=4, choices=Mode.choices)
    slot = models.OneToOneField(
        Slot, null=True, blank=True, on_delete=models.PROTECT, related_name="allocation"
    )
    stratum = models.ForeignKey(
        Stratum, null=True, blank=True, on_delete=models.PROTECT, related_name="allocations"
    )
    arm = models.CharField(max_length=40)
    factor_values = models.JSONField(help_text="the factor levels used, as they were then")
    randomised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    randomised_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["randomised_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["family", "mode"], name="one_allocation_per_family_and_mode"
            )
        ]

    def __str__(self) -> str:
        return f"allocation of {self.family_id} ({self.mode})"


class MinimisationStep(models.Model):
    """One allocation by minimisation as it was decided: the marginal totals it saw at the
    family's factor levels, each arm's imbalance score, the preferred arm and the two draws
    from the list's sealed seed. A replay in order proves each followed the rule."""

    rlist = models.ForeignKey(RandomisationList, on_delete=models.PROTECT, related_name="steps")
    position = models.PositiveIntegerField(help_text="1 for the list's first allocation, ...")
    allocation = models.OneToOneField(
        Allocation, on_delete=models.PROTECT, related_name="minimisation"
    )
    levels = models.JSONField(help_text="the family's factor levels")
    totals = models.JSONField(help_text="per factor: allocations by arm at the family's level")
    scores = models.JSONField(help_text="each arm's total imbalance, in the list's arm order")
    preferred = models.CharField(max_length=40, blank=True, help_text="empty when all tie")
    tie_draw = models.FloatField()
    draw = models.FloatField()
    arm = models.CharField(max_length=40)
    history = HistoricalRecords()

    class Meta:
        ordering = ["rlist", "position"]
        constraints = [
            models.UniqueConstraint(fields=["rlist", "position"], name="minimisation_position")
        ]

    def __str__(self) -> str:
        return f"{self.rlist_id}#{self.position}"


class FactorCorrection(models.Model):
    """A stratification factor found wrong after randomisation. The allocation stands; the
    correction is recorded, with a protocol deviation."""

    allocation = models.ForeignKey(Allocation, on_delete=models.PROTECT, related_name="corrections")
    factor = models.CharField(max_length=40)
    used_value = models.CharField(max_length=60)
    correct_value = models.CharField(max_length=60)
    reason = models.TextField()
    deviation = models.OneToOneField(
        "trial.ProtocolDeviation", on_delete=models.PROTECT, related_name="+"
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=~Q(used_value=models.F("correct_value")),
                name="correction_changes_the_value",
            )
        ]

    def __str__(self) -> str:
        return f"{self.factor}: {self.used_value} → {self.correct_value}"
