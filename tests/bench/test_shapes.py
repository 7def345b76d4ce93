"""The bench's vendor shapes stay readable by the connectors they imitate (poison included)."""

from __future__ import annotations

import json

import pytest
from bench._read import page_model
from pydantic import TypeAdapter, ValidationError

from bench import _shapes


@pytest.mark.parametrize("vendor", _shapes.VENDORS)
def test_every_shape_maps_to_a_canonical_time_entry_and_the_poison_is_refused(vendor: str) -> None:
    _, item = page_model(vendor)
    adapter: TypeAdapter[object] = item
    rows = [json.loads(b) for b in _shapes.render(vendor, 120)]
    bad = _shapes.poison_index(120)
    keys = []
    for i, row in enumerate(rows):
        if i == bad:
            with pytest.raises(ValidationError):
                adapter.validate_python(row)
            continue
        entry = adapter.validate_python(row)
        keys.append(entry.key)  # type: ignore[attr-defined]
        assert entry.duration_minutes > 0  # type: ignore[attr-defined]
    assert len(set(keys)) == 119


def test_ids_and_timestamps_are_ordered_like_a_keyset() -> None:
    ts = [_shapes.kantata_ts(i) for i in range(500)]
    assert ts == sorted(ts)
    assert len(set(ts)) == 500
    ns = [json.loads(_shapes.render("netsuite", 3)[i])["lastmodified"] for i in range(3)]
    assert ns == sorted(ns)
    assert _shapes.poison_index(100_000) not in (0, 99_999)
