"""ApiClient / AsyncApiClient against MockTransport handlers."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from typing import Any

import httpx2
import pytest

from erpsa_sdk.correlation import correlation_scope
from erpsa_sdk.errors import (
    AuthError,
    ConfigurationError,
    ConflictError,
    ConnectError,
    ForbiddenError,
    IndeterminateWrite,
    NotFoundError,
    RateLimited,
    ResponseFormatError,
    SecurityError,
    ServerError,
    Timeout,
    ValidationFailed,
)
from erpsa_sdk.http import ApiClient, AsyncApiClient, RetryPolicy, WriteSafety
from tests.erpsa_sdk.http._fakes import CountingGovernor, StepClock

BASE = "https://acme.api.example/v1"


def client_for(handler: Any, **kw: Any) -> ApiClient:
    kw.setdefault("clock", StepClock())
    return ApiClient(base_url=BASE, tenant="acme", transport=httpx2.MockTransport(handler), **kw)


@pytest.mark.parametrize(
    ("status", "error_type"),
    [
        (400, ValidationFailed),
        (401, AuthError),
        (403, ForbiddenError),
        (404, NotFoundError),
        (409, ConflictError),
        (412, ConflictError),
        (422, ValidationFailed),
        (501, ServerError),
    ],
)
def test_status_maps_to_error_without_retry(status: int, error_type: type[Exception]) -> None:
    calls = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        calls.append(request)
        return httpx2.Response(
            status,
            json={"error": {"code": "E1", "message": "nope"}},
            headers={"x-request-id": "req-9"},
        )

    with pytest.raises(error_type) as info:
        client_for(handler).get("/items")
    err = info.value
    assert len(calls) == 1
    assert (err.status, err.vendor_code, err.request_id, err.tenant) == (  # type: ignore[attr-defined]
        status,
        "E1",
        "req-9",
        "acme",
    )
    assert str(err) == f"nope [status={status} vendor_code=E1 request_id=req-9 tenant=acme]"


def test_transient_statuses_are_retried_with_backoff_on_the_clock() -> None:
    statuses = iter([503, 502, 200])
    clock = StepClock()

    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(next(statuses), json={"ok": True})

    client = client_for(handler, clock=clock, retry=RetryPolicy(jitter=0.0))
    assert client.get("/x").status_code == 200
    assert clock.sleeps == [0.5, 1.0]


def test_429_honours_retry_after_and_tells_the_governor() -> None:
    answers = iter(
        [httpx2.Response(429, headers={"Retry-After": "7"}), httpx2.Response(200, json={})]
    )
    clock, gov = StepClock(), CountingGovernor()
    client = client_for(lambda r: next(answers), clock=clock, governor=gov)
    client.get("/x")
    assert clock.sleeps == [7.0]
    assert gov.acquired == 2
    assert gov.released == [(True, 7.0), (False, None)]


def test_429_retry_at_is_set_when_retries_are_exhausted() -> None:
    clock = StepClock()
    client = client_for(
        lambda r: httpx2.Response(429, headers={"Retry-After": "30"}),
        clock=clock,
        retry=RetryPolicy(max_attempts=1),
    )
    with pytest.raises(RateLimited) as info:
        client.get("/x")
    assert info.value.retry_after == 30.0
    assert info.value.retry_at is not None
    assert (info.value.retry_at - clock.now()).total_seconds() == 30.0


def test_connector_parser_turns_a_200_error_body_into_a_transient_error() -> None:
    answers = iter([{"errors": [{"code": "CURSOR_BUSY"}]}, {"data": [1]}])

    def parser(response: httpx2.Response) -> Any:
        body = response.json()
        if "errors" in body:
            return ServerError("vendor busy", vendor_code=body["errors"][0]["code"], retryable=True)
        return None

    client = client_for(lambda r: httpx2.Response(200, json=next(answers)), error_parser=parser)
    assert client.request_json("GET", "/x") == {"data": [1]}


def test_throttle_classifier_marks_vendor_codes_as_throttle() -> None:
    gov = CountingGovernor()
    answers = iter([httpx2.Response(403, json={"code": "CONCURRENCY_LIMIT"}), httpx2.Response(200)])

    def parser(response: httpx2.Response) -> Any:
        if response.status_code == 403:
            return RateLimited("concurrency", vendor_code="CONCURRENCY_LIMIT")
        return None

    client_for(lambda r: next(answers), governor=gov, error_parser=parser).get("/x")
    assert gov.released[0] == (True, None)


def test_html_and_malformed_json_are_response_format_errors() -> None:
    html = client_for(
        lambda r: httpx2.Response(
            200, text="<html><body>Sign in</body></html>", headers={"content-type": "text/html"}
        )
    )
    with pytest.raises(ResponseFormatError, match="HTML page"):
        html.request_json("GET", "/x")
    broken = client_for(lambda r: httpx2.Response(200, content=b'{"a": 1,'))
    with pytest.raises(ResponseFormatError, match="malformed JSON"):
        broken.request_json("GET", "/x")


def test_html_5xx_is_a_retryable_server_error_with_excerpt() -> None:
    page = "<!DOCTYPE html><html><title>502 Bad Gateway</title></html>"
    client = client_for(
        lambda r: httpx2.Response(502, text=page, headers={"content-type": "text/html"}),
        retry=RetryPolicy(max_attempts=2),
    )
    with pytest.raises(ServerError) as info:
        client.get("/x")
    assert "HTML error page" in info.value.message
    assert info.value.body_excerpt is not None
    assert "Bad Gateway" in info.value.body_excerpt


def _raiser(exc_type: type[Exception]) -> Any:
    def handler(request: httpx2.Request) -> httpx2.Response:
        raise exc_type("boom", request=request)  # type: ignore[call-arg]

    return handler


@pytest.mark.parametrize(
    ("exc_type", "error_type"),
    [
        (httpx2.ConnectTimeout, Timeout),
        (httpx2.ReadTimeout, Timeout),
        (httpx2.PoolTimeout, Timeout),
        (httpx2.ConnectError, ConnectError),
        (httpx2.ReadError, ConnectError),
        (httpx2.RemoteProtocolError, ConnectError),
    ],
)
def test_transport_failures_map_and_reads_retry(
    exc_type: type[Exception], error_type: type[Exception]
) -> None:
    calls = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        calls.append(1)
        raise exc_type("boom", request=request)  # type: ignore[call-arg]

    with pytest.raises(error_type):
        client_for(handler, retry=RetryPolicy(max_attempts=3)).get("/x")
    assert len(calls) == 3


def test_unsafe_create_after_timeout_is_indeterminate_and_not_retried() -> None:
    calls = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        calls.append(request)
        raise httpx2.ReadTimeout("timed out", request=request)

    client = client_for(handler)
    with pytest.raises(IndeterminateWrite) as info:
        client.request("POST", "/invoices", json={"n": 1}, safety=WriteSafety.UNSAFE)
    assert len(calls) == 1
    assert isinstance(info.value.__cause__, Timeout)
    # An undeclared write is UNSAFE too.
    with pytest.raises(IndeterminateWrite):
        client.request("POST", "/invoices", json={"n": 2})
    assert len(calls) == 2


def test_unsafe_write_refused_connection_is_connect_error_not_indeterminate() -> None:
    client = client_for(_raiser(httpx2.ConnectError))
    with pytest.raises(ConnectError):
        client.request("POST", "/invoices", json={}, safety=WriteSafety.UNSAFE)


def test_natural_upsert_repeats_the_same_method_url_and_body() -> None:
    seen: list[tuple[str, str, bytes]] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append((request.method, str(request.url), request.content))
        if len(seen) == 1:
            raise httpx2.ReadTimeout("lost", request=request)
        if len(seen) == 2:
            return httpx2.Response(503)
        return httpx2.Response(204)

    client = client_for(handler)
    body = {"name": "Acme", "amount": "10.00"}
    response = client.request(
        "PUT", "/customers/eid:ns.acme.42", json=body, safety=WriteSafety.NATURAL_UPSERT
    )
    assert response.status_code == 204
    assert len(seen) == 3
    assert len(set(seen)) == 1
    method, url, content = seen[0]
    assert method == "PUT"
    assert url.endswith("/customers/eid:ns.acme.42")
    assert json.loads(content) == body


def test_server_dedup_sends_the_same_write_key_on_every_attempt() -> None:
    keys: list[str | None] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        keys.append(request.headers.get("Idempotency-Key"))
        if len(keys) < 3:
            raise httpx2.ReadTimeout("lost", request=request)
        return httpx2.Response(201, json={"id": 1})

    client = client_for(handler, write_key_header="Idempotency-Key")
    client.request(
        "POST", "/charges", json={"a": 1}, safety=WriteSafety.SERVER_DEDUP, write_key="wk-abc"
    )
    assert keys == ["wk-abc", "wk-abc", "wk-abc"]


def test_write_key_is_not_sent_unless_server_dedup() -> None:
    headers: list[httpx2.Headers] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        headers.append(request.headers)
        return httpx2.Response(204)

    client = client_for(handler, write_key_header="Idempotency-Key")
    client.request("PUT", "/x/eid:1", json={}, safety=WriteSafety.NATURAL_UPSERT, write_key="k")
    assert "Idempotency-Key" not in headers[0]


def test_server_dedup_and_lookup_need_their_configuration() -> None:
    client = client_for(lambda r: httpx2.Response(200))
    with pytest.raises(ConfigurationError, match="write_key_header"):
        client.request("POST", "/x", json={}, safety=WriteSafety.SERVER_DEDUP, write_key="k")
    with pytest.raises(ConfigurationError, match="lookup"):
        client.request("POST", "/x", json={}, safety=WriteSafety.LOOKUP_THEN_CREATE)
    with pytest.raises(ConfigurationError, match="writes"):
        client.request("GET", "/x", safety=WriteSafety.UNSAFE)


def test_lookup_then_create_returns_the_found_record_instead_of_creating_again() -> None:
    posts = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        if request.method == "POST":
            posts.append(request)
            raise httpx2.ReadTimeout("lost", request=request)
        return httpx2.Response(200, json={"id": 77, "externalId": "k1"})

    client = client_for(handler)
    lookups = []

    def lookup() -> httpx2.Response | None:
        lookups.append(1)
        return client.get("/invoices", params={"externalId": "k1"})

    response = client.request(
        "POST",
        "/invoices",
        json={"externalId": "k1"},
        safety=WriteSafety.LOOKUP_THEN_CREATE,
        lookup=lookup,
    )
    assert response.json()["id"] == 77
    assert len(posts) == 1
    assert len(lookups) == 1


def test_lookup_then_create_creates_again_when_nothing_was_found() -> None:
    posts = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        posts.append(request)
        if len(posts) == 1:
            return httpx2.Response(503)
        return httpx2.Response(201, json={"id": 5})

    client = client_for(handler)
    response = client.request(
        "POST", "/invoices", json={}, safety=WriteSafety.LOOKUP_THEN_CREATE, lookup=lambda: None
    )
    assert response.status_code == 201
    assert len(posts) == 2


def test_middleware_runs_once_per_attempt_and_sees_the_correlation_id() -> None:
    seen: list[str] = []
    statuses = iter([503, 200])

    def middleware(request: httpx2.Request, call_next: Any) -> httpx2.Response:
        seen.append(request.headers["X-Correlation-ID"])
        return call_next(request)  # type: ignore[no-any-return]

    client = client_for(lambda r: httpx2.Response(next(statuses)), middleware=[middleware])
    with correlation_scope("corr-1"):
        client.get("/x")
    assert seen == ["corr-1", "corr-1"]


def test_request_to_another_origin_is_refused_before_sending() -> None:
    hosts = []
    client = client_for(lambda r: hosts.append(r.url.host) or httpx2.Response(200))
    with pytest.raises(SecurityError):
        client.get("https://other.example/v1/items")
    assert hosts == []


def test_defaults_user_agent_and_lifecycle() -> None:
    seen = []
    client = client_for(lambda r: seen.append(r.headers["user-agent"]) or httpx2.Response(204))
    with client as c:
        c.get("/x")
    assert seen[0].startswith("erpsa-sdk/")
    assert repr(client) == f"ApiClient(base_url='{BASE}', tenant='acme')"
    with pytest.raises(RuntimeError):
        client.get("/x")  # closed
    with pytest.raises(ConfigurationError):
        ApiClient(base_url="acme.api.example")


def test_correlation_id_reaches_log_records(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="erpsa_sdk.http")
    statuses = iter([503, 200])
    with correlation_scope("run-7"):
        client_for(lambda r: httpx2.Response(next(statuses))).get("/x")
    records = [r for r in caplog.records if r.name == "erpsa_sdk.http"]
    assert records
    assert all(getattr(r, "correlation_id", None) == "run-7" for r in records)


def test_retry_logs_and_indeterminate_writes_name_the_request_redacted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The request's description is built only when a failure needs it; it is still the
    # method and the redacted URL (a secret query value never shows).
    caplog.set_level(logging.DEBUG, logger="erpsa_sdk.http")
    statuses = iter([503, 200])
    client_for(lambda r: httpx2.Response(next(statuses))).get("/x", params={"token": "s3cr3t"})
    lines = [r.getMessage() for r in caplog.records if r.name == "erpsa_sdk.http"]
    assert any(line.startswith(f"GET {BASE}/x?token=***") for line in lines), lines
    assert not any("s3cr3t" in line for line in lines)

    def lost(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ReadTimeout("timed out", request=request)

    with pytest.raises(IndeterminateWrite) as info:
        client_for(lost).request("POST", "/invoices", params={"token": "s3cr3t"}, json={})
    assert str(info.value).startswith(f"POST {BASE}/invoices?token=***:")
    assert "s3cr3t" not in str(info.value)


# --- async -------------------------------------------------------------------------------------


def test_async_client_retries_and_writes_like_the_sync_one() -> None:
    keys: list[str | None] = []

    async def handler(request: httpx2.Request) -> httpx2.Response:
        keys.append(request.headers.get("Idempotency-Key"))
        if len(keys) == 1:
            raise httpx2.ReadTimeout("lost", request=request)
        return httpx2.Response(201)

    async def main() -> None:
        clock = StepClock()
        async with AsyncApiClient(
            base_url=BASE,
            clock=clock,
            write_key_header="Idempotency-Key",
            transport=httpx2.MockTransport(handler),
            retry=RetryPolicy(jitter=0.0),
        ) as client:
            await client.request(
                "POST", "/x", json={}, safety=WriteSafety.SERVER_DEDUP, write_key="wk"
            )
            assert clock.sleeps == [0.5]
            keys.clear()
            with pytest.raises(IndeterminateWrite):
                await client.request("POST", "/x", json={})
            assert len(keys) == 1

    asyncio.run(main())


def test_async_lookup_then_create() -> None:
    async def handler(request: httpx2.Request) -> httpx2.Response:
        if request.method == "POST":
            raise httpx2.WriteTimeout("lost", request=request)
        return httpx2.Response(200, json={"id": 3})

    async def main() -> int:
        async with AsyncApiClient(
            base_url=BASE, clock=StepClock(), transport=httpx2.MockTransport(handler)
        ) as client:

            async def lookup() -> httpx2.Response | None:
                return await client.get("/x/by-key/k")

            r = await client.request(
                "POST", "/x", json={}, safety=WriteSafety.LOOKUP_THEN_CREATE, lookup=lookup
            )
            return int(r.json()["id"])

    assert asyncio.run(main()) == 3


def test_async_100_concurrent_requests_in_flight_without_threads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    threads_before = threading.active_count()
    in_flight = 0
    peak = 0
    # A blocking sleep on the async path would stall the loop (SystemClock.sleep is time.sleep).
    # Checked structurally, not with a slow-callback time limit: these machines are noisy.
    blocking: list[float] = []
    monkeypatch.setattr(time, "sleep", blocking.append)

    async def main() -> list[int]:
        all_in = asyncio.Event()

        async def handler(request: httpx2.Request) -> httpx2.Response:
            nonlocal in_flight, peak
            in_flight += 1
            peak = max(peak, in_flight)
            if in_flight == 100:
                all_in.set()
            await all_in.wait()  # nobody answers until all 100 are in flight
            in_flight -= 1
            return httpx2.Response(200, json={"n": int(request.url.params["n"])})

        async with AsyncApiClient(base_url=BASE, transport=httpx2.MockTransport(handler)) as c:
            results = await asyncio.gather(
                *(c.request_json("GET", "/items", params={"n": n}) for n in range(100))
            )
        return [r["n"] for r in results]

    assert asyncio.run(main()) == list(range(100))
    assert peak == 100
    assert threading.active_count() == threads_before
    assert blocking == []


def test_interactive_caller_gets_rate_limited_at_once_from_the_governor() -> None:
    gov = CountingGovernor(refuse=True)
    clock = StepClock()
    sent = []
    client = client_for(
        lambda r: sent.append(r) or httpx2.Response(200), governor=gov, clock=clock, wait=False
    )
    with pytest.raises(RateLimited) as info:
        client.get("/x")
    assert info.value.retry_after == 1.0
    assert sent == []
    assert clock.sleeps == []


def test_a_parser_that_trips_over_a_body_is_a_response_format_error() -> None:
    def parser(response: httpx2.Response) -> Any:
        body = response.json()
        return ServerError("vendor fault") if body["ok"] is False else None  # KeyError here

    client = client_for(lambda r: httpx2.Response(200, json={"other": 1}), error_parser=parser)
    with pytest.raises(ResponseFormatError, match="KeyError"):
        client.get("/x")


def test_sim_clock_runs_long_backoffs_instantly() -> None:
    from erpsa_sdk.clock import SimClock

    clock = SimClock(autojump=True)
    answers = iter([httpx2.Response(429, headers={"Retry-After": "90"}), httpx2.Response(200)])
    client = client_for(lambda r: next(answers), clock=clock)
    start = clock.monotonic()
    assert client.get("/x").status_code == 200
    assert clock.monotonic() - start == 90.0


def test_shells_hold_no_decisions() -> None:
    """Each decision lives in a module both shells import; the shells only send, sleep, lock."""
    import ast
    import inspect

    from erpsa_sdk.http import _client

    tree = ast.parse(inspect.getsource(_client))
    numbers = {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, int) and node.value >= 100
    }
    assert not any(100 <= n < 600 for n in numbers), "no status code is decided in the shells"
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    for decision in ("classify_response", "needs_lookup", "check_origin", "RetryController"):
        assert decision in names
    assert "asyncio" not in names
    assert "threading" not in names


class _AsyncOnlyGovernor(CountingGovernor):
    """Fails if the async client used the blocking ``release``."""

    def release(self, permit: Any, *, throttled: bool, retry_after: float | None) -> None:
        raise AssertionError("the async client must call arelease, not release")

    async def arelease(self, permit: Any, *, throttled: bool, retry_after: float | None) -> None:
        self.released.append((throttled, retry_after))


def test_async_client_returns_permits_with_arelease() -> None:
    governor = _AsyncOnlyGovernor()

    async def run() -> int:
        transport = httpx2.MockTransport(lambda request: httpx2.Response(200, json={"ok": True}))
        async with AsyncApiClient(
            base_url="https://api.example.test", transport=transport, governor=governor
        ) as client:
            response = await client.request("GET", "/things")
            return response.status_code

    assert asyncio.run(run()) == 200
    assert governor.acquired == 1
    assert governor.released == [(False, None)]
