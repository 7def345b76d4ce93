"""Vendor presets: the documented header fields, claims and endpoints as configuration.

Each preset returns a plain flow from :mod:`erpsa_sdk.auth`; nothing here is special-cased
inside the flows. Facts come from the vendors' documentation (see the how-to page).

Examples:
    >>> netsuite_token_url("1234567_SB1")
    'https://1234567-sb1.suitetalk.api.netsuite.com/services/rest/auth/oauth2/v1/token'
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from pydantic import SecretStr

from erpsa_sdk.auth._jwt import JwtAssertion, PrivateKeyInput, certificate_thumbprint_s256
from erpsa_sdk.auth._oauth1 import OAuth1Auth
from erpsa_sdk.auth._oauth2 import AuthorizationCodeAuth, ClientCredentialsAuth, JwtBearerAuth
from erpsa_sdk.errors import ConfigurationError

__all__ = [
    "ENTRA_ALGORITHMS",
    "NETSUITE_M2M_ALGORITHMS",
    "entra_certificate_assertion",
    "entra_client_credentials",
    "entra_token_url",
    "netsuite_authorization_code",
    "netsuite_m2m",
    "netsuite_m2m_assertion",
    "netsuite_tba",
    "netsuite_token_url",
    "salesforce_jwt_bearer",
]

NETSUITE_M2M_ALGORITHMS: Final = ("PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
"""The algorithms NetSuite M2M accepts (RS256 is not among them).

Examples:
    >>> "RS256" in NETSUITE_M2M_ALGORITHMS
    False
"""
ENTRA_ALGORITHMS: Final = ("PS256", "RS256")
"""Entra ID certificate credentials: PS256 recommended, RS256 still accepted.

Examples:
    >>> ENTRA_ALGORITHMS[0]
    'PS256'
"""
_NETSUITE_MAX_LIFETIME: Final = 3600  # exp must be < iat + 60 min


def _netsuite_host_id(account_id: str) -> str:
    account = account_id.strip()
    if not account or not account.replace("_", "").replace("-", "").isalnum():
        raise ConfigurationError(f"not a NetSuite account id: {account_id!r}")
    return account.lower().replace("_", "-")


def _netsuite_realm(account_id: str) -> str:
    return account_id.strip().upper().replace("-", "_")


def netsuite_token_url(account_id: str) -> str:
    """The NetSuite OAuth 2.0 token endpoint for an account (``_SB1`` becomes ``-sb1``).

    Examples:
        >>> netsuite_token_url("TSTDRV1")
        'https://tstdrv1.suitetalk.api.netsuite.com/services/rest/auth/oauth2/v1/token'
    """
    host = _netsuite_host_id(account_id)
    return f"https://{host}.suitetalk.api.netsuite.com/services/rest/auth/oauth2/v1/token"


def netsuite_m2m_assertion(
    *,
    account_id: str,
    client_id: str,
    certificate_id: str,
    private_key: PrivateKeyInput,
    scope: str | Sequence[str] = ("rest_webservices",),
    algorithm: str = "PS256",
    lifetime: int = 300,
    token_url: str | None = None,
) -> JwtAssertion:
    """The NetSuite M2M client assertion.

    Header ``typ`` JWT, ``alg`` (PS256/384/512 or ES256/384/512; RS256 is refused here),
    ``kid`` = the certificate id; claims ``iss`` = client id, ``scope`` (a list, or a
    comma-separated string as given), ``aud`` = the token URL, ``iat``, ``exp`` (< iat + 60
    min) and ``jti``.

    Examples:
        >>> from joserfc.jwk import RSAKey
        >>> netsuite_m2m_assertion(account_id="1", client_id="c", certificate_id="k",
        ...     private_key=RSAKey.generate_key(2048), algorithm="RS256")
        Traceback (most recent call last):
        ...
        erpsa_sdk.errors.ConfigurationError: algorithm 'RS256' is not accepted here; use one of ES256, ES384, ES512, PS256, PS384, PS512
    """  # noqa: E501
    if not 0 < lifetime < _NETSUITE_MAX_LIFETIME:
        raise ConfigurationError("NetSuite needs exp < iat + 60 min: lifetime must be < 3600 s")
    if not certificate_id or not client_id:
        raise ConfigurationError("client_id and certificate_id are required")
    scopes: str | list[str] = scope if isinstance(scope, str) else list(scope)
    if not scopes:
        raise ConfigurationError("scope must name at least one of rest_webservices, restlets, ...")
    return JwtAssertion(
        private_key=private_key,
        algorithm=algorithm,
        allowed_algorithms=NETSUITE_M2M_ALGORITHMS,
        header={"kid": certificate_id},
        claims={
            "iss": client_id,
            "scope": scopes,
            "aud": token_url or netsuite_token_url(account_id),
        },
        dynamic_claims=("iat", "exp", "jti"),
        lifetime=lifetime,
    )


def netsuite_m2m(
    *,
    account_id: str,
    client_id: str,
    certificate_id: str,
    private_key: PrivateKeyInput,
    scope: str | Sequence[str] = ("rest_webservices",),
    algorithm: str = "PS256",
    lifetime: int = 300,
    token_url: str | None = None,
    **options: Any,
) -> ClientCredentialsAuth:
    """NetSuite OAuth 2.0 client credentials (M2M) with a certificate-signed assertion.

    The form carries ``grant_type``, ``client_assertion_type`` and ``client_assertion`` only
    (the scope rides in the assertion). Tokens last 60 min; no refresh token is issued, so a
    new one is minted ahead of expiry. ``options`` go to :class:`ClientCredentialsAuth`.

    Examples:
        >>> from joserfc.jwk import ECKey
        >>> auth = netsuite_m2m(account_id="TSTDRV1", client_id="c1", certificate_id="cert1",
        ...     private_key=ECKey.generate_key("P-256"), algorithm="ES256")
        >>> auth.key
        TokenKey(tenant='TSTDRV1', credential_id='c1')
    """
    url = token_url or netsuite_token_url(account_id)
    options.setdefault("tenant", _netsuite_realm(account_id))
    return ClientCredentialsAuth(
        token_url=url,
        client_id=client_id,
        assertion=netsuite_m2m_assertion(
            account_id=account_id,
            client_id=client_id,
            certificate_id=certificate_id,
            private_key=private_key,
            scope=scope,
            algorithm=algorithm,
            lifetime=lifetime,
            token_url=url,
        ),
        send_client_id=False,
        **options,
    )


def netsuite_tba(
    *,
    account_id: str,
    consumer_key: str,
    consumer_secret: str | SecretStr,
    token_id: str | SecretStr,
    token_secret: str | SecretStr,
    **options: Any,
) -> OAuth1Auth:
    """NetSuite token-based authentication (OAuth 1.0a, HMAC-SHA256), realm = account id.

    No new TBA integrations can be created from NetSuite 2027.1; prefer :func:`netsuite_m2m`.

    Examples:
        >>> netsuite_tba(account_id="1234567-sb1", consumer_key="ck", consumer_secret="cs",
        ...     token_id="tk", token_secret="ts").realm
        '1234567_SB1'
    """
    _netsuite_host_id(account_id)
    return OAuth1Auth(
        consumer_key=consumer_key,
        consumer_secret=consumer_secret,
        token=token_id,
        token_secret=token_secret,
        realm=_netsuite_realm(account_id),
        **options,
    )


def netsuite_authorization_code(
    *,
    account_id: str,
    client_id: str,
    redirect_uri: str,
    client_secret: str | SecretStr | None = None,
    scope: str | Sequence[str] = ("rest_webservices",),
    **options: Any,
) -> AuthorizationCodeAuth:
    """NetSuite OAuth 2.0 authorization code + PKCE (S256), refresh with Basic client auth.

    Public clients (no secret) get single-use refresh tokens: every refresh rotates them.

    Examples:
        >>> auth = netsuite_authorization_code(account_id="TSTDRV1", client_id="c",
        ...     redirect_uri="https://app.test/cb")
        >>> auth.authorize_url
        'https://tstdrv1.app.netsuite.com/app/login/oauth2/authorize.nl'
    """
    host = _netsuite_host_id(account_id)
    options.setdefault("tenant", _netsuite_realm(account_id))
    return AuthorizationCodeAuth(
        token_url=netsuite_token_url(account_id),
        authorize_url=f"https://{host}.app.netsuite.com/app/login/oauth2/authorize.nl",
        client_id=client_id,
        redirect_uri=redirect_uri,
        client_secret=client_secret,
        scope=scope,
        client_auth="client_secret_basic",
        **options,
    )


def entra_token_url(tenant: str) -> str:
    """The Microsoft Entra ID v2.0 token endpoint for a tenant (id or domain).

    Examples:
        >>> entra_token_url("contoso.onmicrosoft.com")
        'https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token'
    """
    if not tenant or "/" in tenant:
        raise ConfigurationError(f"not an Entra tenant: {tenant!r}")
    return f"https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token"


def entra_certificate_assertion(
    *,
    tenant: str,
    client_id: str,
    private_key: PrivateKeyInput,
    certificate: str | bytes,
    algorithm: str = "PS256",
    lifetime: int = 300,
) -> JwtAssertion:
    """The Entra ID certificate credential assertion.

    Header ``alg`` (PS256 by default, RS256 selectable), ``typ`` JWT and ``x5t#S256`` = the
    base64url SHA-256 thumbprint of the certificate; claims ``aud`` = the tenant's v2.0 token
    URL, ``iss`` = ``sub`` = client id, ``jti``, ``nbf``, ``exp``.

    Examples:
        >>> from joserfc.jwk import ECKey
        >>> entra_certificate_assertion(tenant="t", client_id="c",
        ...     private_key=ECKey.generate_key("P-256"), certificate=b"", algorithm="ES256")
        Traceback (most recent call last):
        ...
        erpsa_sdk.errors.ConfigurationError: algorithm 'ES256' is not accepted here; use one of PS256, RS256
    """  # noqa: E501
    if algorithm not in ENTRA_ALGORITHMS:
        raise ConfigurationError(
            f"algorithm {algorithm!r} is not accepted here; use one of "
            f"{', '.join(sorted(ENTRA_ALGORITHMS))}"
        )
    return JwtAssertion(
        private_key=private_key,
        algorithm=algorithm,
        allowed_algorithms=ENTRA_ALGORITHMS,
        header={"x5t#S256": certificate_thumbprint_s256(certificate)},
        claims={"aud": entra_token_url(tenant), "iss": client_id, "sub": client_id},
        dynamic_claims=("jti", "nbf", "exp"),
        lifetime=lifetime,
    )


def entra_client_credentials(
    *,
    tenant: str,
    client_id: str,
    scope: str,
    client_secret: str | SecretStr | None = None,
    private_key: PrivateKeyInput | None = None,
    certificate: str | bytes | None = None,
    algorithm: str = "PS256",
    **options: Any,
) -> ClientCredentialsAuth:
    """Entra ID client credentials (Dynamics 365 / Dataverse), with a secret or a certificate.

    ``scope`` is the resource plus ``/.default``, e.g. ``https://org.crm.dynamics.com/.default``.
    No refresh token is issued; a new token is minted ahead of expiry.

    Examples:
        >>> auth = entra_client_credentials(tenant="contoso.onmicrosoft.com", client_id="app",
        ...     scope="https://org.crm.dynamics.com/.default", client_secret="s")
        >>> auth.token_url
        'https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token'
    """
    if not scope.endswith("/.default"):
        raise ConfigurationError("Entra client credentials need scope '<resource>/.default'")
    assertion = None
    if private_key is not None or certificate is not None:
        if private_key is None or certificate is None or client_secret is not None:
            raise ConfigurationError("give client_secret, or private_key together with certificate")
        assertion = entra_certificate_assertion(
            tenant=tenant,
            client_id=client_id,
            private_key=private_key,
            certificate=certificate,
            algorithm=algorithm,
        )
    options.setdefault("tenant", tenant)
    return ClientCredentialsAuth(
        token_url=entra_token_url(tenant),
        client_id=client_id,
        client_secret=client_secret,
        assertion=assertion,
        scope=scope,
        **options,
    )


def salesforce_jwt_bearer(
    *,
    consumer_key: str,
    username: str,
    private_key: PrivateKeyInput,
    login_url: str = "https://login.salesforce.com",
    token_url: str | None = None,
    lifetime: int = 180,
    **options: Any,
) -> JwtBearerAuth:
    """Salesforce OAuth 2.0 JWT bearer flow: ``iss``, ``sub``, ``aud``, ``exp``; RS256.

    ``login_url`` is the audience (``https://test.salesforce.com`` for sandboxes);
    ``token_url`` defaults to ``<login_url>/services/oauth2/token`` (use the My Domain
    host if yours needs it). The response's ``instance_url`` is kept in the stored token.

    Examples:
        >>> from joserfc.jwk import RSAKey
        >>> auth = salesforce_jwt_bearer(consumer_key="3MVG9", username="u@x.test",
        ...     private_key=RSAKey.generate_key(2048))
        >>> auth.token_url
        'https://login.salesforce.com/services/oauth2/token'
    """
    base = login_url.rstrip("/")
    assertion = JwtAssertion(
        private_key=private_key,
        algorithm="RS256",
        allowed_algorithms=("RS256",),
        claims={"iss": consumer_key, "sub": username, "aud": base},
        dynamic_claims=("exp",),
        typ=None,
        lifetime=lifetime,
    )
    options.setdefault("credential_id", f"{consumer_key}:{username}")
    return JwtBearerAuth(
        token_url=token_url or f"{base}/services/oauth2/token",
        client_id=consumer_key,
        assertion=assertion,
        **options,
    )
