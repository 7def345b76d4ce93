"""Redaction rules and the secret scan: nothing secret in logs, reprs or exception text at DEBUG."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Generator
from typing import Any

import httpx2
import pytest
from hypothesis import given
from hypothesis import strategies as st

from erpsa_sdk.http import ApiClient, NextLink, Pager, RetryPolicy, WriteSafety
from erpsa_sdk.http.redaction import (
    RedactingFilter,
    assert_no_secrets,
    body_excerpt,
    redact_headers,
    redact_text,
    redact_url,
    register_secret,
)
from tests.erpsa_sdk.http._fakes import StepClock

TOKEN = "tok_live_4f9a8b7c6d5e4f3a"
REFRESH = "rt_9z8y7x6w5v4u3t2s"
SECRET = "cs_Qw3rTy-uiop-Asdf"
PASSWORD = "P@ssw0rd-very-s3cret"
SIGNATURE = "sigAbCdEf0123456789xyz"
COOKIE = "sessionid=abcdef123456789"
ASSERTION = "eyJhbGciOiJQUzI1NiJ9.eyJpc3MiOiJjbGllbnQifQ.c2lnbmF0dXJlLWJ5dGVz"
ALL = [TOKEN, REFRESH, SECRET, PASSWORD, SIGNATURE, COOKIE, ASSERTION]


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        (f'{{"access_token": "{TOKEN}", "x": 1}}', TOKEN),
        (f"refresh_token={REFRESH}&grant_type=refresh_token", REFRESH),
        (f"client_secret={SECRET}", SECRET),
        (f'{{"password":"{PASSWORD}"}}', PASSWORD),
        (f"oauth_signature={SIGNATURE}", SIGNATURE),
        (f'OAuth realm="1", oauth_signature="{SIGNATURE}"', SIGNATURE),
        (f"Authorization: Bearer {TOKEN}", TOKEN),
        (f"sent Bearer {TOKEN} to host", TOKEN),
        (f"client_assertion={ASSERTION}", ASSERTION),
        (f"a jwt {ASSERTION} in text", ASSERTION),
        (f"Cookie: {COOKIE}", COOKIE),
    ],
)
def test_redact_text_masks_secrets(text: str, secret: str) -> None:
    assert_no_secrets(redact_text(text), [secret])


def test_headers_urls_and_excerpts() -> None:
    headers = redact_headers(
        {"Authorization": f"Bearer {TOKEN}", "Cookie": COOKIE, "X-Api-Key": SECRET, "Accept": "*/*"}
    )
    assert headers == {"Authorization": "***", "Cookie": "***", "X-Api-Key": "***", "Accept": "*/*"}
    url = redact_url(f"https://u:{PASSWORD}@h.example/p?access_token={TOKEN}&sig={SIGNATURE}&q=1")
    assert_no_secrets(url, ALL)
    assert url.endswith("&q=1")
    assert_no_secrets(body_excerpt((f'{{"refresh_token": "{REFRESH}"}}').encode()), ALL)


@given(st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=200))
def test_redact_text_never_fails_and_is_idempotent(text: str) -> None:
    once = redact_text(text)
    assert redact_text(once) == once


def test_filter_masks_registered_literals_and_exception_text() -> None:
    f = RedactingFilter([TOKEN])
    try:
        raise ValueError(f"bad token {TOKEN}")
    except ValueError:
        import sys

        record = logging.LogRecord("x", logging.ERROR, "f.py", 1, "%s", (TOKEN,), sys.exc_info())
    f.filter(record)
    assert_no_secrets(record.getMessage() + (record.exc_text or ""), [TOKEN])


class BearerAuth(httpx2.Auth):
    def __init__(self, token: str) -> None:
        register_secret(token)  # what the auth flows do with every token they obtain
        self._token = token

    def auth_flow(
        self, request: httpx2.Request
    ) -> Generator[httpx2.Request, httpx2.Response, None]:
        request.headers["Authorization"] = f"Bearer {self._token}"
        yield request

    def __repr__(self) -> str:
        return "BearerAuth(token=***)"


def test_secret_scan_at_debug(caplog: pytest.LogCaptureFixture) -> None:
    """Drive every path that logs or raises, with secrets in headers, bodies, URLs, errors."""
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        path = request.url.path
        if path.endswith("/flaky"):
            return httpx2.Response(503, json={"error": "busy", "access_token": TOKEN})
        if path.endswith("/denied"):
            return httpx2.Response(
                401,
                json={"error": "invalid_token", "error_description": f"token {TOKEN} expired"},
                headers={"Set-Cookie": COOKIE, "x-request-id": f"Bearer {TOKEN}"},
            )
        if path.endswith("/html"):
            return httpx2.Response(
                200,
                text=f"<html>password={PASSWORD}</html>",
                headers={"content-type": "text/html"},
            )
        if path.endswith("/lost"):
            raise httpx2.ReadTimeout(f"read timed out with client_secret={SECRET}", request=request)
        if path.endswith("/things"):
            return httpx2.Response(
                200,
                json={
                    "value": [{"id": 1}],
                    "@odata.nextLink": f"https://evil.example/x?access_token={TOKEN}&sig={SIGNATURE}",
                },
            )
        return httpx2.Response(200, json={})

    client = ApiClient(
        base_url="https://acme.api.example",
        auth=BearerAuth(TOKEN),
        clock=StepClock(),
        retry=RetryPolicy(max_attempts=2),
        headers={"X-Api-Key": SECRET},
        transport=httpx2.MockTransport(handler),
    )
    texts.append(repr(client))
    calls: list[Any] = [
        lambda: client.get("/flaky", params={"refresh_token": REFRESH}),
        lambda: client.get("/denied"),
        lambda: client.request_json("GET", "/html"),
        lambda: client.request(
            "POST", "/lost", json={"password": PASSWORD}, safety=WriteSafety.UNSAFE
        ),
        lambda: client.request(
            "PUT", f"/x?signature={SIGNATURE}", json={}, safety=WriteSafety.NATURAL_UPSERT
        ),
        lambda: list(Pager(client, NextLink("/things"))),
    ]
    for call in calls:
        try:
            call()
        except Exception as exc:
            texts.append(str(exc))
            texts.append(repr(exc))
            texts.append("".join(traceback.format_exception(exc)))
            texts.append(repr(getattr(exc, "__dict__", {})))
    pager = Pager(
        client,
        NextLink("/things"),
        cursor={"url": f"https://acme.api.example/t?access_token={TOKEN}"},
    )
    texts.append(repr(pager))
    texts.extend(r.getMessage() for r in caplog.records)
    texts.append(caplog.text)
    assert len(caplog.records) > 5  # the scan saw real debug output
    blob = "\n".join(texts)
    for secret in ALL:
        at = blob.find(secret)
        if at >= 0:
            print("LEAK", repr(blob[max(0, at - 300) : at + 40]))
    assert_no_secrets(blob, ALL)
