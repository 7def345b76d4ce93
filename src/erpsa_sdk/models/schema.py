"""Versioned JSON Schemas of the canonical models.

Each model's schema carries its version in ``$id`` (``…/time_entry/1.0.0.json``) and in the file
name; the output is byte-for-byte stable across runs (sorted keys, fixed indentation).

Examples:
    >>> from erpsa_sdk.models import TimeEntry
    >>> json_schema(TimeEntry)["$id"]
    'https://schemas.erpsa-sdk.dev/models/time_entry/1.0.0.json'
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Final

from erpsa_sdk.models._base import CanonicalModel

__all__ = [
    "SCHEMA_BASE_URI",
    "canonical_models",
    "export_schemas",
    "json_schema",
    "schema_filename",
]

#: Base of every schema ``$id``; identifiers, not necessarily resolvable URLs.
SCHEMA_BASE_URI: Final = "https://schemas.erpsa-sdk.dev/models"
_DRAFT: Final = "https://json-schema.org/draft/2020-12/schema"


def canonical_models() -> list[type[CanonicalModel]]:
    """Every canonical model class, sorted by object type.

    Examples:
        >>> "time_entry" in [m.object_type for m in canonical_models()]
        True
    """
    from erpsa_sdk import models

    found = [
        obj
        for name in models.__all__
        if isinstance(obj := getattr(models, name), type)
        and issubclass(obj, CanonicalModel)
        and obj is not CanonicalModel
    ]
    return sorted(found, key=lambda m: m.object_type)


def json_schema(model: type[CanonicalModel]) -> dict[str, Any]:
    """The JSON Schema (2020-12, validation mode) of ``model`` with a versioned ``$id``.

    Examples:
        >>> from erpsa_sdk.models import Customer
        >>> s = json_schema(Customer)
        >>> s["x-schema-version"], s["title"]
        ('1.0.0', 'Customer')
    """
    schema = model.model_json_schema(mode="validation")
    return {
        "$schema": _DRAFT,
        "$id": f"{SCHEMA_BASE_URI}/{model.object_type}/{model.schema_version}.json",
        "x-schema-version": model.schema_version,
        "x-object-type": model.object_type,
        **schema,
    }


def schema_filename(model: type[CanonicalModel]) -> str:
    """File name of ``model``'s schema: ``<object_type>.v<version>.schema.json``.

    Examples:
        >>> from erpsa_sdk.models import Invoice
        >>> schema_filename(Invoice)
        'invoice.v1.0.0.schema.json'
    """
    return f"{model.object_type}.v{model.schema_version}.schema.json"


def export_schemas(directory: str | Path) -> list[Path]:
    """Write one schema file per canonical model into ``directory`` (created if needed).

    Returns:
        the written paths, sorted.

    Examples:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     paths = export_schemas(tmp)
        >>> "time_entry.v1.0.0.schema.json" in [p.name for p in paths]
        True
    """
    target = Path(directory)
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for model in canonical_models():
        path = target / schema_filename(model)
        text = json.dumps(json_schema(model), indent=2, sort_keys=True, ensure_ascii=False)
        path.write_text(text + "\n", encoding="utf-8")
        written.append(path)
    return sorted(written)
