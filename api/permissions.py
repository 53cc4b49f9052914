"""API-level permission checks, made before a request body is read. The services check
again; this only makes a refused caller hear 403 rather than a complaint about its input."""

from rest_framework.permissions import SAFE_METHODS, BasePermission

from sites.selectors import is_trial_manager


class ManagerWrites(BasePermission):
    """Anyone signed in may read (scoped by the selectors); only a trial manager may write."""

    message = "Only the trial manager can do this."

    def has_permission(self, request, view) -> bool:
        if not request.user.is_authenticated:
            return False
        return request.method in SAFE_METHODS or is_trial_manager(request.user)
