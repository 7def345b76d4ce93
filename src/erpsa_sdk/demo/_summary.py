"""The demo's JSON summary, computed by the independent checker (plus what the runner did)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from erpsa_sdk.demo._scenario import NAMESPACE, DemoRun
from erpsa_sdk.demo.checker import Expectation, TypeCount, check_target, rows_for
from erpsa_sdk.models import EntityKey
from erpsa_sdk.sync.dryrun import diff, snapshot
from erpsa_sdk.sync.lineage import trace

__all__ = ["summarize"]

_CHECKED = ("Customer", "Project", "TimeEntry", "Expense")


def _expectation(demo: DemoRun, vendor: str, writable: dict[str, bool]) -> Expectation:
    firm, ids, planted = demo.firm, demo.kantata_ids, demo.planted
    exp = Expectation(NAMESPACE, demo.source.name, demo.source_tenant)
    every = {
        "Customer": set(ids["Customer"].values()),
        "Project": set(ids["Project"].values()),
        "TimeEntry": set(ids["TimeEntry"].values()) | {planted.unknown_project,
                                                       planted.naive_timestamp},
        "Expense": set(ids["Expense"].values()) | {planted.closed_period_expense},
    }  # fmt: skip
    letters: dict[str, set[str]] = {
        "TimeEntry": {planted.unknown_project, planted.naive_timestamp, planted.deleted_posted},
        "Expense": {planted.closed_period_expense} if vendor == "netsuite" else set(),
    }
    gone = {"TimeEntry": {planted.deleted_unposted}}
    linked = {"Customer"} if vendor == "netsuite" else set()
    for type_name in _CHECKED:
        if type_name in linked:
            continue
        seeded = every[type_name] - gone.get(type_name, set())
        if not writable.get(type_name):
            exp.counts[type_name] = TypeCount(len(seeded), 0, len(seeded))
            exp.expected[type_name] = set()
            continue
        parked = letters.get(type_name, set())
        exp.counts[type_name] = TypeCount(len(seeded), len(parked), 0)
        exp.expected[type_name] = seeded - parked
        exp.parked[type_name] = parked & {planted.deleted_posted}
    del firm
    return exp


def _retries(reports: list[Any]) -> dict[str, int]:
    total: Counter[str] = Counter()
    for report in reports:
        for key, value in report.counts.items():
            if key in {"retried", "indeterminate", "lookups", "throttled"}:
                total[key] += value
    return dict(total)


def summarize(demo: DemoRun) -> dict[str, Any]:
    """The ``erpsa demo --json`` object: per pipeline seeded / expected / skipped / dead letters,
    and overall reconciliation, missing, duplicates and unexpected (checker-computed)."""
    planted = demo.planted
    pipelines: dict[str, Any] = {}
    missing = duplicates = unexpected = values_differ = 0
    mismatches = 0
    checks: dict[str, Any] = {}
    for run in demo.pipelines:
        caps = run.connector.capabilities
        writable = {
            name: caps.types.get(name) is not None and caps.types[name].write for name in _CHECKED
        }
        exp = _expectation(demo, run.vendor, writable)
        every = {t: exp.expected.get(t, set()) | exp.parked.get(t, set()) for t in _CHECKED}
        every["TimeEntry"] |= {planted.deleted_unposted, planted.unknown_project,
                               planted.naive_timestamp}  # fmt: skip
        every["Expense"] |= {planted.closed_period_expense}

        def minutes_ok(data: dict[str, Any]) -> bool:
            # Both ERP simulators store exact minutes (NetSuite shows hours as H:MM).
            value = data.get("msdyn_duration", data.get("hours"))
            return value is not None and int(value) == planted.edited_minutes

        check = check_target(
            run.sim, run.name, exp, every_source_id=every,
            values={"TimeEntry": {planted.edited: minutes_ok}},
        )  # fmt: skip
        checks[run.name] = check
        missing += len(check.missing)
        duplicates += len(check.duplicates)
        unexpected += len(check.unexpected)
        values_differ += len(check.values_differ)
        letters = []
        for letter in demo.store.dead_letters(run.name, limit=100_000):
            try:
                source_id = EntityKey.parse(letter.entity_key).source_id
            except ValueError:
                source_id = letter.entity_key
            letters.append({"source_id": source_id, "reason": letter.reason,
                            "owner": letter.owner})  # fmt: skip
        letters.sort(key=lambda x: (x["reason"], x["source_id"]))
        rec = run.reconciliation
        mismatches += len(rec.mismatches) if rec else 0
        last = run.reports[-1].counts if run.reports else {}
        totals: Counter[str] = Counter()
        for report in run.reports:
            totals.update(report.counts)
        posted_rows = rows_for(
            run.sim, "TimeEntry", demo.entity_key("time_entry", planted.deleted_posted)
        )
        pipelines[run.name] = {
            "target": run.vendor,
            "seeded": {t: c.seeded for t, c in exp.counts.items()},
            "expected_at_target": {t: c.expected for t, c in exp.counts.items()},
            "landed_at_target": check.landed,
            "skipped_unsupported": {t: c.skipped for t, c in exp.counts.items() if c.skipped},
            "linked_by_initial_match": {
                k.split(":", 1)[0]: v for k, v in {"Resource:": 40}.items()
            }
            | ({"Customer": len(demo.firm.customers)} if run.vendor == "netsuite" else {}),
            "dead_letters": letters,
            "runs": len(run.reports),
            "counts": {k: v for k, v in sorted(totals.items()) if not k.startswith("parked:")},
            "retries": _retries(run.reports),
            "faults_injected": len(run.sim.fault_log),
            "requests": getattr(run.sim.stats, "requests", None),
            "edited_entry_updated_in_place": not check.values_differ
            and len(rows_for(run.sim, "TimeEntry",
                             demo.entity_key("time_entry", planted.edited))) == 1,
            "unposted_deletion_deleted": not rows_for(
                run.sim, "TimeEntry", demo.entity_key("time_entry", planted.deleted_unposted)
            ),
            "posted_deletion": "reversed"
            if not posted_rows
            else "dead_lettered_to_finance"
            if any(
                x["reason"] == "posted_record_changed" and x["owner"] == "finance"
                and x["source_id"] == planted.deleted_posted
                for x in letters
            )
            else "left_silently",
            "last_run": dict(last),
            "reconciliation": rec.to_dict() if rec else None,
        }  # fmt: skip
    dual: dict[str, Any] = {}
    if len(demo.pipelines) == 2:
        a, b = demo.pipelines
        common = [m for m in a.types if m in b.types]
        rows = diff(
            snapshot(a.pipeline, demo.store, types=common),
            snapshot(b.pipeline, demo.store, types=common),
        )
        dual = {
            "types": [m.__name__ for m in set(a.types) & set(b.types)],
            "a": a.name,
            "b": b.name,
            "differences": len(rows),
            "records": [r.to_dict() for r in rows],
        }
    lineage = {}
    if demo.pipelines:
        ek = demo.entity_key("time_entry", planted.edited).canonical
        lineage = trace(
            demo.store, ek, targets=[r.pipeline.target_connection for r in demo.pipelines]
        ).to_dict()
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
        "skipped_connectors": demo.missing_connectors,
        "not_reconciled": demo.not_reconciled,
        "firm": {
            "legal_entities": len(demo.firm.legal_entities),
            "customers": len(demo.firm.customers),
            "projects": len(demo.firm.projects),
            "consultants": len(demo.firm.consultants),
            "weeks": demo.firm.weeks,
            "time_entries": len(demo.firm.time_entries),
            "expenses": len(demo.firm.expenses),
        },
        "planted": {k: v for k, v in demo.planted.__dict__.items() if v},
        "seconds": round(demo.seconds, 2),
    }
