"""Process plumbing for the benchmarks: the frozen server, client subprocesses, CPU probes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def env_int(name: str, default: int) -> int:
    """An integer setting from the environment (``BENCH_RECORDS=20000 make bench``)."""
    raw = os.environ.get(name, "").strip()
    return int(raw.replace("_", "")) if raw else default


def proc_cpu_s(pid: int) -> float | None:
    """User + system CPU seconds of a running process (from /proc), or None."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def cpu_probe() -> float:
    """Seconds for a fixed CPU-bound loop (JSON round trips): tracks the machine's drift."""
    doc = {"rows": [{"id": str(i), "memo": "x" * 40, "hours": "1.25"} for i in range(5000)]}
    text = json.dumps(doc)
    t0 = time.perf_counter()
    for _ in range(20):
        json.loads(text)
    return time.perf_counter() - t0


@dataclass
class Server:
    """A running frozen-snapshot server."""

    base_url: str
    pid: int
    records: int

    def cpu_s(self) -> float | None:
        """CPU seconds the server has used so far."""
        return proc_cpu_s(self.pid)


@contextmanager
def frozen_server(records: int, vendors: str = "netsuite,kantata,dynamics365") -> Iterator[Server]:
    """Start ``bench._server`` in its own process; stop it on exit."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench._server", "--records", str(records), "--vendors", vendors],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"bench server exited with {proc.wait()}")
        info = json.loads(line)
        for _ in range(200):
            try:
                urllib.request.urlopen(info["base_url"] + "/meta", timeout=5).read()
                break
            except OSError:
                time.sleep(0.05)
        yield Server(info["base_url"], int(info["pid"]), records)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def run_json_line(args: list[str], *, timeout: float = 600) -> dict[str, Any]:
    """Run ``python <args>`` from the project root; its last JSON line, or an error record."""
    try:
        p = subprocess.run(
            [sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return {"ok": False, "error": f"timeout after {timeout} s"}
    for line in reversed(p.stdout.splitlines()):
        if line.startswith("{"):
            try:
                result: dict[str, Any] = json.loads(line)
                return result
            except ValueError:
                continue
    return {"ok": False, "error": f"rc={p.returncode}", "stderr": p.stderr[-2000:]}
