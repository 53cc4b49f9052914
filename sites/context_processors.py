from core.roles import Role

from .selectors import open_memberships


def roles(request) -> dict:
    """The signed-in user's open roles, for the page shell's navigation."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    memberships = list(open_memberships(user).select_related("trial"))
    held = {m.role for m in memberships}
    return {
        "nav_roles": sorted(Role(r).label for r in held),
        "nav_is_manager": Role.TRIAL_MANAGER in held,
        # Every role reads the deviations of its sites (those that tell the arm hidden from
        # the blinded).
        "nav_deviations": bool(held),
        "nav_reviews_audit": bool(
            held & {Role.TRIAL_MANAGER, Role.MONITOR, Role.CHIEF_INVESTIGATOR}
        ),
        # Safety events are hidden from blinded roles: a reader of arms somewhere reads them.
        "nav_safety": bool(held - {Role.OUTCOME_ASSESSOR, Role.STATISTICIAN_BLINDED}),
        "nav_statistics": bool(held & {Role.STATISTICIAN_BLINDED, Role.STATISTICIAN_UNBLINDED}),
        "nav_locks": bool(
            held & {Role.TRIAL_MANAGER, Role.STATISTICIAN_BLINDED, Role.STATISTICIAN_UNBLINDED}
        ),
        # Test mode is marked on every page while any of the user's trials is in it.
        "test_mode": any(m.trial.randomisation_mode == "test" for m in memberships),
    }
