"""Dry-run and dual-run: intended writes without sending them, and two runs compared.

:class:`DryRunTarget` wraps a target connector: reads, look-ups, matches and validation go to
the real target, writes are recorded as :class:`IntendedWrite` and answered as if accepted,
so a :class:`~erpsa_sdk.sync.SyncRunner` with a separate (throw-away) state store shows what a
run *would* send. :func:`diff` compares two runs record by record, keyed by the source
EntityKey — for a dual run (the current ERP and the target ERP fed from the same PSA) or for a
dry run against a real one, the parallel validation before a cutover.

Examples:
    >>> a = {"ek-1": RecordState("time_entry", "T1", 60, None)}
    >>> b = {"ek-1": RecordState("time_entry", "G7", 45, None)}
    >>> [(d.kind, d.fields) for d in diff(a, b)]
    [('differs', {'minutes': (60, 45)})]
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from erpsa_sdk.models.refs import SourceRef

__all__ = ["DiffRow", "DryRunTarget", "IntendedWrite", "RecordState", "diff", "snapshot"]


@dataclass(frozen=True)
class IntendedWrite:
    """A write a dry run would have sent.

    Examples:
        >>> IntendedWrite("upsert", "TimeEntry", "ek-1", "wk-1", {"duration_minutes": 60}).operation
        'upsert'
    """

    operation: str
    type_name: str
    entity_key: str
    write_key: str | None
    payload: Any = None


@dataclass(frozen=True)
class RecordState:
    """What one target holds for one source EntityKey (``status`` ``parked`` when dead-lettered).

    Examples:
        >>> RecordState("expense", "E1", None, Decimal("12.00")).amount
        Decimal('12.00')
    """

    object_type: str
    target_id: str | None
    minutes: int | None
    amount: Decimal | None
    status: str = "present"


@dataclass(frozen=True)
class DiffRow:
    """One record that differs between two runs.

    Examples:
        >>> DiffRow("only_in_a", "ek-1", "expense", {}).kind
        'only_in_a'
    """

    kind: str
    entity_key: str
    object_type: str
    fields: dict[str, tuple[Any, Any]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able view."""
        return {
            "kind": self.kind,
            "entity_key": self.entity_key,
            "object_type": self.object_type,
            "fields": {k: [str(a), str(b)] for k, (a, b) in self.fields.items()},
        }


def diff(a: Mapping[str, RecordState], b: Mapping[str, RecordState]) -> list[DiffRow]:
    """Compare two runs record by record (pure): only in one, or a value or status differs.

    Examples:
        >>> diff({"k": RecordState("expense", "1", None, Decimal(5))}, {})[0].kind
        'only_in_a'
    """
    rows: list[DiffRow] = []
    for key in sorted(set(a) | set(b)):
        left, right = a.get(key), b.get(key)
        if left is None or right is None:
            present = left or right
            assert present is not None
            rows.append(
                DiffRow("only_in_b" if left is None else "only_in_a", key, present.object_type)
            )
            continue
        fields: dict[str, tuple[Any, Any]] = {}
        for name in ("minutes", "amount", "status"):
            x, y = getattr(left, name), getattr(right, name)
            if x != y:
                fields[name] = (x, y)
        if fields:
            rows.append(DiffRow("differs", key, left.object_type, fields))
    return rows


def snapshot(pipeline: Any, store: Any, *, types: Any = None) -> dict[str, RecordState]:
    """What the pipeline's target holds per source EntityKey, read from the target itself;
    records with an open dead letter and no target record appear as ``parked``.

    Examples:
        >>> snapshot.__name__
        'snapshot'
    """
    from erpsa_sdk.sync.reconcile import collect

    got = collect(pipeline, store, types=types)
    out = {
        t.entity_key: RecordState(t.object_type, t.record_id, t.minutes, t.amount)
        for t in got.target
    }
    compared = {_object_type(name) for name in got.compared}
    for key in got.parked:
        object_type = key.split(":")[4] if key.count(":") == 5 else "?"
        if object_type not in compared:
            continue  # a type this snapshot does not read: nothing to pair it with
        if key not in out:
            out[key] = RecordState(object_type, None, None, None, "parked")
        else:
            state = out[key]
            out[key] = RecordState(
                state.object_type, state.target_id, state.minutes, state.amount, "parked"
            )
    return out


def _object_type(type_name: str) -> str:
    from erpsa_sdk.sync._pipeline import PIPELINE_ORDER

    for model in PIPELINE_ORDER:
        if model.__name__ == type_name:
            return str(model.object_type)
    return type_name.lower()


class DryRunTarget:
    """A target connector that records writes instead of sending them.

    Everything else (name, tenant, capabilities, read, lookup, match, validate) is the wrapped
    connector's; give the runner a separate state store, so the dry run's ledger never mixes
    with the real one.

    Examples:
        >>> from erpsa_sdk.models import EntityKey
        >>> class Target:
        ...     name, capabilities = "erp", None
        >>> ek = EntityKey(namespace="n", system="psa", tenant="t", source_id="1",
        ...                object_type="time_entry")
        >>> dry = DryRunTarget(Target())
        >>> class Note(BaseModel):
        ...     text: str = "hello"
        >>> result = dry.upsert(Note(), entity_key=ek, write_key="wk-1", refs={})
        >>> result.outcome.value, [w.entity_key for w in dry.intended] == [ek.canonical]
        ('created', True)
        >>> dry.lookup(Note, entity_key=ek).id
        'dry-1'
    """

    def __init__(self, target: Any) -> None:
        self._target = target
        self.intended: list[IntendedWrite] = []
        self._ids: dict[str, str] = {}
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._target, name)

    @staticmethod
    def _key(entity_key: Any) -> str:
        return str(getattr(entity_key, "canonical", entity_key))

    def _ref(self, entity_key: Any) -> SourceRef:
        key = self._key(entity_key)
        with self._lock:
            rid = self._ids.setdefault(key, f"dry-{len(self._ids) + 1}")
        return SourceRef(system=str(self._target.name), tenant="dry-run", id=rid)

    def _record(self, operation: str, type_name: str, entity_key: Any, write_key: Any,
                payload: Any) -> None:  # fmt: skip
        with self._lock:
            self.intended.append(
                IntendedWrite(
                    operation, type_name, self._key(entity_key),
                    None if write_key is None else str(write_key), payload,
                )
            )  # fmt: skip

    def upsert(self, obj: BaseModel, *, entity_key: Any, write_key: Any = None,
               refs: Any = None, **_: Any) -> Any:  # fmt: skip
        """Record an upsert; answer ``created`` (``updated`` for a key seen before)."""
        from erpsa_sdk.connector import WriteOutcome, WriteResult

        seen = self._key(entity_key) in self._ids
        payload = obj.model_dump(mode="json") if isinstance(obj, BaseModel) else None
        self._record("upsert", type(obj).__name__, entity_key, write_key, payload)
        outcome = WriteOutcome.UPDATED if seen else WriteOutcome.CREATED
        return WriteResult(outcome=outcome, entity_key=entity_key, ref=self._ref(entity_key))

    def delete(self, model: type[BaseModel], *, entity_key: Any, write_key: Any = None,
               **_: Any) -> Any:  # fmt: skip
        """Record a deletion; answer ``deleted``."""
        from erpsa_sdk.connector import WriteOutcome, WriteResult

        self._record("delete", model.__name__, entity_key, write_key, None)
        return WriteResult(
            outcome=WriteOutcome.DELETED, entity_key=entity_key, ref=self._ref(entity_key)
        )

    def reverse(self, model: type[BaseModel], *, entity_key: Any, write_key: Any = None,
                **_: Any) -> Any:  # fmt: skip
        """Record a reversal; answer ``reversed``."""
        from erpsa_sdk.connector import WriteOutcome, WriteResult

        self._record("reverse", model.__name__, entity_key, write_key, None)
        return WriteResult(
            outcome=WriteOutcome.REVERSED, entity_key=entity_key, ref=self._ref(entity_key)
        )

    def lookup(self, model: type[BaseModel], *, entity_key: Any) -> SourceRef | None:
        """The dry-run id of a key written in this dry run, else ``None``."""
        key = self._key(entity_key)
        return self._ref(key) if key in self._ids else None
