from __future__ import annotations

import pytest

from erpsa_sdk import errors


def test_every_error_derives_from_erpsa_error() -> None:
    for name in errors.__all__:
        assert issubclass(getattr(errors, name), errors.ErpsaError), name


def test_api_error_str_carries_context_not_body() -> None:
    err = errors.ApiError(
        "refused", status=400, vendor_code="X", request_id="r1", tenant="t", body_excerpt="{...}"
    )
    assert str(err) == "refused [status=400 vendor_code=X request_id=r1 tenant=t]"


def test_rate_limited_carries_retry_hint() -> None:
    with pytest.raises(errors.ApiError) as info:
        raise errors.RateLimited("slow", status=429, retry_after=3.0)
    assert isinstance(info.value, errors.RateLimited)
    assert info.value.retry_after == 3.0


def test_tree_is_drawn_in_module_docstring() -> None:
    doc = errors.__doc__ or ""
    for name in errors.__all__:
        assert name in doc, f"{name} missing from the drawn tree"
