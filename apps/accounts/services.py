"""Account writes: giving a user a role and assigning locations."""

from collections.abc import Iterable

from django.contrib.auth.models import Group, User

from apps.accounts.models import LocationAssignment
from apps.accounts.roles import ROLE_PERMISSIONS, sync_roles


def user_grant_role(*, user: User, role: str) -> None:
    if role not in ROLE_PERMISSIONS:
        raise ValueError(f"unknown role {role!r}")
    group = Group.objects.filter(name=role).first()
    if group is None:
        sync_roles()
        group = Group.objects.get(name=role)
    user.groups.add(group)
    for attr in ("_perm_cache", "_group_perm_cache", "_user_perm_cache", "_retailops_location_ids"):
        user.__dict__.pop(attr, None)


def user_assign_locations(*, user: User, location_ids: Iterable[int]) -> None:
    LocationAssignment.objects.bulk_create(
        [LocationAssignment(user=user, location_id=lid) for lid in set(location_ids)], ignore_conflicts=True
    )
    user.__dict__.pop("_retailops_location_ids", None)
