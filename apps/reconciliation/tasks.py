"""Thin Celery tasks for reconciliation runs."""

from celery import shared_task
from django.db import OperationalError


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5, ignore_result=True)
def reconciliation_run_execute_task(run_id: int) -> None:
    """Import and match one uploaded file; safe to run twice (a finished run is left alone)."""
    from apps.core.errors import NotFound
    from apps.reconciliation.services import reconciliation_run_execute

    try:
        reconciliation_run_execute(run_id=run_id)
    except NotFound:
        pass  # the run is gone (a test database flushed, a deleted upload): nothing to do


@shared_task(acks_late=True, ignore_result=True)
def reconciliation_runs_resume_task() -> int:
    """Periodic sweep: queue again the runs whose message was lost."""
    from apps.reconciliation.services import reconciliation_runs_resume

    return reconciliation_runs_resume()
