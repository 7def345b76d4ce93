"""``python -m bench`` wiring: sections, report files, exit status (tiny sizes, nothing timed)."""

from __future__ import annotations

import json
from pathlib import Path

import bench.__main__ as bench_main
import pytest

from bench import _imports


def test_write_section_writes_json_and_markdown_and_sets_the_exit_status(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(bench_main, "OUT", tmp_path)
    monkeypatch.setenv("BENCH_ONLY", "write")
    monkeypatch.setenv("BENCH_WRITES", "60")
    status = bench_main.main()
    results = json.loads((tmp_path / "results.json").read_text())
    assert set(results["write"]) == {"dynamics365", "netsuite"}
    assert status == (0 if all(results["gates"].values()) else 1)
    table = (tmp_path / "results.md").read_text()
    assert "Writes under vendor limits" in table
    assert table in capsys.readouterr().out


def test_memory_section_compares_two_fresh_processes() -> None:
    res = bench_main.bench_memory(150, 300)
    assert res["150"]["ok"]
    assert res["300"]["ok"]
    assert res["ratio"] is not None


def test_import_time_is_read_from_importtime() -> None:
    assert (_imports.cumulative_us("erpsa_sdk") or 0) > 0


def test_sections_follow_only_and_skip(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BENCH_ONLY", "read,memory")
    monkeypatch.setenv("BENCH_SKIP", "memory")
    assert bench_main._sections() == ["read"]
