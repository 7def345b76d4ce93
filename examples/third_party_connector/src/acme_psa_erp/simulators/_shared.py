"""What both Acme simulators share: the people, the keyset query and date helpers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from erpsa_sdk.testing import Row, SimError, SimRequest, Table

#: The firm's people: name, e-mail, role. Both systems know them by e-mail.
PEOPLE: tuple[tuple[str, str, str], ...] = (
    ("Ada Byron", "ada@acme.example", "Principal"),
    ("Grace Hopper", "grace@acme.example", "Manager"),
    ("Alan Turing", "alan@acme.example", "Senior Consultant"),
    ("Edsger Dijkstra", "edsger@acme.example", "Consultant"),
    ("Barbara Liskov", "barbara@acme.example", "Consultant"),
    ("Donald Knuth", "donald@acme.example", "Analyst"),
    ("Frances Allen", "frances@acme.example", "Analyst"),
    ("Ken Thompson", "ken@acme.example", "Engineer"),
)

MAX_LIMIT = 200


def parse_ts(text: str, name: str) -> datetime:
    """A timestamp query argument (ISO 8601 with an offset or ``Z``); 400 when malformed."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise SimError(400, "INVALID_ARGUMENT", f"{name} is not an ISO 8601 timestamp") from None
    if value.tzinfo is None:
        raise SimError(400, "INVALID_ARGUMENT", f"{name} needs a time zone")
    return value.astimezone(UTC)


def keyset_page(
    table: Table,
    req: SimRequest,
    *,
    after_name: str,
    before_name: str,
    default_limit: int = 100,
    filters: tuple[str, ...] = (),
    tombstones: bool = False,
) -> list[Row]:
    """One keyset page: rows with ``(ts, id) > (after, after_id)`` and ``ts < before``."""
    limit = max(1, req.int_arg("limit", default_limit, maximum=MAX_LIMIT))
    after: tuple[datetime, int] | None = None
    if after_name in req.query:
        after = (parse_ts(req.query[after_name], after_name), req.int_arg("after_id", 0))
    before = parse_ts(req.query[before_name], before_name) if before_name in req.query else None
    wanted = {f: req.query[f] for f in filters if f in req.query}

    def keep(row: Row) -> bool:
        stamp = row.deleted_at if tombstones else row.modified_at
        if before is not None and stamp is not None and stamp >= before:
            return False
        return all(str(row.data.get(f)) == v for f, v in wanted.items())

    if tombstones:
        rows = table.tombstones(after, len(list(table)))
        return [r for r in rows if keep(r)][:limit]
    return table.keyset(after, limit, keep)


def matcher(**equals: Any) -> Callable[[Row], bool]:
    """A row predicate: every given field equals its value."""
    return lambda row: all(row.data.get(k) == v for k, v in equals.items())


def period_of(day: str) -> str:
    """``2026-10-31`` -> ``2026-10``."""
    return day[:7]
