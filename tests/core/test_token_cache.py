"""API token authentication answered from a short per-process cache, and every way it is revoked."""

import time

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from apps.core.api.authentication import token_cache_clear
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/orders/"


@pytest.fixture(autouse=True)
def fresh_cache(settings):
    settings.API_TOKEN_CACHE_SECONDS = 10
    token_cache_clear()
    yield
    token_cache_clear()


@pytest.fixture
def clerk():
    """A user who may view orders through a group, with a token."""
    user = UserFactory(username="clerk")
    group = Group.objects.create(name="order viewers")
    group.permissions.add(Permission.objects.get(codename="view_order"))
    user.groups.add(group)
    return user


def client_for(user) -> tuple[APIClient, Token]:
    token, _ = Token.objects.get_or_create(user=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client, token


def token_queries(client) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(URL).status_code == 200
    return sum(1 for q in ctx.captured_queries if "authtoken_token" in q["sql"] or "auth_permission" in q["sql"])


def test_a_repeated_request_reads_neither_the_token_nor_the_permissions_again(clerk):
    client, _ = client_for(clerk)
    assert token_queries(client) > 0
    assert token_queries(client) == 0


def test_a_deleted_token_is_refused_at_once(clerk):
    client, token = client_for(clerk)
    assert client.get(URL).status_code == 200
    token.delete()
    assert client.get(URL).status_code == 401


def test_a_deactivated_user_is_refused_at_once(clerk):
    client, _ = client_for(clerk)
    assert client.get(URL).status_code == 200
    clerk.is_active = False
    clerk.save()
    assert client.get(URL).status_code == 401


def test_a_permission_taken_from_the_group_applies_at_once(clerk):
    client, _ = client_for(clerk)
    assert client.get(URL).status_code == 200
    Group.objects.get(name="order viewers").permissions.clear()
    assert client.get(URL).status_code == 403


def test_a_user_removed_from_the_group_loses_access_at_once(clerk):
    client, _ = client_for(clerk)
    assert client.get(URL).status_code == 200
    clerk.groups.clear()
    assert client.get(URL).status_code == 403


def test_a_change_no_signal_reports_applies_after_the_ttl(clerk, settings):
    """What another process's change looks like to this one: bounded by API_TOKEN_CACHE_SECONDS."""
    settings.API_TOKEN_CACHE_SECONDS = 0.3
    client, token = client_for(clerk)
    assert client.get(URL).status_code == 200
    Token.objects.filter(pk=token.pk).delete()  # a queryset delete still sends post_delete ...
    assert client.get(URL).status_code == 401
    client, token = client_for(clerk)
    assert client.get(URL).status_code == 200
    type(clerk).objects.filter(pk=clerk.pk).update(is_active=False)  # ... but update() sends nothing
    assert client.get(URL).status_code == 200
    time.sleep(0.35)
    assert client.get(URL).status_code == 401


def test_with_a_ttl_of_zero_every_request_reads_the_token(clerk, settings):
    settings.API_TOKEN_CACHE_SECONDS = 0
    client, _ = client_for(clerk)
    assert token_queries(client) > 0
    assert token_queries(client) > 0


def test_an_unknown_token_is_refused_and_not_cached(clerk):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)
    assert client.get(URL).status_code == 401
    assert client.get(URL).status_code == 401
