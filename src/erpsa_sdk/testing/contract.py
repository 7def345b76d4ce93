"""The contract suite: what every connector must prove against its own simulator.

Subclass :class:`ContractSuite` in a test module, point it at your plugin and give it three
hooks (how settings reach the simulator, sample objects, the references a write needs)::

    class TestAcmeErpContract(ContractSuite):
        plugin = ACMEERP

        def settings(self, sim, *, page_size):
            return {"api_token": sim.api_token, "page_size": page_size}

        def sample(self, type_name, index, revision):
            ...  # a canonical object carrying self.marker(index, revision) in a written field

        def prepare_refs(self, harness, type_name):
            ...  # {"project_key": SourceRef(...), ...} resolved at the target

The suite parametrises itself over the types the connector's capabilities declare and proves:
read completeness while the simulator inserts, updates and deletes 1 % of rows between page
requests; that the cursor resumes; that write, edit, write leaves one record with the new
values (also when the second answer is lost after commit); that commit-then-drop on writes
leaves no duplicates; ``lookup``, ``match``, ``delete`` twice (``not_found``, no error);
``PostedRecordError`` on posted records; closed periods found by ``validate``; vendor errors
mapped onto the error tree; bad rows read as ``Rejected``; declared limits respected. Its
**negative control** sends keyless creates with a blind retry after a lost answer and expects
duplicates wherever the capabilities say the vendor does not de-duplicate, so a simulator that
silently de-duplicates fails.

Each proof is also a plain function (``check_*``) raising :class:`ContractViolation` with a
message that says what broke, so tools and tests can run one proof directly.

Example:
    >>> issubclass(ContractViolation, AssertionError)
    True
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, ClassVar, NoReturn

import httpx2
import pytest
from pydantic import BaseModel

from erpsa_sdk.clock import SimClock
from erpsa_sdk.connector import (
    Connector,
    ConnectorPlugin,
    ConnectorSettings,
    TypeCapabilities,
    WriteOutcome,
    WriteResult,
)
from erpsa_sdk.errors import (
    AuthError,
    ConnectError,
    ErpsaError,
    IndeterminateWrite,
    PostedRecordError,
    RateLimited,
    ResponseFormatError,
    ServerError,
    Timeout,
    TransportError,
)
from erpsa_sdk.models.keys import EntityKey, WriteKey, WriteOperation
from erpsa_sdk.models.refs import Rejected, SourceRef
from erpsa_sdk.testing.faults import WRITE_METHODS, FaultKind, FaultPlan
from erpsa_sdk.testing.simulator import Simulator

__all__ = [
    "ContractSuite",
    "ContractViolation",
    "Harness",
    "check_commit_then_drop",
    "check_cursor_resumes",
    "check_delete_twice",
    "check_error_mapping",
    "check_limits",
    "check_lookup_and_match",
    "check_negative_control",
    "check_posted_record",
    "check_read_completeness",
    "check_rejects",
    "check_validate_period",
    "check_write_edit_write",
]

NAMESPACE = "contract"
#: A cursor larger than this is not "bounded by the largest timestamp tie".
MAX_CURSOR_BYTES = 2048


class ContractViolation(AssertionError):
    """A connector (or its simulator) broke the contract; the message says how.

    Example:
        >>> str(ContractViolation("read completeness: 3 rows never yielded"))
        'read completeness: 3 rows never yielded'
    """


def _fail(message: str) -> NoReturn:
    raise ContractViolation(message)


@dataclass
class Harness:
    """One connector wired to a fresh simulator on a :class:`~erpsa_sdk.clock.SimClock`.

    Example:
        >>> Harness.__dataclass_fields__.keys() >= {"sim", "connector", "clock"}
        True
    """

    suite: ContractSuite
    plugin: ConnectorPlugin
    sim: Simulator
    clock: SimClock
    connector: Connector
    rng: random.Random = field(default_factory=lambda: random.Random(7))  # noqa: S311

    def caps(self, type_name: str) -> TypeCapabilities:
        """The connector's capabilities for ``type_name``."""
        return self.connector.capabilities.of(type_name)

    def model(self, type_name: str) -> type[BaseModel]:
        """The canonical class named ``type_name`` (from the suite's samples or the models)."""
        return self.suite.model_class(type_name)

    def keys(self, obj: BaseModel, version: str, op: str = "upsert") -> tuple[EntityKey, WriteKey]:
        """The EntityKey of ``obj`` in the suite's namespace, and a WriteKey for ``version``."""
        entity_key = obj.entity_key(NAMESPACE)  # type: ignore[attr-defined]
        return entity_key, WriteKey(entity_key=entity_key, version=version, operation=op)

    def write(
        self, obj: BaseModel, version: str, refs: Mapping[str, SourceRef]
    ) -> WriteResult | None:
        """``upsert`` as the runner does it: an ``IndeterminateWrite`` is resolved by
        ``lookup``, then the write is sent again (the connector looks before it creates)."""
        entity_key, write_key = self.keys(obj, version)
        try:
            return self.connector.upsert(obj, entity_key=entity_key, write_key=write_key, refs=refs)
        except IndeterminateWrite:
            self.connector.lookup(type(obj), entity_key=entity_key)
            return self.connector.upsert(obj, entity_key=entity_key, write_key=write_key, refs=refs)

    def rows(self, type_name: str, entity_key: EntityKey) -> list[dict[str, Any]]:
        """Target rows carrying ``entity_key``, read from the simulator (not the connector)."""
        return self.sim.rows_with_entity_key(type_name, str(entity_key))

    def table_of(self, type_name: str, *, source: bool = False) -> str:
        """The simulator table holding ``type_name`` records."""
        if source:
            return self.sim.source_tables[type_name]
        return self.sim.entity_key_fields[type_name][0]


class ContractSuite:
    """Subclass me in a test module (see the module docstring); every test is a ``check_*``.

    Class attributes:
        plugin: the :class:`~erpsa_sdk.connector.ConnectorPlugin` under test.
        seed: the simulator seed.
        read_rows: rows in a table during the read-completeness walk.
        page_size: the page size passed to :meth:`settings`.
        writes: writes in the commit-then-drop check.

    Example:
        >>> ContractSuite.marker(3, 2)
        'contract-3-rev2'
    """

    plugin: ClassVar[ConnectorPlugin]
    seed: ClassVar[int] = 1
    read_rows: ClassVar[int] = 150
    page_size: ClassVar[int] = 10
    writes: ClassVar[int] = 30

    # -- hooks ---------------------------------------------------------------------------------

    def settings(self, sim: Simulator, *, page_size: int) -> ConnectorSettings | Mapping[str, Any]:
        """Settings that reach ``sim`` (its test token) with the given page size."""
        raise NotImplementedError("ContractSuite subclasses implement settings(sim, page_size=)")

    def sample(self, type_name: str, index: int, revision: int) -> BaseModel:
        """A canonical ``type_name`` object with ``source_refs``; ``index`` tells records apart,
        ``revision`` versions one record and must show as :meth:`marker` in a written field."""
        raise NotImplementedError("ContractSuite subclasses implement sample(type, i, revision)")

    def prepare_refs(self, harness: Harness, type_name: str) -> Mapping[str, SourceRef]:
        """The references a ``type_name`` write needs, resolved at the target (default none)."""
        return {}

    @staticmethod
    def marker(index: int, revision: int) -> str:
        """The text that identifies revision ``revision`` of sample ``index``."""
        return f"contract-{index}-rev{revision}"

    def model_class(self, type_name: str) -> type[BaseModel]:
        """The canonical class for ``type_name`` (default: from :mod:`erpsa_sdk.models`)."""
        from erpsa_sdk import models

        cls = getattr(models, type_name, None)
        if not (isinstance(cls, type) and issubclass(cls, BaseModel)):
            raise ContractViolation(f"no canonical model named {type_name!r}")
        return cls

    def harness(self, *, faults: FaultPlan | None = None) -> Harness:
        """A fresh simulator and connector for one check."""
        clock = SimClock(autojump=True)
        sim = self.plugin.simulator(seed=self.seed, faults=faults, clock=clock)
        settings = self.settings(sim, page_size=self.page_size)
        connector = self.plugin.create(settings, transport=httpx2.MockTransport(sim), clock=clock)
        return Harness(suite=self, plugin=self.plugin, sim=sim, clock=clock, connector=connector)

    # -- pytest wiring -------------------------------------------------------------------------

    _SELECT: ClassVar[dict[str, Callable[[TypeCapabilities], bool]]] = {
        "test_read_completeness": lambda c: c.read and c.incremental,
        "test_cursor_resumes": lambda c: c.read,
        "test_rejects_bad_rows": lambda c: c.read,
        "test_write_edit_write": lambda c: c.write,
        "test_write_edit_write_with_lost_answer": lambda c: c.write,
        "test_commit_then_drop_leaves_no_duplicates": lambda c: c.write,
        "test_lookup_and_match": lambda c: c.write or bool(c.natural_keys),
        "test_delete_twice": lambda c: c.delete,
        "test_posted_record_refuses_changes": lambda c: c.posting,
        "test_closed_period_is_a_problem": lambda c: c.closed_periods,
        "test_vendor_errors_map_onto_the_error_tree": lambda c: c.read or c.write,
        "test_negative_control_naive_writer_duplicates": lambda c: (
            c.write and not c.vendor_dedupes_blind_creates
        ),
    }

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        """Parametrise each check over the canonical types whose capabilities it concerns."""
        if "type_name" not in metafunc.fixturenames:
            return
        select = self._SELECT[metafunc.function.__name__]
        names = [n for n, caps in sorted(self.plugin.capabilities.types.items()) if select(caps)]
        metafunc.parametrize("type_name", names or [None], ids=names or ["no-type-declares-it"])

    @pytest.fixture
    def harness_(self) -> Iterator[Harness]:
        h = self.harness()
        yield h
        h.connector.close()

    @staticmethod
    def _need(type_name: str | None) -> str:
        if type_name is None:
            pytest.skip("no type declares the capability this check proves")
        return type_name

    def test_read_completeness(self, harness_: Harness, type_name: str | None) -> None:
        check_read_completeness(harness_, self._need(type_name), rows=self.read_rows)

    def test_cursor_resumes(self, harness_: Harness, type_name: str | None) -> None:
        check_cursor_resumes(harness_, self._need(type_name))

    def test_rejects_bad_rows(self, harness_: Harness, type_name: str | None) -> None:
        check_rejects(harness_, self._need(type_name))

    def test_write_edit_write(self, harness_: Harness, type_name: str | None) -> None:
        check_write_edit_write(harness_, self._need(type_name))

    def test_write_edit_write_with_lost_answer(
        self, harness_: Harness, type_name: str | None
    ) -> None:
        check_write_edit_write(harness_, self._need(type_name), drop_second=True)

    def test_commit_then_drop_leaves_no_duplicates(
        self, harness_: Harness, type_name: str | None
    ) -> None:
        check_commit_then_drop(harness_, self._need(type_name), writes=self.writes)

    def test_lookup_and_match(self, harness_: Harness, type_name: str | None) -> None:
        check_lookup_and_match(harness_, self._need(type_name))

    def test_delete_twice(self, harness_: Harness, type_name: str | None) -> None:
        check_delete_twice(harness_, self._need(type_name))

    def test_posted_record_refuses_changes(self, harness_: Harness, type_name: str | None) -> None:
        check_posted_record(harness_, self._need(type_name))

    def test_closed_period_is_a_problem(self, harness_: Harness, type_name: str | None) -> None:
        check_validate_period(harness_, self._need(type_name))

    def test_vendor_errors_map_onto_the_error_tree(
        self, harness_: Harness, type_name: str | None
    ) -> None:
        check_error_mapping(harness_, self._need(type_name))

    def test_negative_control_naive_writer_duplicates(
        self, harness_: Harness, type_name: str | None
    ) -> None:
        check_negative_control(harness_, self._need(type_name))

    def test_limits_are_respected(self, harness_: Harness) -> None:
        check_limits(harness_)


# -- reads -------------------------------------------------------------------------------------


def _id_version(item: Any) -> tuple[str, str | None] | None:
    refs = getattr(item, "source_refs", None)
    if not refs:
        return None
    ref = refs[0]
    return ref.id, ref.version


def _walk(pager: Any) -> tuple[list[tuple[str, str | None]], Any]:
    seen: list[tuple[str, str | None]] = []
    for page in pager.iter_pages():
        for item in page.items:
            if not isinstance(item, Rejected):
                key = _id_version(item)
                if key is None:
                    raise ContractViolation(
                        f"{type(item).__name__} read without source_refs: no id, no version"
                    )
                seen.append(key)
    return seen, pager.cursor


def _grow(h: Harness, table: str, rows: int) -> None:
    # Fill the table to ``rows`` rows in the past, two rows per timestamp (keyset ties).
    now = h.clock.now()
    missing = rows - h.sim.admin.count(table)
    for i in range(max(0, missing)):
        at = now - timedelta(seconds=missing - i + i % 2)
        h.sim.admin.insert(table, h.sim.sample_row(table, h.rng), at=at)
    h.clock.advance(1)


def check_read_completeness(h: Harness, type_name: str, *, rows: int = 150) -> None:
    """Read completeness while 1 % of rows are inserted, updated and deleted between pages.

    Over one walk plus the next incremental run from the saved cursor: every row that existed
    throughout is yielded, no (id, version) twice, rows inserted during the walk are yielded by
    the end, the last version yielded per id is the current one, and the cursor stays small.

    Example:
        ``MySuite`` is your :class:`ContractSuite` subclass (it needs its plugin):

        >>> check_read_completeness(MySuite().harness(), "TimeEntry", rows=150)  # doctest: +SKIP
    """
    table = h.table_of(type_name, source=True)
    model = h.model(type_name)
    _grow(h, table, rows)
    start_ids = {str(r["id"]) for r in h.sim.admin.rows(table)}
    deleted: set[str] = set()
    inserted: set[str] = set()
    requests = 0
    churn_rng = random.Random(11)  # noqa: S311 - test data

    def churn(req: Any) -> None:
        nonlocal requests
        if req.method != "GET":
            return
        requests += 1
        if requests == 1:
            return  # between pages, not before the first
        h.clock.advance(1)
        changed = h.sim.admin.churn(table, 0.01, churn_rng)
        deleted.update(str(i) for i in changed["deleted"])
        inserted.update(str(i) for i in changed["inserted"])

    remove = h.sim.before_request(churn)
    try:
        first, cursor = _walk(h.connector.read(model))
    finally:
        remove()
    if requests < 3:
        _fail(
            f"read completeness ({type_name}): the walk took {requests} request(s); use a page "
            f"size well below {rows} rows so pages can change between requests"
        )
    h.clock.advance(1)
    second, _ = _walk(h.connector.read(model, since=cursor))
    yielded = first + second
    ids = {i for i, _ in yielded}
    throughout = start_ids - deleted
    never = sorted(throughout - ids, key=int)
    if never:
        _fail(
            f"read completeness ({type_name}): {len(never)} of {len(throughout)} rows that existed "
            f"throughout the walk were never yielded (ids {never[:10]}); "
            "does the reader drop or skip a page?"
        )
    dupes = sorted({k for k in yielded if yielded.count(k) > 1})
    if dupes:
        _fail(f"read completeness ({type_name}): (id, version) pairs yielded twice: {dupes[:5]}")
    live_now = {str(r["id"]) for r in h.sim.admin.rows(table)}
    lost_inserts = sorted((inserted & live_now) - ids, key=int)
    if lost_inserts:
        _fail(
            f"read completeness ({type_name}): rows inserted during the walk were not yielded by "
            f"the end of the next run: {lost_inserts[:10]}"
        )
    h.clock.advance(1)
    current = dict(_walk(h.connector.read(model))[0])
    last: dict[str, str | None] = {}
    for row_id, version in yielded:
        last[row_id] = version
    stale = sorted((i for i in live_now if last.get(i) != current.get(i)), key=int)
    if stale:
        i = stale[0]
        _fail(
            f"read completeness ({type_name}): the last version yielded for id {i} is "
            f"{last.get(i)!r}, the current one is {current.get(i)!r} ({len(stale)} such ids)"
        )
    size = len(json.dumps(cursor, default=str))
    if size > MAX_CURSOR_BYTES:
        _fail(
            f"read completeness ({type_name}): the cursor is {size} bytes of JSON; it must stay "
            f"bounded (<= {MAX_CURSOR_BYTES}), not grow with the rows read"
        )


def check_cursor_resumes(h: Harness, type_name: str) -> None:
    """A read resumed from the cursor after page 2 yields exactly what the full walk yields
    after page 2.

    Example:
        ``MySuite`` is your :class:`ContractSuite` subclass (it needs its plugin):

        >>> check_cursor_resumes(MySuite().harness(), "TimeEntry")  # doctest: +SKIP
    """
    model = h.model(type_name)
    table = h.table_of(type_name, source=True)
    _grow(h, table, 5 * h.suite.page_size)
    full, _ = _walk(h.connector.read(model))
    pager: Any = h.connector.read(model)
    head: list[tuple[str, str | None]] = []
    pages = pager.iter_pages()
    for _ in range(2):
        head.extend(k for i in next(pages).items if (k := _id_version(i)) is not None)
    next(pages, None)  # ask for page 3: page 2 is handed over, the cursor moves past it
    cursor = json.loads(json.dumps(pager.cursor, default=str))  # stored as a runner would
    rest, _ = _walk(h.connector.read(model, since=cursor))
    if head + rest != full:
        missing = [k for k in full if k not in head + rest]
        _fail(
            f"cursor ({type_name}): resuming after page 2 does not continue the walk; "
            f"{len(missing)} item(s) missing, e.g. {missing[:3]}"
        )


def check_rejects(h: Harness, type_name: str) -> None:
    """A malformed stored row comes out as one ``Rejected`` with its raw payload; the rest
    of the page is read.

    Example:
        ``MySuite`` is your :class:`ContractSuite` subclass (it needs its plugin):

        >>> check_rejects(MySuite().harness(), "TimeEntry")  # doctest: +SKIP
    """
    table = h.table_of(type_name, source=True)
    try:
        bad = h.sim.admin.insert(table, h.sim.bad_row(table))
    except NotImplementedError as exc:
        pytest.skip(str(exc))
    h.clock.advance(1)
    items = list(h.connector.read(h.model(type_name)))
    rejected = [i for i in items if isinstance(i, Rejected)]
    good = [i for i in items if not isinstance(i, Rejected)]
    if len(rejected) != 1:
        _fail(
            f"rejects ({type_name}): expected 1 Rejected for the bad row {bad['id']}, got "
            f"{len(rejected)}"
        )
    raw = rejected[0].raw
    if not (isinstance(raw, Mapping) and str(raw.get("id")) == str(bad["id"])):
        _fail(f"rejects ({type_name}): the Rejected item does not carry the raw row {bad['id']}")
    if len(good) != h.sim.admin.count(table) - 1:
        _fail(
            f"rejects ({type_name}): {len(good)} good items for {h.sim.admin.count(table) - 1} "
            "good rows; one bad row must not drop the others"
        )


# -- writes ------------------------------------------------------------------------------------


def _carries(row: Mapping[str, Any], text: str) -> bool:
    return text in json.dumps(row.get("data", row), default=str)


def check_write_edit_write(h: Harness, type_name: str, *, drop_second: bool = False) -> None:
    """Write, edit at the source, write again: one record at the target, with the new values
    (with ``drop_second``, the second write's answer is lost after commit).

    Example:
        ``MySuite`` is your :class:`ContractSuite` subclass (it needs its plugin):

        >>> check_write_edit_write(MySuite().harness(), "Project")  # doctest: +SKIP
    """
    refs = h.suite.prepare_refs(h, type_name)
    index = 1
    first = h.suite.sample(type_name, index, 1)
    result = h.write(first, "1", refs)
    if result is None or result.outcome not in {WriteOutcome.CREATED, WriteOutcome.UPSERTED}:
        _fail(f"write ({type_name}): the first write of a new record reported {result!r}")
    edited = h.suite.sample(type_name, index, 2)
    if drop_second:
        h.sim.set_faults(
            FaultPlan.always(FaultKind.COMMIT_THEN_DROP, methods=WRITE_METHODS, max_attempt=1)
        )
    try:
        h.write(edited, "2", refs)
    finally:
        h.sim.set_faults(None)
    entity_key, _ = h.keys(first, "1")
    rows = h.rows(type_name, entity_key)
    how = " after the second answer was lost" if drop_second else ""
    if len(rows) != 1:
        _fail(
            f"write-edit-write ({type_name}){how}: {len(rows)} records at the target carry "
            f"EntityKey {entity_key}; an edit must update the record, not write a new one"
        )
    new, old = h.suite.marker(index, 2), h.suite.marker(index, 1)
    if not _carries(rows[0], new) or _carries(rows[0], old):
        _fail(
            f"write-edit-write ({type_name}){how}: the target record does not carry the new "
            f"values ({new!r}): {rows[0].get('data')}"
        )


def check_commit_then_drop(h: Harness, type_name: str, *, writes: int = 30) -> None:
    """Commit-then-drop on 10 % of write requests: every record exists exactly once.

    At least ``writes`` records are written, and more (up to four times as many) until at
    least one answer was lost, so the proof never passes vacuously.

    Example:
        ``MySuite`` is your :class:`ContractSuite` subclass (it needs its plugin):

        >>> check_commit_then_drop(MySuite().harness(), "TimeEntry", writes=30)  # doctest: +SKIP
    """
    refs = h.suite.prepare_refs(h, type_name)
    h.sim.set_faults(FaultPlan.writes(seed=h.suite.seed, commit_then_drop=0.1))
    keys: list[EntityKey] = []

    def dropped() -> int:
        return sum(e.kind is FaultKind.COMMIT_THEN_DROP for e in h.sim.fault_log)

    try:
        for i in range(100, 100 + 4 * writes):
            if len(keys) >= writes and dropped():
                break
            obj = h.suite.sample(type_name, i, 1)
            h.write(obj, "1", refs)
            keys.append(h.keys(obj, "1")[0])
    finally:
        h.sim.set_faults(None)
    if not dropped():
        _fail(
            f"commit-then-drop ({type_name}): no write answer was dropped in {len(keys)} writes; "
            "do the writes reach the simulator?"
        )
    for entity_key in keys:
        count = len(h.rows(type_name, entity_key))
        if count != 1:
            _fail(
                f"commit-then-drop ({type_name}): EntityKey {entity_key} has {count} records "
                f"at the target after {dropped()} lost answers; a retry after a lost answer "
                "must look up (or address the record by its key), never create blindly"
            )


def check_lookup_and_match(h: Harness, type_name: str) -> None:
    """``lookup`` finds a written record by EntityKey (and nothing for an unknown key);
    ``match`` finds records by the declared natural key.

    Example:
        ``MySuite`` is your :class:`ContractSuite` subclass (it needs its plugin):

        >>> check_lookup_and_match(MySuite().harness(), "Resource")  # doctest: +SKIP
    """
    caps = h.caps(type_name)
    model = h.model(type_name)
    if caps.write:
        refs = h.suite.prepare_refs(h, type_name)
        obj = h.suite.sample(type_name, 7, 1)
        result = h.write(obj, "1", refs)
        entity_key, _ = h.keys(obj, "1")
        found = h.connector.lookup(model, entity_key=entity_key)
        rows = h.rows(type_name, entity_key)
        if found is None or not rows or found.id != str(rows[0]["id"]):
            raise ContractViolation(
                f"lookup ({type_name}): lookup returned {found!r} for a record stored as "
                f"{[r['id'] for r in rows]}"
            )
        if result is not None and result.ref is not None and result.ref.id != found.id:
            _fail(f"lookup ({type_name}): upsert reported {result.ref.id}, lookup {found.id}")
        unknown = EntityKey(
            namespace=NAMESPACE,
            system="nowhere",
            tenant="t",
            source_id="0",
            object_type=entity_key.object_type,
        )
        if h.connector.lookup(model, entity_key=unknown) is not None:
            _fail(f"lookup ({type_name}): an unknown EntityKey was found")
        candidates: list[tuple[BaseModel, str]] = [(obj, found.id)]
    else:
        h.clock.advance(1)
        item = next((i for i in h.connector.read(model) if not isinstance(i, Rejected)), None)
        if item is None:
            pytest.skip(f"the simulator holds no {type_name} to match")
        candidates = [(item, item.source_refs[0].id)]  # type: ignore[attr-defined]
    for field_name in caps.natural_keys:
        obj, expected = candidates[0]
        value = getattr(obj, field_name, None)
        if value is None:
            continue
        refs_found = h.connector.match(model, **{field_name: value})
        if expected not in [r.id for r in refs_found]:
            _fail(
                f"match ({type_name}): match({field_name}={value!r}) returned "
                f"{[r.id for r in refs_found]}, not the record {expected}"
            )
        if h.connector.match(model, **{field_name: f"{value}-no-such-value"}):
            _fail(f"match ({type_name}): a value nobody has matched something")


def check_delete_twice(h: Harness, type_name: str) -> None:
    """``delete`` removes the record; a second ``delete`` returns ``not_found`` quietly.

    Example:
        ``MySuite`` is your :class:`ContractSuite` subclass (it needs its plugin):

        >>> check_delete_twice(MySuite().harness(), "TimeEntry")  # doctest: +SKIP
    """
    refs = h.suite.prepare_refs(h, type_name)
    obj = h.suite.sample(type_name, 8, 1)
    h.write(obj, "1", refs)
    entity_key, write_key = h.keys(obj, "1", "delete")
    model = h.model(type_name)
    first = h.connector.delete(model, entity_key=entity_key, write_key=write_key)
    if first.outcome is not WriteOutcome.DELETED:
        _fail(f"delete ({type_name}): the first delete reported {first.outcome.value}")
    try:
        second = h.connector.delete(model, entity_key=entity_key, write_key=write_key)
    except ErpsaError as exc:
        _fail(
            f"delete ({type_name}): the second delete raised {type(exc).__name__}: {exc}; a "
            "delete that finds nothing is a success and must return not_found"
        )
    if second.outcome is not WriteOutcome.NOT_FOUND:
        _fail(
            f"delete ({type_name}): the second delete reported {second.outcome.value}, "
            "not not_found"
        )
    if h.rows(type_name, entity_key):
        _fail(f"delete ({type_name}): the record is still at the target after delete")


def check_posted_record(h: Harness, type_name: str) -> None:
    """An edit or delete of a posted record raises ``PostedRecordError`` and changes nothing;
    ``reverse`` works where declared.

    Example:
        ``MySuite`` is your :class:`ContractSuite` subclass (it needs its plugin):

        >>> check_posted_record(MySuite().harness(), "TimeEntry")  # doctest: +SKIP
    """
    caps = h.caps(type_name)
    refs = h.suite.prepare_refs(h, type_name)
    obj = h.suite.sample(type_name, 9, 1)
    h.write(obj, "1", refs)
    entity_key, _ = h.keys(obj, "1")
    rows = h.rows(type_name, entity_key)
    h.sim.admin.post(h.table_of(type_name), rows[0]["id"])
    before = h.rows(type_name, entity_key)
    model = h.model(type_name)
    for action in ("upsert", "delete"):
        _, write_key = h.keys(obj, "2", action)
        try:
            if action == "upsert":
                h.connector.upsert(
                    h.suite.sample(type_name, 9, 2),
                    entity_key=entity_key,
                    write_key=write_key,
                    refs=refs,
                )
            else:
                h.connector.delete(model, entity_key=entity_key, write_key=write_key)
        except PostedRecordError:
            pass
        else:
            _fail(
                f"posted ({type_name}): {action} of a posted record did not raise PostedRecordError"
            )
        if h.rows(type_name, entity_key) != before:
            _fail(f"posted ({type_name}): {action} of a posted record changed it")
    if caps.reverse:
        _, write_key = h.keys(obj, "2", "reverse")
        result = h.connector.reverse(obj, entity_key=entity_key, write_key=write_key)
        if result.outcome is not WriteOutcome.REVERSED:
            _fail(f"posted ({type_name}): reverse reported {result.outcome.value}")


def _first_date(obj: BaseModel) -> date | None:
    for name in type(obj).model_fields:
        value = getattr(obj, name)
        if isinstance(value, date):
            return value
    return None


def check_validate_period(h: Harness, type_name: str) -> None:
    """``validate`` reports a closed accounting period as a ``period_closed`` problem.

    Example:
        ``MySuite`` is your :class:`ContractSuite` subclass (it needs its plugin):

        >>> check_validate_period(MySuite().harness(), "TimeEntry")  # doctest: +SKIP
    """
    refs = h.suite.prepare_refs(h, type_name)
    obj = h.suite.sample(type_name, 10, 1)
    day = _first_date(obj)
    if day is None:
        _fail(f"validate ({type_name}): declares closed_periods but the sample has no date")
        return
    if h.connector.validate(obj, refs=refs):
        _fail(
            f"validate ({type_name}): problems before the period closed: "
            f"{h.connector.validate(obj, refs=refs)}"
        )
    h.sim.admin.close_period(day.isoformat()[:7])
    codes = [p.code for p in h.connector.validate(obj, refs=refs)]
    if "period_closed" not in codes:
        _fail(
            f"validate ({type_name}): closing {day.isoformat()[:7]} gave problems {codes}, "
            "not period_closed"
        )


_ERRORS: dict[FaultKind, tuple[type[ErpsaError], ...]] = {
    FaultKind.SERVER_ERROR: (ServerError,),
    FaultKind.RATE_LIMIT: (RateLimited,),
    FaultKind.RATE_LIMIT_NO_RETRY_AFTER: (RateLimited,),
    FaultKind.HTML_ERROR: (ResponseFormatError, ServerError),
    FaultKind.ERROR_200: (ResponseFormatError,),
    FaultKind.TRUNCATED_JSON: (ResponseFormatError,),
    FaultKind.TIMEOUT: (Timeout, TransportError),
    FaultKind.CONNECTION_RESET: (ConnectError, TransportError),
}


def check_error_mapping(h: Harness, type_name: str) -> None:
    """Every vendor failure surfaces as the matching class of :mod:`erpsa_sdk.errors`.

    Example:
        ``MySuite`` is your :class:`ContractSuite` subclass (it needs its plugin):

        >>> check_error_mapping(MySuite().harness(), "Customer")  # doctest: +SKIP
    """
    model = h.model(type_name)
    caps = h.caps(type_name)
    probe_key = EntityKey(
        namespace=NAMESPACE, system="probe", tenant="t", source_id="1", object_type="probe"
    )
    if not caps.read:
        # Probe with a record that exists, so every fault hits a successful answer.
        obj = h.suite.sample(type_name, 11, 1)
        h.write(obj, "1", h.suite.prepare_refs(h, type_name))
        probe_key = h.keys(obj, "1")[0]

    def probe() -> None:
        if caps.read:
            list(h.connector.read(model))
        else:
            h.connector.lookup(model, entity_key=probe_key)

    for kind, expected in _ERRORS.items():
        h.sim.set_faults(FaultPlan.always(kind, seed=h.suite.seed))
        try:
            probe()
        except expected:
            continue
        except ErpsaError as exc:
            _fail(
                f"errors ({type_name}): a {kind.value} fault raised {type(exc).__name__}; "
                f"expected {' or '.join(e.__name__ for e in expected)}"
            )
        except Exception as exc:
            _fail(
                f"errors ({type_name}): a {kind.value} fault leaked {type(exc).__name__}: {exc}; "
                "vendor failures must map onto erpsa_sdk.errors"
            )
        else:
            _fail(f"errors ({type_name}): a {kind.value} fault on every attempt raised nothing")
        finally:
            h.sim.set_faults(None)
    bad = h.sim.api_token
    h.sim.api_token = bad + "-revoked"
    try:
        probe()
    except AuthError:
        pass
    except Exception as exc:
        _fail(f"errors ({type_name}): a revoked token raised {type(exc).__name__}, not AuthError")
    else:
        _fail(f"errors ({type_name}): a revoked token raised nothing")
    finally:
        h.sim.api_token = bad


def check_negative_control(h: Harness, type_name: str) -> None:
    """A naive writer (keyless create, blind retry after a lost answer) must leave a
    duplicate wherever the capabilities say the vendor does not de-duplicate.

    Example:
        ``MySuite`` is your :class:`ContractSuite` subclass (it needs its plugin):

        >>> check_negative_control(MySuite().harness(), "TimeEntry")  # doctest: +SKIP
    """
    caps = h.caps(type_name)
    safety = caps.safety(WriteOperation.CREATE)
    if caps.vendor_dedupes_blind_creates:
        pytest.skip(f"{type_name}: the capabilities declare that the vendor de-duplicates")
    table = h.table_of(type_name)
    h.suite.prepare_refs(h, type_name)
    method, path, body = h.sim.naive_create(type_name, 1)
    creds = h.sim.credentials("https://naive.invalid")
    client = httpx2.Client(
        transport=httpx2.MockTransport(h.sim),
        base_url="https://naive.invalid",
        headers={"authorization": creds["authorization"]},
    )
    before = h.sim.admin.count(table)
    h.sim.set_faults(FaultPlan.always(FaultKind.COMMIT_THEN_DROP, methods={method}, max_attempt=1))
    try:
        try:
            client.request(method, path, json=body)
            lost = False
        except httpx2.TransportError:
            lost = True
        retry = client.request(method, path, json=body)  # blind: no key, no look-up
    finally:
        h.sim.set_faults(None)
        client.close()
    if not lost or retry.status_code >= 400:
        _fail(
            f"negative control ({type_name}): the naive create did not go through "
            f"(lost={lost}, retry status {retry.status_code}): fix Simulator.naive_create"
        )
    created = h.sim.admin.count(table) - before
    if created != 2:
        _fail(
            f"negative control ({type_name}): a keyless create re-sent blindly after a lost "
            f"answer left {created} record(s), but the capabilities declare create safety "
            f"{safety.value!r} and vendor_dedupes_blind_creates=False (the vendor does not "
            "de-duplicate): the simulator de-duplicates silently and would hide a connector "
            "that is not idempotent"
        )


def check_limits(h: Harness, *, threads: int = 16, calls: int = 10) -> None:
    """Many threads calling at once stay within the vendor's declared limits (no 429s from
    the simulator's limit enforcement).

    Example:
        ``MySuite`` is your :class:`ContractSuite` subclass (it needs its plugin):

        >>> check_limits(MySuite().harness(), threads=16, calls=10)  # doctest: +SKIP
    """
    caps = h.connector.capabilities
    readable = [n for n, c in caps.types.items() if c.read]
    writable = [n for n, c in caps.types.items() if c.write]
    if not readable and not writable:
        pytest.skip("the connector declares no type")
    h.sim.service_time = 0.05  # type: ignore[misc]  # in flight long enough to overlap
    errors: list[BaseException] = []
    probe_key = EntityKey(
        namespace=NAMESPACE, system="probe", tenant="t", source_id="1", object_type="probe"
    )

    def worker() -> None:
        try:
            for _ in range(calls):
                if writable:
                    h.connector.lookup(h.model(writable[0]), entity_key=probe_key)
                else:
                    pager: Any = h.connector.read(h.model(readable[0]))
                    next(iter(pager.iter_pages()), None)
        except BaseException as exc:
            errors.append(exc)

    with h.clock.participant():
        pool = [h.clock.start_thread(worker) for _ in range(threads)]
    for t in pool:
        t.join()
    if errors:
        _fail(f"limits: a caller failed: {type(errors[0]).__name__}: {errors[0]}")
    if h.sim.stats.limit_violations:
        _fail(
            f"limits: the simulator refused {h.sim.stats.limit_violations} request(s) over the "
            f"declared limits (peak {h.sim.stats.max_in_flight} in flight); the connector must "
            "govern its calls with the limits it declares"
        )
