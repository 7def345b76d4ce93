"""OAuth 2.0 flows as httpx2 ``Auth``: client credentials, JWT bearer, authorization code + PKCE.

Every flow shares one sans-IO core (:meth:`OAuth2Auth._core`): take the cached token, or,
under a single-flight lock, re-check the cache, read the :class:`TokenStore`, and only then
ask the token endpoint; store the new token (compare-and-swap) before it is used; on a 401,
refresh once and retry once when the flow says a refresh can cure it.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Generator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import httpx2
from authlib.common.security import generate_token
from authlib.common.urls import add_params_to_uri, url_encode
from authlib.oauth2.auth import ClientAuth as _OAuth2ClientAuth
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from pydantic import SecretStr

from erpsa_sdk.auth._base import (
    ACQUIRE,
    RELEASE,
    Core,
    FlowLocks,
    TokenCall,
    UnauthorizedPolicy,
    drive_async,
    drive_sync,
    logger,
    scrub,
)
from erpsa_sdk.auth._jwt import JwtAssertion
from erpsa_sdk.auth._tokens import (
    InMemoryTokenStore,
    StoredToken,
    TokenCache,
    TokenKey,
    TokenSet,
    TokenStore,
)
from erpsa_sdk.clock import Clock, SystemClock
from erpsa_sdk.errors import (
    AuthError,
    ConfigurationError,
    ErpsaError,
    RateLimited,
    ResponseFormatError,
    ServerError,
)
from erpsa_sdk.http.classify import request_id_of

__all__ = [
    "AuthorizationCodeAuth",
    "AuthorizationRequest",
    "ClientCredentialsAuth",
    "JwtBearerAuth",
    "OAuth2Auth",
]

ClientAuthMethod = Literal["client_secret_basic", "client_secret_post", "none"]
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


def _as_secret(value: str | SecretStr | None) -> SecretStr | None:
    if value is None or isinstance(value, SecretStr):
        return value
    return SecretStr(value)


def _scope_text(scope: str | Sequence[str] | None) -> str | None:
    if scope is None or isinstance(scope, str):
        return scope
    return " ".join(scope)


class OAuth2Auth(UnauthorizedPolicy, httpx2.Auth):
    """Base of the OAuth 2.0 flows: token cache, store, single-flight refresh, 401 policy.

    Subclasses say how to get a new token (:meth:`_grant_request`) and whether they use
    refresh tokens. Use one instance per (tenant, credential) and share it across threads,
    tasks and clients: its locks make refresh single-flight.

    Parameters (keyword-only, shared by every OAuth 2.0 flow):
        token_url: the token endpoint.
        tenant: the tenant the token belongs to (account, environment); keys the store.
        credential_id: names the credential in the store (default: the client id).
        store: a :class:`TokenStore` (default: a new :class:`InMemoryTokenStore`).
        cache: a :class:`TokenCache` to share between flows (default: a new one).
        clock: time source for expiry and assertions (default :class:`SystemClock`).
        skew: refresh this many seconds before expiry (ignored when ``cache`` is given).
        default_expires_in: lifetime to assume when the vendor does not send ``expires_in``.
        retry_on_401: refresh once and retry once on a 401 (the connector says whether a new
            token can cure a 401 for this vendor).
        raise_on_unauthorized: a 401 that is not cured raises ``AuthError`` (else the
            response is returned for the caller's classifier).

    Examples:
        >>> issubclass(ClientCredentialsAuth, OAuth2Auth)
        True
    """

    requires_request_body = True  # a 401 retry re-sends the same body
    uses_refresh_token = False

    def __init__(
        self,
        *,
        token_url: str,
        client_id: str,
        tenant: str = "default",
        credential_id: str | None = None,
        store: TokenStore | None = None,
        cache: TokenCache | None = None,
        clock: Clock | None = None,
        skew: float = 60.0,
        default_expires_in: float | None = None,
        retry_on_401: bool = True,
        raise_on_unauthorized: bool = True,
    ) -> None:
        url = httpx2.URL(token_url)
        if url.scheme != "https" and url.host not in {"127.0.0.1", "localhost", "::1"}:
            raise ConfigurationError("token_url must use https (loopback hosts excepted)")
        if not client_id:
            raise ConfigurationError("client_id must not be empty")
        self.token_url = str(url)
        self.client_id = client_id
        self.tenant = tenant
        self.key = TokenKey(tenant, credential_id or client_id)
        self.clock: Clock = clock or (cache.clock if cache else SystemClock())
        self.cache = cache or TokenCache(skew=skew, clock=self.clock)
        self.store: TokenStore = store if store is not None else InMemoryTokenStore()
        self.default_expires_in = default_expires_in
        self.retry_on_401 = retry_on_401
        self.raise_on_unauthorized = raise_on_unauthorized
        self._locks = FlowLocks()
        # Recent secret values (as SecretStr, so even vars(flow) shows none) to scrub from
        # token-endpoint error descriptions.
        self._known_secrets: list[SecretStr] = []

    # -- what subclasses provide ----------------------------------------------------------

    def _grant_request(self) -> httpx2.Request | None:
        """A request for a brand-new token, or None when only a refresh can give one."""
        raise NotImplementedError

    def _client_auth_fields(
        self, form: dict[str, str], headers: dict[str, str]
    ) -> tuple[dict[str, str], dict[str, str]]:
        """Add client authentication to a token request (default: none)."""
        return form, headers

    def _secrets(self) -> Iterable[str | None]:
        """Secret values to scrub from any text that leaves the flow."""
        return self._recent_secrets()

    def _recent_secrets(self) -> list[str]:
        return [s.get_secret_value() for s in self._known_secrets]

    # -- sans-IO pieces -------------------------------------------------------------------

    def _token_request(self, form: dict[str, str]) -> httpx2.Request:
        headers = {
            "Accept": "application/json",
            "Content-Type": "application/x-www-form-urlencoded",
        }
        form, headers = self._client_auth_fields(dict(form), headers)
        return httpx2.Request(
            "POST", self.token_url, content=url_encode(form.items()), headers=headers
        )

    def _refresh_request(self, refresh_token: str) -> httpx2.Request:
        self._remember(refresh_token)
        return self._token_request({"grant_type": "refresh_token", "refresh_token": refresh_token})

    def _remember(self, *secrets: str | None) -> None:
        for secret in secrets:
            if secret and secret not in self._recent_secrets():
                self._known_secrets.append(SecretStr(secret))
        del self._known_secrets[:-16]  # bounded: only recent rotations matter

    def _parse(self, response: httpx2.Response, previous: SecretStr | None = None) -> TokenSet:
        """A TokenSet from a 200, else the typed error for the token endpoint's answer."""
        payload: Any = None
        try:
            payload = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
            payload = None
        if response.status_code == 200 and isinstance(payload, dict):
            token = TokenSet.from_response(
                payload,
                now=self.clock.time(),
                previous_refresh_token=previous,
                default_expires_in=self.default_expires_in,
            )
            self._remember(
                token.access_token.get_secret_value(),
                token.refresh_token.get_secret_value() if token.refresh_token else None,
            )
            return token
        raise self._token_error(response, payload)

    def _token_error(self, response: httpx2.Response, payload: Any) -> ErpsaError:
        status = response.status_code
        code = description = None
        if isinstance(payload, dict):
            code = str(payload.get("error") or "")[:64] or None
            raw = payload.get("error_description")
            if isinstance(raw, str):
                description = scrub(raw, self._secrets())[:300]
        context: dict[str, Any] = {
            "status": status,
            "vendor_code": code,
            "request_id": request_id_of(response, self.request_id_headers),
            "tenant": self.tenant,
        }
        message = f"token request to {self.token_url} failed"
        if description:
            message += f": {description}"
        if status == 429:
            retry_after = response.headers.get("retry-after")
            seconds = float(retry_after) if retry_after and retry_after.isdigit() else None
            return RateLimited(message, retry_after=seconds, **context)
        if status >= 500:
            return ServerError(message, retryable=True, **context)
        if status == 200 or (payload is None and status < 400):
            return ResponseFormatError(f"token endpoint {self.token_url} sent no token JSON")
        return AuthError(message, retryable=False, **context)

    def _obtain(self, rejected: TokenSet | None) -> Generator[TokenCall, httpx2.Response, TokenSet]:
        """Under the lock: a usable token, asking the endpoint only when nothing better exists."""
        if rejected is not None:
            self.cache.invalidate(self.key, rejected)
        cached = self.cache.get(self.key)
        if cached is not None and not cached.same_access_token(rejected):
            return cached  # another thread/task refreshed while we waited for the lock
        stored = self.store.get(self.key)
        if stored is not None and self._usable(stored.token, rejected):
            logger.debug("auth: token taken from store key=%s", self.key)
            self.cache.put(self.key, stored.token)
            return stored.token
        if self.uses_refresh_token and stored is not None and stored.token.refresh_token:
            return (yield from self._refresh(stored, rejected))
        request = self._grant_request()
        if request is None:
            raise AuthError(
                "no usable token and no refresh token stored; run the authorization flow",
                tenant=self.tenant,
            )
        logger.debug("auth: requesting a new token key=%s url=%s", self.key, self.token_url)
        token = self._parse((yield TokenCall(request)))
        saved = self.store.compare_and_swap(self.key, stored.version if stored else None, token)
        if saved is None:
            winner = self.store.get(self.key)
            if winner is not None and self._usable(winner.token, rejected):
                token = winner.token  # one token per credential: keep the stored one
        self.cache.put(self.key, token)
        return token

    def _refresh(
        self, stored: StoredToken, rejected: TokenSet | None
    ) -> Generator[TokenCall, httpx2.Response, TokenSet]:
        current = stored
        for attempt in range(3):
            assert current.token.refresh_token is not None
            used = current.token.refresh_token
            logger.debug("auth: refreshing key=%s attempt=%d", self.key, attempt + 1)
            response = yield TokenCall(self._refresh_request(used.get_secret_value()))
            try:
                token = self._parse(response, previous=used)
            except AuthError as exc:
                if exc.vendor_code != "invalid_grant":
                    raise
                # Another worker may have redeemed the (single-use) refresh token first.
                latest = self.store.get(self.key)
                if latest is None or latest.version == current.version:
                    raise AuthError(
                        "the refresh token was rejected (invalid_grant) and no newer token is "
                        "stored; run the authorization flow again",
                        status=exc.status,
                        vendor_code="invalid_grant",
                        request_id=exc.request_id,
                        tenant=self.tenant,
                    ) from None
                logger.debug("auth: invalid_grant; store has a newer token key=%s", self.key)
                if self._usable(latest.token, rejected):
                    self.cache.put(self.key, latest.token)
                    return latest.token
                if latest.token.refresh_token is None:
                    raise AuthError(
                        "stored token has no refresh token", tenant=self.tenant
                    ) from None
                current = latest
                continue
            # Store the rotated pair BEFORE the new access token is used: if this raises, the
            # token is dropped, never sent.
            saved = self.store.compare_and_swap(self.key, current.version, token)
            if saved is None:
                latest = self.store.get(self.key)
                logger.debug("auth: lost the refresh race key=%s", self.key)
                if latest is not None and self._usable(latest.token, rejected):
                    self.cache.put(self.key, latest.token)
                    return latest.token
                if latest is None:
                    raise AuthError("token vanished from the store", tenant=self.tenant)
                # The winner's token is already stale: ours is newer, store it over theirs.
                saved = self.store.compare_and_swap(self.key, latest.version, token)
                if saved is None:
                    raise AuthError("token store keeps changing; giving up", tenant=self.tenant)
            self.cache.put(self.key, token)
            return token
        raise AuthError("refresh kept racing with other workers", tenant=self.tenant)

    def _usable(self, token: TokenSet, rejected: TokenSet | None) -> bool:
        return token.is_fresh(now=self.clock.time(), skew=self.cache.skew) and not (
            token.same_access_token(rejected)
        )

    def _apply(self, request: httpx2.Request, token: TokenSet) -> None:
        scheme = "Bearer" if token.token_type.lower() == "bearer" else token.token_type
        request.headers["Authorization"] = f"{scheme} {token.access_token.get_secret_value()}"

    def _core(self, request: httpx2.Request) -> Core:
        token = self.cache.get(self.key)
        if token is None:
            yield ACQUIRE
            token = yield from self._obtain(None)
            yield RELEASE
        self._apply(request, token)
        response = yield request
        assert response is not None
        if response.status_code != 401:
            return
        if not self.retry_on_401:
            self._final_check(response, "this flow does not retry 401s")
            return
        logger.debug("auth: 401; refreshing once key=%s", self.key)
        yield ACQUIRE
        token = yield from self._obtain(token)
        yield RELEASE
        self._apply(request, token)
        response = yield request
        assert response is not None
        self._final_check(response, "still refused after one token refresh")

    # -- httpx2 entry points --------------------------------------------------------------

    def auth_flow(
        self, request: httpx2.Request
    ) -> Generator[httpx2.Request, httpx2.Response, None]:
        """Not used by httpx2 clients (they call the sync/async twins); kept lock-free."""
        return drive_sync(self._core(request), FlowLocks(), buffer=request)

    def sync_auth_flow(
        self, request: httpx2.Request
    ) -> Generator[httpx2.Request, httpx2.Response, None]:
        """The flow for ``httpx2.Client``: the core under a threading lock."""
        return drive_sync(self._core(request), self._locks, buffer=request)

    def async_auth_flow(
        self, request: httpx2.Request
    ) -> AsyncGenerator[httpx2.Request, httpx2.Response]:
        """The flow for ``httpx2.AsyncClient``: the core under an asyncio lock (per loop)."""
        return drive_async(self._core(request), self._locks, buffer=request)

    def invalidate(self) -> None:
        """Forget the cached token (the stored one is kept).

        Examples:
            >>> ClientCredentialsAuth(token_url="https://idp.test/token", client_id="c",
            ...     client_secret="s").invalidate()
        """
        self.cache.invalidate(self.key)

    def _repr_fields(self) -> str:
        return (
            f"token_url={self.token_url!r}, client_id={self.client_id!r}, key={tuple(self.key)!r}"
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._repr_fields()})"


class _SecretClient:
    """What Authlib's client-auth encoders read (client_id, client_secret)."""

    def __init__(self, client_id: str, client_secret: str) -> None:
        self.client_id = client_id
        self.client_secret = client_secret


class _ClientSecretMixin:
    client_id: str
    _client_secret: SecretStr | None
    client_auth: ClientAuthMethod

    def _encode_client(
        self, form: dict[str, str], headers: dict[str, str]
    ) -> tuple[dict[str, str], dict[str, str]]:
        if self.client_auth == "none" or self._client_secret is None:
            form.setdefault("client_id", self.client_id)
            return form, headers
        auth = _OAuth2ClientAuth(
            self.client_id, self._client_secret.get_secret_value(), self.client_auth
        )
        _, new_headers, body = auth.prepare("POST", "", dict(headers), url_encode(form.items()))
        return dict(httpx2.QueryParams(body)), dict(new_headers)


class ClientCredentialsAuth(_ClientSecretMixin, OAuth2Auth):
    """OAuth 2.0 client credentials, with a client secret or a signed JWT client assertion.

    No refresh token is issued in this grant: a new token is minted on expiry (ahead of it,
    by ``skew``) and once on a 401. See :mod:`erpsa_sdk.auth.presets` for NetSuite M2M and
    Entra ID.

    Parameters:
        token_url: the token endpoint.
        client_id: the client (application) id.
        client_secret: the secret; or give ``assertion`` instead.
        assertion: a :class:`JwtAssertion` signed for every token request.
        scope: a space-separated string or a list (sent as ``scope``).
        client_auth: how the secret travels: ``client_secret_post`` (form) or
            ``client_secret_basic`` (Authorization header).
        send_client_id: with an assertion, also send ``client_id`` in the form.
        extra_params: other form fields the vendor needs.
        **options: see :class:`OAuth2Auth`.

    Examples:
        >>> import httpx2, json
        >>> def handler(request):
        ...     if request.url.path == "/token":
        ...         return httpx2.Response(200, json={"access_token": "t1", "expires_in": 3600})
        ...     return httpx2.Response(200, json={"auth": request.headers["Authorization"].split()[0]})
        >>> auth = ClientCredentialsAuth(token_url="https://idp.test/token", client_id="app",
        ...     client_secret="s3cret", scope="api/.default", tenant="contoso")
        >>> client = httpx2.Client(transport=httpx2.MockTransport(handler), auth=auth)
        >>> client.get("https://api.test/data").json()
        {'auth': 'Bearer'}
        >>> auth
        ClientCredentialsAuth(token_url='https://idp.test/token', client_id='app', key=('contoso', 'app'), client_secret=SecretStr('**********'), assertion=None)
    """  # noqa: E501

    def __init__(
        self,
        *,
        token_url: str,
        client_id: str,
        client_secret: str | SecretStr | None = None,
        assertion: JwtAssertion | None = None,
        scope: str | Sequence[str] | None = None,
        client_auth: ClientAuthMethod = "client_secret_post",
        send_client_id: bool = True,
        extra_params: Mapping[str, str] | None = None,
        **options: Any,
    ) -> None:
        super().__init__(token_url=token_url, client_id=client_id, **options)
        self._client_secret = _as_secret(client_secret)
        if (self._client_secret is None) == (assertion is None):
            raise ConfigurationError("give exactly one of client_secret and assertion")
        if self._client_secret is not None and not self._client_secret.get_secret_value():
            raise ConfigurationError("client_secret must not be empty")
        self.assertion = assertion
        self.scope = _scope_text(scope)
        self.client_auth = client_auth
        self.send_client_id = send_client_id
        self.extra_params = dict(extra_params or {})

    def _client_auth_fields(
        self, form: dict[str, str], headers: dict[str, str]
    ) -> tuple[dict[str, str], dict[str, str]]:
        if self.assertion is not None:
            signed = self.assertion.sign(now=self.clock.time())
            self._remember(signed)
            if self.send_client_id:
                form["client_id"] = self.client_id
            form["client_assertion_type"] = ASSERTION_TYPE
            form["client_assertion"] = signed
            return form, headers
        return self._encode_client(form, headers)

    def _grant_request(self) -> httpx2.Request:
        form = {"grant_type": "client_credentials", **self.extra_params}
        if self.scope:
            form["scope"] = self.scope
        return self._token_request(form)

    def _secrets(self) -> Iterable[str | None]:
        secret = self._client_secret.get_secret_value() if self._client_secret else None
        return [secret, *self._recent_secrets()]

    def _repr_fields(self) -> str:
        return (
            f"{super()._repr_fields()}, client_secret={self._client_secret!r}, "
            f"assertion={self.assertion!r}"
        )


class JwtBearerAuth(OAuth2Auth):
    """OAuth 2.0 JWT bearer grant (RFC 7523 §2.1), as Salesforce's server-to-server flow.

    The assertion (``iss`` = consumer key, ``sub`` = user, ``aud`` = login URL, ``exp``;
    RS256) is the grant itself; there is no client secret and no refresh token. Extra token
    response fields (``instance_url``, ``id``) are kept in the stored token's ``extra``.

    Examples:
        >>> import httpx2
        >>> from joserfc.jwk import RSAKey
        >>> assertion = JwtAssertion(private_key=RSAKey.generate_key(2048), algorithm="RS256",
        ...     claims={"iss": "3MVG9", "sub": "u@x.test", "aud": "https://login.test"},
        ...     dynamic_claims=("exp",), lifetime=180)
        >>> seen = []
        >>> def handler(request):
        ...     if request.url.path.endswith("/token"):
        ...         seen.append(dict(httpx2.QueryParams(request.content.decode()))["grant_type"])
        ...         return httpx2.Response(200, json={"access_token": "00D!x",
        ...             "instance_url": "https://na1.test"})
        ...     return httpx2.Response(200)
        >>> auth = JwtBearerAuth(token_url="https://login.test/services/oauth2/token",
        ...     client_id="3MVG9", assertion=assertion)
        >>> _ = httpx2.Client(transport=httpx2.MockTransport(handler), auth=auth).get("https://na1.test/x")
        >>> seen
        ['urn:ietf:params:oauth:grant-type:jwt-bearer']
        >>> auth.store.get(auth.key).token.extra["instance_url"]
        'https://na1.test'
    """

    def __init__(
        self,
        *,
        token_url: str,
        client_id: str,
        assertion: JwtAssertion,
        extra_params: Mapping[str, str] | None = None,
        **options: Any,
    ) -> None:
        super().__init__(token_url=token_url, client_id=client_id, **options)
        self.assertion = assertion
        self.extra_params = dict(extra_params or {})

    def _grant_request(self) -> httpx2.Request:
        signed = self.assertion.sign(now=self.clock.time())
        self._remember(signed)
        return self._token_request(
            {"grant_type": JWT_BEARER_GRANT, "assertion": signed, **self.extra_params}
        )

    def _repr_fields(self) -> str:
        return f"{super()._repr_fields()}, assertion={self.assertion!r}"


@dataclass(frozen=True)
class AuthorizationRequest:
    """Where to send the user, and what to keep until the callback (state, PKCE verifier).

    Examples:
        >>> from pydantic import SecretStr
        >>> AuthorizationRequest(url="https://idp.test/authorize?x=1", state="s",
        ...     code_verifier=SecretStr("v" * 64)).code_verifier
        SecretStr('**********')
    """

    url: str
    state: str
    code_verifier: SecretStr


class AuthorizationCodeAuth(_ClientSecretMixin, OAuth2Auth):
    """OAuth 2.0 authorization code with PKCE (S256), then refresh with rotating tokens.

    1. :meth:`start` builds the authorization URL (state + S256 challenge); send the user there.
    2. :meth:`parse_callback` checks the redirect (state, ``error=access_denied``) for the code.
    3. :meth:`complete` / :meth:`acomplete` redeem the code and store the token pair.
    4. Use the flow as ``auth=``: an expired token is refreshed single-flight; a rotated
       refresh token is stored (compare-and-swap) before the new access token is used; on
       ``invalid_grant`` the store is re-read, since another worker may have rotated it.

    A vendor that hands out a long-lived refresh token instead (Workday integrations)
    starts at step 4 after :meth:`seed`.

    Parameters:
        token_url: the token endpoint.
        authorize_url: the authorization endpoint (for :meth:`start`).
        client_id: the client id.
        redirect_uri: the registered redirect URI.
        client_secret: for confidential clients (``None``: a public client).
        scope: a space-separated string or a list.
        client_auth: ``client_secret_basic`` (default) or ``client_secret_post``.
        **options: see :class:`OAuth2Auth`.

    Examples:
        >>> auth = AuthorizationCodeAuth(token_url="https://idp.test/token",
        ...     authorize_url="https://idp.test/authorize", client_id="app",
        ...     redirect_uri="https://app.test/cb", scope=["rest_webservices"])
        >>> start = auth.start(state="s" * 22)
        >>> "code_challenge_method=S256" in start.url and "state=" + "s" * 22 in start.url
        True
        >>> auth.parse_callback("https://app.test/cb?code=abc&state=" + "s" * 22, start.state)
        'abc'
    """

    uses_refresh_token = True

    def __init__(
        self,
        *,
        token_url: str,
        client_id: str,
        redirect_uri: str,
        authorize_url: str | None = None,
        client_secret: str | SecretStr | None = None,
        scope: str | Sequence[str] | None = None,
        client_auth: ClientAuthMethod = "client_secret_basic",
        **options: Any,
    ) -> None:
        super().__init__(token_url=token_url, client_id=client_id, **options)
        self.authorize_url = authorize_url
        self.redirect_uri = redirect_uri
        self._client_secret = _as_secret(client_secret)
        self.scope = _scope_text(scope)
        self.client_auth = client_auth if self._client_secret is not None else "none"

    def _grant_request(self) -> None:
        return None

    def _client_auth_fields(
        self, form: dict[str, str], headers: dict[str, str]
    ) -> tuple[dict[str, str], dict[str, str]]:
        return self._encode_client(form, headers)

    def _secrets(self) -> Iterable[str | None]:
        secret = self._client_secret.get_secret_value() if self._client_secret else None
        return [secret, *self._recent_secrets()]

    def start(self, *, state: str | None = None, **extra: str) -> AuthorizationRequest:
        """The authorization URL with a fresh PKCE verifier (S256) and state.

        Examples:
            >>> auth = AuthorizationCodeAuth(token_url="https://idp.test/token",
            ...     authorize_url="https://idp.test/authorize", client_id="app",
            ...     redirect_uri="https://app.test/cb")
            >>> len(auth.start().state)
            32
        """
        if not self.authorize_url:
            raise ConfigurationError("authorize_url is needed to start the authorization flow")
        verifier = generate_token(64)
        state = state or generate_token(32)
        params = [
            ("response_type", "code"),
            ("client_id", self.client_id),
            ("redirect_uri", self.redirect_uri),
            ("state", state),
            ("code_challenge", create_s256_code_challenge(verifier)),
            ("code_challenge_method", "S256"),
        ]
        if self.scope:
            params.append(("scope", self.scope))
        params.extend(extra.items())
        url = add_params_to_uri(self.authorize_url, params)
        return AuthorizationRequest(url=url, state=state, code_verifier=SecretStr(verifier))

    def parse_callback(self, callback_url: str, expected_state: str) -> str:
        """The authorization code from the redirect, after checking ``state`` and errors.

        Examples:
            >>> auth = AuthorizationCodeAuth(token_url="https://idp.test/token",
            ...     client_id="app", redirect_uri="https://app.test/cb")
            >>> auth.parse_callback("https://app.test/cb?state=s&error=access_denied", "s")
            Traceback (most recent call last):
            ...
            erpsa_sdk.errors.AuthError: authorization was refused: access_denied [vendor_code=access_denied tenant=default]
        """  # noqa: E501
        params = httpx2.URL(callback_url).params
        if params.get("state") != expected_state:
            raise AuthError("callback state does not match the request", tenant=self.tenant)
        error = params.get("error")
        if error:
            code = error[:64]
            raise AuthError(
                f"authorization was refused: {code}", vendor_code=code, tenant=self.tenant
            )
        code = params.get("code")
        if not code:
            raise AuthError("callback carries no code", tenant=self.tenant)
        return str(code)

    def exchange_request(self, code: str, code_verifier: str | SecretStr) -> httpx2.Request:
        """The token request that redeems ``code`` (sans-IO; :meth:`complete` sends it).

        Examples:
            >>> auth = AuthorizationCodeAuth(token_url="https://idp.test/token",
            ...     client_id="app", redirect_uri="https://app.test/cb")
            >>> auth.exchange_request("c", "v" * 43).method
            'POST'
        """
        verifier = _as_secret(code_verifier)
        assert verifier is not None
        self._remember(code, verifier.get_secret_value())
        return self._token_request(
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": self.redirect_uri,
                "code_verifier": verifier.get_secret_value(),
            }
        )

    def _store_initial(self, token: TokenSet) -> TokenSet:
        for _ in range(3):
            current = self.store.get(self.key)
            saved = self.store.compare_and_swap(
                self.key, current.version if current else None, token
            )
            if saved is not None:
                self.cache.put(self.key, token)
                logger.debug("auth: authorization completed key=%s", self.key)
                return token
        raise AuthError("token store kept changing while storing the new token", tenant=self.tenant)

    def complete(
        self, client: httpx2.Client, code: str, code_verifier: str | SecretStr
    ) -> TokenSet:
        """Redeem ``code`` with ``client`` and store the token pair.

        Examples:
            >>> import httpx2
            >>> auth = AuthorizationCodeAuth(token_url="https://idp.test/token",
            ...     client_id="app", redirect_uri="https://app.test/cb")
            >>> ok = httpx2.MockTransport(lambda r: httpx2.Response(200, json={
            ...     "access_token": "a1", "refresh_token": "r1", "expires_in": 3600}))
            >>> auth.complete(httpx2.Client(transport=ok), "code", "v" * 43).refresh_token
            SecretStr('**********')
        """
        response = client.send(self.exchange_request(code, code_verifier), auth=None)
        response.read()
        return self._store_initial(self._parse(response))

    async def acomplete(
        self, client: httpx2.AsyncClient, code: str, code_verifier: str | SecretStr
    ) -> TokenSet:
        """Async twin of :meth:`complete`."""
        response = await client.send(self.exchange_request(code, code_verifier), auth=None)
        await response.aread()
        return self._store_initial(self._parse(response))

    def seed(self, refresh_token: str | SecretStr) -> None:
        """Store a refresh token obtained elsewhere; the first request refreshes with it.

        Examples:
            >>> auth = AuthorizationCodeAuth(token_url="https://idp.test/token",
            ...     client_id="isu", redirect_uri="https://app.test/cb")
            >>> auth.seed("long-lived")
            >>> auth.store.get(auth.key).token.is_fresh(now=0, skew=0)
            False
        """
        secret = _as_secret(refresh_token)
        assert secret is not None
        self._store_initial(TokenSet(access_token="", expires_at=0.0, refresh_token=secret))

    def _repr_fields(self) -> str:
        return (
            f"{super()._repr_fields()}, redirect_uri={self.redirect_uri!r}, "
            f"client_secret={self._client_secret!r}"
        )
