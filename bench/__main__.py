"""``make bench``: every benchmark, one table, JSON + Markdown in ``bench/out/``.

Sections (``BENCH_ONLY=read,write`` or ``BENCH_SKIP=memory`` to choose):

* ``read``   - per connector, the SDK against raw ``httpx2`` + ``json.loads`` and raw ``httpx2``
  + one ``validate_json`` into the same canonical page model, alternated, each run in its own
  process against one frozen loopback server. Gate: SDK / canonical ``validate_json`` >= 0.85
  (median over rounds); void unless the poisoned record came out ``Rejected``.
* ``write``  - Dataverse (``bench/write_limits.py``) and NetSuite writes under vendor limits.
  Gates: accepted per window / permitted >= 0.9, share answered 429 <= 1 %.
* ``runner`` - end-to-end records/s of the sync runner with its SQLite (and PostgreSQL) state
  against the same pipeline on ``NullStateStore``. Gate: >= 0.7.
* ``memory`` - peak RSS reading 1M records / reading 100k. Gate: <= 1.15.
* ``import`` - import time of ``erpsa_sdk`` and each connector (reported).

Sizes: ``BENCH_RECORDS`` (100000), ``BENCH_REPS`` (3), ``BENCH_MEMORY_RECORDS`` (1000000),
``BENCH_WRITES`` (3000 NetSuite writes), ``BENCH_RUNNER_RECORDS`` (1000).
Exit status 1 when a gate is missed (or a run is void).
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import statistics
import sys
import time
from typing import Any

from bench import _proc
from bench._proc import env_int

OUT = _proc.ROOT / "bench" / "out"
VENDORS = ("netsuite", "kantata", "dynamics365")
CLIENTS = ("bytes", "json", "model", "sdk")
LABEL = {
    "bytes": "httpx2 fetch only (server ceiling)",
    "json": "httpx2 + json.loads",
    "model": "httpx2 + canonical validate_json",
    "sdk": "erpsa-sdk connector",
}
READ_GATE = 0.85
WRITE_SHARE_GATE = 0.9
WRITE_429_GATE = 0.01
RUNNER_GATE = 0.7
MEMORY_GATE = 1.15


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _sections() -> list[str]:
    every = ["read", "write", "runner", "memory", "import"]
    only = [s for s in os.environ.get("BENCH_ONLY", "").split(",") if s]
    skip = [s for s in os.environ.get("BENCH_SKIP", "").split(",") if s]
    return [s for s in every if (not only or s in only) and s not in skip]


# -- read ------------------------------------------------------------------------------------


def bench_read(records: int, reps: int) -> dict[str, Any]:
    """Alternated read runs; rows per (vendor, client) and the per-round SDK ratios."""
    runs: list[dict[str, Any]] = []
    probes: list[float] = []
    with _proc.frozen_server(records) as server:
        for rep in range(reps):
            probes.append(round(_proc.cpu_probe(), 4))
            for vendor in VENDORS:
                # Rotate the order every round so no client always runs first or last.
                order = CLIENTS[rep % 4 :] + CLIENTS[: rep % 4]
                for client in order:
                    cpu0 = server.cpu_s()
                    res = _proc.run_json_line(
                        [
                            "-m",
                            "bench._read",
                            "--vendor",
                            vendor,
                            "--client",
                            client,
                            "--base-url",
                            server.base_url,
                            "--records",
                            str(records),
                        ]
                    )
                    cpu1 = server.cpu_s()
                    res.update(vendor=vendor, client=client, rep=rep)
                    if cpu0 is not None and cpu1 is not None:
                        res["server_cpu_s"] = round(cpu1 - cpu0, 3)
                    runs.append(res)
                    _log(
                        f"  read r{rep} {vendor:<12} {client:<6} "
                        f"{res.get('records_per_s') or res.get('error')!s:>10} rec/s "
                        f"cpu {res.get('cpu_us_per_record')} us/rec ok={res.get('ok')}"
                    )
    rows, ratios = summarize_read(runs)
    return {
        "records": records,
        "reps": reps,
        "cpu_probe_s": probes,
        "rows": rows,
        "ratios": ratios,
        "runs": runs,
    }


def summarize_read(runs: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Medians per (vendor, client) and the gated ratio per vendor."""
    rows = []
    for vendor in VENDORS:
        for client in CLIENTS:
            rs = [r for r in runs if r["vendor"] == vendor and r["client"] == client]
            if not rs:
                continue
            good = [r for r in rs if r.get("records_per_s")]
            row: dict[str, Any] = {
                "vendor": vendor,
                "client": client,
                "runs": len(rs),
                "ok_runs": sum(bool(r.get("ok")) for r in rs),
            }
            if good:
                rps = [r["records_per_s"] for r in good]
                row.update(
                    median=round(statistics.median(rps)),
                    min=round(min(rps)),
                    max=round(max(rps)),
                    cpu_us=round(statistics.median(r["cpu_us_per_record"] for r in good), 2),
                    rss_mb=round(statistics.median(r["peak_rss_mb"] for r in good), 1),
                    startup_s=round(statistics.median(r["startup_s"] for r in good), 3),
                    server_cpu_s=round(
                        statistics.median(r.get("server_cpu_s") or 0 for r in good), 3
                    ),
                )
            rows.append(row)
    ratios = []
    for vendor in VENDORS:
        by = {(r["client"], r["rep"]): r for r in runs if r["vendor"] == vendor}
        reps = sorted({rep for _, rep in by})

        def per_round(
            a: str,
            b: str,
            key: str = "records_per_s",
            by: dict[tuple[str, int], dict[str, Any]] = by,
            reps: list[int] = reps,
        ) -> list[float]:
            out = []
            for rep in reps:
                x, y = by.get((a, rep), {}), by.get((b, rep), {})
                if x.get(key) and y.get(key):
                    out.append(x[key] / y[key])
            return out

        vs_model = per_round("sdk", "model")
        vs_json = per_round("sdk", "json")
        cpu_vs_model = [1 / x for x in per_round("sdk", "model", "cpu_us_per_record")]
        ceiling = per_round("bytes", "json")
        sdk_runs = [by[("sdk", rep)] for rep in reps if ("sdk", rep) in by]
        model_runs = [by[("model", rep)] for rep in reps if ("model", rep) in by]
        void = not sdk_runs or not all(
            r.get("ok") and r.get("poison_rejected") for r in sdk_runs + model_runs
        )
        value = statistics.median(vs_model) if vs_model else 0.0
        ratios.append(
            {
                "vendor": vendor,
                "sdk_over_model": round(value, 3),
                "sdk_over_model_min_max": [round(min(vs_model), 3), round(max(vs_model), 3)]
                if vs_model
                else None,
                "sdk_over_model_cpu": round(statistics.median(cpu_vs_model), 3)
                if cpu_vs_model
                else None,
                "sdk_over_json": round(statistics.median(vs_json), 3) if vs_json else None,
                "ceiling_over_json": round(statistics.median(ceiling), 2) if ceiling else None,
                "void": void,
                "passed": (not void) and value >= READ_GATE,
            }
        )
    return rows, ratios


# -- write -----------------------------------------------------------------------------------


def bench_write(writes: int) -> dict[str, Any]:
    """Both write benchmarks on simulated time."""
    from bench import _write_netsuite, write_limits

    d365 = write_limits.run()
    ns = _write_netsuite.run(writes=writes)
    out = {}
    for name, res, share_key in (
        ("dynamics365", d365, "accepted_per_window_over_limit"),
        ("netsuite", ns, "accepted_per_window_over_permitted"),
    ):
        res["passed"] = (
            res[share_key] >= WRITE_SHARE_GATE
            and res["share_429"] <= WRITE_429_GATE
            and res["failures"] == 0
        )
        res["used_share"] = res[share_key]
        out[name] = res
    return out


# -- runner ----------------------------------------------------------------------------------


def bench_runner(records: int, reps: int) -> dict[str, Any]:
    """SQLite / PostgreSQL ledger against ``NullStateStore``, alternated, each in a process."""
    from bench import _runner_overhead

    return _runner_overhead.run_all(records=records, reps=reps, gate=RUNNER_GATE)


# -- memory ----------------------------------------------------------------------------------


def bench_memory(small: int, large: int) -> dict[str, Any]:
    """Peak RSS of the SDK client (NetSuite) reading ``small`` then ``large`` records."""
    out: dict[str, Any] = {"vendor": "netsuite", "small": small, "large": large}
    for n in (small, large):
        with _proc.frozen_server(n, vendors="netsuite") as server:
            res = _proc.run_json_line(
                [
                    "-m",
                    "bench._read",
                    "--vendor",
                    "netsuite",
                    "--client",
                    "sdk",
                    "--base-url",
                    server.base_url,
                    "--records",
                    str(n),
                    "--count-only",
                ],
                timeout=1800,
            )
        out[str(n)] = res
        _log(f"  memory {n:>9} records: peak RSS {res.get('peak_rss_mb')} MB ok={res.get('ok')}")
    a, b = out[str(small)].get("peak_rss_mb"), out[str(large)].get("peak_rss_mb")
    ok = bool(out[str(small)].get("ok") and out[str(large)].get("ok"))
    out["ratio"] = round(b / a, 3) if a and b else None
    out["passed"] = ok and out["ratio"] is not None and out["ratio"] <= MEMORY_GATE
    return out


# -- report ----------------------------------------------------------------------------------


def _cells(*cells: Any) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def _fmt(n: float | None) -> str:
    return "" if n is None else f"{n:,.0f}"


def markdown(res: dict[str, Any]) -> str:
    """The results as Markdown tables."""
    lines: list[str] = [f"Run {res['meta']['started']} on {res['meta']['machine']}", ""]
    read = res.get("read")
    if read:
        lines += [
            f"### Read path ({read['records']:,} records per run, "
            f"{read['reps']} alternated rounds)",
            "",
            "| connector | client | median rec/s | min–max rec/s | CPU µs/rec | peak RSS MB "
            "| startup s | server CPU s | ok |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for r in read["rows"]:
            lines.append(
                f"| {r['vendor']} | {LABEL[r['client']]} | {_fmt(r.get('median'))} | "
                f"{_fmt(r.get('min'))}–{_fmt(r.get('max'))} | {r.get('cpu_us', '')} | "
                f"{r.get('rss_mb', '')} | {r.get('startup_s', '')} | {r.get('server_cpu_s', '')} | "
                f"{r['ok_runs']}/{r['runs']} |"
            )
        lines += [
            "",
            "| connector | SDK ÷ canonical validate_json (gate ≥ 0.85) | min–max over rounds "
            "| same, by CPU time | SDK ÷ httpx2+json | fetch-only ÷ httpx2+json | poison Rejected "
            "| gate |",
            "|---|---:|---:|---:|---:|---:|---|---|",
        ]
        for q in read["ratios"]:
            mm = q["sdk_over_model_min_max"] or ["", ""]
            lines.append(
                f"| {q['vendor']} | {q['sdk_over_model']} | {mm[0]}–{mm[1]} | "
                f"{q['sdk_over_model_cpu']} | {q['sdk_over_json']} | {q['ceiling_over_json']} | "
                f"{'no (VOID)' if q['void'] else 'yes'} | {'pass' if q['passed'] else 'FAIL'} |"
            )
        lines += ["", *_server_lines(read), f"CPU probe per round (s): {read['cpu_probe_s']}", ""]
    write = res.get("write")
    if write:
        lines += [
            "### Writes under vendor limits (simulated time)",
            "",
            "| vendor | limits | requests | accepted per window ÷ permitted (gate ≥ 0.9) "
            "| min–max window | 429 share (gate ≤ 1 %) | failures | gate |",
            "|---|---|---:|---:|---:|---:|---:|---|",
        ]
        d = write["dynamics365"]
        lines.append(
            _cells(
                "dynamics365",
                f"{d['limit_per_window']}/{d['window_seconds']:.0f} s, "
                f"{d['concurrency_limit']} concurrent, {d['service_time_ms']:.0f} ms",
                d["requests"],
                d["used_share"],
                f"{d['min_window_over_limit']}–{d['max_window_over_limit']}",
                f"{100 * d['share_429']:.2f} %",
                d["failures"],
                "pass" if d["passed"] else "FAIL",
            )
        )
        n = write["netsuite"]
        lines.append(
            _cells(
                "netsuite",
                f"{n['account_limit']} concurrent, {n['background_slots']} held by others, "
                f"{n['service_time_ms']:.0f} ms",
                n["requests"],
                n["used_share"],
                f"{n['min_window_over_permitted']}–{n['max_window_over_permitted']}",
                f"{100 * n['share_429']:.2f} %",
                n["failures"],
                "pass" if n["passed"] else "FAIL",
            )
        )
        lines.append("")
    runner = res.get("runner")
    if runner:
        lines += _runner_lines(runner)
    mem = res.get("memory")
    if mem:
        a, b = mem[str(mem["small"])], mem[str(mem["large"])]
        lines += [
            "### Memory (NetSuite SDK read, fresh process each)",
            "",
            "| records | peak RSS MB | rec/s | ok |",
            "|---:|---:|---:|---|",
            _cells(
                f"{mem['small']:,}", a.get("peak_rss_mb"), _fmt(a.get("records_per_s")), a.get("ok")
            ),
            _cells(
                f"{mem['large']:,}", b.get("peak_rss_mb"), _fmt(b.get("records_per_s")), b.get("ok")
            ),
            "",
            f"Peak RSS ratio {mem['ratio']} (gate ≤ {MEMORY_GATE}): "
            f"{'pass' if mem['passed'] else 'FAIL'}",
            "",
        ]
    imports = res.get("import")
    if imports:
        lines += [
            "### Import time (fresh interpreter)",
            "",
            "| module | -X importtime cumulative ms "
            "| wall ms over `python -c pass` (median, min–max) |",
            "|---|---:|---:|",
        ]
        for r in imports:
            lines.append(
                f"| {r['module']} | {r['importtime_ms']} | {r['wall_ms']} "
                f"({r['wall_min_max_ms'][0]}–{r['wall_min_max_ms'][1]}) |"
            )
        lines.append("")
    lines += _noise_lines(res)
    lines += ["### Gates", "", "| gate | result |", "|---|---|"]
    for name, ok in res["gates"].items():
        lines.append(f"| {name} | {'pass' if ok else 'FAIL'} |")
    return "\n".join(lines) + "\n"


def _server_lines(read: dict[str, Any]) -> list[str]:
    """The server's own ceiling: records it serves per second of its own CPU time."""
    parts = []
    for vendor in VENDORS:
        runs = [r for r in read["runs"] if r["vendor"] == vendor and r.get("server_cpu_s")]
        fastest = max(
            (
                r.get("median", 0)
                for r in read["rows"]
                if r["vendor"] == vendor and r["client"] != "bytes"
            ),
            default=0,
        )
        if not runs or not fastest:
            continue
        capacity = statistics.median(
            (r["records"] + r.get("rejected", 0)) / r["server_cpu_s"] for r in runs
        )
        parts.append(
            f"{vendor} {capacity:,.0f} records per server CPU-second, "
            f"{capacity / fastest:.0f}× the fastest parsing client"
        )
    if not parts:
        return []
    return [
        "Server ceiling (the frozen server's CPU time during each client run): "
        + "; ".join(parts)
        + ".",
        "",
    ]


def _noise_lines(res: dict[str, Any]) -> list[str]:
    """How noisy the machine was during this run: spread of each cell over its rounds."""
    read = res.get("read")
    if not read:
        return []
    spreads = sorted(
        100 * (r["max"] - r["min"]) / r["median"] for r in read["rows"] if r.get("median")
    )
    probes = read["cpu_probe_s"]
    meta = res["meta"]
    return [
        "### Noise",
        "",
        f"Spread of a cell over its rounds, (max − min) ÷ median of records/s: "
        f"{spreads[0]:.1f} % to {spreads[-1]:.1f} %, median {statistics.median(spreads):.1f} %. "
        f"CPU probe per round: {min(probes):.3f}–{max(probes):.3f} s "
        f"({100 * (max(probes) - min(probes)) / min(probes):.0f} % drift). "
        f"Load average {meta['loadavg_start'][0]} at the start, "
        f"{meta.get('loadavg_end', ['?'])[0]} at the end, on {os.cpu_count()} cores.",
        "",
    ]


def _runner_lines(runner: dict[str, Any]) -> list[str]:
    lines = [
        f"### Sync runner overhead ({runner['records']:,} customers per run, "
        f"{runner['reps']} alternated rounds)",
        "",
        "| state store | target | median rec/s | min–max | ÷ NullStateStore (gate ≥ 0.7) "
        "| min–max ratio | ok | gate |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    target_label = {"netsuite": "NetSuite connector + simulator", "memory": "in-memory dict"}
    for r in runner["rows"]:
        mm = r.get("ratio_min_max") or ["", ""]
        lines.append(
            _cells(
                r["store"],
                target_label.get(r["target"], r["target"]),
                _fmt(r.get("median")),
                f"{_fmt(r.get('min'))}–{_fmt(r.get('max'))}",
                r.get("ratio", ""),
                f"{mm[0]}–{mm[1]}" if r.get("ratio_min_max") else "",
                f"{r['ok_runs']}/{r['runs']}",
                r.get("gate", ""),
            )
        )
    for note in runner.get("notes", []):
        lines.append(f"\n{note}")
    lines.append("")
    return lines


def main() -> int:
    """Run the chosen sections, write ``bench/out/results.{json,md}``, print the table.

    ``python -m bench --render`` prints the Markdown of the last run again (no measuring).
    """
    if "--render" in sys.argv[1:]:
        print(markdown(json.loads((OUT / "results.json").read_text())))
        return 0
    sections = _sections()
    records = env_int("BENCH_RECORDS", 100_000)
    reps = env_int("BENCH_REPS", 3)
    res: dict[str, Any] = {
        "meta": {
            "started": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}",
            "loadavg_start": [round(x, 2) for x in os.getloadavg()],
            "sections": sections,
        }
    }
    gates: dict[str, bool] = {}
    t0 = time.perf_counter()
    if "read" in sections:
        _log(f"read path: {records:,} records x {reps} rounds")
        res["read"] = bench_read(records, reps)
        for q in res["read"]["ratios"]:
            gates[f"read {q['vendor']}: SDK ÷ canonical validate_json ≥ {READ_GATE}"] = q["passed"]
    if "write" in sections:
        _log("writes under limits")
        res["write"] = bench_write(env_int("BENCH_WRITES", 3000))
        for vendor, w in res["write"].items():
            gates[f"write {vendor}: used ≥ 0.9 of permitted, 429 ≤ 1 %"] = w["passed"]
    if "runner" in sections:
        _log("runner overhead")
        res["runner"] = bench_runner(env_int("BENCH_RUNNER_RECORDS", 1000), reps)
        for r in res["runner"]["rows"]:
            if "passed" in r:
                gates[f"runner {r['store']} ÷ NullStateStore ≥ {RUNNER_GATE}"] = r["passed"]
    if "memory" in sections:
        small = env_int("BENCH_MEMORY_SMALL", 100_000)
        large = env_int("BENCH_MEMORY_RECORDS", 1_000_000)
        _log(f"memory: {small:,} vs {large:,} records")
        res["memory"] = bench_memory(small, large)
        gates[f"memory: peak RSS {large:,} ÷ {small:,} ≤ {MEMORY_GATE}"] = res["memory"]["passed"]
    if "import" in sections:
        _log("import time")
        res["import"] = __import__("bench._imports", fromlist=["run"]).run()
    res["meta"]["total_s"] = round(time.perf_counter() - t0, 1)
    res["meta"]["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    res["gates"] = gates
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "results.json").write_text(json.dumps(res, indent=1, default=str))
    text = markdown(res)
    (OUT / "results.md").write_text(text)
    print(text)
    failed = [name for name, ok in gates.items() if not ok]
    if failed:
        print(f"{len(failed)} gate(s) missed: " + "; ".join(failed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
