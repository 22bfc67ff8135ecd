"""Model permissions per HTTP method for API views: `required_perms = {"GET": [...], "POST": [...]}`."""

from rest_framework.permissions import BasePermission


class HasRequiredPerms(BasePermission):
    """Authenticated, and holding every permission the view lists for this method (403 otherwise)."""

    message = "You do not have permission to do this."

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        required = getattr(view, "required_perms", {}).get(request.method, ())
        return user.has_perms(required)
