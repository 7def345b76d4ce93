"""Small in-process source and target connectors for the runner's unit tests.

They follow the contract and nothing more: the source pages by (modified, id) with a resumable
cursor and keeps tombstones; the target stores records by EntityKey (so what it holds can be
checked without the runner's help), refuses edits to posted records, and can drop the answer
of a write after committing it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel

from erpsa_sdk.connector import (
    Capabilities,
    Connector,
    Deletion,
    DeletionMode,
    Health,
    Problem,
    TypeCapabilities,
    WriteOutcome,
    WriteResult,
)
from erpsa_sdk.errors import IndeterminateWrite, PostedRecordError, ServerError
from erpsa_sdk.models import Customer, Invoice, Project, ProjectTask, TimeEntry
from erpsa_sdk.models.keys import EntityKey, WriteKey
from erpsa_sdk.models.refs import SourceRef

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def iso(ts: datetime) -> str:
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class Page:
    items: list[Any]
    cursor: dict[str, Any] | None


class FakePager:
    def __init__(self, pages: Iterator[Page]) -> None:
        self._pages = pages
        self.cursor: dict[str, Any] | None = None

    def iter_pages(self) -> Iterator[Page]:
        for page in self._pages:
            yield page
            self.cursor = page.cursor

    def __iter__(self) -> Iterator[Any]:
        for page in self.iter_pages():
            yield from page.items


@dataclass
class SourceRow:
    model: type[BaseModel]
    data: dict[str, Any]
    modified: datetime
    deleted: datetime | None = None


class FakeSource(Connector):
    """A PSA: records of several types, edited and deleted by the test, paged 3 at a time."""

    name = "fakepsa"

    def __init__(
        self,
        *,
        tenant: str = "psa1",
        deletions: DeletionMode = DeletionMode.TOMBSTONE_QUERY,
        incremental: bool = True,
        page_size: int = 3,
        on_page: Callable[[type[BaseModel], int], None] | None = None,
    ) -> None:
        self.tenant = tenant
        self.page_size = page_size
        self.rows: dict[tuple[str, str], SourceRow] = {}
        self.clock = T0
        self.on_page = on_page
        self._lock = threading.Lock()
        types = (Customer, Project, ProjectTask, TimeEntry, Invoice)
        self._caps = Capabilities(
            types={
                t.__name__: TypeCapabilities(
                    read=True, incremental=incremental, deletions=deletions
                )
                for t in types
            }
        )

    @property
    def capabilities(self) -> Capabilities:
        return self._caps

    def tick(self) -> datetime:
        self.clock += timedelta(seconds=1)
        return self.clock

    def put(self, model: type[BaseModel], source_id: str, **data: Any) -> None:
        with self._lock:
            row = self.rows.get((model.__name__, source_id))
            merged = {**(row.data if row else {}), **data, "key": source_id}
            self.rows[(model.__name__, source_id)] = SourceRow(model, merged, self.tick())

    def remove(self, model: type[BaseModel], source_id: str) -> None:
        with self._lock:
            self.rows[(model.__name__, source_id)].deleted = self.tick()

    def obj(self, model: type[BaseModel], source_id: str) -> Any:
        row = self.rows[(model.__name__, source_id)]
        ref = SourceRef(
            system=self.name, tenant=self.tenant, id=source_id, version=iso(row.modified)
        )
        return model.model_validate({**row.data, "source_refs": [ref.model_dump()]})

    def _walk(self, model: type[BaseModel], since: Any, *, tombstones: bool) -> Iterator[Page]:
        after = tuple(since["after"]) if since else None
        number = 0
        while True:
            with self._lock:
                rows = sorted(
                    (
                        (iso(r.deleted if tombstones and r.deleted else r.modified), sid)
                        for (name, sid), r in self.rows.items()
                        if name == model.__name__ and (r.deleted is not None) == tombstones
                    )
                )
            chunk = [k for k in rows if after is None or k > after][: self.page_size]
            if not chunk:
                return
            number += 1
            if self.on_page is not None:
                self.on_page(model, number)
            after = chunk[-1]
            items: list[Any] = []
            for stamp, sid in chunk:
                if tombstones:
                    ref = SourceRef(system=self.name, tenant=self.tenant, id=sid)
                    items.append(Deletion(ref=ref, deleted_at=datetime.fromisoformat(stamp)))
                else:
                    items.append(self.obj(model, sid))
            yield Page(items, {"after": list(after)})

    def read(self, model: type[Any], *, since: Any = None, **filters: Any) -> FakePager:
        return FakePager(self._walk(model, since, tombstones=False))

    def read_deletions(self, model: type[BaseModel], *, since: Any = None) -> FakePager:
        return FakePager(self._walk(model, since, tombstones=True))

    def lookup(self, model: type[BaseModel], *, entity_key: EntityKey) -> SourceRef | None:
        return None

    def upsert(self, obj: BaseModel, **kwargs: Any) -> WriteResult:
        raise NotImplementedError

    def delete(self, model: type[BaseModel], **kwargs: Any) -> WriteResult:
        raise NotImplementedError

    def validate(self, obj: BaseModel, *, refs: Mapping[str, SourceRef]) -> list[Problem]:
        return []

    def health(self) -> Health:
        return Health(ok=True)


@dataclass
class TargetRecord:
    id: str
    object_type: str
    entity_key: str
    values: dict[str, Any]
    refs: dict[str, str]
    posted: bool = False
    reversed: bool = False
    history: list[str] = field(default_factory=list)


class FakeTarget(Connector):
    """An ERP keyed by EntityKey, with posting, reversal and commit-then-drop faults."""

    name = "fakeerp"

    def __init__(
        self,
        *,
        tenant: str = "erp1",
        writable: Sequence[type[BaseModel]] = (Customer, Project, ProjectTask, TimeEntry, Invoice),
        reverse: Sequence[type[BaseModel]] = (),
        references: Mapping[str, Mapping[str, str]] | None = None,
        drop: Callable[[str, int], bool] | None = None,
        fail: Callable[[str, int], bool] | None = None,
        name: str | None = None,
    ) -> None:
        if name is not None:
            self.name = name  # type: ignore[misc]
        self.tenant = tenant
        self.records: dict[str, TargetRecord] = {}
        self.deleted: set[str] = set()
        self.calls: list[tuple[str, str]] = []
        self.attempts: dict[str, int] = {}
        self.drop = drop
        self.fail = fail
        self._lock = threading.Lock()
        self._next = 0
        refs = references or {}
        self._caps = Capabilities(
            types={
                t.__name__: TypeCapabilities(
                    write=True,
                    delete=True,
                    reverse=t in reverse,
                    posting=True,
                    write_safety={
                        "create": "unsafe",
                        "update": "natural_upsert",
                        "delete": "natural_upsert",
                        **({"reverse": "unsafe"} if t in reverse else {}),
                    },
                    references=dict(refs.get(t.__name__, {})),
                )
                for t in writable
            }
        )

    @property
    def capabilities(self) -> Capabilities:
        return self._caps

    def read(self, model: type[Any], *, since: Any = None, **filters: Any) -> list[Any]:
        return []

    def live(self, object_type: str) -> list[TargetRecord]:
        return [
            r
            for r in self.records.values()
            if r.object_type == object_type and not r.reversed and r.id not in self.deleted
        ]

    def lookup(self, model: type[BaseModel], *, entity_key: EntityKey) -> SourceRef | None:
        with self._lock:
            self.calls.append(("lookup", entity_key.canonical))
            rec = self.records.get(entity_key.canonical)
        if rec is None or rec.id in self.deleted:
            return None
        return SourceRef(system=self.name, tenant=self.tenant, id=rec.id)

    def _attempt(self, wk: WriteKey) -> int:
        with self._lock:
            n = self.attempts.get(str(wk), 0) + 1
            self.attempts[str(wk)] = n
            return n

    def upsert(
        self,
        obj: BaseModel,
        *,
        entity_key: EntityKey,
        write_key: WriteKey,
        refs: Mapping[str, SourceRef],
    ) -> WriteResult:
        attempt = self._attempt(write_key)
        if self.fail is not None and self.fail(str(write_key), attempt):
            raise ServerError("unavailable", status=503)
        values = obj.model_dump(mode="json", exclude={"source_refs", "warnings"})
        key = entity_key.canonical
        with self._lock:
            self.calls.append(("upsert", key))
            rec = self.records.get(key)
            if rec is not None and rec.id not in self.deleted:
                if rec.posted:
                    raise PostedRecordError("record is posted", status=400)
                outcome = (
                    WriteOutcome.UNCHANGED
                    if rec.values == values and rec.refs == {k: v.id for k, v in refs.items()}
                    else WriteOutcome.UPDATED
                )
                rec.values, rec.refs = values, {k: v.id for k, v in refs.items()}
            else:
                self._next += 1
                rec = TargetRecord(
                    f"R{self._next}",
                    type(obj).object_type,  # type: ignore[attr-defined]
                    key,
                    values,
                    {k: v.id for k, v in refs.items()},
                )
                self.records[key] = rec
                outcome = WriteOutcome.CREATED
            rec.history.append(str(write_key))
        if self.drop is not None and self.drop(str(write_key), attempt):
            raise IndeterminateWrite("response lost after commit", entity_key=key)
        ref = SourceRef(system=self.name, tenant=self.tenant, id=rec.id)
        return WriteResult(outcome=outcome, entity_key=entity_key, ref=ref, write_key=write_key)

    def delete(
        self, model: type[BaseModel], *, entity_key: EntityKey, write_key: WriteKey
    ) -> WriteResult:
        key = entity_key.canonical
        with self._lock:
            self.calls.append(("delete", key))
            rec = self.records.get(key)
            if rec is None or rec.id in self.deleted or rec.reversed:
                return WriteResult(outcome=WriteOutcome.NOT_FOUND, entity_key=entity_key)
            if rec.posted:
                raise PostedRecordError("record is posted", status=400)
            self.deleted.add(rec.id)
        ref = SourceRef(system=self.name, tenant=self.tenant, id=rec.id)
        return WriteResult(outcome=WriteOutcome.DELETED, entity_key=entity_key, ref=ref)

    def reverse(self, obj: BaseModel, *, entity_key: EntityKey, write_key: WriteKey) -> WriteResult:
        key = entity_key.canonical
        with self._lock:
            self.calls.append(("reverse", key))
            rec = self.records[key]
            rec.reversed = True
        ref = SourceRef(system=self.name, tenant=self.tenant, id=rec.id)
        return WriteResult(outcome=WriteOutcome.REVERSED, entity_key=entity_key, ref=ref)

    def validate(self, obj: BaseModel, *, refs: Mapping[str, SourceRef]) -> list[Problem]:
        return []

    def health(self) -> Health:
        return Health(ok=True)

    def post(self, entity_key: str) -> None:
        self.records[entity_key].posted = True
