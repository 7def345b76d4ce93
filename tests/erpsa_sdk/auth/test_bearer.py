"""erpsa_sdk.auth.bearer: the one shared bearer helper the connectors re-export."""

from __future__ import annotations

import httpx2
import pytest

from erpsa_sdk.auth import StaticBearerAuth, bearer
from erpsa_sdk.errors import AuthError


def _client(auth: httpx2.Auth, status: int = 200) -> httpx2.Client:
    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(status, text=request.headers.get("Authorization", ""))

    return httpx2.Client(transport=httpx2.MockTransport(handler), auth=auth)


def test_sends_the_token_and_hides_it() -> None:
    auth = bearer("s3cret-token", tenant="acme")
    assert isinstance(auth, StaticBearerAuth)
    assert _client(auth).get("https://api.test/").text == "Bearer s3cret-token"
    assert "s3cret-token" not in repr(auth)


def test_a_401_raises_at_once_naming_the_tenant_not_the_token() -> None:
    with pytest.raises(AuthError) as info:
        _client(bearer("s3cret-token", tenant="acme"), status=401).get("https://api.test/")
    assert info.value.tenant == "acme"
    assert "s3cret-token" not in str(info.value)


@pytest.mark.parametrize("module", ["erpsa_netsuite", "erpsa_dynamics365"])
def test_connectors_reexport_the_core_helper(module: str) -> None:
    # Existing code imports ``bearer`` from the connector packages; it must be the core one.
    imported = __import__(module)
    assert imported.bearer is bearer
