"""OAuth 2.0 flows against a fake token endpoint: caching, 401 policy, single-flight refresh."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import httpx2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from erpsa_sdk.auth import (
    AuthorizationCodeAuth,
    ClientCredentialsAuth,
    InMemoryTokenStore,
    StoredToken,
    TokenCache,
    TokenKey,
    TokenSet,
    TokenStore,
)
from erpsa_sdk.clock import SimClock
from erpsa_sdk.errors import (
    AuthError,
    ConfigurationError,
    ErpsaError,
    RateLimited,
    ResponseFormatError,
    ServerError,
)

from .conftest import API_URL, TOKEN_URL, OAuthServer, run_threads


def cc(clock: SimClock, **kwargs: Any) -> ClientCredentialsAuth:
    options: dict[str, Any] = {
        "token_url": TOKEN_URL,
        "client_id": "app",
        "client_secret": "CLIENT-SECRET-1",
        "clock": clock,
        "tenant": "acme",
    }
    options.update(kwargs)
    return ClientCredentialsAuth(**options)


def code_flow(clock: SimClock, **kwargs: Any) -> AuthorizationCodeAuth:
    options: dict[str, Any] = {
        "token_url": TOKEN_URL,
        "authorize_url": "https://idp.test/authorize",
        "client_id": "app",
        "redirect_uri": "https://app.test/cb",
        "clock": clock,
        "tenant": "acme",
    }
    options.update(kwargs)
    return AuthorizationCodeAuth(**options)


def seed_expired(
    server: OAuthServer, auth: AuthorizationCodeAuth, store: TokenStore | None = None
) -> str:
    """Store an expired access token with a live refresh token; return the refresh token."""
    refresh = server.issue_refresh()
    (store or auth.store).compare_and_swap(
        auth.key,
        None,
        TokenSet(
            access_token="at-expired", expires_at=server.clock.time() - 1, refresh_token=refresh
        ),
    )
    return refresh


# -- client credentials ---------------------------------------------------------------------


def test_client_credentials_post_caches_and_refreshes_ahead_of_expiry(
    server: OAuthServer, clock: SimClock
) -> None:
    auth = cc(clock, scope=["a", "b"], skew=120)
    client = server.client(auth)
    assert client.get(API_URL).json() == {"token": "at-1"}
    assert client.get(API_URL).json() == {"token": "at-1"}
    assert server.token_requests == 1
    assert server.forms[0] == {
        "grant_type": "client_credentials",
        "scope": "a b",
        "client_id": "app",
        "client_secret": "CLIENT-SECRET-1",
    }
    clock.advance(3600 - 121)
    client.get(API_URL)
    assert server.token_requests == 1
    clock.advance(2)  # now inside the skew window: refreshed before the token expires
    assert client.get(API_URL).json() == {"token": "at-2"}
    assert server.token_requests == 2


def test_client_credentials_basic_client_auth(server: OAuthServer, clock: SimClock) -> None:
    server.client(cc(clock, client_auth="client_secret_basic")).get(API_URL)
    assert "client_secret" not in server.forms[0]
    scheme, value = server.token_headers[0]["authorization"].split(" ")
    assert scheme == "Basic"
    assert base64.b64decode(value).decode() == "app:CLIENT-SECRET-1"


def test_client_credentials_configuration_is_checked() -> None:
    with pytest.raises(ConfigurationError):
        ClientCredentialsAuth(token_url=TOKEN_URL, client_id="a")  # neither secret nor assertion
    with pytest.raises(ConfigurationError):
        ClientCredentialsAuth(token_url="http://idp.test/token", client_id="a", client_secret="s")
    with pytest.raises(ConfigurationError):
        ClientCredentialsAuth(token_url=TOKEN_URL, client_id="", client_secret="s")


def test_token_shared_through_store_by_two_workers(server: OAuthServer, clock: SimClock) -> None:
    store = InMemoryTokenStore()
    server.client(cc(clock, store=store)).get(API_URL)
    server.client(cc(clock, store=store)).get(API_URL)  # a second worker: reads the store
    assert server.token_requests == 1


# -- 401 policy -----------------------------------------------------------------------------


def test_401_mints_once_and_retries_once(server: OAuthServer, clock: SimClock) -> None:
    client = server.client(cc(clock))
    client.get(API_URL)
    server.revoked.add("at-1")
    assert client.get(API_URL).json() == {"token": "at-2"}
    assert server.token_requests == 2
    assert [e for e in server.events if e[0] == "api"] == [
        ("api", "at-1"),
        ("api", "at-1"),
        ("api", "at-2"),
    ]


def test_401_after_refresh_raises_auth_error(server: OAuthServer, clock: SimClock) -> None:
    client = server.client(cc(clock))
    client.get(API_URL)
    server.revoked.update({"at-1", "at-2", "at-3"})
    with pytest.raises(AuthError) as info:
        client.get(API_URL)
    assert info.value.status == 401
    assert info.value.vendor_code == "invalid_token"
    assert server.token_requests == 2  # one refresh only
    assert len([e for e in server.events if e[0] == "api"]) == 3  # first call + one retry


def test_401_not_retried_when_flow_says_refresh_cannot_cure(
    server: OAuthServer, clock: SimClock
) -> None:
    client = server.client(cc(clock, retry_on_401=False))
    client.get(API_URL)
    server.revoked.add("at-1")
    with pytest.raises(AuthError):
        client.get(API_URL)
    assert server.token_requests == 1


def test_401_can_be_returned_to_the_caller(server: OAuthServer, clock: SimClock) -> None:
    client = server.client(cc(clock, raise_on_unauthorized=False))
    server.revoked.update({"at-1", "at-2"})
    assert client.get(API_URL).status_code == 401
    assert server.token_requests == 2


def test_post_body_is_resent_on_retry(server: OAuthServer, clock: SimClock) -> None:
    bodies: list[bytes] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        if str(request.url) != TOKEN_URL:
            bodies.append(request.content)
        return server.handler(request)

    client = httpx2.Client(transport=httpx2.MockTransport(handler), auth=cc(clock))
    client.get(API_URL)
    server.revoked.add("at-1")

    def stream() -> Any:
        yield b'{"a":'
        yield b"1}"

    assert client.post(API_URL, content=stream()).status_code == 200
    assert bodies[-2:] == [b'{"a":1}', b'{"a":1}']


# -- token endpoint errors --------------------------------------------------------------------


def test_token_error_carries_oauth_code_not_secret(server: OAuthServer, clock: SimClock) -> None:
    server.fail_token = httpx2.Response(
        401,
        json={"error": "invalid_client", "error_description": "bad secret CLIENT-SECRET-1"},
        headers={"x-request-id": "req-7"},
    )
    with pytest.raises(AuthError) as info:
        server.client(cc(clock)).get(API_URL)
    err = info.value
    assert (err.vendor_code, err.status, err.request_id, err.tenant) == (
        "invalid_client",
        401,
        "req-7",
        "acme",
    )
    assert "CLIENT-SECRET-1" not in str(err)
    assert "bad secret ***" in str(err)


@pytest.mark.parametrize(
    ("response", "error"),
    [
        (httpx2.Response(503, text="down"), ServerError),
        (httpx2.Response(429, headers={"Retry-After": "7"}), RateLimited),
        (httpx2.Response(200, text="<html>login</html>"), ResponseFormatError),
        (httpx2.Response(200, json={"token_type": "bearer"}), ResponseFormatError),
        (httpx2.Response(400, json={"error": "invalid_scope"}), AuthError),
    ],
)
def test_token_endpoint_failures_are_typed(
    server: OAuthServer, clock: SimClock, response: httpx2.Response, error: type[Exception]
) -> None:
    server.fail_token = response
    with pytest.raises(error) as info:
        server.client(cc(clock)).get(API_URL)
    if isinstance(info.value, RateLimited):
        assert info.value.retry_after == 7.0
    assert not [e for e in server.events if e[0] == "api"]


# -- single flight ----------------------------------------------------------------------------


def test_50_threads_with_expired_token_make_one_refresh(
    server: OAuthServer, clock: SimClock
) -> None:
    server.token_delay = 0.02
    auth = code_flow(clock)
    seed_expired(server, auth)
    client = server.client(auth)
    results = run_threads(50, lambda: client.get(API_URL).json())
    assert [r for r in results if isinstance(r, Exception)] == []
    assert server.token_requests == 1
    assert {r["token"] for r in results} == {"at-2"}


def test_50_threads_client_credentials_make_one_token_request(
    server: OAuthServer, clock: SimClock
) -> None:
    server.token_delay = 0.02
    store = InMemoryTokenStore()
    auth = cc(clock, store=store)
    store.compare_and_swap(
        auth.key, None, TokenSet(access_token="old", expires_at=clock.time() - 5)
    )
    client = server.client(auth)
    results = run_threads(50, lambda: client.get(API_URL).status_code)
    assert results == [200] * 50
    assert server.token_requests == 1


def test_50_asyncio_tasks_with_expired_token_make_one_refresh(
    server: OAuthServer, clock: SimClock
) -> None:
    auth = code_flow(clock)
    seed_expired(server, auth)

    async def main() -> list[Any]:
        async with server.async_client(auth) as client:
            responses = await asyncio.gather(*(client.get(API_URL) for _ in range(50)))
        return [r.json() for r in responses]

    results = asyncio.run(main())
    assert server.token_requests == 1
    assert {r["token"] for r in results} == {"at-2"}


def test_50_asyncio_tasks_client_credentials_one_token_request(
    server: OAuthServer, clock: SimClock
) -> None:
    auth = cc(clock)

    async def main() -> list[int]:
        async with server.async_client(auth) as client:
            responses = await asyncio.gather(*(client.get(API_URL) for _ in range(50)))
        return [r.status_code for r in responses]

    assert asyncio.run(main()) == [200] * 50
    assert server.token_requests == 1
    # the same flow works on a second event loop (asyncio locks are per loop)
    clock.advance(4000)
    assert asyncio.run(main()) == [200] * 50
    assert server.token_requests == 2


def test_shared_cache_between_flows(server: OAuthServer, clock: SimClock) -> None:
    cache = TokenCache(clock=clock)
    store = InMemoryTokenStore()
    server.client(cc(clock, cache=cache, store=store)).get(API_URL)
    server.client(cc(clock, cache=cache, store=store)).get(API_URL)
    assert server.token_requests == 1


# -- authorization code + PKCE + rotation ------------------------------------------------------


def test_authorization_code_pkce_round_trip(server: OAuthServer, clock: SimClock) -> None:
    auth = code_flow(clock, client_secret="CS-9", scope="rest_webservices")
    start = auth.start(prompt="consent")
    query = httpx2.URL(start.url).params
    assert query["code_challenge_method"] == "S256"
    assert query["scope"] == "rest_webservices"
    assert query["prompt"] == "consent"
    verifier = start.code_verifier.get_secret_value()
    assert 43 <= len(verifier) <= 128
    digest = __import__("hashlib").sha256(verifier.encode()).digest()
    assert query["code_challenge"] == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert verifier not in start.url

    code = auth.parse_callback(f"https://app.test/cb?code=c-1&state={start.state}", start.state)
    with server.client(auth) as client:
        token = auth.complete(client, code, start.code_verifier)
    assert server.forms[0] == {
        "grant_type": "authorization_code",
        "code": "c-1",
        "redirect_uri": "https://app.test/cb",
        "code_verifier": verifier,
    }
    assert server.token_headers[0]["authorization"].startswith("Basic ")
    stored = auth.store.get(auth.key)
    assert stored is not None
    assert stored.token == token
    assert server.client(auth).get(API_URL).json() == {"token": "at-1"}
    assert server.token_requests == 1


def test_public_client_sends_client_id_in_form(server: OAuthServer, clock: SimClock) -> None:
    auth = code_flow(clock)

    async def main() -> None:
        async with server.async_client(auth) as client:
            await auth.acomplete(client, "c", "v" * 43)

    asyncio.run(main())
    assert server.forms[0]["client_id"] == "app"
    assert "authorization" not in server.token_headers[0]


def test_callback_checks(clock: SimClock) -> None:
    auth = code_flow(clock)
    with pytest.raises(AuthError, match="state"):
        auth.parse_callback("https://app.test/cb?code=c&state=evil", "mine")
    with pytest.raises(AuthError) as info:
        auth.parse_callback("https://app.test/cb?error=access_denied&state=s", "s")
    assert info.value.vendor_code == "access_denied"
    with pytest.raises(AuthError, match="no code"):
        auth.parse_callback("https://app.test/cb?state=s", "s")
    with pytest.raises(ConfigurationError):
        code_flow(clock, authorize_url=None).start()


def test_no_stored_token_asks_for_authorization(server: OAuthServer, clock: SimClock) -> None:
    with pytest.raises(AuthError, match="authorization"):
        server.client(code_flow(clock)).get(API_URL)
    assert server.token_requests == 0


class RecordingStore:
    """Wraps a store and logs each successful write into the server's event list."""

    def __init__(self, inner: TokenStore, events: list[tuple[str, str]]) -> None:
        self.inner = inner
        self.events = events

    def get(self, key: TokenKey) -> StoredToken | None:
        return self.inner.get(key)

    def compare_and_swap(
        self, key: TokenKey, expected_version: int | None, token: TokenSet
    ) -> StoredToken | None:
        saved = self.inner.compare_and_swap(key, expected_version, token)
        if saved is not None:
            self.events.append(("stored", token.access_token.get_secret_value()))
        return saved


def test_rotated_refresh_token_is_stored_before_new_access_token_is_used(
    server: OAuthServer, clock: SimClock
) -> None:
    auth = code_flow(clock, store=RecordingStore(InMemoryTokenStore(), server.events))
    old_refresh = seed_expired(server, auth)
    server.events.clear()
    assert server.client(auth).get(API_URL).json() == {"token": "at-2"}
    assert server.events == [("token", "refresh_token"), ("stored", "at-2"), ("api", "at-2")]
    stored = auth.store.get(auth.key)
    assert stored is not None
    assert stored.token.refresh_token is not None
    assert stored.token.refresh_token.get_secret_value() == "rt-2" != old_refresh
    # the old single-use refresh token is dead at the server; the stored one works next time
    clock.advance(3600)
    assert server.client(auth).get(API_URL).json() == {"token": "at-3"}


def test_refresh_without_rotation_keeps_refresh_token(server: OAuthServer, clock: SimClock) -> None:
    server.rotate = False
    server.reuse_refresh = True
    auth = code_flow(clock)
    refresh = seed_expired(server, auth)
    server.client(auth).get(API_URL)
    stored = auth.store.get(auth.key)
    assert stored is not None
    assert stored.token.refresh_token is not None
    assert stored.token.refresh_token.get_secret_value() == refresh


class RaceStore:
    """Hands out one stale read, during which another worker completes its refresh."""

    def __init__(self, inner: TokenStore, on_first_get: Any) -> None:
        self.inner = inner
        self.on_first_get = on_first_get
        self.gets = 0

    def get(self, key: TokenKey) -> StoredToken | None:
        self.gets += 1
        snapshot = self.inner.get(key)
        if self.gets == 1:
            self.on_first_get()  # the other worker wins the race right after our read
        return snapshot

    def compare_and_swap(
        self, key: TokenKey, expected_version: int | None, token: TokenSet
    ) -> StoredToken | None:
        return self.inner.compare_and_swap(key, expected_version, token)


def test_worker_losing_the_race_recovers_from_invalid_grant(
    server: OAuthServer, clock: SimClock, tmp_path: Any
) -> None:
    from erpsa_sdk.auth import SqliteTokenStore

    shared = SqliteTokenStore(tmp_path / "tokens.db")  # what two processes would share
    worker_a = code_flow(clock, store=shared)
    seed_expired(server, worker_a)
    worker_b = code_flow(
        clock, store=RaceStore(shared, lambda: server.client(worker_a).get(API_URL))
    )
    # B read rt-1, A redeemed it (single-use) and stored rt-2; B's refresh gets invalid_grant,
    # re-reads the store and uses A's token instead of failing.
    assert server.client(worker_b).get(API_URL).json() == {"token": "at-2"}
    assert [f["refresh_token"] for f in server.forms] == ["rt-1", "rt-1"]
    assert server.token_requests == 2


def test_worker_losing_the_cas_uses_the_winners_token(server: OAuthServer, clock: SimClock) -> None:
    server.reuse_refresh = True  # vendor accepts the old refresh token once more
    shared = InMemoryTokenStore()
    worker_a = code_flow(clock, store=shared)
    seed_expired(server, worker_a)
    worker_b = code_flow(
        clock, store=RaceStore(shared, lambda: server.client(worker_a).get(API_URL))
    )
    # B's refresh succeeds (at-3) but its compare-and-swap loses to A's (at-2): B uses the
    # stored winner, so every worker agrees on one token pair.
    assert server.client(worker_b).get(API_URL).json() == {"token": "at-2"}
    stored = shared.get(worker_a.key)
    assert stored is not None
    assert stored.token.access_token.get_secret_value() == "at-2"


def test_invalid_grant_with_nothing_newer_fails_clearly(
    server: OAuthServer, clock: SimClock
) -> None:
    auth = code_flow(clock)
    auth.store.compare_and_swap(
        auth.key, None, TokenSet(access_token="x", expires_at=0.0, refresh_token="rt-unknown")
    )
    with pytest.raises(AuthError) as info:
        server.client(auth).get(API_URL)
    assert info.value.vendor_code == "invalid_grant"
    assert "authorization flow again" in str(info.value)
    assert "rt-unknown" not in str(info.value)


class CrashingStore:
    """A store whose write dies (process killed, disk gone) after the token response arrived."""

    def __init__(self, inner: TokenStore) -> None:
        self.inner = inner

    def get(self, key: TokenKey) -> StoredToken | None:
        return self.inner.get(key)

    def compare_and_swap(
        self, key: TokenKey, expected_version: int | None, token: TokenSet
    ) -> StoredToken | None:
        raise OSError("crashed before the token pair was written")


def test_crash_between_token_response_and_store_write(server: OAuthServer, clock: SimClock) -> None:
    durable = InMemoryTokenStore()
    crashing = code_flow(clock, store=CrashingStore(durable))
    seed_expired(server, crashing, durable)
    with pytest.raises(OSError, match="crashed"):
        server.client(crashing).get(API_URL)
    # The new access token was never used (stored-before-use) ...
    assert [e for e in server.events if e[0] == "api"] == []
    # ... but the single-use refresh token was redeemed at the server, and the store still
    # holds it. After a restart the refresh is refused and nothing newer is stored: the
    # worker fails with a clear invalid_grant AuthError; an operator re-runs the authorization.
    restarted = code_flow(clock, store=durable)
    with pytest.raises(AuthError) as info:
        server.client(restarted).get(API_URL)
    assert info.value.vendor_code == "invalid_grant"
    assert [f["refresh_token"] for f in server.forms] == ["rt-1", "rt-1"]


def test_crash_with_reusable_refresh_tokens_recovers(server: OAuthServer, clock: SimClock) -> None:
    server.reuse_refresh = True
    durable = InMemoryTokenStore()
    crashing = code_flow(clock, store=CrashingStore(durable))
    seed_expired(server, crashing, durable)
    with pytest.raises(OSError):
        server.client(crashing).get(API_URL)
    assert server.client(code_flow(clock, store=durable)).get(API_URL).status_code == 200


def test_seed_then_refresh(server: OAuthServer, clock: SimClock) -> None:
    auth = code_flow(clock, client_secret="s")
    auth.seed(server.issue_refresh())
    assert server.client(auth).get(API_URL).json() == {"token": "at-2"}
    assert server.forms[0]["grant_type"] == "refresh_token"


def test_repr_redacts(clock: SimClock) -> None:
    text = repr(cc(clock)) + repr(code_flow(clock, client_secret="CS-REPR"))
    assert "CLIENT-SECRET-1" not in text
    assert "CS-REPR" not in text
    assert "acme" in text


def test_lock_is_released_when_the_token_request_fails(
    server: OAuthServer, clock: SimClock
) -> None:
    failures = [httpx2.ConnectError("connection reset")]

    def handler(request: httpx2.Request) -> httpx2.Response:
        if str(request.url) == TOKEN_URL and failures:
            raise failures.pop()
        return server.handler(request)

    auth = cc(clock)
    client = httpx2.Client(transport=httpx2.MockTransport(handler), auth=auth)
    with pytest.raises(httpx2.ConnectError):
        client.get(API_URL)
    # a held lock would deadlock here; a second thread proves it is free
    assert run_threads(2, lambda: client.get(API_URL).status_code) == [200, 200]


def test_async_lock_is_released_when_the_token_request_fails(
    server: OAuthServer, clock: SimClock
) -> None:
    failures = [httpx2.ConnectError("connection reset")]

    async def handler(request: httpx2.Request) -> httpx2.Response:
        if str(request.url) == TOKEN_URL and failures:
            raise failures.pop()
        return await server.ahandler(request)

    auth = cc(clock)

    async def main() -> list[int]:
        transport = httpx2.MockTransport(handler)
        async with httpx2.AsyncClient(transport=transport, auth=auth) as client:
            with pytest.raises(httpx2.ConnectError):
                await client.get(API_URL)
            responses = await asyncio.gather(client.get(API_URL), client.get(API_URL))
        return [r.status_code for r in responses]

    assert asyncio.run(main()) == [200, 200]
    assert server.token_requests == 1


@settings(max_examples=60, deadline=None)
@given(
    status=st.sampled_from([200, 400, 401, 403, 404, 429, 500, 502]),
    body=st.none()
    | st.text(max_size=30)
    | st.dictionaries(
        st.sampled_from(["error", "error_description", "access_token", "expires_in"]),
        st.none() | st.integers() | st.text(max_size=12) | st.lists(st.integers(), max_size=2),
    ),
)
def test_any_token_endpoint_answer_gives_a_token_or_a_typed_error(
    status: int, body: object
) -> None:
    clock = SimClock()
    server = OAuthServer(clock=clock)
    if isinstance(body, dict):
        server.fail_token = httpx2.Response(status, json=body)
    else:
        server.fail_token = httpx2.Response(status, text=str(body or ""))
    outcome: ErpsaError | None = None
    try:
        server.client(cc(clock)).get(API_URL)
    except ErpsaError as exc:  # any other exception type fails the test
        outcome = exc
    if outcome is None:
        assert status == 200
    else:
        assert "CLIENT-SECRET-1" not in str(outcome)


def test_token_without_expiry_is_reminted_on_401(server: OAuthServer, clock: SimClock) -> None:
    # Salesforce sends no expires_in: the token is used until a 401, then re-minted once.
    def handler(request: httpx2.Request) -> httpx2.Response:
        response = server.handler(request)
        if str(request.url) == TOKEN_URL:
            body = response.json()
            del body["expires_in"]
            return httpx2.Response(200, json=body)
        return response

    client = httpx2.Client(transport=httpx2.MockTransport(handler), auth=cc(clock))
    client.get(API_URL)
    clock.advance(10 * 3600)  # the server's token expired; the flow cannot know
    assert client.get(API_URL).json() == {"token": "at-2"}
    assert server.token_requests == 2


def test_50_threads_hitting_401_together_refresh_once(server: OAuthServer, clock: SimClock) -> None:
    server.token_delay = 0.02
    client = server.client(cc(clock))
    client.get(API_URL)
    server.revoked.add("at-1")  # revoked before expiry: every request sees a 401 first
    results = run_threads(50, lambda: client.get(API_URL).json())
    assert {r["token"] for r in results} == {"at-2"}
    assert server.token_requests == 2
