"""Lineage: for one record, source event → canonical object → target posting.

:func:`trace` gathers, for an EntityKey (or a source record id), everything the state store
knows: the source and target ids from the crosswalk, each logical write from the ledger
(WriteKey, source version, operation, status, attempts, target id, time) and the lineage rows
(run, correlation id, outcome, time), plus any dead letter. The last payload written (the
canonical object) comes with the ledger head where the pipeline keeps it.

Examples:
    >>> from erpsa_sdk.sync import SQLiteStateStore
    >>> trace(SQLiteStateStore(":memory:"), "ek1:n:psa:t:time_entry:7", targets=["erp:e1"]).steps
    []
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from erpsa_sdk.models.keys import EntityKey

__all__ = ["LineageStep", "Trace", "resolve_key", "trace"]


@dataclass(frozen=True)
class LineageStep:
    """One step of a record's history at one target.

    Examples:
        >>> LineageStep("erp:e1", "write", "created", write_key="wk-1").status
        'created'
    """

    target: str
    kind: str
    status: str
    write_key: str | None = None
    version: str | None = None
    operation: str | None = None
    target_id: str | None = None
    attempts: int | None = None
    run_id: str | None = None
    correlation_id: str | None = None
    at: datetime | None = None
    detail: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able view."""
        return {
            k: (str(v) if isinstance(v, datetime) else v)
            for k, v in self.__dict__.items()
            if v is not None
        }


@dataclass
class Trace:
    """A record's lineage: where it comes from, where it went, and every step between.

    Examples:
        >>> Trace("ek1:n:psa:t:time_entry:7").source_id
        '7'
    """

    entity_key: str
    source: str | None = None
    targets: dict[str, str | None] = field(default_factory=dict)
    steps: list[LineageStep] = field(default_factory=list)
    canonical: dict[str, Any] = field(default_factory=dict)

    @property
    def source_id(self) -> str | None:
        """The source record id (from the EntityKey)."""
        try:
            return EntityKey.parse(self.entity_key).source_id
        except ValueError:
            return None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able view."""
        return {
            "entity_key": self.entity_key,
            "source_id": self.source_id,
            "source": self.source,
            "targets": self.targets,
            "canonical": self.canonical,
            "steps": [s.to_dict() for s in self.steps],
        }


def resolve_key(store: Any, text: str, *, source_system: str, object_types: list[str]) -> str:
    """An EntityKey from a canonical key, or from a source record id via the crosswalk.

    Raises ``LookupError`` when the id is unknown for every object type.

    Examples:
        >>> from erpsa_sdk.sync import SQLiteStateStore
        >>> resolve_key(SQLiteStateStore(":memory:"), "ek1:n:psa:t:time_entry:7",
        ...             source_system="psa:t", object_types=["time_entry"])
        'ek1:n:psa:t:time_entry:7'
    """
    if text.startswith("ek1:"):
        EntityKey.parse(text)
        return text
    type_hint, _, record_id = text.rpartition(":")
    for object_type in [type_hint] if type_hint else object_types:
        row = store.crosswalk_find(source_system, object_type, record_id)
        if row is not None:
            return str(row.entity_key)
    raise LookupError(f"no record {text!r} in {source_system} (types: {', '.join(object_types)})")


def trace(store: Any, entity_key: str, *, targets: list[str], pipeline: str | None = None) -> Trace:
    """Everything the state store knows about one EntityKey at the given target connections.

    Examples:
        >>> trace.__name__
        'trace'
    """
    result = Trace(entity_key)
    key = EntityKey.parse(entity_key) if entity_key.startswith("ek1:") else None
    if key is not None:
        row = store.crosswalk_get(f"{key.system}:{key.tenant}", entity_key)
        result.source = f"{key.system}:{key.tenant}/{row.record_id if row else key.source_id}"
    for target in targets:
        row = store.crosswalk_get(target, entity_key)
        result.targets[target] = None if row is None else row.record_id
        for entry in store.ledger_entries(target, entity_key=entity_key):
            result.steps.append(
                LineageStep(
                    target, "ledger", entry.status.value, write_key=entry.write_key,
                    version=str(entry.version), operation=entry.operation,
                    target_id=entry.target_id, attempts=entry.attempts, at=entry.updated_at,
                    detail=entry.detail,
                )
            )  # fmt: skip
        head = store.ledger_head(target, entity_key)
        if head is not None and head.payload is not None and not result.canonical:
            result.canonical = dict(head.payload) if isinstance(head.payload, dict) else {}
    for row in store.lineage(entity_key):
        if pipeline is not None and row.pipeline != pipeline:
            continue
        result.steps.append(
            LineageStep(
                row.pipeline, "lineage", row.status, write_key=row.write_key,
                operation=row.operation, target_id=row.target_id, run_id=row.run_id,
                correlation_id=row.correlation_id, at=row.at,
            )
        )  # fmt: skip
    if pipeline is not None:
        for letter in store.dead_letters(pipeline, limit=100_000):
            if letter.entity_key == entity_key:
                result.steps.append(
                    LineageStep(
                        pipeline, "dead_letter", letter.reason, write_key=letter.write_key,
                        at=letter.created_at, detail=f"owner {letter.owner}: {letter.error}",
                    )
                )  # fmt: skip
    result.steps.sort(key=lambda s: (s.at is None, s.at.timestamp() if s.at else 0.0))
    return result
