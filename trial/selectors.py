from django.db.models import QuerySet

from trial.errors import NotPermitted, TrialError

from .models import Trial


def trials_visible_to(user) -> QuerySet[Trial]:
    from sites.selectors import open_memberships

    return Trial.objects.filter(pk__in=open_memberships(user).values("trial_id"))


def trial_named(user, code: str | None) -> Trial:
    """The trial a request means: the one named by code, or the user's only trial."""
    trials = trials_visible_to(user)
    if code:
        trial = trials.filter(code=code).first()
        if trial is None:
            raise TrialError(f"No trial {code} that you take part in.", field="trial")
        return trial
    found = list(trials[:2])
    if not found:
        raise NotPermitted("You hold no role in any trial.")
    if len(found) != 1:
        raise TrialError("Name the trial (its code).", field="trial")
    return found[0]
