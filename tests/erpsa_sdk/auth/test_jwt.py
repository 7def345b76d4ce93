"""JwtAssertion: configuration checks and signing details."""

from __future__ import annotations

from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey
from pydantic import SecretStr

from erpsa_sdk.auth import JwtAssertion, load_private_key
from erpsa_sdk.errors import ConfigurationError

from .conftest import KeyPair


def test_pem_in_a_secretstr_and_bytes(rsa_keys: KeyPair) -> None:
    for form in (SecretStr(rsa_keys.private_pem), rsa_keys.private_pem.encode()):
        assert load_private_key(form).key_type == "RSA"


def test_unreadable_key_error_does_not_echo_it() -> None:
    junk = "-----BEGIN PRIVATE KEY-----\nSECRETMATERIAL\n-----END PRIVATE KEY-----"
    with pytest.raises(ConfigurationError) as info:
        load_private_key(junk)
    assert "SECRETMATERIAL" not in str(info.value)


def test_public_key_is_refused(rsa_keys: KeyPair) -> None:
    with pytest.raises(ConfigurationError):
        load_private_key(RSAKey.import_key(rsa_keys.public_pem))


@pytest.mark.parametrize(
    "changes",
    [
        {"algorithm": "ES256"},  # RSA key
        {"algorithm": "none"},
        {"claims": {"exp": 1}},
        {"header": {"alg": "RS256"}},
        {"dynamic_claims": ("iat", "auth_time")},
        {"lifetime": 0},
        {"allowed_algorithms": ("PS512",)},
    ],
)
def test_bad_configuration_is_refused(changes: dict[str, Any], rsa_keys: KeyPair) -> None:
    options: dict[str, Any] = {
        "private_key": rsa_keys.private_pem,
        "algorithm": "PS256",
        "claims": {"iss": "c"},
    }
    options.update(changes)
    with pytest.raises(ConfigurationError):
        JwtAssertion(**options)


def test_es512_needs_p521_curve() -> None:
    with pytest.raises(ConfigurationError, match="P-521"):
        JwtAssertion(private_key=ECKey.generate_key("P-256"), algorithm="ES512", claims={})
    key = ECKey.generate_key("P-521")
    signed = JwtAssertion(private_key=key, algorithm="ES512", claims={"iss": "c"}).sign(now=5)
    assert jwt.decode(signed, key, algorithms=["ES512"]).claims["exp"] == 305


def test_no_typ_header_when_asked(rsa_keys: KeyPair) -> None:
    key = RSAKey.import_key(rsa_keys.private_pem)
    signed = JwtAssertion(private_key=key, algorithm="RS256", claims={}, typ=None).sign(now=0)
    assert jwt.decode(signed, key, algorithms=["RS256"]).header == {"alg": "RS256"}


def test_repr_hides_the_key(rsa_keys: KeyPair) -> None:
    text = repr(JwtAssertion(private_key=rsa_keys.private_pem, algorithm="PS256", claims={}))
    assert "PRIVATE" not in text
    assert "PS256" in text
