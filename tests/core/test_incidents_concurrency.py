"""Incidents under concurrency, on PostgreSQL with real threads: one winner, one history row each."""

import threading

import pytest
from django.db import connection

from apps.core.errors import InvalidTransition
from apps.core.models import Incident, IncidentEvent
from apps.core.services import incident_dismiss, incident_raise, incident_resolve
from tests.core.test_incidents_factories import history, make_incident

pytestmark = pytest.mark.django_db(transaction=True)


def run_together(*calls):
    """Start every call at the same moment, each in its own thread and connection; return outcomes."""
    barrier = threading.Barrier(len(calls))
    outcomes: list = [None] * len(calls)

    def worker(i, call):
        try:
            barrier.wait(timeout=10)
            outcomes[i] = call()
        except Exception as exc:  # noqa: BLE001 - the outcome is what the test looks at
            outcomes[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return outcomes


@pytest.mark.parametrize("repeat", range(3))
def test_resolve_and_dismiss_at_once_one_wins_and_one_is_refused(repeat):
    incident = make_incident()
    outcomes = run_together(
        lambda: incident_resolve(incident_id=incident.pk, actor=None, note="fixed"),
        lambda: incident_dismiss(incident_id=incident.pk, actor=None, reason="noise"),
    )
    refused = [o for o in outcomes if isinstance(o, InvalidTransition)]
    won = [o for o in outcomes if isinstance(o, Incident)]
    assert (len(won), len(refused)) == (1, 1), outcomes
    incident.refresh_from_db()
    assert incident.status == won[0].status
    assert history(incident) == [("created", "", "open"), (won[0].status, "open", won[0].status)]


@pytest.mark.parametrize("repeat", range(3))
def test_the_same_problem_raised_at_once_is_one_incident_seen_twice(repeat):
    key = f"race:{repeat}"
    outcomes = run_together(
        lambda: incident_raise(kind="k", title="t", dedupe_key=key),
        lambda: incident_raise(kind="k", title="t", dedupe_key=key),
    )
    assert all(isinstance(o, Incident) for o in outcomes), outcomes
    incident = Incident.objects.get(dedupe_key=key)
    assert incident.occurrences == 2
    assert sorted(IncidentEvent.objects.filter(incident=incident).values_list("action", flat=True)) == [
        "created",
        "occurred",
    ]
