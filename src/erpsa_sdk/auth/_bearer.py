"""A one-call helper for the commonest credential: a bearer token you already hold."""

from __future__ import annotations

from pydantic import SecretStr

from erpsa_sdk.auth._simple import StaticBearerAuth

__all__ = ["bearer"]


def bearer(token: str | SecretStr, *, tenant: str | None = None) -> StaticBearerAuth:
    """A fixed bearer token as an ``httpx2.Auth`` (a simulator's ready token, or one you manage).

    Nothing is refreshed: a 401 raises :class:`~erpsa_sdk.errors.AuthError` at once. The
    token is kept as a ``SecretStr`` and never shown in a repr.

    Parameters:
        token: the token, sent as ``Authorization: Bearer <token>``.
        tenant: named in errors and logs (never the token).

    Examples:
        >>> import httpx2
        >>> auth = bearer("t0k")
        >>> auth
        StaticBearerAuth(token=SecretStr('**********'), scheme='Bearer')
        >>> echo = httpx2.MockTransport(
        ...     lambda r: httpx2.Response(200, text=r.headers["Authorization"]))
        >>> httpx2.Client(transport=echo, auth=auth).get("https://api.test/").text
        'Bearer t0k'
    """
    return StaticBearerAuth(token, tenant=tenant)
