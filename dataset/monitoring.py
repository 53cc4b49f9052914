"""The monitoring plan's source-data verification: which forms must be verified before a
lock. Key forms always; of the others, a share per site chosen by a stable draw from the
trial's code and the form's id, so the same forms are chosen every time it is asked."""

import hashlib

from trial.schema import SourceVerification


def drawn(trial_code: str, response_id: int) -> float:
    """A number in [0, 100) fixed for this response of this trial."""
    digest = hashlib.sha256(f"{trial_code}:sdv:{response_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 * 100


def must_verify(
    plan: SourceVerification, *, trial_code: str, site_code: str, form: str, response_id: int
) -> bool:
    if form in plan.key_forms:
        return True
    return drawn(trial_code, response_id) < plan.percent_at(site_code)
