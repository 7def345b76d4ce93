"""The simulator checks credentials as NetSuite documents: M2M assertions and TBA signatures."""

from __future__ import annotations

import base64
import json
import time
from typing import Any
from urllib.parse import parse_qsl

import httpx2
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey

from erpsa_netsuite.simulator import NetSuiteSimulator
from erpsa_sdk.auth.presets import netsuite_m2m, netsuite_tba
from erpsa_sdk.clock import SimClock
from erpsa_sdk.errors import AuthError

CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def _b64json(part: str) -> dict[str, Any]:
    padded = part + "=" * (-len(part) % 4)
    return dict(json.loads(base64.urlsafe_b64decode(padded)))


class Recorder:
    def __init__(self, sim: NetSuiteSimulator) -> None:
        self.sim = sim
        self.token_requests: list[httpx2.Request] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        if request.url.path.endswith("/auth/oauth2/v1/token"):
            request.read()
            self.token_requests.append(request)
        return self.sim(request)


@pytest.fixture
def sim() -> NetSuiteSimulator:
    return NetSuiteSimulator(seed=2, clock=SimClock(start=None, autojump=True))


def _m2m(sim: NetSuiteSimulator, **over: Any) -> httpx2.Auth:
    m2m = sim.credentials(sim.base_url)["m2m"]
    return netsuite_m2m(
        account_id=sim.tenant,
        client_id=m2m["client_id"],
        certificate_id=m2m["certificate_id"],
        private_key=m2m["private_key_pem"],
        algorithm="ES256",
        clock=sim.clock,
        **over,
    )


def test_m2m_token_request_carries_exactly_the_documented_header_and_claims(
    sim: NetSuiteSimulator,
) -> None:
    recorder = Recorder(sim)
    client = httpx2.Client(transport=httpx2.MockTransport(recorder), auth=_m2m(sim))
    r = client.get(f"{sim.base_url}/services/rest/record/v1/customer/1")
    assert r.status_code == 200
    (token_request,) = recorder.token_requests
    assert token_request.url == sim.token_url
    assert token_request.headers["content-type"] == "application/x-www-form-urlencoded"
    form = dict(parse_qsl(token_request.content.decode()))
    assert set(form) == {"grant_type", "client_assertion_type", "client_assertion"}
    assert form["grant_type"] == "client_credentials"
    assert form["client_assertion_type"] == CLIENT_ASSERTION_TYPE
    head, payload, _ = form["client_assertion"].split(".")
    header = _b64json(head)
    assert header == {
        "typ": "JWT",
        "alg": "ES256",
        "kid": sim.credentials()["m2m"]["certificate_id"],
    }
    claims = _b64json(payload)
    assert set(claims) <= {"iss", "scope", "aud", "iat", "exp", "jti"}
    assert {"iss", "scope", "aud", "iat", "exp"} <= set(claims)
    assert claims["iss"] == sim.credentials()["m2m"]["client_id"]
    assert claims["aud"] == sim.token_url
    assert "rest_webservices" in claims["scope"]
    assert 0 < claims["exp"] - claims["iat"] < 3600


def _assertion(sim: NetSuiteSimulator, key: Any, alg: str, **claims: Any) -> str:
    m2m = sim.credentials()["m2m"]
    now = int(sim.clock.time())
    body = {
        "iss": m2m["client_id"],
        "scope": "restlets,rest_webservices",
        "aud": sim.token_url,
        "iat": now,
        "exp": now + 300,
        **claims,
    }
    header = {"typ": "JWT", "alg": alg, "kid": m2m["certificate_id"]}
    return jwt.encode(header, body, key, algorithms=[alg])


def _token(sim: NetSuiteSimulator, assertion: str) -> httpx2.Response:
    client = httpx2.Client(transport=httpx2.MockTransport(sim))
    return client.post(
        sim.token_url,
        data={
            "grant_type": "client_credentials",
            "client_assertion_type": CLIENT_ASSERTION_TYPE,
            "client_assertion": assertion,
        },
    )


def test_a_valid_assertion_gets_a_bearer_token_for_an_hour(sim: NetSuiteSimulator) -> None:
    key = ECKey.import_key(sim.credentials()["m2m"]["private_key_pem"])
    r = _token(sim, _assertion(sim, key, "ES256"))
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"access_token", "expires_in", "token_type"}
    assert body["expires_in"] == 3600
    assert body["token_type"] == "Bearer"


def test_scope_as_a_json_array_is_accepted(sim: NetSuiteSimulator) -> None:
    key = ECKey.import_key(sim.credentials()["m2m"]["private_key_pem"])
    r = _token(sim, _assertion(sim, key, "ES256", scope=["restlets", "rest_webservices"]))
    assert r.status_code == 200


def test_rs256_is_refused_even_when_correctly_signed(sim: NetSuiteSimulator) -> None:
    rsa = RSAKey.generate_key(2048)
    r = _token(sim, _assertion(sim, rsa, "RS256"))
    assert r.status_code == 400
    assert r.json() == {"error": "invalid_grant"}
    assert sim.stats.by_route["token refused: alg 'RS256' is not accepted"] == 1


@pytest.mark.parametrize(
    "tamper",
    ["payload", "signature", "aud", "expired", "too_long", "other_key", "iss", "no_scope"],
)
def test_tampered_or_wrong_assertions_are_refused(sim: NetSuiteSimulator, tamper: str) -> None:
    key = ECKey.import_key(sim.credentials()["m2m"]["private_key_pem"])
    now = int(sim.clock.time())
    claims: dict[str, Any] = {
        "aud": {"aud": "https://other.suitetalk.api.netsuite.com/token"},
        "expired": {"iat": now - 4000, "exp": now - 700},
        "too_long": {"exp": now + 3700},
        "iss": {"iss": "someone-else"},
        "no_scope": {"scope": ""},
    }.get(tamper, {})
    signer = ECKey.generate_key("P-256") if tamper == "other_key" else key
    token = _assertion(sim, signer, "ES256", **claims)
    head, payload, sig = token.split(".")
    if tamper == "payload":
        forged = _b64json(payload) | {"iss": "attacker"}
        payload = base64.urlsafe_b64encode(json.dumps(forged).encode()).decode().rstrip("=")
    if tamper == "signature":
        sig = sig[:-4] + ("AAAA" if not sig.endswith("AAAA") else "BBBB")
    r = _token(sim, f"{head}.{payload}.{sig}")
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_grant"


def test_an_expired_access_token_is_invalid_login(sim: NetSuiteSimulator) -> None:
    key = ECKey.import_key(sim.credentials()["m2m"]["private_key_pem"])
    token = _token(sim, _assertion(sim, key, "ES256")).json()["access_token"]
    client = httpx2.Client(
        transport=httpx2.MockTransport(sim), headers={"Authorization": f"Bearer {token}"}
    )
    url = f"{sim.base_url}/services/rest/record/v1/customer/1"
    assert client.get(url).status_code == 200
    assert isinstance(sim.clock, SimClock)
    sim.clock.advance(3601)
    r = client.get(url)
    assert r.status_code == 401
    assert r.json()["o:errorDetails"][0]["o:errorCode"] == "INVALID_LOGIN"


def _tba(sim: NetSuiteSimulator, **over: Any) -> Any:
    tba = sim.credentials()["tba"]
    values = {
        "account_id": sim.tenant,
        "consumer_key": tba["consumer_key"],
        "consumer_secret": tba["consumer_secret"],
        "token_id": tba["token_id"],
        "token_secret": tba["token_secret"],
        **over,
    }
    return netsuite_tba(**values)


def test_tba_hmac_sha256_signatures_are_verified(sim: NetSuiteSimulator) -> None:
    client = httpx2.Client(transport=httpx2.MockTransport(sim), auth=_tba(sim))
    url = f"{sim.base_url}/services/rest/record/v1/customer/1"
    assert client.get(url, params={"fields": "companyName"}).status_code == 200
    r = client.post(
        f"{sim.base_url}/services/rest/query/v1/suiteql",
        params={"limit": 5},
        json={"q": "SELECT id FROM subsidiary"},
        headers={"Prefer": "transient"},
    )
    assert r.status_code == 200


@pytest.mark.parametrize("wrong", ["consumer_secret", "token_secret", "account_id"])
def test_tba_with_a_wrong_secret_or_realm_is_invalid_login(
    sim: NetSuiteSimulator, wrong: str
) -> None:
    value = "TSTDRV9" if wrong == "account_id" else "0" * 64
    client = httpx2.Client(transport=httpx2.MockTransport(sim), auth=_tba(sim, **{wrong: value}))
    with pytest.raises(AuthError):
        client.get(f"{sim.base_url}/services/rest/record/v1/customer/1")


def test_a_replayed_tba_nonce_is_refused(sim: NetSuiteSimulator) -> None:
    auth = _tba(sim)
    url = f"{sim.base_url}/services/rest/record/v1/customer/1"
    header = auth.authorization_header(
        "GET", url, nonce="fixednonce123", timestamp=str(int(time.time()))
    )
    client = httpx2.Client(transport=httpx2.MockTransport(sim))
    assert client.get(url, headers={"Authorization": header}).status_code == 200
    assert client.get(url, headers={"Authorization": header}).status_code == 401
