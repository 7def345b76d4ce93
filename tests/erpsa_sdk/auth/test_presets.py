"""Vendor presets: assertions verify with the public key and carry exactly the documented fields."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import httpx2
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey

from erpsa_sdk.auth.presets import (
    entra_certificate_assertion,
    entra_client_credentials,
    netsuite_authorization_code,
    netsuite_m2m,
    netsuite_m2m_assertion,
    netsuite_tba,
    netsuite_token_url,
    salesforce_jwt_bearer,
)
from erpsa_sdk.clock import SimClock
from erpsa_sdk.errors import ConfigurationError

from .conftest import KeyPair

NOW = 1_767_225_600.0  # 2026-01-01T00:00:00Z, the SimClock default


def _decode(part: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return data


def _segments(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    header, claims, _ = token.split(".")
    return _decode(header), _decode(claims)


def _ec_pem(curve: ec.EllipticCurve) -> str:
    key = ec.generate_private_key(curve)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


# -- NetSuite M2M ---------------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", ["PS256", "PS384", "PS512", "ES256", "ES384", "ES512"])
def test_netsuite_assertion_verifies_and_has_exactly_the_documented_fields(
    algorithm: str, rsa_keys: KeyPair
) -> None:
    if algorithm.startswith("PS"):
        private = rsa_keys.private_pem
    else:
        private = _ec_pem(
            {"ES256": ec.SECP256R1(), "ES384": ec.SECP384R1(), "ES512": ec.SECP521R1()}[algorithm]
        )
    assertion = netsuite_m2m_assertion(
        account_id="1234567_SB1",
        client_id="client-abc",
        certificate_id="cert-kid-1",
        private_key=private,
        scope=["restlets", "rest_webservices"],
        algorithm=algorithm,
    )
    signed = assertion.sign(now=NOW)
    key = RSAKey.import_key(private) if algorithm.startswith("PS") else ECKey.import_key(private)
    public = key.as_dict(private=False)
    token = jwt.decode(signed, type(key).import_key(public), algorithms=[algorithm])
    assert token.header == {"typ": "JWT", "alg": algorithm, "kid": "cert-kid-1"}
    assert set(token.claims) == {"iss", "scope", "aud", "iat", "exp", "jti"}
    assert token.claims["iss"] == "client-abc"
    assert token.claims["scope"] == ["restlets", "rest_webservices"]
    assert token.claims["aud"] == netsuite_token_url("1234567_SB1")
    assert token.claims["aud"].startswith("https://1234567-sb1.suitetalk.api.netsuite.com/")
    assert token.claims["iat"] == int(NOW)
    assert token.claims["iat"] < token.claims["exp"] < token.claims["iat"] + 3600
    assert token.claims["jti"] != _segments(assertion.sign(now=NOW))[1]["jti"]


def test_netsuite_ps256_is_real_pss_signature(rsa_keys: KeyPair) -> None:
    """Independent check with `cryptography`: RSASSA-PSS, SHA-256, MGF1, salt = 32."""
    signed = netsuite_m2m_assertion(
        account_id="1",
        client_id="c",
        certificate_id="k",
        private_key=rsa_keys.private_pem,
    ).sign(now=NOW)
    head, body, sig = signed.split(".")
    public = serialization.load_pem_public_key(rsa_keys.public_pem.encode())
    assert isinstance(public, rsa.RSAPublicKey)
    public.verify(
        base64.urlsafe_b64decode(sig + "=" * (-len(sig) % 4)),
        f"{head}.{body}".encode(),
        padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32),
        hashes.SHA256(),
    )


def test_netsuite_scope_as_comma_string(ec_keys: KeyPair) -> None:
    signed = netsuite_m2m_assertion(
        account_id="1",
        client_id="c",
        certificate_id="k",
        private_key=ec_keys.private_pem,
        algorithm="ES256",
        scope="restlets,rest_webservices",
    ).sign(now=NOW)
    assert _segments(signed)[1]["scope"] == "restlets,rest_webservices"


@pytest.mark.parametrize(
    "changes",
    [
        {"algorithm": "RS256"},  # NetSuite does not accept RS256
        {"algorithm": "HS256"},
        {"algorithm": "ES256"},  # RSA key given
        {"lifetime": 3600},  # exp must be < iat + 60 min
        {"scope": []},
        {"certificate_id": ""},
        {"account_id": "bad/acct"},
    ],
)
def test_netsuite_preset_refuses_bad_configuration(
    changes: dict[str, Any], rsa_keys: KeyPair
) -> None:
    options: dict[str, Any] = {
        "account_id": "1",
        "client_id": "c",
        "certificate_id": "k",
        "private_key": rsa_keys.private_pem,
    }
    options.update(changes)
    with pytest.raises(ConfigurationError):
        netsuite_m2m_assertion(**options)
    with pytest.raises(ConfigurationError):
        netsuite_m2m(**options)


def test_netsuite_m2m_token_request_form(ec_keys: KeyPair) -> None:
    forms: list[dict[str, str]] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        if request.url.path.endswith("/token"):
            forms.append(dict(httpx2.QueryParams(request.content.decode())))
            return httpx2.Response(
                200, json={"access_token": "x.y.z", "expires_in": 3600, "token_type": "Bearer"}
            )
        return httpx2.Response(200)

    auth = netsuite_m2m(
        account_id="TSTDRV1",
        client_id="c1",
        certificate_id="cert1",
        private_key=ec_keys.private_pem,
        algorithm="ES256",
        clock=SimClock(),
    )
    httpx2.Client(transport=httpx2.MockTransport(handler), auth=auth).get(
        "https://tstdrv1.suitetalk.api.netsuite.com/services/rest/record/v1/customer"
    )
    assert set(forms[0]) == {"grant_type", "client_assertion_type", "client_assertion"}
    assert forms[0]["grant_type"] == "client_credentials"
    assert forms[0]["client_assertion_type"] == (
        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    )
    public = ECKey.import_key(ECKey.import_key(ec_keys.private_pem).as_dict(private=False))
    claims = jwt.decode(forms[0]["client_assertion"], public, algorithms=["ES256"]).claims
    assert claims["aud"] == netsuite_token_url("TSTDRV1")
    assert claims["iat"] == int(NOW)


def test_netsuite_other_presets() -> None:
    tba = netsuite_tba(
        account_id="1234567_sb1",
        consumer_key="ck",
        consumer_secret="cs",
        token_id="t",
        token_secret="ts",
    )
    assert tba.realm == "1234567_SB1"
    code = netsuite_authorization_code(
        account_id="1234567_SB1", client_id="c", redirect_uri="https://app.test/cb"
    )
    assert code.token_url == netsuite_token_url("1234567_SB1")
    assert code.tenant == "1234567_SB1"
    start = httpx2.URL(code.start().url)
    assert start.host == "1234567-sb1.app.netsuite.com"
    assert start.params["scope"] == "rest_webservices"


# -- Entra ID ---------------------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", ["PS256", "RS256"])
def test_entra_assertion_verifies_and_has_exactly_the_documented_fields(
    algorithm: str, rsa_keys: KeyPair, self_signed_cert: str
) -> None:
    assertion = entra_certificate_assertion(
        tenant="contoso.onmicrosoft.com",
        client_id="app-guid",
        private_key=rsa_keys.private_pem,
        certificate=self_signed_cert,
        algorithm=algorithm,
    )
    public = RSAKey.import_key(rsa_keys.public_pem)
    token = jwt.decode(assertion.sign(now=NOW), public, algorithms=[algorithm])
    der = x509.load_pem_x509_certificate(self_signed_cert.encode()).public_bytes(
        serialization.Encoding.DER
    )
    thumbprint = base64.urlsafe_b64encode(hashlib.sha256(der).digest()).rstrip(b"=").decode()
    assert token.header == {"typ": "JWT", "alg": algorithm, "x5t#S256": thumbprint}
    assert set(token.claims) == {"aud", "iss", "sub", "jti", "nbf", "exp"}
    assert token.claims["aud"] == (
        "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token"
    )
    assert token.claims["iss"] == token.claims["sub"] == "app-guid"
    assert token.claims["nbf"] == int(NOW)
    assert token.claims["exp"] > token.claims["nbf"]


def test_entra_default_is_ps256(rsa_keys: KeyPair, self_signed_cert: str) -> None:
    assertion = entra_certificate_assertion(
        tenant="t", client_id="c", private_key=rsa_keys.private_pem, certificate=self_signed_cert
    )
    assert _segments(assertion.sign(now=NOW))[0]["alg"] == "PS256"


def test_entra_client_credentials_with_certificate(
    rsa_keys: KeyPair, self_signed_cert: str
) -> None:
    forms: list[dict[str, str]] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        if request.url.host == "login.microsoftonline.com":
            forms.append(dict(httpx2.QueryParams(request.content.decode())))
            return httpx2.Response(
                200, json={"token_type": "Bearer", "expires_in": 3599, "access_token": "eyJ"}
            )
        return httpx2.Response(200)

    auth = entra_client_credentials(
        tenant="contoso.onmicrosoft.com",
        client_id="app-guid",
        scope="https://org.crm.dynamics.com/.default",
        private_key=rsa_keys.private_pem,
        certificate=self_signed_cert,
    )
    httpx2.Client(transport=httpx2.MockTransport(handler), auth=auth).get(
        "https://org.crm.dynamics.com/api/data/v9.2/accounts"
    )
    assert set(forms[0]) == {
        "grant_type",
        "scope",
        "client_id",
        "client_assertion_type",
        "client_assertion",
    }
    assert forms[0]["scope"] == "https://org.crm.dynamics.com/.default"
    assert auth.key.tenant == "contoso.onmicrosoft.com"


@pytest.mark.parametrize(
    "changes",
    [
        {"scope": "https://org.crm.dynamics.com/user_impersonation"},
        {"client_secret": None},  # nothing to authenticate with
        {"private_key": "PEM"},  # a key without its certificate (and a secret as well)
        {"tenant": "a/b"},
    ],
)
def test_entra_preset_refuses_bad_configuration(changes: dict[str, Any]) -> None:
    options: dict[str, Any] = {
        "tenant": "t",
        "client_id": "c",
        "scope": "https://org.crm.dynamics.com/.default",
        "client_secret": "s",
    }
    options.update(changes)
    with pytest.raises(ConfigurationError):
        entra_client_credentials(**options)


def test_entra_refuses_es256_and_bad_certificate(ec_keys: KeyPair, rsa_keys: KeyPair) -> None:
    with pytest.raises(ConfigurationError):
        entra_certificate_assertion(
            tenant="t",
            client_id="c",
            private_key=ec_keys.private_pem,
            certificate=b"",
            algorithm="ES256",
        )
    with pytest.raises(ConfigurationError, match="certificate"):
        entra_certificate_assertion(
            tenant="t", client_id="c", private_key=rsa_keys.private_pem, certificate="junk"
        )


# -- Salesforce JWT bearer ------------------------------------------------------------------------


def test_salesforce_jwt_bearer_assertion_and_grant(rsa_keys: KeyPair) -> None:
    forms: list[dict[str, str]] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        if request.url.path == "/services/oauth2/token":
            forms.append(dict(httpx2.QueryParams(request.content.decode())))
            return httpx2.Response(
                200,
                json={
                    "access_token": "00D!AQ",
                    "instance_url": "https://na1.my.salesforce.com",
                    "token_type": "Bearer",
                    "signature": "SIG=",
                },
            )
        return httpx2.Response(200)

    auth = salesforce_jwt_bearer(
        consumer_key="3MVG9",
        username="int@acme.test",
        private_key=rsa_keys.private_pem,
        clock=SimClock(),
    )
    httpx2.Client(transport=httpx2.MockTransport(handler), auth=auth).get(
        "https://na1.my.salesforce.com/services/data/v62.0/sobjects"
    )
    assert set(forms[0]) == {"grant_type", "assertion"}
    assert forms[0]["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
    token = jwt.decode(
        forms[0]["assertion"], RSAKey.import_key(rsa_keys.public_pem), algorithms=["RS256"]
    )
    assert token.header == {"alg": "RS256"}
    assert token.claims == {
        "iss": "3MVG9",
        "sub": "int@acme.test",
        "aud": "https://login.salesforce.com",
        "exp": int(NOW) + 180,
    }
    stored = auth.store.get(auth.key)
    assert stored is not None
    assert stored.token.extra == {"instance_url": "https://na1.my.salesforce.com"}
