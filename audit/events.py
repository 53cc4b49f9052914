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
    ACCOUNT_DISABLED = "account_disabled", "Account disabled"
    ACCOUNT_ENABLED = "account_enabled", "Account enabled again"
    PASSWORD_CHANGED = "password_changed", "Password changed"
    TOKENS_REVOKED = "tokens_revoked", "API tokens revoked"
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
    FORM_LOADED = "form_loaded", "Form version loaded"
    RESPONSE_ENTERED = "response_entered", "Form entered"
    RESPONSE_CHANGED = "response_changed", "Form changed"
    RESPONSE_VERIFIED = "response_verified", "Form verified (SDV)"
    RESPONSE_ALERT = "response_alert", "Form alert raised"
    QUERY_RAISED = "query_raised", "Query raised"
    QUERY_ANSWERED = "query_answered", "Query answered"
    QUERY_CLOSED = "query_closed", "Query closed"
    QUERY_REOPENED = "query_reopened", "Query re-opened"
    CASEBOOK_SIGNED = "casebook_signed", "Casebook signed"
    SIGNATURE_REFUSED = "signature_refused", "Casebook signature refused (password)"
    SIGNATURE_INVALIDATED = "signature_invalidated", "Casebook signature invalidated"
    OVERDUE_REMINDED = "overdue_reminded", "Overdue forms reminder sent"


class EditAfter(models.TextChoices):
    """The state a record was in when a change to it was made, if it matters."""

    COMPLETED = "completed", "after completion"
    VERIFIED = "verified", "after verification"
    SIGNED = "signed", "after signature"


class Concealed(models.TextChoices):
    """What of an event would reveal a family's arm, set by the service that records it.
    Viewers blinded at the event's site see it with that part concealed."""

    ARM = "arm", "the arm among its changes"
    EVENT = "event", "what it is about (a form that reveals the arm)"
