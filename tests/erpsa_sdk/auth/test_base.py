"""The 401 verdict shared by every flow: which header names carry the request id."""

from __future__ import annotations

import httpx2
import pytest

from erpsa_sdk.auth._base import UnauthorizedPolicy, unauthorized
from erpsa_sdk.errors import AuthError
from erpsa_sdk.http.classify import DEFAULT_REQUEST_ID_HEADERS

REQUEST = httpx2.Request("GET", "https://api.example.test/v1/things?token=x")


def refused(headers: dict[str, str]) -> httpx2.Response:
    return httpx2.Response(401, headers=headers, request=REQUEST)


def test_generic_request_id_headers_come_from_the_http_core() -> None:
    assert UnauthorizedPolicy.request_id_headers is DEFAULT_REQUEST_ID_HEADERS
    error = unauthorized(refused({"X-Request-Id": "req-1"}), tenant="t", why="no refresh")
    assert error.request_id == "req-1"


def test_vendor_headers_are_named_by_the_connector_not_the_core() -> None:
    response = refused({"x-ms-request-id": "ms-7", "x-netsuite-jobid": "job-9"})
    assert unauthorized(response, tenant="t", why="x").request_id is None
    named = unauthorized(
        response, tenant="t", why="x", request_id_headers=("x-netsuite-jobid", "x-ms-request-id")
    )
    assert named.request_id == "job-9"


def test_a_flow_raises_with_its_own_request_id_headers() -> None:
    class Flow(UnauthorizedPolicy):
        tenant = "acme"

    flow = Flow()
    flow.request_id_headers = ("x-ms-request-id",)
    with pytest.raises(AuthError) as info:
        flow._final_check(refused({"x-ms-request-id": "ms-7"}), "token rejected")
    assert (info.value.request_id, info.value.tenant) == ("ms-7", "acme")
