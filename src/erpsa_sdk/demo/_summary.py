"""The demo's JSON summary: the independent checker's numbers, next to what the runner did.

Examples:
    >>> _HOST_WORDS["dynamics365"]
    'dynamics'
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

from erpsa_sdk.demo._scenario import CLOSED_PERIOD_AMOUNT, NAMESPACE, DemoRun, PipelineRun
from erpsa_sdk.demo.checker import Expectation, TypeCount, check_target, rows_for
from erpsa_sdk.models import EntityKey
from erpsa_sdk.sync.dryrun import diff, snapshot
from erpsa_sdk.sync.lineage import trace

__all__ = ["summarize"]

_CHECKED = ("Customer", "Project", "ProjectTask", "TimeEntry", "Expense")
_CENT = Decimal("0.01")
#: A word in each vendor's API host name (the transport logs retries by URL).
_HOST_WORDS = {"netsuite": "netsuite", "dynamics365": "dynamics", "kantata": "mavenlink"}


def _expectation(demo: DemoRun, run: PipelineRun) -> Expectation:
    """What this ERP must hold, from the firm, the plants and the ERP's declared abilities."""
    ids, planted, firm = demo.kantata_ids, demo.planted, demo.firm
    exp = Expectation(NAMESPACE, demo.source.name, demo.source_tenant)
    seeded = {
        "Customer": set(ids["Customer"].values()),
        "Project": set(ids["Project"].values()),
        "ProjectTask": set(ids["ProjectTask"].values()),
        "TimeEntry": set(ids["TimeEntry"].values())
        | {planted.unknown_project, planted.naive_timestamp},
        "Expense": set(ids["Expense"].values()) | {planted.closed_period_expense},
    }
    # A record deleted at the source while unposted leaves the count: it must be gone.
    seeded["TimeEntry"].discard(planted.deleted_unposted)
    closed = set(getattr(run.sim, "closed_periods", set()))
    closed_expense = (
        date.fromisoformat(demo.kantata.record("expenses", planted.closed_period_expense)["date"])
        if planted.closed_period_expense
        else None
    )
    letters: dict[str, set[str]] = {
        "TimeEntry": {planted.unknown_project, planted.naive_timestamp, planted.deleted_posted},
        "Expense": set(),
    }
    if closed_expense is not None and closed_expense.strftime("%Y-%m") in closed:
        letters["Expense"].add(planted.closed_period_expense)
    caps = run.connector.capabilities
    types = {m.__name__ for m in run.pipeline.types}
    for type_name in _CHECKED:
        if type_name not in types:
            continue
        if type_name in run.linked_types:
            continue  # the ERP already holds them: linked by the initial match, not written
        records = seeded[type_name]
        spec = caps.types.get(type_name)
        if spec is None or not spec.write:
            exp.counts[type_name] = TypeCount(len(records), 0, len(records))
            exp.expected[type_name] = set()
            continue
        parked = letters.get(type_name, set())
        exp.counts[type_name] = TypeCount(len(records), len(parked), 0)
        exp.expected[type_name] = records - parked
        # A posted record deleted at the source stays at the target, parked for finance.
        exp.parked[type_name] = parked & {planted.deleted_posted}
    del firm
    return exp


def _minutes_are(expected: int) -> Callable[[dict[str, Any]], bool]:
    def check(data: dict[str, Any]) -> bool:
        # Both ERP simulators store exact minutes (NetSuite shows hours as H:MM on its API).
        value = data.get("msdyn_duration", data.get("hours"))
        return value is not None and int(value) == expected

    return check


def _amount_is(minor: int) -> Callable[[dict[str, Any]], bool]:
    def check(data: dict[str, Any]) -> bool:
        value = data.get("total", data.get("msdyn_amount"))
        return value is not None and Decimal(str(value)).quantize(_CENT) == Decimal(minor) / 100

    return check


def _values(demo: DemoRun) -> dict[str, dict[str, Callable[[dict[str, Any]], bool]]]:
    """Per stored row, the value the firm says it must hold (minutes, amounts)."""
    ids, planted = demo.kantata_ids, demo.planted
    minutes = {ids["TimeEntry"][str(e.index)]: _minutes_are(e.minutes)
               for e in demo.firm.time_entries}  # fmt: skip
    minutes[planted.edited] = _minutes_are(planted.edited_minutes)
    amounts = {ids["Expense"][str(x.index)]: _amount_is(x.amount_minor)
               for x in demo.firm.expenses}  # fmt: skip
    amounts[planted.closed_period_expense] = _amount_is(CLOSED_PERIOD_AMOUNT)
    return {"TimeEntry": minutes, "Expense": amounts}


def _letters(demo: DemoRun, run: PipelineRun) -> list[dict[str, str]]:
    out = []
    for letter in demo.store.dead_letters(run.name, limit=100_000):
        try:
            source_id = EntityKey.parse(letter.entity_key).source_id
        except ValueError:
            source_id = letter.entity_key
        out.append({"source_id": source_id, "reason": letter.reason, "owner": letter.owner})
    return sorted(out, key=lambda x: (x["reason"], x["source_id"]))


def _pipeline(demo: DemoRun, run: PipelineRun) -> tuple[dict[str, Any], Any]:
    planted = demo.planted
    exp = _expectation(demo, run)
    every = {t: set(exp.expected.get(t, set())) | exp.parked.get(t, set()) for t in _CHECKED}
    every["TimeEntry"] |= {
        planted.deleted_unposted, planted.unknown_project, planted.naive_timestamp,
        planted.deleted_posted,
    }  # fmt: skip
    every["Expense"] |= {planted.closed_period_expense}

    check = check_target(
        run.sim, run.name, exp, every_source_id=every, values=_values(demo)
    )  # fmt: skip
    letters = _letters(demo, run)
    totals: Counter[str] = Counter()
    for report in run.reports:
        totals.update({k: v for k, v in report.counts.items() if not k.startswith("parked:")})
    faults = Counter(str(event.kind.value) for event in run.sim.fault_log)
    master_now = {t: run.sim.admin.count(t) for t in run.master_counts}
    created_master = sum(master_now[t] - n for t, n in run.master_counts.items())
    posted_rows = rows_for(
        run.sim, "TimeEntry", demo.entity_key("time_entry", planted.deleted_posted)
    )
    edited_rows = rows_for(run.sim, "TimeEntry", demo.entity_key("time_entry", planted.edited))
    if not posted_rows:
        posted = "reversed"
    elif any(
        x["reason"] == "posted_record_changed" and x["owner"] == "finance"
        and x["source_id"] == planted.deleted_posted
        for x in letters
    ):  # fmt: skip
        posted = "dead_lettered_to_finance"
    else:
        posted = "left_silently"
    rec = run.reconciliation
    body = {
        "target": run.vendor,
        "seeded": {t: c.seeded for t, c in exp.counts.items()},
        "expected_at_target": {t: c.expected for t, c in exp.counts.items()},
        "landed_at_target": {t: n for t, n in check.landed.items() if t in exp.counts},
        "skipped_unsupported": {t: c.skipped for t, c in exp.counts.items() if c.skipped},
        "linked_by_initial_match": {
            "Resource": len(demo.firm.consultants),
            **{t: len(demo.kantata_ids[t]) for t in run.linked_types},
        },
        "master_data_created_at_erp": created_master,
        "dead_letters": letters,
        "runs": len(run.reports),
        "counts": dict(sorted(totals.items())),
        "requests": run.requests_under_faults or run.sim.stats.requests,
        "retries": demo.retries.for_vendor(_HOST_WORDS.get(run.vendor, run.vendor))
        if demo.retries
        else None,
        "faults_injected": sum(faults.values()),
        "faults_by_kind": dict(sorted(faults.items())),
        "edited_entry_updated_in_place": len(edited_rows) == 1 and not check.values_differ,
        "unposted_deletion_deleted": not rows_for(
            run.sim, "TimeEntry", demo.entity_key("time_entry", planted.deleted_unposted)
        ),
        "posted_deletion": posted,
        "reconciliation": rec.to_dict() if rec else None,
        "notes": sorted({n for r in run.reports for n in r.notes}),
    }
    return body, check


def summarize(demo: DemoRun) -> dict[str, Any]:
    """The ``erpsa demo --json`` object.

    Per pipeline: ``seeded`` and ``expected_at_target`` per canonical type,
    ``skipped_unsupported``, ``dead_letters`` (source id, reason, owner); overall
    ``reconciliation`` (integer ``mismatches``), ``missing_at_target``,
    ``duplicates_at_target`` and ``unexpected_at_target``, computed by the checker from the
    firm and the simulators' stored rows. The example of
    :func:`~erpsa_sdk.demo.run_scenario` runs it on one week of the firm.

    Examples:
        >>> empty = DemoRun.__new__(DemoRun)
        >>> from erpsa_sdk.testing.seed import generate_firm
        >>> from erpsa_sdk.demo import Planted
        >>> empty.pipelines, empty.firm, empty.planted = [], generate_firm(weeks=1), Planted()
        >>> empty.missing_connectors = ["netsuite", "dynamics365"]
        >>> empty.not_reconciled, empty.retries, empty.seconds = {}, None, 0.0
        >>> out = summarize(empty)
        >>> out["skipped_connectors"], out["missing_at_target"], out["pipelines"]
        (['netsuite', 'dynamics365'], 0, {})
    """
    pipelines: dict[str, Any] = {}
    missing = duplicates = unexpected = values_differ = mismatches = 0
    for run in demo.pipelines:
        body, check = _pipeline(demo, run)
        pipelines[run.name] = body
        missing += len(check.missing)
        duplicates += len(check.duplicates)
        unexpected += len(check.unexpected)
        values_differ += len(check.values_differ)
        mismatches += len(run.reconciliation.mismatches) if run.reconciliation else 0
    dual: dict[str, Any] = {}
    if len(demo.pipelines) == 2:
        a, b = demo.pipelines
        common = [m for m in a.types if m in b.types]
        rows = diff(
            snapshot(a.pipeline, demo.store, types=common),
            snapshot(b.pipeline, demo.store, types=common),
        )
        dual = {
            "a": a.name,
            "b": b.name,
            "types": [m.__name__ for m in common],
            "differences": len(rows),
            "records": [r.to_dict() for r in rows],
        }
    lineage: dict[str, Any] = {}
    if demo.pipelines:
        ek = demo.entity_key("time_entry", demo.planted.edited).canonical
        lineage = trace(
            demo.store, ek, targets=[r.pipeline.target_connection for r in demo.pipelines]
        ).to_dict()
    firm = demo.firm
    return {
        "pipelines": pipelines,
        "reconciliation": {
            "mismatches": mismatches,
            "by_pipeline": {
                r.name: (len(r.reconciliation.mismatches) if r.reconciliation else None)
                for r in demo.pipelines
            },
        },
        "missing_at_target": missing,
        "duplicates_at_target": duplicates,
        "unexpected_at_target": unexpected,
        "values_differ_at_target": values_differ,
        "dual_run_diff": dual,
        "lineage": lineage,
        "source_retries": demo.retries.for_vendor("mavenlink") if demo.retries else None,
        "skipped_connectors": demo.missing_connectors,
        "not_reconciled": demo.not_reconciled,
        "firm": {
            "legal_entities": len(firm.legal_entities),
            "customers": len(firm.customers),
            "projects": len(firm.projects),
            "consultants": len(firm.consultants),
            "weeks": firm.weeks,
            "time_entries": len(firm.time_entries),
            "expenses": len(firm.expenses),
        },
        "planted": {k: v for k, v in demo.planted.__dict__.items() if v},
        "seconds": round(demo.seconds, 2),
    }
