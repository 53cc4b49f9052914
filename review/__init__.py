"""The monitor's review of the audit trail (filters, old → new, export, sign-off), shaped for
blinded viewers, and the recorded verification of the ledger."""
