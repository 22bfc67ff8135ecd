"""Token authentication with a short per-process cache of token → user (and the user's permissions).

DRF's TokenAuthentication reads the token and its user on every request, and a non-superuser's
permission check reads their permissions again: on order intake that was about a tenth of the
request's CPU. Here a verified token is remembered in this process for API_TOKEN_CACHE_SECONDS
(default 10 s; 0 turns the cache off).

Revocation: deleting or replacing a token, saving or deleting a user (deactivation, password
change) and changing user groups, user permissions or group permissions clear this process's
cache at once (signals); other processes (gunicorn workers) notice within the TTL at the latest.
"""

import copy
import threading
import time
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db.models.signals import m2m_changed, post_delete, post_save
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token

_MAX_ENTRIES = 1000
_cache: dict[str, tuple[float, tuple[Any, Token]]] = {}
_lock = threading.Lock()


def token_cache_clear(**_kwargs) -> None:
    with _lock:
        _cache.clear()


class CachedTokenAuthentication(TokenAuthentication):
    """`Authorization: Token <key>` like DRF's, answered from a short-lived cache when possible."""

    def authenticate_credentials(self, key):
        ttl = settings.API_TOKEN_CACHE_SECONDS
        if ttl <= 0:
            return super().authenticate_credentials(key)
        now = time.monotonic()
        hit = _cache.get(key)
        if hit is not None and hit[0] > now:
            # A copy per request: views may set attributes on request.user; the permission cache
            # (a set, only ever replaced) is shared, which is the point.
            user, token = hit[1]
            return copy.copy(user), token
        user, token = super().authenticate_credentials(key)
        user.get_all_permissions()  # fill the permission cache that the copies share
        with _lock:
            if len(_cache) >= _MAX_ENTRIES:
                _cache.clear()
            _cache[key] = (now + ttl, (user, token))
        return copy.copy(user), token


post_save.connect(token_cache_clear, sender=Token, dispatch_uid="token_cache_token_saved")
post_delete.connect(token_cache_clear, sender=Token, dispatch_uid="token_cache_token_deleted")
_User = get_user_model()
post_save.connect(token_cache_clear, sender=_User, dispatch_uid="token_cache_user_saved")
post_delete.connect(token_cache_clear, sender=_User, dispatch_uid="token_cache_user_deleted")
post_delete.connect(token_cache_clear, sender=Group, dispatch_uid="token_cache_group_deleted")
for _through in (_User.groups.through, _User.user_permissions.through, Group.permissions.through):
    m2m_changed.connect(token_cache_clear, sender=_through, dispatch_uid=f"token_cache_{_through.__name__}")
