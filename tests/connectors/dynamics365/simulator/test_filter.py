"""The simulator's $filter evaluator agrees with Python on comparisons and boolean logic."""

from __future__ import annotations

import operator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from erpsa_dynamics365.simulator import FilterError, compile_filter
from erpsa_sdk.http.odata import literal

OPS = {
    "eq": operator.eq,
    "ne": operator.ne,
    "gt": operator.gt,
    "ge": operator.ge,
    "lt": operator.lt,
    "le": operator.le,
}


@given(
    value=st.integers(-1000, 1000), other=st.integers(-1000, 1000), op=st.sampled_from(sorted(OPS))
)
def test_numeric_comparisons(value: int, other: int, op: str) -> None:
    assert compile_filter(f"n {op} {other}")({"n": value}) is OPS[op](value, other)


@given(text=st.text("abcXYZ' ", max_size=8), needle=st.text("abcxyz'", max_size=3))
def test_text_functions_are_case_insensitive(text: str, needle: str) -> None:
    row = {"name": text}
    assert compile_filter(f"contains(name,{literal(needle)})")(row) is (
        needle.lower() in text.lower()
    )
    assert compile_filter(f"startswith(name,{literal(needle)})")(row) is (
        text.lower().startswith(needle.lower())
    )


@given(a=st.booleans(), b=st.booleans(), c=st.booleans())
def test_boolean_logic_and_precedence(a: bool, b: bool, c: bool) -> None:
    row = {"a": a, "b": b, "c": c}
    assert compile_filter("a eq true or b eq true and c eq true")(row) is (a or (b and c))
    assert compile_filter("not (a eq true or b eq true) and c eq true")(row) is (
        (not (a or b)) and c
    )


def test_nulls_guids_and_errors() -> None:
    guid = "6f1c3a52-4f2e-5d7a-9a51-0d8e7c2b1a01"
    assert compile_filter("_x_value eq null")({"_x_value": None})
    assert compile_filter(f"id eq {guid.upper()}")({"id": guid})
    assert not compile_filter("n gt 3")({"n": None})
    for bad in ("n eq", "n between 3", "(n eq 1", "n eq 1 2"):
        with pytest.raises(FilterError):
            compile_filter(bad)
