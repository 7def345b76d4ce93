"""`erpsa schema export DIR`."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from erpsa_sdk.cli import app
from erpsa_sdk.models.schema import canonical_models


def test_schema_export_writes_versioned_schemas(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["schema", "export", str(out)])
    assert result.exit_code == 0, result.output
    files = sorted(out.glob("*.schema.json"))
    assert len(files) == len(canonical_models()) + 1  # + the pipeline configuration file
    assert (out / "pipeline-config.v1.schema.json").is_file()
    entry = json.loads((out / "time_entry.v1.0.0.schema.json").read_text(encoding="utf-8"))
    assert entry["$id"] == "https://schemas.erpsa-sdk.dev/models/time_entry/1.0.0.json"


def test_schema_export_is_stable_across_runs(tmp_path: Path) -> None:
    runner = CliRunner()
    for name in ("a", "b"):
        assert runner.invoke(app, ["schema", "export", str(tmp_path / name)]).exit_code == 0
    a = {p.name: p.read_bytes() for p in (tmp_path / "a").iterdir()}
    b = {p.name: p.read_bytes() for p in (tmp_path / "b").iterdir()}
    assert a == b


def test_schema_export_refuses_a_file_as_directory(tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_text("x", encoding="utf-8")
    result = CliRunner().invoke(app, ["schema", "export", str(target)])
    assert result.exit_code != 0
