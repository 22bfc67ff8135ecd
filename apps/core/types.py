"""Types shared by every app's services: who acts."""

from typing import TypeAlias

from django.contrib.auth.models import AnonymousUser, User

# The project uses Django's own user model (AUTH_USER_MODEL is not swapped). A request's user is a
# User or AnonymousUser; jobs and event handlers act as None ("system").
Actor: TypeAlias = User | AnonymousUser


def real_user(actor: Actor | None) -> User | None:
    """The user to record on a row: None for anonymous and system actors."""
    return actor if isinstance(actor, User) else None
