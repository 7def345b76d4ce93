"""BasicAuth and StaticBearerAuth: headers, redacted reprs, a 401 raises at once."""

from __future__ import annotations

import asyncio
import base64

import httpx2
import pytest

from erpsa_sdk.auth import BasicAuth, StaticBearerAuth
from erpsa_sdk.errors import AuthError, ConfigurationError


def _recording(status: int = 200) -> tuple[httpx2.MockTransport, list[httpx2.Request]]:
    seen: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return httpx2.Response(status, headers={"WWW-Authenticate": 'Bearer error="revoked"'})

    return httpx2.MockTransport(handler), seen


def test_basic_sends_rfc7617_header() -> None:
    transport, seen = _recording()
    httpx2.Client(transport=transport, auth=BasicAuth("ISU", "pä:ss")).get("https://x.test/a")
    scheme, value = seen[0].headers["Authorization"].split(" ")
    assert scheme == "Basic"
    assert base64.b64decode(value).decode() == "ISU:pä:ss"


def test_basic_401_raises_auth_error_without_retry() -> None:
    transport, seen = _recording(401)
    client = httpx2.Client(transport=transport, auth=BasicAuth("ISU", "pw", tenant="acme"))
    with pytest.raises(AuthError) as info:
        client.get("https://x.test/a?secret=q")
    assert len(seen) == 1
    assert info.value.status == 401
    assert info.value.tenant == "acme"
    assert "secret=q" not in str(info.value)  # the query is dropped from the message


def test_static_bearer_sets_token_and_401_raises_at_once() -> None:
    transport, seen = _recording(401)
    client = httpx2.Client(transport=transport, auth=StaticBearerAuth("tok-abc"))
    with pytest.raises(AuthError) as info:
        client.get("https://x.test/a")
    assert len(seen) == 1  # never refreshed, never retried
    assert seen[0].headers["Authorization"] == "Bearer tok-abc"
    assert info.value.vendor_code == "revoked"
    assert "tok-abc" not in str(info.value)


def test_static_bearer_can_hand_the_401_back() -> None:
    transport, _ = _recording(401)
    auth = StaticBearerAuth("tok", raise_on_unauthorized=False)
    assert httpx2.Client(transport=transport, auth=auth).get("https://x.test/").status_code == 401


def test_static_bearer_async_client() -> None:
    transport, seen = _recording(200)

    async def main() -> int:
        async with httpx2.AsyncClient(transport=transport, auth=StaticBearerAuth("t")) as client:
            return (await client.get("https://x.test/")).status_code

    assert asyncio.run(main()) == 200
    assert seen[0].headers["Authorization"] == "Bearer t"


@pytest.mark.parametrize(
    "build",
    [lambda: BasicAuth("", "p"), lambda: BasicAuth("a:b", "p"), lambda: BasicAuth("u", "")],
)
def test_basic_refuses_bad_configuration(build: object) -> None:
    with pytest.raises(ConfigurationError):
        build()  # type: ignore[operator]


def test_reprs_redact() -> None:
    assert "pw-123" not in repr(BasicAuth("u", "pw-123"))
    assert "tok-123" not in repr(StaticBearerAuth("tok-123"))
    with pytest.raises(ConfigurationError):
        StaticBearerAuth("")
