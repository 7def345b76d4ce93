"""Filters, JSON views and Rich tables of dead letters for ``erpsa dlq list | show | discard``.

Examples:
    >>> from erpsa_sdk.sync.deadletters import DeadLetterStatus, DeadLetterView
    >>> v = DeadLetterView(id=1, pipeline="p", entity_key="ek1:n:k:t:time_entry:7",
    ...                    reason="unresolved_reference", owner="pmo",
    ...                    status=DeadLetterStatus.OPEN, attempts=3,
    ...                    payload={"project_key": "42"})
    >>> [x.id for x in filter_letters([v], reason="unresolved", project="42")]
    [1]
    >>> filter_letters([v], project="9")
    []
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = ["filter_letters", "letter_dict", "letters_table", "project_of"]


def project_of(letter: Any) -> str | None:
    """The project a dead letter belongs to: its payload's ``project_key`` (a project's own
    key for a project), else ``None``.

    Examples:
        >>> from types import SimpleNamespace as NS
        >>> project_of(NS(payload={"project_key": "9"}, entity_key="ek1:n:k:t:time_entry:1"))
        '9'
        >>> project_of(NS(payload={"key": "9"}, entity_key="ek1:n:k:t:project:9"))
        '9'
    """
    payload = letter.payload if isinstance(letter.payload, dict) else {}
    if payload.get("project_key"):
        return str(payload["project_key"])
    if ":project:" in str(letter.entity_key):
        return str(letter.entity_key).rsplit(":", 1)[1]
    return None


def filter_letters(
    letters: Iterable[Any], *, reason: str | None = None, project: str | None = None
) -> list[Any]:
    """Letters whose reason starts with ``reason`` and that belong to ``project``.

    ``reason`` matches a reason code or its prefix (``validation_failed`` matches
    ``validation_failed:period_closed``).

    Examples:
        >>> from types import SimpleNamespace as NS
        >>> letters = [NS(reason="validation_failed:period_closed", payload={}, entity_key="a"),
        ...            NS(reason="unmapped_value:category", payload={}, entity_key="b")]
        >>> [x.entity_key for x in filter_letters(letters, reason="validation_failed")]
        ['a']
    """
    out = []
    for letter in letters:
        if reason is not None and not str(letter.reason).startswith(reason):
            continue
        if project is not None and project_of(letter) != project:
            continue
        out.append(letter)
    return out


def letter_dict(letter: Any, *, payload: bool = False) -> dict[str, Any]:
    """A JSON-able view of one dead letter (with its payload when asked).

    Examples:
        >>> from types import SimpleNamespace as NS
        >>> from erpsa_sdk.sync.deadletters import DeadLetterStatus
        >>> d = letter_dict(NS(id=1, reason="r", owner="it", status=DeadLetterStatus.OPEN,
        ...     attempts=1, first_seen=None, last_seen=None, entity_key="ek", error=None,
        ...     payload=None, write_key=None, resolution=None, pipeline="p"))
        >>> d["status"], "payload" in d
        ('open', False)
    """
    out = {
        "id": letter.id,
        "pipeline": letter.pipeline,
        "reason": letter.reason,
        "owner": letter.owner,
        "status": letter.status.value,
        "attempts": letter.attempts,
        "first_seen": str(letter.first_seen),
        "last_seen": str(letter.last_seen),
        "entity_key": letter.entity_key,
        "project": project_of(letter),
        "error": letter.error,
    }
    if payload:
        out.update(payload=letter.payload, write_key=letter.write_key,
                   resolution=letter.resolution)  # fmt: skip
    return out


def letters_table(letters: Iterable[Any], *, title: str) -> Any:
    """A Rich table of dead letters (id, status, owner, attempts, reason, project, EntityKey).

    Examples:
        >>> letters_table([], title="none").title
        'none'
    """
    from rich.table import Table

    table = Table(title=title)
    for col in ("id", "status", "owner", "attempts", "reason", "project", "last seen",
                "EntityKey"):  # fmt: skip
        table.add_column(
            col, justify="right" if col in ("id", "attempts") else "left", overflow="fold"
        )
    for letter in letters:
        table.add_row(
            str(letter.id), letter.status.value, letter.owner, str(letter.attempts),
            letter.reason, project_of(letter) or "", str(letter.last_seen or ""),
            letter.entity_key,
        )  # fmt: skip
    return table
