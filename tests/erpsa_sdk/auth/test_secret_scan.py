"""Secret scan: every flow, run at DEBUG through success and failure paths, leaks nothing.

Secrets are every credential given, every token the fake server issued, every assertion,
PKCE verifier, authorization code and TBA signature that went over the wire. They must not
appear in any log record, in any repr, or in any raised exception's text.
"""

from __future__ import annotations

import asyncio
import logging
import urllib.parse
from typing import Any

import httpx2
import pytest

from erpsa_sdk.auth import (
    AuthorizationCodeAuth,
    BasicAuth,
    ClientCredentialsAuth,
    OAuth1Auth,
    SqliteTokenStore,
    StaticBearerAuth,
)
from erpsa_sdk.auth.presets import entra_client_credentials, netsuite_m2m, salesforce_jwt_bearer
from erpsa_sdk.clock import SimClock
from erpsa_sdk.http import ApiClient
from erpsa_sdk.http.redaction import assert_no_secrets

from .conftest import API_URL, TOKEN_URL, KeyPair, OAuthServer

CLIENT_SECRET = "cs-Zq81-very-secret"
PASSWORD = "pw-Hk22-very-secret"
STATIC = "st-Lp09-very-secret"
CONSUMER_SECRET = "tba-cs-Qx55-secret"
TOKEN_SECRET = "tba-ts-Wv66-secret"
TOKEN_ID = "tba-tid-Rr77-secret"


class Scan:
    """Collects texts that must be clean and secrets that must not appear in them."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.secrets: set[str] = {
            CLIENT_SECRET,
            PASSWORD,
            STATIC,
            CONSUMER_SECRET,
            TOKEN_SECRET,
            TOKEN_ID,
        }

    def expect_error(self, call: Any) -> BaseException:
        try:
            call()
        except Exception as exc:
            self.texts += [str(exc), repr(exc), repr(getattr(exc, "__cause__", None))]
            return exc
        raise AssertionError("expected an error")

    def harvest(self, server: OAuthServer) -> None:
        self.secrets.update(server.issued)
        for form in server.forms:
            for name in ("client_assertion", "assertion", "code", "code_verifier", "refresh_token"):
                if form.get(name):
                    self.secrets.add(form[name])


def _tba_signatures(requests: list[httpx2.Request]) -> set[str]:
    found = set()
    for request in requests:
        header = request.headers.get("Authorization", "")
        for part in header.split(","):
            if "oauth_signature=" in part:
                value = part.split("=", 1)[1].strip('"')
                found |= {value, urllib.parse.unquote(value)}
    return found


def test_no_secret_in_logs_reprs_or_errors(
    caplog: pytest.LogCaptureFixture,
    clock: SimClock,
    rsa_keys: KeyPair,
    ec_keys: KeyPair,
    self_signed_cert: str,
    tmp_path: Any,
) -> None:
    caplog.set_level(logging.DEBUG)
    scan = Scan()
    server = OAuthServer(clock=clock)
    flows: list[Any] = []

    # Basic and static bearer: success, then 401.
    simple: list[httpx2.Auth] = [BasicAuth("user", PASSWORD), StaticBearerAuth(STATIC)]
    for plain in simple:
        flows.append(plain)
        ok = httpx2.MockTransport(lambda r: httpx2.Response(200))
        httpx2.Client(transport=ok, auth=plain).get(API_URL)
        no = httpx2.MockTransport(lambda r: httpx2.Response(401, text="denied"))
        scan.expect_error(lambda a=plain, t=no: httpx2.Client(transport=t, auth=a).get(API_URL))

    # TBA: success, 401, SOAP passport.
    tba = OAuth1Auth(
        consumer_key="ck",
        consumer_secret=CONSUMER_SECRET,
        token=TOKEN_ID,
        token_secret=TOKEN_SECRET,
        realm="123456",
    )
    flows.append(tba)
    sent: list[httpx2.Request] = []

    def tba_handler(request: httpx2.Request) -> httpx2.Response:
        sent.append(request)
        return httpx2.Response(401 if "fail" in request.url.path else 200)

    tba_client = httpx2.Client(transport=httpx2.MockTransport(tba_handler), auth=tba)
    tba_client.post(API_URL, data={"a": "1"})
    scan.expect_error(lambda: tba_client.get(API_URL + "/fail"))
    passport = tba.token_passport()
    scan.secrets.add(passport.signature.get_secret_value())
    scan.texts.append(repr(passport))
    scan.secrets |= _tba_signatures(sent)

    # Client credentials with a secret: success, 401 + refresh, token endpoint error echoing it.
    cc = ClientCredentialsAuth(
        token_url=TOKEN_URL,
        client_id="app",
        client_secret=CLIENT_SECRET,
        clock=clock,
        store=SqliteTokenStore(tmp_path / "t.db"),
    )
    flows.append(cc)
    client = server.client(cc)
    client.get(API_URL)
    server.revoked.add("at-1")
    client.get(API_URL)
    server.revoked.update({"at-2", "at-3"})
    scan.expect_error(lambda: client.get(API_URL))
    server.fail_token = httpx2.Response(
        401, json={"error": "invalid_client", "error_description": f"secret {CLIENT_SECRET} bad"}
    )
    cc.invalidate()
    clock.advance(7200)
    scan.expect_error(lambda: client.get(API_URL))
    server.fail_token = None

    # Presets: NetSuite M2M, Entra certificate, Salesforce JWT bearer (sync and async).
    presets = [
        netsuite_m2m(
            account_id="1",
            client_id="c",
            certificate_id="k",
            private_key=ec_keys.private_pem,
            algorithm="ES256",
            token_url=TOKEN_URL,
            clock=clock,
        ),
        entra_client_credentials(
            tenant="t",
            client_id="c",
            scope="https://org.crm.dynamics.com/.default",
            private_key=rsa_keys.private_pem,
            certificate=self_signed_cert,
            clock=clock,
        ),
        salesforce_jwt_bearer(
            consumer_key="ck",
            username="u@x.test",
            private_key=rsa_keys.private_pem,
            token_url=TOKEN_URL,
            clock=clock,
        ),
    ]
    presets[1].token_url = TOKEN_URL
    for auth in presets:
        flows.append(auth)

        async def run(a: Any = auth) -> None:
            async with server.async_client(a) as aclient:
                await aclient.get(API_URL)

        asyncio.run(run())
        assertion_error = httpx2.Response(
            400, json={"error": "invalid_grant", "error_description": "bad assertion"}
        )
        server.fail_token = assertion_error
        auth.invalidate()
        clock.advance(7200)
        scan.expect_error(lambda a=auth: server.client(a).get(API_URL))
        server.fail_token = None

    # Authorization code + PKCE: start, complete, refresh with rotation, invalid_grant.
    code = AuthorizationCodeAuth(
        token_url=TOKEN_URL,
        authorize_url="https://idp.test/authorize",
        client_id="app",
        client_secret=CLIENT_SECRET,
        redirect_uri="https://app.test/cb",
        clock=clock,
    )
    flows.append(code)
    start = code.start()
    scan.texts.append(repr(start))
    scan.secrets.add(start.code_verifier.get_secret_value())
    with server.client(code) as c:
        token = code.complete(c, "auth-code-Xy12-secret", start.code_verifier)
    scan.texts.append(repr(token))
    clock.advance(7200)
    server.client(code).get(API_URL)  # refresh + rotation
    scan.texts.append(repr(code.store.get(code.key)))
    server.reuse_refresh = False
    clock.advance(7200)
    server._refresh.clear()  # every refresh token dies: invalid_grant, store re-read, fail
    scan.expect_error(lambda: server.client(code).get(API_URL))

    # Through the SDK's ApiClient as well: a 401 that a refresh cannot cure.
    server.revoked.update(f"at-{n}" for n in range(200))
    api = ApiClient(
        base_url="https://api.test",
        auth=cc,
        transport=httpx2.MockTransport(server.handler),
        clock=clock,
    )
    scan.expect_error(lambda: api.request_json("GET", "/v1/things"))

    scan.harvest(server)
    scan.texts += [repr(f) for f in flows] + [repr(f.__dict__) for f in flows]
    scan.texts += [caplog.text] + [record.getMessage() for record in caplog.records]
    assert caplog.records, "flows log at DEBUG"
    assert len(scan.secrets) > 25
    assert_no_secrets("\n".join(scan.texts), sorted(scan.secrets))
