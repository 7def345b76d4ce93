"""Sync runner overhead: the same pipeline on a real state store and on ``NullStateStore``.

The pipeline moves ``Customer`` records from an in-memory source (pages of 100 with a cursor,
so every page is a checkpointed batch) to an in-memory target that upserts by EntityKey.
Both connectors cost almost nothing, so the ratio isolates what the runner's persistence
costs (ledger rows and heads, crosswalk, checkpoints, lineage, run history): the worst case
for the ratio; behind real vendors' latency the share is far smaller.

Each store runs in its own process (``python -m bench._runner_overhead --store sqlite``);
``run_all`` alternates them and reports records/s and the ratio to ``NullStateStore``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

PAGE = 100
POSTGRES_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def _pipeline(records: int, target_kind: str = "memory") -> Any:
    from erpsa_sdk.connector import (
        Capabilities,
        Connector,
        Health,
        TypeCapabilities,
        WriteOutcome,
        WriteResult,
    )
    from erpsa_sdk.http import Page
    from erpsa_sdk.models import Customer, SourceRef
    from erpsa_sdk.sync import Pipeline

    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    rows = [
        Customer(
            key=str(i),
            name=f"Customer {i}",
            source_refs=[
                SourceRef(
                    system="benchpsa",
                    tenant="t1",
                    id=str(i),
                    version=(t0 + timedelta(seconds=i)).isoformat(),
                )
            ],
        )
        for i in range(records)
    ]

    class Pager:
        def __init__(self, start: int) -> None:
            self.start = start
            self.cursor: dict[str, int] | None = {"next": start}

        def iter_pages(self) -> Iterator[Page[Any]]:
            for lo in range(self.start, records, PAGE):
                items = rows[lo : lo + PAGE]
                cursor = {"next": lo + len(items)}
                yield Page(
                    number=lo // PAGE + 1,
                    items=list[Any](items),
                    raw_count=len(items),
                    rejected=0,
                    cursor=cursor,
                )
                self.cursor = cursor

    class Source(Connector):
        name, tenant = "benchpsa", "t1"
        capabilities = Capabilities(types={"Customer": TypeCapabilities(read=True)})

        def read(self, model: type[Any], *, since: Any = None, **filters: Any) -> Any:
            return Pager(int((since or {}).get("next", 0)))

        def lookup(self, model: type[Any], *, entity_key: Any) -> SourceRef | None:
            return None

        def upsert(self, obj: Any, *, entity_key: Any, write_key: Any, refs: Any) -> WriteResult:
            raise NotImplementedError

        def delete(self, model: type[Any], **kw: Any) -> Any:
            raise NotImplementedError

        def validate(self, obj: Any, *, refs: Any) -> list[Any]:
            return []

        def health(self) -> Health:
            return Health(ok=True)

    class Target(Source):
        name, tenant = "bencherp", "e1"
        capabilities = Capabilities(
            types={
                "Customer": TypeCapabilities(write=True, write_safety={"upsert": "natural_upsert"})
            }
        )

        def __init__(self) -> None:
            self.rows: dict[str, str] = {}

        def lookup(self, model: type[Any], *, entity_key: Any) -> SourceRef | None:
            rid = self.rows.get(str(entity_key))
            return None if rid is None else SourceRef(system="bencherp", tenant="e1", id=rid)

        def upsert(self, obj: Any, *, entity_key: Any, write_key: Any, refs: Any) -> WriteResult:
            created = str(entity_key) not in self.rows
            rid = self.rows.setdefault(str(entity_key), str(len(self.rows) + 1))
            return WriteResult(
                outcome=WriteOutcome.CREATED if created else WriteOutcome.UPDATED,
                entity_key=entity_key,
                ref=SourceRef(system="bencherp", tenant="e1", id=rid),
            )

    target: Any
    if target_kind == "netsuite":
        target, sim = _netsuite_target()
        before = int(sim.admin.count("customer"))

        def written() -> int:
            return int(sim.admin.count("customer")) - before
    else:
        target = Target()

        def written() -> int:
            return len(target.rows)

    pipeline = Pipeline(
        "benchpsa->bencherp", source=Source(), target=target, namespace="bench", types=[Customer]
    )
    return pipeline, written


def _netsuite_target() -> Any:
    import httpx2

    from erpsa_netsuite import connector
    from erpsa_netsuite.simulator import NetSuiteSimulator

    sim = NetSuiteSimulator(seed=0)
    conn = connector.create(
        {
            "account_id": sim.config.account_id,
            "max_concurrency": 5,
            "token": sim.api_token,
            "default_subsidiary": "1",
        },
        transport=httpx2.MockTransport(sim),
    )
    return conn, sim


def _store(kind: str) -> tuple[Any, str | None]:
    if kind == "null":
        from bench._nullstore import NullStateStore

        return NullStateStore(), None
    if kind == "sqlite":
        from erpsa_sdk.sync import SQLiteStateStore

        path = os.path.join(tempfile.mkdtemp(prefix="erpsa-bench-"), "state.sqlite")
        return SQLiteStateStore(path), path
    from erpsa_sdk.sync import PostgresStateStore

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    return PostgresStateStore(POSTGRES_URL, schema=schema), schema


def _drop_schema(schema: str) -> None:
    import psycopg

    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def one(kind: str, records: int, target_kind: str = "memory") -> dict[str, Any]:
    """One run of the pipeline on store ``kind``; records/s of the whole ``run_once``."""
    from erpsa_sdk.sync import SyncRunner

    pipeline, count_written = _pipeline(records, target_kind)
    store, where = _store(kind)
    try:
        runner = SyncRunner(pipeline, store=store, handle_signals=False)
        cpu0 = time.process_time()
        t0 = time.perf_counter()
        report = runner.run_once()
        seconds = time.perf_counter() - t0
        cpu = time.process_time() - cpu0
    finally:
        store.close()
        if kind == "postgres" and where:
            _drop_schema(where)
    written = count_written()
    return {
        "store": kind,
        "target": target_kind,
        "records": records,
        "written": written,
        "status": report.status.value,
        "seconds": round(seconds, 4),
        "records_per_s": round(records / seconds, 1),
        "cpu_s": round(cpu, 3),
        "ok": written == records and report.status.value == "completed",
    }


def postgres_available() -> bool:
    """Whether PostgreSQL answers at ``BENCH_POSTGRES_URL``."""
    try:
        import psycopg

        with psycopg.connect(POSTGRES_URL, connect_timeout=2):
            return True
    except Exception:
        return False


def run_all(*, records: int, reps: int, gate: float) -> dict[str, Any]:
    """Alternate the (store, target) pairs ``reps`` times, each run in its own process.

    Gated: the NetSuite-simulator pipeline (a real connector end to end); the in-memory
    target shows the store's cost with nothing else around it (reported, not gated).
    """
    from bench._proc import run_json_line

    configs = [("null", "netsuite"), ("sqlite", "netsuite")]
    notes = []
    if postgres_available():
        configs.append(("postgres", "netsuite"))
    else:
        notes.append(f"PostgreSQL not reachable at {POSTGRES_URL}: its row is skipped.")
    configs += [("null", "memory"), ("sqlite", "memory")]
    runs: list[dict[str, Any]] = []
    for rep in range(reps):
        order = configs[rep % len(configs) :] + configs[: rep % len(configs)]
        for kind, target in order:
            res = run_json_line(
                [
                    "-m",
                    "bench._runner_overhead",
                    "--store",
                    kind,
                    "--records",
                    str(records),
                    "--target",
                    target,
                ]
            )
            res.update(store=kind, target=target, rep=rep)
            runs.append(res)
            print(
                f"  runner r{rep} {kind:<8} -> {target:<8} {res.get('records_per_s')} rec/s "
                f"ok={res.get('ok')}",
                file=sys.stderr,
                flush=True,
            )
    rows = []
    for kind, target in configs:
        mine = [r for r in runs if (r["store"], r["target"]) == (kind, target)]
        good = [r for r in mine if r.get("records_per_s")]
        row: dict[str, Any] = {
            "store": kind,
            "target": target,
            "ok_runs": sum(bool(r.get("ok")) for r in mine),
            "runs": len(mine),
        }
        if good:
            rps = [r["records_per_s"] for r in good]
            row.update(median=statistics.median(rps), min=min(rps), max=max(rps))
        if kind != "null":
            ratios = []
            for rep in range(reps):
                a = next((r for r in mine if r["rep"] == rep), {})
                b = next(
                    (
                        r
                        for r in runs
                        if (r["store"], r["target"], r["rep"]) == ("null", target, rep)
                    ),
                    {},
                )
                if a.get("records_per_s") and b.get("records_per_s"):
                    ratios.append(a["records_per_s"] / b["records_per_s"])
            value = statistics.median(ratios) if ratios else 0.0
            row["ratio"] = round(value, 3)
            row["ratio_min_max"] = (
                [round(min(ratios), 3), round(max(ratios), 3)] if ratios else None
            )
            ok = bool(ratios) and row["ok_runs"] == reps
            if target == "netsuite":
                row["passed"] = ok and value >= gate
                row["gate"] = "pass" if row["passed"] else "FAIL"
            else:
                row["gate"] = "reported"
        rows.append(row)
    return {"records": records, "reps": reps, "rows": rows, "runs": runs, "notes": notes}


def main(argv: list[str] | None = None) -> None:
    """Run one store once and print its JSON line."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--store", choices=("null", "sqlite", "postgres"), required=True)
    ap.add_argument("--records", type=int, default=2000)
    ap.add_argument("--target", choices=("memory", "netsuite"), default="memory")
    a = ap.parse_args(argv)
    print(json.dumps(one(a.store, a.records, a.target)), flush=True)


if __name__ == "__main__":
    main()
