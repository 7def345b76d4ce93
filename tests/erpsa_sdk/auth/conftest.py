"""Test helpers for the auth flows: generated keys, a fake OAuth server, an event log."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx2
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from erpsa_sdk.clock import SimClock

TOKEN_URL = "https://idp.test/oauth2/token"
API_URL = "https://api.test/v1/things"


@dataclass(frozen=True)
class KeyPair:
    private_pem: str
    public_pem: str


@pytest.fixture(scope="session")
def rsa_keys() -> KeyPair:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return KeyPair(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode(),
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode(),
    )


@pytest.fixture(scope="session")
def ec_keys() -> KeyPair:
    key = ec.generate_private_key(ec.SECP256R1())
    return KeyPair(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode(),
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode(),
    )


@pytest.fixture(scope="session")
def self_signed_cert(rsa_keys: KeyPair) -> str:
    """A self-signed certificate for the RSA test key (PEM)."""
    key = serialization.load_pem_private_key(rsa_keys.private_pem.encode(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "erpsa-test")])
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


@pytest.fixture
def clock() -> SimClock:
    return SimClock()


@dataclass
class OAuthServer:
    """A small OAuth 2.0 token endpoint + API in one MockTransport handler.

    Access tokens are ``at-N``; refresh tokens ``rt-N`` and single-use unless
    ``reuse_refresh`` is set. The API answers 200 to a live access token, else 401.
    ``events`` records what happened, in order, across threads.
    """

    clock: SimClock
    expires_in: int = 3600
    rotate: bool = True
    reuse_refresh: bool = False
    token_delay: float = 0.0  # real seconds: widens the race window; asserts never depend on it
    fail_token: httpx2.Response | None = None
    revoked: set[str] = field(default_factory=set)
    events: list[tuple[str, str]] = field(default_factory=list)
    forms: list[dict[str, str]] = field(default_factory=list)
    token_headers: list[dict[str, str]] = field(default_factory=list)
    issued: list[str] = field(default_factory=list)
    _n: int = 0
    _live: dict[str, float] = field(default_factory=dict)
    _refresh: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def issue_refresh(self) -> str:
        with self._lock:
            self._n += 1
            token = f"rt-{self._n}"
            self._refresh.add(token)
            self.issued.append(token)
            return token

    @property
    def token_requests(self) -> int:
        return len(self.forms)

    def _token(self, request: httpx2.Request) -> httpx2.Response:
        form = dict(httpx2.QueryParams(request.content.decode()))
        with self._lock:
            self.forms.append(form)
            self.token_headers.append(dict(request.headers))
            self.events.append(("token", form["grant_type"]))
        if self.fail_token is not None:
            return self.fail_token
        grant = form["grant_type"]
        with self._lock:
            if grant == "refresh_token":
                presented = form.get("refresh_token", "")
                if presented not in self._refresh:
                    return httpx2.Response(
                        400, json={"error": "invalid_grant", "error_description": "expired"}
                    )
                if not self.reuse_refresh:
                    self._refresh.discard(presented)
            self._n += 1
            access = f"at-{self._n}"
            self._live[access] = self.clock.time() + self.expires_in
            self.issued.append(access)
            body: dict[str, Any] = {
                "access_token": access,
                "token_type": "bearer",
                "expires_in": self.expires_in,
            }
            if grant in {"authorization_code", "refresh_token"} and (
                self.rotate or grant == "authorization_code"
            ):
                refresh = f"rt-{self._n}"
                self._refresh.add(refresh)
                self.issued.append(refresh)
                body["refresh_token"] = refresh
        return httpx2.Response(200, json=body)

    def _api(self, request: httpx2.Request) -> httpx2.Response:
        header = request.headers.get("Authorization", "")
        token = header.removeprefix("Bearer ")
        with self._lock:
            self.events.append(("api", token))
            ok = token in self._live and token not in self.revoked
            ok = ok and self.clock.time() < self._live.get(token, 0)
        if ok:
            return httpx2.Response(200, json={"token": token})
        return httpx2.Response(401, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})

    def handler(self, request: httpx2.Request) -> httpx2.Response:
        if str(request.url) == TOKEN_URL:
            if self.token_delay:
                time.sleep(self.token_delay)
            return self._token(request)
        return self._api(request)

    async def ahandler(self, request: httpx2.Request) -> httpx2.Response:
        if str(request.url) == TOKEN_URL:
            for _ in range(20):  # let every other task run into the lock meanwhile
                await asyncio.sleep(0)
            return self._token(request)
        return self._api(request)

    def client(self, auth: httpx2.Auth) -> httpx2.Client:
        return httpx2.Client(transport=httpx2.MockTransport(self.handler), auth=auth)

    def async_client(self, auth: httpx2.Auth) -> httpx2.AsyncClient:
        return httpx2.AsyncClient(transport=httpx2.MockTransport(self.ahandler), auth=auth)


@pytest.fixture
def server(clock: SimClock) -> OAuthServer:
    return OAuthServer(clock=clock)


def run_threads(n: int, target: Callable[[], Any]) -> list[Any]:
    """Run ``target`` in ``n`` threads released together; return results (or exceptions)."""
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n

    def work(i: int) -> None:
        barrier.wait()
        try:
            results[i] = target()
        except Exception as exc:  # collected and asserted by the caller
            results[i] = exc

    threads = [threading.Thread(target=work, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results
