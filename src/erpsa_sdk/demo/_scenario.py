"""The demo scenario: a firm in Kantata, synced to NetSuite (current ERP) and Dynamics 365
(target ERP, dual run) under faults, with planted bad records, a mid-run edit and deletions.

Examples:
    >>> sorted(t.__name__ for t in TYPES)
    ['Customer', 'Expense', 'Project', 'Resource', 'TimeEntry']
"""

from __future__ import annotations

import logging
import random
import re
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx2
from pydantic import BaseModel

from erpsa_sdk.clock import SimClock
from erpsa_sdk.demo.checker import rows_for
from erpsa_sdk.mapping import MappingPolicy, ValueMap
from erpsa_sdk.models import (
    Customer,
    EntityKey,
    Expense,
    LegalEntity,
    Project,
    ProjectTask,
    Resource,
    TimeEntry,
)
from erpsa_sdk.models.refs import Rejected
from erpsa_sdk.registry import get_plugin
from erpsa_sdk.sync import (
    CrosswalkEntry,
    Pipeline,
    Progress,
    RunReport,
    SQLiteStateStore,
    SyncRunner,
)
from erpsa_sdk.sync.reconcile import Reconciliation, reconcile
from erpsa_sdk.testing.faults import FaultPlan
from erpsa_sdk.testing.seed import SeededFirm, clear_simulator, generate_firm, write_firm

__all__ = ["DemoRun", "Planted", "run_scenario"]

NAMESPACE = "demo"
TYPES: tuple[type[BaseModel], ...] = (Resource, Customer, Project, TimeEntry, Expense)
#: Per target, the types beyond :data:`TYPES`. Dynamics 365 gets the tasks too and skips them
#: (schedule entities cannot be written by an application user), reported once per run.
#: NetSuite does not: Kantata's story stream yields milestones next to tasks, which NetSuite
#: refuses as an unsupported type (a dead letter per milestone).
EXTRA_TYPES: dict[str, tuple[type[BaseModel], ...]] = {"dynamics365": (ProjectTask,)}
#: ≥ 5 % of the ERP requests meet a fault: throttling, server errors, answers lost after commit.
ERP_FAULTS = "rate_limit=0.04,server_error=0.02,commit_then_drop=0.03"
PSA_FAULTS = "rate_limit=0.02,server_error=0.02;methods=GET"
CLOSED_PERIOD = "2026-08"
#: The planted closed-period expense, in cents.
CLOSED_PERIOD_AMOUNT = 18_250
#: Runs after the first, at most, until a run reads nothing new and nothing waits.
MAX_EXTRA_RUNS = 6
#: The ERP's own master data: the demo writes none of it (the checker counts these tables).
MASTER_TABLES: dict[str, tuple[str, ...]] = {
    "netsuite": ("subsidiary", "employee", "serviceitem", "customer"),
    "dynamics365": ("cdm_company", "bookableresource"),
}


@dataclass
class Planted:
    """What the demo plants in the PSA (Kantata record ids), and what it does mid-run.

    Examples:
        >>> Planted(unknown_project="493").unknown_project
        '493'
    """

    unknown_project: str = ""
    naive_timestamp: str = ""
    closed_period_expense: str = ""
    edited: str = ""
    deleted_unposted: str = ""
    deleted_posted: str = ""
    edited_minutes: int = 0
    tampered_deleted: str = ""
    tampered_amount: str = ""
    source_deleted_late: str = ""


@dataclass
class PipelineRun:
    """One pipeline of the demo: its simulator, connector, runner, reports and reconciliation.

    Examples:
        >>> PipelineRun.__dataclass_fields__["reports"].default_factory()
        []
    """

    name: str
    vendor: str
    sim: Any
    connector: Any
    pipeline: Pipeline
    runner: SyncRunner
    seed_ids: dict[str, dict[str, str]]
    reports: list[RunReport] = field(default_factory=list)
    reconciliation: Reconciliation | None = None
    types: tuple[type[BaseModel], ...] = ()
    master_counts: dict[str, int] = field(default_factory=dict)
    linked_types: tuple[str, ...] = ()
    #: Requests the ERP answered while its faults were on (the sync runs).
    requests_under_faults: int = 0


@dataclass
class DemoRun:
    """Everything the demo did, for the checker, the tables and the JSON.

    Examples:
        >>> "pipelines" in DemoRun.__dataclass_fields__
        True
    """

    firm: SeededFirm
    clock: SimClock
    kantata: Any
    source: Any
    kantata_ids: dict[str, dict[str, str]]
    store: SQLiteStateStore
    pipelines: list[PipelineRun]
    planted: Planted
    policy: MappingPolicy
    drills: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    missing_connectors: list[str] = field(default_factory=list)
    not_reconciled: dict[str, str] = field(default_factory=dict)
    retries: RetryCounter | None = None

    def entity_key(self, object_type: str, source_id: str) -> EntityKey:
        """The EntityKey of a Kantata record in this demo."""
        return EntityKey(
            namespace=NAMESPACE,
            system=self.source.name,
            tenant=self.source_tenant,
            source_id=source_id,
            object_type=object_type,
        )

    @property
    def source_tenant(self) -> str:
        """The Kantata tenant, as the pipelines name it."""
        return self.pipelines[0].pipeline.source_connection.split(":", 1)[1]


class DemoPolicy(MappingPolicy):
    """Value maps plus one derived field: a project's legal entity from its customer.

    The firm keeps the legal entity on the Kantata workspace group (the customer); the value
    map ``legal_entity`` translates that group to the legal entity, which the crosswalk links
    to the ERP's subsidiary or company. An unmapped customer is an ``unmapped_value`` dead
    letter, never a default.

    Examples:
        >>> from erpsa_sdk.models import Project
        >>> policy = DemoPolicy(ValueMap("legal_entity", {"7": "LE-UK"}))
        >>> p = Project(key="1", name="Rollout", currency="GBP", customer_key="7")
        >>> policy.transform(p).legal_entity_key
        'LE-UK'
    """

    def __init__(self, legal_entity: ValueMap, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.legal_entity = legal_entity

    def transform(self, obj: BaseModel) -> BaseModel:
        """Apply the value maps, then derive a project's legal entity from its customer."""
        obj = super().transform(obj)
        if isinstance(obj, Project) and obj.legal_entity_key is None and obj.customer_key:
            value = self.legal_entity.translate(
                obj.customer_key, field_path="Project.legal_entity_key"
            )
            obj = obj.model_copy(update={"legal_entity_key": value})
        return obj


_RETRY_LINE = re.compile(r"^[A-Z]+ (\S+) attempt \d+: .* -> retry$")


class RetryCounter(logging.Handler):
    """Counts the transport's retry decisions per host (it logs each one at debug level).

    Examples:
        >>> counter = RetryCounter()
        >>> log = logging.LogRecord("erpsa_sdk.http", logging.DEBUG, "", 0,
        ...     "PUT https://1.suitetalk.api.netsuite.com/x attempt 1: 429 -> retry", None, None)
        >>> counter.emit(log)
        >>> counter.for_vendor("netsuite")
        1
    """

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.by_host: Counter[str] = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        """Count the record when it is a retry decision."""
        # The message is formatted (and redacted) before handlers see it.
        found = _RETRY_LINE.match(record.getMessage())
        if found:
            self.by_host[urlsplit(found.group(1)).hostname or "?"] += 1

    def for_vendor(self, word: str) -> int:
        """Retries sent to hosts whose name contains ``word``."""
        return sum(n for host, n in self.by_host.items() if word in host)


def _link_legal_entities(
    store: SQLiteStateStore, pipeline: Pipeline, target: Any, firm: SeededFirm
) -> int:
    """Initial match of the legal entities: find each by name at the ERP, link it."""
    lease = store.acquire_lease(f"{pipeline.name}#link", holder="demo", ttl=60)
    linked = 0
    try:
        tenant = pipeline.source_connection.split(":", 1)[1]
        for le in firm.legal_entities:
            found = target.match(LegalEntity, name=le.name)
            if len(found) != 1:
                continue
            key = f"LE-{le.code}"
            ek = EntityKey(
                namespace=NAMESPACE, system=pipeline.source.name, tenant=tenant,
                source_id=key, object_type="legal_entity",
            ).canonical  # fmt: skip
            store.crosswalk_put(
                lease, CrosswalkEntry(pipeline.source_connection, ek, "legal_entity", key)
            )
            store.crosswalk_put(
                lease, CrosswalkEntry(pipeline.target_connection, ek, "legal_entity", found[0].id)
            )
            linked += 1
    finally:
        store.release_lease(lease)
    return linked


def _erp_settings(vendor: str, sim: Any) -> dict[str, Any]:
    if vendor == "netsuite":
        return {
            "account_id": sim.tenant,
            "max_concurrency": 4,
            "token": sim.api_token,
            "lag_seconds": 0,
        }
    return {"environment_url": sim.environment_url, "token": sim.api_token}


def run_scenario(
    *,
    seed: int = 7,
    weeks: int = 6,
    workdir: Path | None = None,
    on_event: Callable[[str, Any], None] | None = None,
    on_progress: Callable[[PipelineRun, Progress], None] | None = None,
) -> DemoRun:
    """Run the whole demo on simulators; return what happened (no printing here).

    Parameters:
        seed: the firm, the simulators and the fault plans.
        weeks: weeks of time and expenses.
        workdir: where the state store's SQLite file goes (default: a new temporary folder).
        on_event: ``(kind, data)`` at each phase (``seeded``, ``mid_run``, ``run_done``, ...).
        on_progress: every committed batch of every run, with the pipeline it belongs to.

    Examples:
        One week of the firm (the demo runs six), checked and drilled:

        >>> from erpsa_sdk.demo import run_drills, summarize
        >>> demo = run_scenario(weeks=1)
        >>> summary = summarize(demo)
        >>> summary["missing_at_target"], summary["reconciliation"]["mismatches"]
        (0, 0)
        >>> sorted(run_drills(demo)["kinds"])
        ['amount_differs', 'deleted_at_source', 'missing_at_target']
        >>> demo.store.close()
    """
    started = time.monotonic()
    emit = on_event or (lambda kind, data: None)
    firm = generate_firm(seed=seed, weeks=weeks)
    # The simulated "now" is the Monday after the firm's last week: the weeks are the past.
    first_day = firm.start + timedelta(weeks=weeks)
    clock = SimClock(datetime(first_day.year, first_day.month, first_day.day, 8, tzinfo=UTC),
                     autojump=True)  # fmt: skip
    kantata_plugin = get_plugin("kantata")
    ksim = kantata_plugin.simulator(seed=seed, clock=clock)
    clear_simulator(ksim)
    # The cleared rows' deletion events expire before the sync starts (the feed keeps 9 days).
    clock.advance(10 * 86400)
    kantata_ids = write_firm(ksim, firm)
    planted = Planted()
    # Planted bad records: time on a project that does not exist, a naive timestamp.
    person = kantata_ids["Resource"]["1"]
    row = ksim.admin.insert(
        "time_entries",
        {**ksim.sample_row("time_entries", random.Random(seed)),  # noqa: S311
         "workspace_id": 999_999, "user_id": int(person), "story_id": None,
         "date_performed": firm.start.isoformat(), "time_in_minutes": 60,
         "notes": "Time on an unknown project"},
    )  # fmt: skip
    planted.unknown_project = str(row["id"])
    first_ws = kantata_ids["Project"]["1"]
    row = ksim.admin.insert(
        "time_entries",
        {**ksim.sample_row("time_entries", random.Random(seed + 1)),  # noqa: S311
         "workspace_id": int(first_ws), "user_id": int(person), "story_id": None,
         "date_performed": f"{firm.start.isoformat()}T14:30:00", "time_in_minutes": 30,
         "notes": "Naive timestamp"},
    )  # fmt: skip
    planted.naive_timestamp = str(row["id"])
    us_project = next(p for p in firm.projects if p.legal_entity == "US")
    closed_day = date(int(CLOSED_PERIOD[:4]), int(CLOSED_PERIOD[5:]), 28)
    rec = ksim.create(
        "expenses",
        workspace_id=kantata_ids["Project"][str(us_project.index)],
        user_id=person,
        date=closed_day.isoformat(),
        category="Travel",
        amount_in_cents=CLOSED_PERIOD_AMOUNT,
        notes="Expense in a closed period",
    )
    planted.closed_period_expense = str(rec["id"])
    emit("seeded", {"firm": firm, "kantata": kantata_ids})

    workdir = workdir or Path(tempfile.mkdtemp(prefix="erpsa-demo-"))
    store = SQLiteStateStore(workdir / "state.db", clock=clock)
    source = kantata_plugin.create(
        {"token": ksim.api_token}, transport=httpx2.MockTransport(ksim), clock=clock
    )
    le_map = ValueMap(
        "legal_entity",
        {kantata_ids["Customer"][str(c.index)]: f"LE-{c.legal_entity}" for c in firm.customers},
    )
    policy = DemoPolicy(
        le_map,
        natural_keys={"Resource": ("email",), "Customer": ("name",)},
        reference_rules={"Project.legal_entity_key": "match"},
    )
    runs: list[PipelineRun] = []
    missing: list[str] = []
    for vendor in ("netsuite", "dynamics365"):
        try:
            plugin = get_plugin(vendor)
        except Exception:  # an uninstalled connector: the demo says so and runs the rest
            missing.append(vendor)
            continue
        sim = plugin.simulator(seed=seed, clock=clock)
        ids = write_firm(sim, firm)
        if vendor == "netsuite":
            # NetSuite is the current ERP: it already holds the customers (linked by name).
            currencies = {r["data"].get("symbol"): r["id"] for r in sim.admin.rows("currency")}
            for c in firm.customers:
                sim.admin.insert(
                    "customer",
                    {
                        "entityid": f"C{100 + c.index}",
                        "companyname": c.name,
                        "subsidiary": int(ids["LegalEntity"][c.legal_entity]),
                        "currency": currencies[firm.legal_entity(c.legal_entity).currency],
                        "isinactive": False,
                    },
                )
            sim.admin.close_period(CLOSED_PERIOD)
        connector = plugin.create(
            _erp_settings(vendor, sim), transport=httpx2.MockTransport(sim), clock=clock
        )
        pipeline = Pipeline(
            f"kantata->{vendor}", source=source, target=connector, namespace=NAMESPACE,
            types=TYPES + EXTRA_TYPES.get(vendor, ()),
            keep_payload_for=(TimeEntry, Expense),  # lineage shows the canonical object
        )  # fmt: skip
        _link_legal_entities(store, pipeline, connector, firm)
        sim.set_faults(FaultPlan.parse(f"{ERP_FAULTS};seed={seed}"))
        # The clock is simulated and jumps over every wait (Retry-After, service time), so the
        # lease is sized in simulated time: one process runs the demo, nobody takes over.
        runner = SyncRunner(
            pipeline, store=store, handle_signals=False, workers=8, policy=policy, clock=clock,
            lease_ttl=30 * 86400,
        )  # fmt: skip
        run = PipelineRun(pipeline.name, vendor, sim, connector, pipeline, runner, ids)
        run.master_counts = {t: sim.admin.count(t) for t in MASTER_TABLES.get(vendor, ())}
        run.linked_types = ("Customer",) if vendor == "netsuite" else ()
        runs.append(run)
    ksim.set_faults(FaultPlan.parse(f"{PSA_FAULTS};seed={seed}"))
    demo = DemoRun(
        firm, clock, ksim, source, kantata_ids, store, runs, planted, policy,
        missing_connectors=missing,
    )  # fmt: skip

    # The last week is not approved yet, so its entries can still change at the source.
    open_entries = [e for e in firm.time_entries if not e.approved]
    edited, unposted, posted = open_entries[0], open_entries[1], open_entries[2]
    planted.edited = kantata_ids["TimeEntry"][str(edited.index)]
    planted.deleted_unposted = kantata_ids["TimeEntry"][str(unposted.index)]
    planted.deleted_posted = kantata_ids["TimeEntry"][str(posted.index)]
    planted.edited_minutes = edited.minutes + 45
    done = {"mid_run": False}

    def mid_run(progress: Progress) -> None:
        # During the last pipeline's first run, once its time entries are written (so every
        # ERP holds them): edit one, post one at the ERPs (finance closed it), delete two.
        if done["mid_run"] or progress.step != "Expense":
            return
        done["mid_run"] = True
        ksim.update("time_entries", planted.edited, time_in_minutes=planted.edited_minutes,
                    notes="Edited after sync")  # fmt: skip
        for run in runs:
            ek = demo.entity_key("time_entry", planted.deleted_posted)
            table, _ = run.sim.entity_key_fields["TimeEntry"]
            for row in rows_for(run.sim, "TimeEntry", ek):
                run.sim.admin.post(table, row["id"])
        ksim.delete("time_entries", planted.deleted_unposted)
        ksim.delete("time_entries", planted.deleted_posted)
        emit("mid_run", planted)

    def progress_of(run: PipelineRun, last: bool) -> Callable[[Progress], None]:
        def hook(progress: Progress) -> None:
            if on_progress is not None:
                on_progress(run, progress)
            if last:
                mid_run(progress)

        return hook

    for i, run in enumerate(runs):
        run.runner.on_progress = progress_of(run, last=i == len(runs) - 1)
    counter = RetryCounter()
    http_log = logging.getLogger("erpsa_sdk.http")
    level = http_log.level
    http_log.addHandler(counter)
    http_log.setLevel(logging.DEBUG)
    demo.retries = counter
    try:
        _run_all(runs, clock, emit)
    finally:
        http_log.removeHandler(counter)
        http_log.setLevel(level)
    for run in runs:
        # The syncs ran under faults. What follows is the controller reading back (reports,
        # reconciliation) once the systems are quiet: a read that met a fault on every retry
        # would fail the report while proving nothing about the sync.
        run.requests_under_faults = run.sim.stats.requests
        run.sim.set_faults(None)
    for run in runs:
        types = []
        for model in (TimeEntry, Expense):
            # A target whose connector cannot read back what it holds is not reconciled on
            # that type; the demo says so instead of counting the unreadable rows.
            unreadable = sum(isinstance(o, Rejected) for o in run.connector.read(model))
            if unreadable:
                demo.not_reconciled[f"{run.name}:{model.__name__}"] = (
                    f"{unreadable} {model.__name__} rows at {run.vendor} read back as Rejected "
                    "by its connector"
                )
            else:
                types.append(model)
        run.types = tuple(types)
        run.reconciliation = reconcile(run.pipeline, store, policy=policy, types=types)
        emit("reconciled", run)
    demo.seconds = time.monotonic() - started
    return demo


def _run_all(runs: list[PipelineRun], clock: SimClock, emit: Callable[[str, Any], None]) -> None:
    """First runs of every pipeline, then more until a run reads nothing and nothing waits."""
    for run in runs:
        emit("run_start", run)
        clock.advance(5)
        report = run.runner.run_once()
        run.reports.append(report)
        emit("run_done", (run, report))
    # Later runs pick up the edit and the deletions and retry what waits; a planted reference
    # that never resolves becomes a dead letter after the configured number of runs.
    for _ in range(MAX_EXTRA_RUNS):
        quiet = True
        for run in runs:
            clock.advance(5)
            report = run.runner.run_once()
            run.reports.append(report)
            emit("run_done", (run, report))
            if report.counts.get("read", 0) or report.counts.get("waiting", 0):
                quiet = False
        if quiet:
            break


def run_drills(demo: DemoRun) -> dict[str, Any]:
    """After the main check: tamper with the current ERP behind the runner's back, and delete a
    source record after the Kantata event feed expired; reconciliation must name all three.

    Run it after :func:`~erpsa_sdk.demo.summarize` (it changes the simulators); see the
    example of :func:`run_scenario`.

    Examples:
        Without a pipeline (every ERP connector missing) there is nothing to drill:

        >>> empty = DemoRun.__new__(DemoRun)
        >>> empty.pipelines = []
        >>> run_drills(empty)
        {}
    """
    if not demo.pipelines:
        return {}
    run = demo.pipelines[0]
    sim = run.sim
    firm = demo.firm
    planted = demo.planted
    touched = {planted.edited, planted.deleted_unposted, planted.deleted_posted}
    ids = demo.kantata_ids["TimeEntry"]
    # Untouched entries: an approved one is tampered with at the ERP; an open one (Kantata
    # refuses to delete approved time) is deleted at the source after the feed expired.
    untouched = [e for e in firm.time_entries if ids[str(e.index)] not in touched]
    victim = ids[str(untouched[0].index)]
    late = ids[str(next(e for e in reversed(untouched) if not e.approved).index)]
    exp = demo.kantata_ids["Expense"][str(firm.expenses[0].index)]
    ek_entry = demo.entity_key("time_entry", victim)
    ek_exp = demo.entity_key("expense", exp)
    t_table, _ = sim.entity_key_fields["TimeEntry"]
    e_table, _ = sim.entity_key_fields["Expense"]
    found: dict[str, str] = {}
    for row in rows_for(sim, "TimeEntry", ek_entry):
        sim.admin.delete(t_table, row["id"])
        found["deleted_at_target"] = str(row["id"])
    for row in rows_for(sim, "Expense", ek_exp):
        amount_field = "total" if "total" in row["data"] else "msdyn_amount"
        sim.admin.update(e_table, row["id"], {amount_field: Decimal("999.99")})
        found["amount_changed_at_target"] = str(row["id"])
    # A source deletion whose event the runner never read: the feed keeps 9 days.
    demo.kantata.set_faults(None)
    demo.kantata.delete("time_entries", late)
    demo.clock.advance(10 * 86400)
    demo.planted.tampered_deleted = victim
    demo.planted.tampered_amount = exp
    demo.planted.source_deleted_late = late
    result = reconcile(run.pipeline, demo.store, policy=demo.policy, types=run.types)
    named = Counter(m.kind for m in result.mismatches)
    return {
        "pipeline": run.name,
        "planted": {
            "deleted_at_target": victim,
            "amount_changed_at_target": exp,
            "deleted_at_source_after_feed_expired": late,
        },
        "found": [m.to_dict() for m in result.mismatches],
        "kinds": dict(named),
        "target_rows": found,
    }
