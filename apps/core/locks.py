"""Job locks: at most one run of a named job at a time, held until the caller's transaction ends."""

from django.db import connection


def job_lock(name: str) -> None:
    """Take the transaction-level advisory lock of `name`, waiting for a concurrent holder.

    Call inside `transaction.atomic()`: the lock is released at commit or rollback, so a job that
    reads "what is already proposed" and then writes proposals cannot interleave with its twin.
    SQLite (the embedded demo) serializes writers anyway and needs nothing.
    """
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [name])
