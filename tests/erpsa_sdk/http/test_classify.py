"""erpsa_sdk.http.classify.lenient_json: error bodies decode or become None, never raise."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from erpsa_sdk.http.classify import lenient_json

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@given(_json)
def test_json_bodies_round_trip(value: Any) -> None:
    assert lenient_json(json.dumps(value).encode()) == value


@given(st.binary(max_size=200))
def test_any_bytes_decode_or_give_none(content: bytes) -> None:
    lenient_json(content)  # must not raise, whatever the vendor sent


def test_bodies_that_are_not_json_give_none() -> None:
    assert lenient_json(b"") is None
    assert lenient_json(b"<html><body>Service Unavailable</body></html>") is None
    assert lenient_json(b'{"status": 429, "o:errorDetails": [') is None  # truncated
    assert lenient_json(b"\xff\xfe\x00garbage") is None  # not UTF-8
    assert lenient_json(b"[" * 100_000 + b"]" * 100_000) is None  # nested too deep
