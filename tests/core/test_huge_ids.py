"""Ids in URLs that no database column can hold are a 404, never a 500, in the API and the portal."""

import pytest

pytestmark = pytest.mark.django_db

HUGE = "9" * 25


@pytest.mark.parametrize(
    "path",
    [
        f"/api/v1/orders/{HUGE}/",
        f"/api/v1/orders/{HUGE}/history/",
        f"/api/v1/incidents/{HUGE}/",
        f"/api/v1/returns/{HUGE}/",
        f"/api/v1/approvals/tasks/{HUGE}/",
        f"/api/v1/stock/adjustments/{HUGE}/",
    ],
)
def test_an_id_too_large_for_the_database_is_a_json_404(api, path):
    r = api.get(path)
    assert r.status_code == 404
    assert r.json()["error"] == "not_found"


def test_a_transition_on_an_id_too_large_is_404(api):
    assert api.post(f"/api/v1/orders/{HUGE}/cancel/", {}, format="json").status_code == 404


def test_the_portal_answers_404_for_an_id_too_large(client, user):
    client.force_login(user)
    assert client.get(f"/orders/{HUGE}/").status_code == 404
