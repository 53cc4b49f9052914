from .roles import Role
from .selectors import open_memberships


def roles(request) -> dict:
    """The signed-in user's open roles, for the page shell's navigation."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    held = {m for m in open_memberships(user).values_list("role", flat=True)}
    return {
        "nav_roles": sorted(Role(r).label for r in held),
        "nav_is_manager": Role.TRIAL_MANAGER in held,
        "nav_reviews_audit": bool(held & {Role.TRIAL_MANAGER, Role.MONITOR}),
    }
