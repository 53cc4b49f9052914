from .selectors import remembered_waiting


def waiting(request) -> dict:
    """How many things wait for the signed-in person, as their home page last counted."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"nav_waiting": remembered_waiting(user)}
