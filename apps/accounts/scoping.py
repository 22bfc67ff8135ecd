"""Location scoping: which locations' orders, stock and incidents a user may see and act on."""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from apps.accounts.roles import VIEW_ALL


def user_location_ids(user: AbstractBaseUser | AnonymousUser) -> list[int] | None:
    """None when the user is not scoped (superusers and `accounts.view_all_locations`), else the ids
    of the locations assigned to the user (possibly none)."""
    if not user.is_authenticated:
        return []
    if user.is_superuser or user.has_perm(VIEW_ALL):
        return None
    cached = getattr(user, "_retailops_location_ids", None)
    if cached is None:
        from apps.accounts.models import LocationAssignment

        cached = sorted(LocationAssignment.objects.filter(user=user).values_list("location_id", flat=True))
        user._retailops_location_ids = cached
    return cached


def user_can_see_location(user, location_id: int | None) -> bool:
    allowed = user_location_ids(user)
    return allowed is None or (location_id is not None and location_id in allowed)
