"""Versioned JSON Schemas: one per model, $id with the version, stable output."""

from __future__ import annotations

import json
from pathlib import Path

from erpsa_sdk.models import Money, TimeEntry
from erpsa_sdk.models.schema import canonical_models, export_schemas, json_schema


def test_export_writes_one_versioned_schema_per_model(tmp_path: Path) -> None:
    paths = export_schemas(tmp_path / "out")
    assert len(paths) == len(canonical_models())
    for path, model in zip(
        paths, sorted(canonical_models(), key=lambda m: m.object_type), strict=True
    ):
        schema = json.loads(path.read_text(encoding="utf-8"))
        assert schema["$id"].endswith(f"/{model.object_type}/{model.schema_version}.json")
        assert model.schema_version in path.name
        assert schema["x-schema-version"] == model.schema_version
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_export_is_byte_identical_across_runs(tmp_path: Path) -> None:
    first = {p.name: p.read_bytes() for p in export_schemas(tmp_path / "a")}
    second = {p.name: p.read_bytes() for p in export_schemas(tmp_path / "b")}
    assert first == second


def test_schema_describes_exact_minutes_and_string_money() -> None:
    schema = json_schema(TimeEntry)
    assert schema["properties"]["duration_minutes"]["type"] == "integer"
    assert "Money" in json.dumps(schema["$defs"])
    assert set(Money.model_json_schema()["required"]) == {"amount", "currency"}
