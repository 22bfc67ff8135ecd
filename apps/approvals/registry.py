"""Subject types: what can be approved, and how an outcome reaches the subject.

A domain app registers each of its subject types once, from its AppConfig.ready():

    register_subject("stock.adjustment", on_approved=..., on_rejected=..., describe=...)

`on_approved` / `on_rejected` are the domain app's own services; they run inside the transaction
that completes the approval process, so a refusal (a DomainError) undoes the whole decision.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Decided:
    """What the domain service is told when a request is decided."""

    subject_id: str
    request_id: int
    actor: Any  # the user who took the final decision
    on_behalf_of: Any | None
    comment: str


@dataclass(frozen=True)
class SubjectDescription:
    """How the subject looks in the approval screens: a title, facts, lines and a link."""

    title: str
    url: str = ""
    facts: list[tuple[str, str]] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)


@dataclass(frozen=True)
class SubjectType:
    key: str
    on_approved: Callable[[Decided], object]
    on_rejected: Callable[[Decided], object]
    describe: Callable[[str], SubjectDescription | None]
    label: str


_subjects: dict[str, SubjectType] = {}


def register_subject(
    key: str,
    *,
    on_approved: Callable[[Decided], object],
    on_rejected: Callable[[Decided], object],
    describe: Callable[[str], SubjectDescription | None],
    label: str = "",
) -> SubjectType:
    """Register (or re-register, e.g. on autoreload) a subject type under `key`."""
    subject = SubjectType(
        key=key, on_approved=on_approved, on_rejected=on_rejected, describe=describe, label=label or key
    )
    _subjects[key] = subject
    return subject


def subject_type(key: str) -> SubjectType:
    try:
        return _subjects[key]
    except KeyError:
        raise LookupError(f"No approval subject type {key!r} is registered") from None


def subject_types() -> list[SubjectType]:
    return sorted(_subjects.values(), key=lambda s: s.key)
