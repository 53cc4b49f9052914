"""The vocabulary of the ledger: how a change arrived and what kind of event it was."""

from django.db import models


class Channel(models.TextChoices):
    WEB = "web", "Web page"
    API = "api", "API"
    ADMIN = "admin", "Admin"
    COMMAND = "command", "Management command"
    TASK = "task", "Background task"


class EventType(models.TextChoices):
    CREATE = "create", "Created"
    UPDATE = "update", "Updated"
    DELETE = "delete", "Deleted"
    SIGN_IN = "sign_in", "Signed in"
    SIGN_OUT = "sign_out", "Signed out"
    SIGN_IN_FAILED = "sign_in_failed", "Failed sign-in"
    LOCKOUT = "lockout", "Account locked out"
    SITE_STATUS = "site_status", "Site status changed"
    MEMBERSHIP_GRANTED = "membership_granted", "Role granted"
    MEMBERSHIP_ENDED = "membership_ended", "Role ended"
    DELEGATION_GRANTED = "delegation_granted", "Duty delegated"
    DELEGATION_ENDED = "delegation_ended", "Duty delegation ended"
    ACCOUNT_CREATED = "account_created", "Account created"
    TRIAL_LOADED = "trial_loaded", "Trial definition loaded"
    NOTIFICATION_SENT = "notification_sent", "Notification sent"
    IDENTITY_VIEWED = "identity_viewed", "Identifying data viewed"
    REVIEW_SIGNOFF = "review_signoff", "Audit events reviewed"
    AUDIT_EXPORTED = "audit_exported", "Audit events exported"
    SCREENED = "screened", "Referral screened"
    SCREENING_CLOSED = "screening_closed", "Referral closed (declined or other)"
    FAMILY_ENROLLED = "family_enrolled", "Family enrolled"
    CONSENT_RECORDED = "consent_recorded", "Consent recorded"
    CONSENT_CORRECTED = "consent_corrected", "Consent corrected"
    CONSENT_VERSION_CREATED = "consent_version_created", "Consent form version created"
    CONSENT_VERSION_EFFECTIVE = "consent_version_effective", "Consent version made effective"
    WITHDRAWAL_RECORDED = "withdrawal_recorded", "Withdrawal recorded"
    IDENTITY_KEYS_ROTATED = "identity_keys_rotated", "Identity encryption keys rotated"
    SEQUENCE_GENERATED = "sequence_generated", "Allocation list generated"
    SEQUENCE_SEALED = "sequence_sealed", "Allocation list sealed"
    SEQUENCE_EXPORTED = "sequence_exported", "Allocation list exported"
    RANDOMISATION_LIVE = "randomisation_live", "Randomisation put live"
    RANDOMISED = "randomised", "Family randomised"
    STRATUM_EXHAUSTED = "stratum_exhausted", "Stratum exhausted: randomisation refused"
    FACTOR_CORRECTED = "factor_corrected", "Stratification factor corrected"
    AUDIT_VERIFIED = "audit_verified", "Audit ledger verified"
    AUDIT_VERIFY_FAILED = "audit_verify_failed", "Audit ledger verification FAILED"


class EditAfter(models.TextChoices):
    """The state a record was in when a change to it was made, if it matters."""

    COMPLETED = "completed", "after completion"
    VERIFIED = "verified", "after verification"
    SIGNED = "signed", "after signature"
