"""OAuth 1.0a with HMAC-SHA256 (NetSuite token-based authentication), on Authlib's signer."""

from __future__ import annotations

import hashlib
import hmac
from base64 import b64encode
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any, ClassVar

import httpx2
from authlib.common.security import generate_token
from authlib.oauth1.rfc5849.client_auth import ClientAuth
from authlib.oauth1.rfc5849.errors import OAuth1Error
from authlib.oauth1.rfc5849.signature import generate_signature_base_string
from authlib.oauth1.rfc5849.util import escape
from pydantic import SecretStr

from erpsa_sdk.auth._base import UnauthorizedPolicy, logger
from erpsa_sdk.clock import Clock, SystemClock
from erpsa_sdk.errors import ConfigurationError

__all__ = ["HMAC_SHA256", "OAuth1Auth", "TokenPassport", "hmac_sha256_signature"]

HMAC_SHA256 = "HMAC-SHA256"


def hmac_sha256_signature(base_string: str, client_secret: str, token_secret: str) -> str:
    """RFC 5849 §3.4.2 with SHA-256: base64 HMAC keyed by ``escape(cs)&escape(ts)``.

    Examples:
        >>> len(hmac_sha256_signature("GET&x&y", "cs", "ts"))
        44
    """
    key = f"{escape(client_secret or '')}&{escape(token_secret or '')}"
    digest = hmac.new(key.encode(), base_string.encode(), hashlib.sha256).digest()
    return b64encode(digest).decode("ascii")


def _sign_hmac_sha256(client: Any, request: Any) -> str:
    # Authlib builds the base string (realm and oauth_signature excluded, query included).
    return hmac_sha256_signature(
        generate_signature_base_string(request), client.client_secret, client.token_secret
    )


class _TbaClientAuth(ClientAuth):  # type: ignore[misc]
    # Own copy of the registry: registering on Authlib's class would change it for everyone.
    SIGNATURE_METHODS: ClassVar[dict[str, Any]] = dict(ClientAuth.SIGNATURE_METHODS)

    def __init__(self, *args: Any, nonce: str, timestamp: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._nonce = nonce
        self._timestamp = timestamp

    def sign(self, method: str, uri: str, headers: dict[str, str], body: Any) -> Any:
        # Authlib's own sign(), with the nonce and timestamp we were given (from our clock).
        oauth_params = self.get_oauth_params(self._nonce, self._timestamp)
        rendered = self._render(uri, headers, body, oauth_params)
        oauth_params.append(("oauth_signature", self.get_oauth_signature(method, *rendered)))
        return self._render(uri, headers, body, oauth_params)


_TbaClientAuth.register_signature_method(HMAC_SHA256, _sign_hmac_sha256)


@dataclass(frozen=True)
class TokenPassport:
    """The SOAP ``TokenPassport`` fields (NetSuite SuiteTalk SOAP TBA).

    Examples:
        >>> from pydantic import SecretStr
        >>> TokenPassport(account="1", consumer_key="ck", token="tk", nonce="n",
        ...     timestamp="1", signature=SecretStr("sig")).signature
        SecretStr('**********')
    """

    account: str
    consumer_key: str
    token: str = field(repr=False)
    nonce: str
    timestamp: str
    signature: SecretStr
    algorithm: str = HMAC_SHA256


def _secret(value: str | SecretStr) -> SecretStr:
    return value if isinstance(value, SecretStr) else SecretStr(value)


class OAuth1Auth(UnauthorizedPolicy, httpx2.Auth):
    """OAuth 1.0a token-based authentication signed with HMAC-SHA256.

    The signature base string follows RFC 5849 §3.4.1 (Authlib builds it): the method, the
    URL without query, and the sorted ``oauth_*`` parameters plus the query parameters (and
    form-encoded body parameters); ``realm`` goes into the header but not the base string.
    Tokens do not expire and cannot be refreshed, so a 401 raises ``AuthError`` at once.

    Parameters:
        consumer_key: the integration record's consumer key.
        consumer_secret: its secret.
        token: the access token id.
        token_secret: the access token secret.
        realm: the account (NetSuite: the account id, ``1234567_SB1`` for a sandbox).
        clock: the time source for ``oauth_timestamp``.
        nonce_factory: makes each ``oauth_nonce`` (default: 20 random alphanumerics).

    Examples:
        >>> auth = OAuth1Auth(consumer_key="ck", consumer_secret="cs", token="tk",
        ...     token_secret="ts", realm="123456")
        >>> header = auth.authorization_header("GET", "https://x.test/r?a=1",
        ...     nonce="abc", timestamp="1508242306")
        >>> header.startswith('OAuth realm="123456", oauth_nonce="abc"')
        True
        >>> auth
        OAuth1Auth(consumer_key='ck', token=SecretStr('**********'), realm='123456', consumer_secret=SecretStr('**********'), token_secret=SecretStr('**********'))
    """  # noqa: E501

    requires_request_body = True  # form bodies are signed

    def __init__(
        self,
        *,
        consumer_key: str,
        consumer_secret: str | SecretStr,
        token: str | SecretStr,
        token_secret: str | SecretStr,
        realm: str | None = None,
        clock: Clock | None = None,
        nonce_factory: Callable[[], str] | None = None,
        tenant: str | None = None,
        raise_on_unauthorized: bool = True,
    ) -> None:
        if not consumer_key:
            raise ConfigurationError("consumer_key must not be empty")
        self.consumer_key = consumer_key
        self._token = _secret(token)
        self._consumer_secret = _secret(consumer_secret)
        self._token_secret = _secret(token_secret)
        if not all(
            s.get_secret_value() for s in (self._token, self._consumer_secret, self._token_secret)
        ):
            raise ConfigurationError("token, consumer_secret and token_secret must not be empty")
        self.realm = realm
        self.clock: Clock = clock or SystemClock()
        self._nonce_factory = nonce_factory or (lambda: generate_token(20))
        self.tenant = tenant if tenant is not None else realm
        self.raise_on_unauthorized = raise_on_unauthorized

    def authorization_header(
        self,
        method: str,
        url: str,
        *,
        body: bytes = b"",
        content_type: str | None = None,
        nonce: str | None = None,
        timestamp: str | None = None,
    ) -> str:
        """The ``Authorization: OAuth ...`` value for one request (sans-IO).

        Form-encoded bodies (``application/x-www-form-urlencoded``) are signed; other bodies
        (JSON) are not part of the signature, as NetSuite expects.

        Examples:
            >>> auth = OAuth1Auth(consumer_key="ck", consumer_secret="cs", token="tk",
            ...     token_secret="ts")
            >>> header = auth.authorization_header("POST", "https://x.test/r", body=b"a=1",
            ...     content_type="application/x-www-form-urlencoded", nonce="n", timestamp="1")
            >>> 'oauth_signature_method="HMAC-SHA256"' in header
            True
        """
        signer = _TbaClientAuth(
            self.consumer_key,
            client_secret=self._consumer_secret.get_secret_value(),
            token=self._token.get_secret_value(),
            token_secret=self._token_secret.get_secret_value(),
            signature_method=HMAC_SHA256,
            realm=self.realm,
            nonce=nonce or self._nonce_factory(),
            timestamp=timestamp or str(int(self.clock.time())),
        )
        headers = {"Content-Type": content_type} if content_type else {}
        form = content_type is not None and "application/x-www-form-urlencoded" in content_type
        try:
            _, signed_headers, _ = signer.prepare(
                method.upper(), url, headers, body if form else b""
            )
        except OAuth1Error as exc:
            # from None: the library's error may quote the request it was given.
            raise ConfigurationError(
                f"cannot sign this {method.upper()} request ({exc.error}): TBA sends the "
                "oauth_* parameters in the Authorization header only, so the query and the "
                "form must not carry parameters whose names start with 'oauth_'"
            ) from None
        return str(signed_headers["Authorization"])

    def token_passport(
        self, *, nonce: str | None = None, timestamp: str | None = None
    ) -> TokenPassport:
        """The SOAP ``TokenPassport``: HMAC-SHA256 over ``realm&ck&token&nonce&timestamp``.

        Examples:
            >>> OAuth1Auth(consumer_key="ck", consumer_secret="cs", token="tk",
            ...     token_secret="ts", realm="1").token_passport(nonce="n", timestamp="2").account
            '1'
        """
        if not self.realm:
            raise ConfigurationError("token_passport needs realm (the account id)")
        nonce = nonce or self._nonce_factory()
        timestamp = timestamp or str(int(self.clock.time()))
        token = self._token.get_secret_value()
        base = "&".join([self.realm, self.consumer_key, token, nonce, timestamp])
        signature = hmac_sha256_signature(
            base, self._consumer_secret.get_secret_value(), self._token_secret.get_secret_value()
        )
        return TokenPassport(
            account=self.realm,
            consumer_key=self.consumer_key,
            token=token,
            nonce=nonce,
            timestamp=timestamp,
            signature=SecretStr(signature),
        )

    def auth_flow(
        self, request: httpx2.Request
    ) -> Generator[httpx2.Request, httpx2.Response, None]:
        request.headers["Authorization"] = self.authorization_header(
            request.method,
            str(request.url),
            body=request.content,
            content_type=request.headers.get("Content-Type"),
        )
        response = yield request
        if response.status_code == 401:
            logger.debug("auth: TBA request refused tenant=%s", self.tenant)
        self._final_check(response, "TBA credentials were rejected (tokens cannot be refreshed)")

    def __repr__(self) -> str:
        return (
            f"OAuth1Auth(consumer_key={self.consumer_key!r}, token={self._token!r}, "
            f"realm={self.realm!r}, consumer_secret={self._consumer_secret!r}, "
            f"token_secret={self._token_secret!r})"
        )
