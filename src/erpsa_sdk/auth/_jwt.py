"""Signed JWT assertions (RFC 7523) whose header and claims are configuration, signed by joserfc."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping
from typing import Any, Final

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey
from joserfc.util import urlsafe_b64encode
from pydantic import SecretStr

from erpsa_sdk.errors import ConfigurationError

__all__ = ["DYNAMIC_CLAIMS", "JwtAssertion", "certificate_thumbprint_s256", "load_private_key"]

#: Claims the assertion computes at signing time; everything else is static configuration.
DYNAMIC_CLAIMS: Final = frozenset({"iat", "nbf", "exp", "jti"})

# algorithm -> (key type, EC curve or None)
_ALGORITHMS: Final[dict[str, tuple[str, str | None]]] = {
    "RS256": ("RSA", None),
    "RS384": ("RSA", None),
    "RS512": ("RSA", None),
    "PS256": ("RSA", None),
    "PS384": ("RSA", None),
    "PS512": ("RSA", None),
    "ES256": ("EC", "P-256"),
    "ES384": ("EC", "P-384"),
    "ES512": ("EC", "P-521"),
}

PrivateKeyInput = str | bytes | SecretStr | RSAKey | ECKey


def load_private_key(key: PrivateKeyInput) -> RSAKey | ECKey:
    """A joserfc private key from PEM text (str, bytes or ``SecretStr``) or a joserfc key.

    Examples:
        >>> from joserfc.jwk import ECKey
        >>> load_private_key(ECKey.generate_key("P-256")).key_type
        'EC'
    """
    if isinstance(key, RSAKey | ECKey):
        loaded: Any = key
    else:
        raw = key.get_secret_value() if isinstance(key, SecretStr) else key
        data = raw.encode() if isinstance(raw, str) else raw
        try:
            # Only to learn the key type; joserfc validates the key when importing it.
            parsed = serialization.load_pem_private_key(
                data, password=None, unsafe_skip_rsa_key_validation=True
            )
            kind: type[RSAKey | ECKey] = RSAKey if isinstance(parsed, rsa.RSAPrivateKey) else ECKey
            loaded = kind.import_key(data)
        except Exception:
            # The library's message could quote the key material; say only what failed.
            raise ConfigurationError(
                "private_key is not a readable, unencrypted PEM RSA or EC private key"
            ) from None
    if not isinstance(loaded, RSAKey | ECKey) or not loaded.is_private:
        raise ConfigurationError("private_key must be an RSA or EC private key")
    return loaded


def certificate_thumbprint_s256(certificate: str | bytes) -> str:
    """The ``x5t#S256`` header value: base64url (no padding) of the certificate's SHA-256.

    Examples:
        >>> certificate_thumbprint_s256("not a certificate")
        Traceback (most recent call last):
        ...
        erpsa_sdk.errors.ConfigurationError: certificate is not a readable PEM or DER X.509 certificate
    """  # noqa: E501
    data = certificate.encode() if isinstance(certificate, str) else certificate
    try:
        cert = (
            x509.load_pem_x509_certificate(data)
            if b"-----BEGIN" in data
            else x509.load_der_x509_certificate(data)
        )
    except ValueError:
        raise ConfigurationError(
            "certificate is not a readable PEM or DER X.509 certificate"
        ) from None
    return urlsafe_b64encode(cert.fingerprint(hashes.SHA256())).decode("ascii")


class JwtAssertion:
    """A client assertion / JWT bearer grant: header and claims are configuration.

    Static claims (``iss``, ``sub``, ``aud``, ``scope``, ...) come from ``claims``; the
    time-dependent ones named in ``dynamic_claims`` (``iat``, ``nbf``, ``exp``, ``jti``) are
    computed at each :meth:`sign`. The algorithm is checked against the key at configuration
    time; joserfc only signs with algorithms listed explicitly (PS* need that).

    Parameters:
        private_key: PEM text (str, bytes or ``SecretStr``) or a joserfc RSA / EC key.
        algorithm: ``PS256``, ``ES256``, ``RS256``, ... (must fit the key).
        claims: the static claims.
        header: extra header fields (``kid``, ``x5t#S256``, ...); ``alg`` is added.
        typ: the ``typ`` header, ``"JWT"`` by default, ``None`` to leave it out.
        lifetime: seconds from ``iat`` to ``exp``.
        dynamic_claims: which of ``iat``, ``nbf``, ``exp``, ``jti`` to add.
        allowed_algorithms: restricts ``algorithm`` (a vendor preset's list).

    Examples:
        >>> from joserfc.jwk import ECKey
        >>> from joserfc import jwt
        >>> key = ECKey.generate_key("P-256")
        >>> assertion = JwtAssertion(private_key=key, algorithm="ES256",
        ...     claims={"iss": "client-1", "aud": "https://idp.test/token"}, header={"kid": "k1"})
        >>> token = jwt.decode(assertion.sign(now=1_700_000_000), key, algorithms=["ES256"])
        >>> token.header["kid"], token.claims["iss"], token.claims["exp"] - token.claims["iat"]
        ('k1', 'client-1', 300)
        >>> assertion
        JwtAssertion(algorithm='ES256', header={'kid': 'k1'}, claims=['aud', 'iss'], lifetime=300)
    """

    def __init__(
        self,
        *,
        private_key: PrivateKeyInput,
        algorithm: str,
        claims: Mapping[str, Any],
        header: Mapping[str, Any] | None = None,
        typ: str | None = "JWT",
        lifetime: int = 300,
        dynamic_claims: Collection[str] = ("iat", "exp", "jti"),
        allowed_algorithms: Collection[str] | None = None,
    ) -> None:
        if algorithm not in _ALGORITHMS:
            raise ConfigurationError(f"unsupported JWT algorithm {algorithm!r}")
        if allowed_algorithms is not None and algorithm not in allowed_algorithms:
            raise ConfigurationError(
                f"algorithm {algorithm!r} is not accepted here; use one of "
                f"{', '.join(sorted(allowed_algorithms))}"
            )
        unknown = set(dynamic_claims) - DYNAMIC_CLAIMS
        if unknown:
            raise ConfigurationError(f"unknown dynamic claims: {sorted(unknown)}")
        clash = set(claims) & DYNAMIC_CLAIMS
        if clash:
            raise ConfigurationError(f"claims {sorted(clash)} are computed; do not configure them")
        if lifetime <= 0:
            raise ConfigurationError("lifetime must be positive")
        if header and "alg" in header:
            raise ConfigurationError("set the algorithm with algorithm=, not in header")
        key = load_private_key(private_key)
        key_type, curve = _ALGORITHMS[algorithm]
        if key.key_type != key_type or (
            isinstance(key, ECKey) and curve is not None and key.curve_name != curve
        ):
            raise ConfigurationError(
                f"algorithm {algorithm} needs a {curve or key_type} key, got {key.key_type}"
            )
        self._key = key
        self.algorithm = algorithm
        self.claims: dict[str, Any] = dict(claims)
        self.header: dict[str, Any] = dict(header or {})
        self.typ = typ
        self.lifetime = lifetime
        self.dynamic_claims = tuple(c for c in ("iat", "nbf", "exp", "jti") if c in dynamic_claims)

    def claims_at(self, now: float) -> dict[str, Any]:
        """The claims :meth:`sign` would sign at ``now`` (with a fresh ``jti``).

        Examples:
            >>> from joserfc.jwk import ECKey
            >>> a = JwtAssertion(private_key=ECKey.generate_key("P-256"), algorithm="ES256",
            ...     claims={"iss": "c"}, dynamic_claims=("exp",), lifetime=60)
            >>> a.claims_at(1000.5)
            {'iss': 'c', 'exp': 1060}
        """
        issued = int(now)
        claims = dict(self.claims)
        computed: dict[str, Any] = {
            "iat": issued,
            "nbf": issued,
            "exp": issued + self.lifetime,
            "jti": uuid.uuid4().hex,
        }
        for name in self.dynamic_claims:
            claims[name] = computed[name]
        return claims

    def sign(self, *, now: float) -> str:
        """A compact JWS signed at ``now`` (POSIX seconds).

        Examples:
            >>> from joserfc.jwk import ECKey
            >>> a = JwtAssertion(private_key=ECKey.generate_key("P-256"), algorithm="ES256",
            ...     claims={"iss": "c"})
            >>> a.sign(now=0).count(".")
            2
        """
        header = {"alg": self.algorithm, **self.header}
        return jwt.encode(
            header,
            self.claims_at(now),
            self._key,
            algorithms=[self.algorithm],
            default_type=self.typ,
        )

    def __repr__(self) -> str:
        return (
            f"JwtAssertion(algorithm={self.algorithm!r}, header={self.header!r}, "
            f"claims={sorted(self.claims)!r}, lifetime={self.lifetime})"
        )
