"""Links between portal applications by URL name, so that a domain app's page can point at another
app's page without importing it."""

from urllib.parse import urlencode

from django.urls import NoReverseMatch, reverse

from apps.core.types import Actor


def ledger_entries_url(user: Actor, *, source_type: str, source_id: int | str) -> str | None:
    """The Ledger's entry list for one operational source, or None if the user may not see the ledger."""
    if not user.has_perm("journal.view_journalentry"):
        return None
    try:
        base = reverse("journal:ledger:index")
    except NoReverseMatch:  # the journal app is not installed
        return None
    return f"{base}?{urlencode({'source_type': source_type, 'source_id': source_id})}"
