"""Smoke test of the read benchmark at a tiny size: frozen server, every client, every vendor.

Nothing here is timed; it only proves the code paths still work (the run is valid, the SDK and
the canonical baseline both hand the poisoned record over as Rejected).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from bench.__main__ import CLIENTS, summarize_read

from bench import _proc, _read, _shapes

RECORDS = 450


@pytest.fixture(scope="module")
def server() -> Iterator[_proc.Server]:
    with _proc.frozen_server(RECORDS) as srv:
        yield srv


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize("vendor", _shapes.VENDORS)
def test_each_client_reads_everything(
    server: _proc.Server, vendor: str, client: str, capsys: Any
) -> None:
    out = _read.main(
        [
            "--vendor",
            vendor,
            "--client",
            client,
            "--base-url",
            server.base_url,
            "--records",
            str(RECORDS),
        ]
    )
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1]) == out
    assert out["ok"], out
    assert out["records"] + out["rejected"] == RECORDS
    if client in ("model", "sdk"):
        assert out["poison_rejected"]
        assert out["rejected"] == 1


def test_a_run_without_the_rejected_poison_is_void() -> None:
    def run(client: str, rep: int, rps: float, poison: bool = True) -> dict[str, Any]:
        return {
            "vendor": "netsuite",
            "client": client,
            "rep": rep,
            "records_per_s": rps,
            "cpu_us_per_record": 1e6 / rps,
            "peak_rss_mb": 50,
            "startup_s": 0.1,
            "ok": True,
            "poison_rejected": poison,
        }

    runs = [
        run(c, rep, {"bytes": 9e5, "json": 3e5, "model": 5e4, "sdk": 4.5e4}[c])
        for rep in range(3)
        for c in CLIENTS
    ]
    _, ratios = summarize_read(runs)
    netsuite = ratios[0]
    assert netsuite["sdk_over_model"] == 0.9
    assert netsuite["passed"]
    assert not netsuite["void"]
    runs[3] = run("sdk", 0, 4.5e4, poison=False)
    _, ratios = summarize_read(runs)
    assert ratios[0]["void"]
    assert not ratios[0]["passed"]
