"""Authentication as httpx2 ``Auth`` flows: pass one as ``auth=`` to any httpx2 client.

Flows (vendor-neutral; vendor specifics are configuration in :mod:`erpsa_sdk.auth.presets`):

- :class:`ClientCredentialsAuth` - OAuth 2.0 client credentials with a secret or a signed JWT
  client assertion (:class:`JwtAssertion`; NetSuite M2M, Entra ID certificates).
- :class:`JwtBearerAuth` - OAuth 2.0 JWT bearer grant (Salesforce server-to-server).
- :class:`AuthorizationCodeAuth` - authorization code + PKCE (S256), rotating refresh tokens.
- :class:`OAuth1Auth` - OAuth 1.0a HMAC-SHA256 (NetSuite token-based authentication).
- :class:`BasicAuth`, :class:`StaticBearerAuth` (or :func:`bearer`) - nothing to refresh; a 401
  raises at once.

OAuth 2.0 tokens live in a :class:`TokenStore` (in-memory, SQLite, or the runner's state
store) behind a :class:`TokenCache`; refresh is single-flight across threads and asyncio tasks.

Examples:
    >>> import httpx2
    >>> from erpsa_sdk.auth import StaticBearerAuth
    >>> echo = httpx2.MockTransport(lambda r: httpx2.Response(200, text=r.headers["Authorization"]))
    >>> httpx2.Client(transport=echo, auth=StaticBearerAuth("t0k")).get("https://api.test/").text
    'Bearer t0k'
"""

from __future__ import annotations

from erpsa_sdk.auth._bearer import bearer
from erpsa_sdk.auth._jwt import JwtAssertion, certificate_thumbprint_s256, load_private_key
from erpsa_sdk.auth._oauth1 import OAuth1Auth, TokenPassport, hmac_sha256_signature
from erpsa_sdk.auth._oauth2 import (
    AuthorizationCodeAuth,
    AuthorizationRequest,
    ClientCredentialsAuth,
    JwtBearerAuth,
    OAuth2Auth,
)
from erpsa_sdk.auth._simple import BasicAuth, StaticBearerAuth
from erpsa_sdk.auth._tokens import (
    InMemoryTokenStore,
    SqliteTokenStore,
    StoredToken,
    TokenCache,
    TokenKey,
    TokenSet,
    TokenStore,
)

__all__ = [
    "AuthorizationCodeAuth",
    "AuthorizationRequest",
    "BasicAuth",
    "ClientCredentialsAuth",
    "InMemoryTokenStore",
    "JwtAssertion",
    "JwtBearerAuth",
    "OAuth1Auth",
    "OAuth2Auth",
    "SqliteTokenStore",
    "StaticBearerAuth",
    "StoredToken",
    "TokenCache",
    "TokenKey",
    "TokenPassport",
    "TokenSet",
    "TokenStore",
    "bearer",
    "certificate_thumbprint_s256",
    "hmac_sha256_signature",
    "load_private_key",
]
