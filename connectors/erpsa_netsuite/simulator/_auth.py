"""How the simulator checks credentials: bearer tokens, TBA signatures and M2M JWT assertions.

* TBA (OAuth 1.0a, HMAC-SHA256): the signature base string is RFC 5849 §3.4.1 (method, URL
  without query, sorted ``oauth_*`` and query parameters; ``realm`` excluded) and the key is
  ``escape(consumer_secret)&escape(token_secret)``, as NetSuite documents. A replayed nonce is
  refused.
* M2M: ``grant_type=client_credentials`` with a JWT ``client_assertion`` whose header carries
  ``alg`` in PS256–PS512 / ES256–ES512 and the certificate id as ``kid``; claims ``iss`` = client
  id, ``scope`` (comma string or JSON array), ``aud`` = the token URL, ``iat``, ``exp`` within 60
  minutes of ``iat``. RS256 (and anything else) is refused before the signature is checked.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote
from urllib.request import parse_http_list, parse_keqv_list

from authlib.oauth1.rfc5849.signature import construct_base_string
from authlib.oauth1.rfc5849.util import escape
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, RSAKey

__all__ = [
    "M2M_ALGORITHMS",
    "AuthFailure",
    "TbaCredentials",
    "tba_signature",
    "verify_assertion",
    "verify_tba",
]

M2M_ALGORITHMS = ("PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


class AuthFailure(Exception):
    """A credential was refused; ``reason`` is for tests and logs, never for the client."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class TbaCredentials:
    """One integration record plus one access token, as TBA needs them."""

    consumer_key: str
    consumer_secret: str
    token_id: str
    token_secret: str


def tba_signature(
    method: str,
    url: str,
    params: list[tuple[str, str]],
    consumer_secret: str,
    token_secret: str,
) -> str:
    """Base64 HMAC-SHA256 signature of a request, per RFC 5849 §3.4 with NetSuite's key.

    Examples:
        >>> tba_signature("GET", "https://a.example/x", [("oauth_nonce", "n")], "cs", "ts")[-1]
        '='
    """
    base = construct_base_string(method.upper(), url, params)
    key = f"{escape(consumer_secret)}&{escape(token_secret)}"
    digest = hmac.new(key.encode(), base.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


@dataclass
class _NonceBook:
    seen: set[tuple[str, str]] = field(default_factory=set)


def verify_tba(
    header: str,
    method: str,
    url: str,
    known: dict[str, TbaCredentials],
    realm: str,
    nonces: set[tuple[str, str]],
) -> TbaCredentials:
    """Check an ``Authorization: OAuth …`` header; raise :class:`AuthFailure` when refused."""
    if not header.lower().startswith("oauth "):
        raise AuthFailure("not an OAuth header")
    raw = parse_keqv_list(parse_http_list(header[6:]))
    fields = {k.strip(): unquote(v) for k, v in raw.items()}
    if fields.get("oauth_signature_method") != "HMAC-SHA256":
        raise AuthFailure("signature method must be HMAC-SHA256")
    if fields.get("realm", "").upper() != realm.upper():
        raise AuthFailure("realm is not this account")
    creds = known.get(fields.get("oauth_consumer_key", ""))
    if creds is None or creds.token_id != fields.get("oauth_token"):
        raise AuthFailure("unknown consumer key or token")
    nonce = fields.get("oauth_nonce", "")
    if not nonce or (creds.token_id, nonce) in nonces:
        raise AuthFailure("missing or replayed nonce")
    base_url, _, query = url.partition("?")
    params = [
        (k, v) for k, v in fields.items() if k.startswith("oauth_") and k != "oauth_signature"
    ]
    params += parse_qsl(query, keep_blank_values=True)
    expected = tba_signature(method, base_url, params, creds.consumer_secret, creds.token_secret)
    if not hmac.compare_digest(expected, fields.get("oauth_signature", "")):
        raise AuthFailure("signature mismatch")
    nonces.add((creds.token_id, nonce))
    return creds


@dataclass(frozen=True)
class M2MClient:
    """An integration record with a mapped certificate (public key + certificate id)."""

    client_id: str
    certificate_id: str
    public_key: ECKey | RSAKey


def verify_assertion(
    form: dict[str, str],
    clients: dict[str, M2MClient],
    token_url: str,
    now: float,
) -> tuple[M2MClient, list[str]]:
    """Check an M2M token request; return the client and granted scopes or raise."""
    if form.get("grant_type") != "client_credentials":
        raise AuthFailure("grant_type must be client_credentials")
    if form.get("client_assertion_type") != CLIENT_ASSERTION_TYPE:
        raise AuthFailure("client_assertion_type must be jwt-bearer")
    assertion = form.get("client_assertion", "")
    try:
        header: dict[str, Any] = dict(jws.extract_compact(assertion.encode()).protected)
    except (JoseError, ValueError) as exc:
        raise AuthFailure("assertion is not a compact JWS") from exc
    alg = header.get("alg")
    if alg not in M2M_ALGORITHMS:
        raise AuthFailure(f"alg {alg!r} is not accepted")
    if header.get("typ", "JWT") != "JWT":
        raise AuthFailure("typ must be JWT")
    client = next((c for c in clients.values() if c.certificate_id == header.get("kid")), None)
    if client is None:
        raise AuthFailure("kid does not name a mapped certificate")
    try:
        token = jwt.decode(assertion, client.public_key, algorithms=[str(alg)])
    except (JoseError, ValueError) as exc:
        raise AuthFailure("assertion signature is invalid") from exc
    claims = token.claims
    if claims.get("iss") != client.client_id:
        raise AuthFailure("iss is not the client id")
    aud = claims.get("aud")
    if (aud if isinstance(aud, str) else None) != token_url and not (
        isinstance(aud, list) and token_url in aud
    ):
        raise AuthFailure("aud is not the token endpoint")
    iat, exp = claims.get("iat"), claims.get("exp")
    if not isinstance(iat, int | float) or not isinstance(exp, int | float):
        raise AuthFailure("iat and exp are required")
    if exp - iat > 3600 or exp <= now or iat > now + 300:
        raise AuthFailure("exp must be after now and within 60 minutes of iat")
    scope = claims.get("scope")
    scopes = [s.strip() for s in scope.split(",")] if isinstance(scope, str) else scope
    if not isinstance(scopes, list) or not scopes:
        raise AuthFailure("scope is required")
    allowed = {"restlets", "rest_webservices", "suite_analytics"}
    if not set(scopes) <= allowed:
        raise AuthFailure("unknown scope")
    return client, [str(s) for s in scopes]


def new_secret(rng_bytes: bytes | None = None) -> str:
    """A 64-hex-character secret (seeded when bytes are given)."""
    return (rng_bytes or secrets.token_bytes(32)).hex()
