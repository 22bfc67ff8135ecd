"""Location scoping: which locations' orders, stock and incidents a user may see and act on."""

from apps.accounts.roles import VIEW_ALL
from apps.core.types import Actor


def user_location_ids(user: Actor) -> list[int] | None:
    """None when the user is not scoped (superusers and `accounts.view_all_locations`), else the ids
    of the locations assigned to the user (possibly none)."""
    if not user.is_authenticated:
        return []
    if user.is_superuser or user.has_perm(VIEW_ALL):
        return None
    cached: list[int] | None = user.__dict__.get("_retailops_location_ids")  # per request user object
    if cached is None:
        from apps.accounts.models import LocationAssignment

        cached = sorted(LocationAssignment.objects.filter(user_id=user.pk).values_list("location_id", flat=True))
        user.__dict__["_retailops_location_ids"] = cached
    return cached


def user_can_see_location(user: Actor, location_id: int | None) -> bool:
    allowed = user_location_ids(user)
    return allowed is None or (location_id is not None and location_id in allowed)
