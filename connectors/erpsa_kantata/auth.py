"""Kantata OAuth 2.0: the authorization-code grant that yields a token that never expires.

Kantata issues access tokens through the authorization-code flow only (fact sheet §1.2): send
the user to the authorization URL, receive ``code`` on the registered redirect URI, exchange it
at the token endpoint. The token **does not expire and cannot be refreshed** (there is no
refresh token); treat it like a password. A revoked token answers 401, which
:class:`~erpsa_sdk.auth.StaticBearerAuth` turns into ``AuthError`` at once.

The request building and answer parsing are pure; :func:`exchange_code` and
:func:`aexchange_code` only send.

Examples:
    >>> url = authorization_url(client_id="abc123", redirect_uri="http://myapp.com/oauth/callback",
    ...                         state="xyz")
    >>> url.split("?")[0]
    'https://app.mavenlink.com/oauth/authorize'
    >>> "response_type=code" in url and "state=xyz" in url
    True
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx2
from pydantic import SecretStr

from erpsa_sdk.errors import AuthError, ResponseFormatError

__all__ = [
    "AUTHORIZE_URL",
    "TOKEN_URL",
    "aexchange_code",
    "authorization_url",
    "code_from_callback",
    "exchange_code",
    "token_from_response",
    "token_request",
]

AUTHORIZE_URL = "https://app.mavenlink.com/oauth/authorize"
TOKEN_URL = "https://app.mavenlink.com/oauth/token"  # noqa: S105 - an endpoint, not a secret


def authorization_url(
    *, client_id: str, redirect_uri: str, state: str, authorize_url: str = AUTHORIZE_URL
) -> str:
    """Where to send the user: ``response_type=code`` with the registered ``redirect_uri``.

    Examples:
        >>> authorization_url(client_id="c", redirect_uri="http://h/cb", state="s")
        'https://app.mavenlink.com/oauth/authorize?response_type=code&client_id=c&redirect_uri=http%3A%2F%2Fh%2Fcb&state=s'
    """
    query = urlencode(
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "state": state,
        }
    )
    return f"{authorize_url}?{query}"


def code_from_callback(callback_url: str, *, state: str) -> str:
    """The ``code`` of the redirect back to your app; ``AuthError`` on a wrong state or an error.

    Examples:
        >>> code_from_callback("http://h/cb?code=k1&state=s", state="s")
        'k1'
        >>> code_from_callback("http://h/cb?error=access_denied&state=s", state="s")
        Traceback (most recent call last):
        ...
        erpsa_sdk.errors.AuthError: authorization refused: access_denied [vendor_code=access_denied]
    """
    query = parse_qs(urlsplit(callback_url).query)
    if query.get("state", [None])[0] != state:
        raise AuthError("the callback's state does not match the authorization request")
    if "error" in query:
        code = query["error"][0]
        raise AuthError(f"authorization refused: {code}", vendor_code=code)
    codes = query.get("code")
    if not codes:
        raise AuthError("the callback carries no authorization code")
    return codes[0]


def token_request(
    *,
    code: str,
    client_id: str,
    client_secret: str | SecretStr,
    redirect_uri: str,
    token_url: str = TOKEN_URL,
) -> httpx2.Request:
    """The form POST that exchanges ``code`` for an access token.

    Examples:
        >>> req = token_request(code="k", client_id="c", client_secret="s3cr3t",
        ...                     redirect_uri="http://h/cb")
        >>> req.method, req.headers["content-type"]
        ('POST', 'application/x-www-form-urlencoded')
    """
    secret = (
        client_secret.get_secret_value() if isinstance(client_secret, SecretStr) else client_secret
    )
    form = {
        "grant_type": "authorization_code",
        "client_id": client_id,
        "client_secret": secret,
        "code": code,
        "redirect_uri": redirect_uri,
    }
    return httpx2.Request(
        "POST",
        token_url,
        content=urlencode(form).encode(),
        headers={"content-type": "application/x-www-form-urlencoded", "accept": "application/json"},
    )


def token_from_response(response: httpx2.Response) -> SecretStr:
    """The access token of a token-endpoint answer, as a ``SecretStr``.

    ``AuthError`` (with the OAuth ``error`` code, never a secret) when the code was refused,
    ``ResponseFormatError`` when the answer is not a token.

    Examples:
        >>> import httpx2
        >>> token_from_response(httpx2.Response(200, json={"access_token": "t",
        ...                                                "token_type": "bearer"}))
        SecretStr('**********')
        >>> try:
        ...     token_from_response(httpx2.Response(400, json={"error": "invalid_grant"}))
        ... except AuthError as exc:
        ...     exc.status, exc.vendor_code
        (400, 'invalid_grant')
    """
    try:
        body: Any = json.loads(response.content or b"null")
    except (ValueError, RecursionError):
        body = None
    if response.status_code >= 400:
        code = body.get("error") if isinstance(body, Mapping) else None
        raise AuthError(
            f"the token endpoint refused the code: {code or response.status_code}",
            status=response.status_code,
            vendor_code=str(code) if code else None,
            retryable=False,
        )
    if not isinstance(body, Mapping) or not isinstance(body.get("access_token"), str):
        raise ResponseFormatError("the token endpoint answered without an access_token")
    return SecretStr(body["access_token"])


def exchange_code(
    *,
    code: str,
    client_id: str,
    client_secret: str | SecretStr,
    redirect_uri: str,
    token_url: str = TOKEN_URL,
    transport: httpx2.BaseTransport | None = None,
) -> SecretStr:
    """Exchange an authorization code for Kantata's non-expiring access token.

    Examples:
        >>> import httpx2
        >>> from erpsa_kantata.simulator import KantataSimulator
        >>> sim = KantataSimulator(seed=1)
        >>> creds = sim.credentials()
        >>> callback = httpx2.Client(transport=httpx2.MockTransport(sim)).get(
        ...     authorization_url(client_id=creds["client_id"], redirect_uri=creds["redirect_uri"],
        ...                       state="s1")).headers["location"]
        >>> token = exchange_code(code=code_from_callback(callback, state="s1"),
        ...                       client_id=creds["client_id"],
        ...                       client_secret=creds["client_secret"],
        ...                       redirect_uri=creds["redirect_uri"],
        ...                       transport=httpx2.MockTransport(sim))
        >>> len(token.get_secret_value()) > 20
        True
    """
    request = token_request(
        code=code,
        client_id=client_id,
        client_secret=client_secret,
        redirect_uri=redirect_uri,
        token_url=token_url,
    )
    with httpx2.Client(transport=transport, follow_redirects=False) as http:
        return token_from_response(http.send(request))


async def aexchange_code(
    *,
    code: str,
    client_id: str,
    client_secret: str | SecretStr,
    redirect_uri: str,
    token_url: str = TOKEN_URL,
    transport: httpx2.AsyncBaseTransport | None = None,
) -> SecretStr:
    """Async twin of :func:`exchange_code`.

    Examples:
        >>> import asyncio
        >>> asyncio.iscoroutinefunction(aexchange_code)
        True
    """
    request = token_request(
        code=code,
        client_id=client_id,
        client_secret=client_secret,
        redirect_uri=redirect_uri,
        token_url=token_url,
    )
    async with httpx2.AsyncClient(transport=transport, follow_redirects=False) as http:
        return token_from_response(await http.send(request))
