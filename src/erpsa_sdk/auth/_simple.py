"""Flows with nothing to refresh: HTTP Basic and a static bearer token."""

from __future__ import annotations

import base64
from collections.abc import Generator

import httpx2
from pydantic import SecretStr

from erpsa_sdk.auth._base import UnauthorizedPolicy, logger
from erpsa_sdk.errors import ConfigurationError

__all__ = ["BasicAuth", "StaticBearerAuth"]


def _secret(value: str | SecretStr, name: str) -> SecretStr:
    secret = value if isinstance(value, SecretStr) else SecretStr(value)
    if not secret.get_secret_value():
        raise ConfigurationError(f"{name} must not be empty")
    return secret


class BasicAuth(UnauthorizedPolicy, httpx2.Auth):
    """HTTP Basic authentication (SAP communication users, Oracle Fusion, Workday RaaS).

    A 401 cannot be cured by retrying the same password, so it raises
    :class:`~erpsa_sdk.errors.AuthError` at once (pass ``raise_on_unauthorized=False`` to get
    the response back instead, for a connector that classifies it itself).

    Parameters:
        username: the user name.
        password: the password (kept as a ``SecretStr``; never shown).
        tenant: the tenant name carried by errors.

    Examples:
        >>> import httpx2
        >>> auth = BasicAuth("ISU_SYNC", "s3cret")
        >>> auth
        BasicAuth(username='ISU_SYNC', password=SecretStr('**********'))
        >>> def handler(request):
        ...     return httpx2.Response(200, text=request.headers["Authorization"].split()[0])
        >>> httpx2.Client(transport=httpx2.MockTransport(handler), auth=auth).get("https://x.test").text
        'Basic'
    """

    def __init__(
        self,
        username: str,
        password: str | SecretStr,
        *,
        tenant: str | None = None,
        raise_on_unauthorized: bool = True,
    ) -> None:
        if not username or ":" in username:
            raise ConfigurationError("username must be non-empty and contain no ':'")
        self.username = username
        self._password = _secret(password, "password")
        self.tenant = tenant
        self.raise_on_unauthorized = raise_on_unauthorized

    def auth_flow(
        self, request: httpx2.Request
    ) -> Generator[httpx2.Request, httpx2.Response, None]:
        pair = f"{self.username}:{self._password.get_secret_value()}".encode()
        request.headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
        response = yield request
        self._final_check(response, "Basic credentials were rejected")

    def __repr__(self) -> str:
        return f"BasicAuth(username={self.username!r}, password={self._password!r})"


class StaticBearerAuth(UnauthorizedPolicy, httpx2.Auth):
    """A bearer token that never expires and cannot be refreshed (Kantata, pre-issued tokens).

    A 401 means the token was revoked: it raises :class:`~erpsa_sdk.errors.AuthError` at once.

    Parameters:
        token: the access token (kept as a ``SecretStr``).
        scheme: the Authorization scheme, ``Bearer`` by default.
        tenant: the tenant name carried by errors.

    Examples:
        >>> import httpx2
        >>> from erpsa_sdk.errors import AuthError
        >>> auth = StaticBearerAuth("tok-123", tenant="acme")
        >>> auth
        StaticBearerAuth(token=SecretStr('**********'), scheme='Bearer')
        >>> refuse = httpx2.MockTransport(lambda r: httpx2.Response(401))
        >>> client = httpx2.Client(transport=refuse, auth=auth)
        >>> try:
        ...     client.get("https://api.test/workspaces.json")
        ... except AuthError as exc:
        ...     print(exc.status, exc.tenant)
        401 acme
    """

    def __init__(
        self,
        token: str | SecretStr,
        *,
        scheme: str = "Bearer",
        tenant: str | None = None,
        raise_on_unauthorized: bool = True,
    ) -> None:
        self._token = _secret(token, "token")
        self.scheme = scheme
        self.tenant = tenant
        self.raise_on_unauthorized = raise_on_unauthorized

    def auth_flow(
        self, request: httpx2.Request
    ) -> Generator[httpx2.Request, httpx2.Response, None]:
        request.headers["Authorization"] = f"{self.scheme} {self._token.get_secret_value()}"
        response = yield request
        if response.status_code == 401:
            logger.debug("auth: static bearer refused tenant=%s", self.tenant)
        self._final_check(response, "the static token was rejected and cannot be refreshed")

    def __repr__(self) -> str:
        return f"StaticBearerAuth(token={self._token!r}, scheme={self.scheme!r})"
