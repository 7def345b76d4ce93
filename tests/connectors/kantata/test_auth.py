"""Kantata OAuth 2.0: authorization code -> a token that never expires and cannot refresh."""

from __future__ import annotations

import asyncio
from urllib.parse import parse_qs, urlsplit

import httpx2
import pytest

from erpsa_kantata import Kantata, KantataSimulator
from erpsa_kantata.auth import (
    aexchange_code,
    authorization_url,
    code_from_callback,
    exchange_code,
)
from erpsa_sdk.errors import AuthError
from erpsa_sdk.models import Customer
from tests.connectors.kantata._helpers import make_sim


def authorize(sim: KantataSimulator, state: str = "st-1", **overrides: str) -> httpx2.Response:
    creds = sim.credentials()
    url = authorization_url(
        client_id=overrides.get("client_id", creds["client_id"]),
        redirect_uri=overrides.get("redirect_uri", creds["redirect_uri"]),
        state=state,
    )
    return httpx2.Client(transport=httpx2.MockTransport(sim)).get(url)


def exchange(sim: KantataSimulator, code: str, **overrides: str) -> str:
    creds = sim.credentials()
    token = exchange_code(
        code=code,
        client_id=creds["client_id"],
        client_secret=overrides.get("client_secret", creds["client_secret"]),
        redirect_uri=overrides.get("redirect_uri", creds["redirect_uri"]),
        transport=httpx2.MockTransport(sim),
    )
    return token.get_secret_value()


def test_the_authorization_code_flow_yields_a_working_token() -> None:
    sim = make_sim()
    redirect = authorize(sim)
    assert redirect.status_code == 302
    code = code_from_callback(redirect.headers["location"], state="st-1")
    token = exchange(sim, code)
    kantata = Kantata(token=token, transport=httpx2.MockTransport(sim), clock=sim.clock)
    assert len(list(kantata.read(Customer))) == 2
    # Years later the token still works: it never expires.
    sim.clock.advance(5 * 365 * 24 * 3600)  # type: ignore[attr-defined]
    assert len(list(kantata.read(Customer))) == 2


def test_the_token_answer_has_no_expiry_and_no_refresh_token() -> None:
    sim = make_sim()
    code = code_from_callback(authorize(sim).headers["location"], state="st-1")
    creds = sim.credentials()
    answer = (
        httpx2.Client(transport=httpx2.MockTransport(sim))
        .post(
            creds["token_url"],
            data={
                "grant_type": "authorization_code",
                "client_id": creds["client_id"],
                "client_secret": creds["client_secret"],
                "code": code,
                "redirect_uri": creds["redirect_uri"],
            },
        )
        .json()
    )
    assert set(answer) == {"access_token", "token_type"}
    refresh = httpx2.Client(transport=httpx2.MockTransport(sim)).post(
        creds["token_url"], data={"grant_type": "refresh_token", "refresh_token": "x"}
    )
    assert refresh.status_code == 400
    assert refresh.json() == {"error": "unsupported_grant_type"}


@pytest.mark.parametrize(
    ("case", "error"),
    [
        ("reused", "invalid_grant"),
        ("expired", "invalid_grant"),
        ("other_redirect", "invalid_grant"),
        ("bad_secret", "invalid_client"),
    ],
)
def test_refused_exchanges_raise_auth_error_without_secrets(case: str, error: str) -> None:
    sim = make_sim(
        redirect_uris=frozenset({"http://127.0.0.1/oauth/callback", "http://127.0.0.1/other"})
    )
    code = code_from_callback(authorize(sim).headers["location"], state="st-1")
    overrides: dict[str, str] = {}
    if case == "reused":
        exchange(sim, code)
    elif case == "expired":
        sim.clock.advance(601)  # type: ignore[attr-defined]
    elif case == "other_redirect":
        overrides["redirect_uri"] = "http://127.0.0.1/other"
    else:
        overrides["client_secret"] = "wrong-secret"
    with pytest.raises(AuthError) as info:
        exchange(sim, code, **overrides)
    assert info.value.vendor_code == error
    assert info.value.retryable is False
    text = str(info.value) + repr(info.value)
    assert sim.client_secret not in text
    assert code not in text


def test_authorize_refuses_an_unregistered_redirect_and_reports_denial() -> None:
    sim = make_sim()
    refused = authorize(sim, redirect_uri="https://evil.example/cb")
    assert refused.status_code == 400
    assert "location" not in refused.headers
    with pytest.raises(AuthError, match="state"):
        code_from_callback("http://127.0.0.1/oauth/callback?code=x&state=forged", state="st-1")
    with pytest.raises(AuthError) as info:
        code_from_callback("http://127.0.0.1/oauth/callback?error=access_denied&state=s", state="s")
    assert info.value.vendor_code == "access_denied"


def test_authorization_url_carries_the_required_parameters() -> None:
    url = authorization_url(
        client_id="abc123", redirect_uri="http://myapp.com/oauth/callback", state="s"
    )
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == (
        "https",
        "app.mavenlink.com",
        "/oauth/authorize",
    )
    assert parse_qs(parts.query) == {
        "response_type": ["code"],
        "client_id": ["abc123"],
        "redirect_uri": ["http://myapp.com/oauth/callback"],
        "state": ["s"],
    }


def test_async_exchange() -> None:
    sim = make_sim()
    code = code_from_callback(authorize(sim).headers["location"], state="st-1")
    creds = sim.credentials()
    token = asyncio.run(
        aexchange_code(
            code=code,
            client_id=creds["client_id"],
            client_secret=creds["client_secret"],
            redirect_uri=creds["redirect_uri"],
            transport=httpx2.MockTransport(sim),
        )
    )
    assert repr(token) == "SecretStr('**********')"
