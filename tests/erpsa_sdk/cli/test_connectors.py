"""``erpsa connectors``: lists plugins; one that raises on import is skipped with its reason."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from erpsa_sdk.cli import app
from tests.erpsa_sdk.testing._dists import plugin_zoo

CLI = [sys.executable, "-c", "from erpsa_sdk.cli import main; main()"]


def _run(args: list[str], extra_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, **env}
    environ["PYTHONPATH"] = os.pathsep.join([str(extra_path), environ.get("PYTHONPATH", "")])
    environ["COLUMNS"] = "200"
    return subprocess.run(
        [*CLI, *args], capture_output=True, text=True, env=environ, timeout=60, check=False
    )


def test_lists_the_example_plugin_with_capabilities() -> None:
    pytest.importorskip("acme_psa_erp", reason="install examples/third_party_connector")
    result = CliRunner().invoke(app, ["connectors", "--json"])
    assert result.exit_code == 0
    rows = {row["name"]: row for row in json.loads(result.output)}
    erp = rows["acmeerp"]
    assert erp["status"] == "loaded"
    assert erp["version"] == "0.1.0"
    assert erp["distribution"] == "acme-psa-erp"
    safety = erp["capabilities"]["types"]["TimeEntry"]["write_safety"]
    assert safety["create"] == "unsafe"
    assert rows["acmepsa"]["capabilities"]["types"]["TimeEntry"]["deletions"] == "tombstone_query"


def test_a_plugin_that_raises_on_import_is_skipped_and_the_others_load(tmp_path: Path) -> None:
    zoo = plugin_zoo(tmp_path / "site")
    result = _run(["connectors", "--json"], zoo)
    assert result.returncode == 0, result.stderr
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert rows["zoobroken"]["status"] == "skipped"
    assert "RuntimeError: zoo_broken needs libfoo 2" in rows["zoobroken"]["reason"]
    assert rows["zoogood"]["status"] == "loaded"
    assert rows["zoofuture"]["status"] == "skipped"
    if "acmeerp" in rows:  # the installed example plugin still loads next to the broken one
        assert rows["acmeerp"]["status"] == "loaded"
    table = _run(["connectors"], zoo)
    assert table.returncode == 0
    assert "zoobroken" in table.stdout
    assert "skipped" in table.stdout
    assert "libfoo 2" in table.stdout
    assert "write[unsafe]" in table.stdout or "acmeerp" not in rows


def test_disabled_plugins_are_listed_as_disabled(tmp_path: Path) -> None:
    zoo = plugin_zoo(tmp_path / "site")
    result = _run(["connectors", "--json"], zoo, ERPSA_DISABLE_PLUGINS="zoobroken")
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert rows["zoobroken"]["status"] == "disabled"
