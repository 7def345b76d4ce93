"""OAuth1Auth (TBA, HMAC-SHA256): agrees with oauthlib on random inputs; works as a flow."""

from __future__ import annotations

import asyncio
import urllib.parse

import httpx2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from oauthlib.oauth1 import SIGNATURE_HMAC_SHA256, Client

from erpsa_sdk.auth import OAuth1Auth
from erpsa_sdk.clock import SimClock
from erpsa_sdk.errors import AuthError, ConfigurationError


def _params(header: str) -> dict[str, str]:
    pairs = (part.strip().split("=", 1) for part in header[len("OAuth ") :].split(","))
    return {k: urllib.parse.unquote(v.strip('"')) for k, v in pairs}


_text = st.text(
    alphabet=st.characters(min_codepoint=33, max_codepoint=0x24F, exclude_characters="\x7f"),
    min_size=1,
    max_size=24,
)
_name = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.",
    min_size=1,
    max_size=12,
)
# Names starting with "oauth_" are refused (see the typed-error test below), as oauthlib does.
_query = st.lists(st.tuples(_name.filter(lambda n: not n.startswith("oauth_")), _text), max_size=5)


@settings(max_examples=150, deadline=None)
@given(
    method=st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE"]),
    host=st.sampled_from(["123456.suitetalk.api.netsuite.com", "x.test:8443", "EXAMPLE.test"]),
    path=st.lists(_name, max_size=4),
    query=_query,
    form=st.none() | _query,
    consumer_key=_name,
    consumer_secret=_text,
    token=_name,
    token_secret=_text,
    nonce=st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=6, max_size=32),
    timestamp=st.integers(min_value=1, max_value=4_000_000_000).map(str),
    realm=st.none() | st.sampled_from(["123456", "1234567_SB1"]),
)
def test_signature_matches_oauthlib(
    method: str,
    host: str,
    path: list[str],
    query: list[tuple[str, str]],
    form: list[tuple[str, str]] | None,
    consumer_key: str,
    consumer_secret: str,
    token: str,
    token_secret: str,
    nonce: str,
    timestamp: str,
    realm: str | None,
) -> None:
    if method == "GET":
        form = None  # a GET has no body to sign
    url = f"https://{host}/" + "/".join(path)
    if query:
        url += "?" + urllib.parse.urlencode(query, quote_via=urllib.parse.quote)
    body = urllib.parse.urlencode(form, quote_via=urllib.parse.quote) if form else ""
    content_type = "application/x-www-form-urlencoded" if form else None
    ours = OAuth1Auth(
        consumer_key=consumer_key,
        consumer_secret=consumer_secret,
        token=token,
        token_secret=token_secret,
        realm=realm,
    ).authorization_header(
        method,
        url,
        body=body.encode(),
        content_type=content_type,
        nonce=nonce,
        timestamp=timestamp,
    )
    reference = Client(
        consumer_key,
        client_secret=consumer_secret,
        resource_owner_key=token,
        resource_owner_secret=token_secret,
        signature_method=SIGNATURE_HMAC_SHA256,
        realm=realm,
        nonce=nonce,
        timestamp=timestamp,
    )
    headers = {"Content-Type": content_type} if content_type else {}
    _, signed, _ = reference.sign(url, method, body=body or None, headers=headers)
    expected = _params(signed["Authorization"])
    got = _params(ours)
    assert got["oauth_signature"] == expected["oauth_signature"]
    assert got == expected


def _tba(**kwargs: object) -> OAuth1Auth:
    options: dict[str, object] = {
        "consumer_key": "ck",
        "consumer_secret": "CS-SECRET",
        "token": "TOKEN-ID",
        "token_secret": "TS-SECRET",
        "realm": "123456",
    }
    options.update(kwargs)
    return OAuth1Auth(**options)  # type: ignore[arg-type]


def test_flow_signs_each_request_with_clock_time_and_fresh_nonce() -> None:
    clock = SimClock()
    seen: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return httpx2.Response(200)

    client = httpx2.Client(transport=httpx2.MockTransport(handler), auth=_tba(clock=clock))
    client.get("https://123456.suitetalk.api.netsuite.com/services/rest/record/v1/employee/40")
    clock.advance(5)
    client.post("https://x.test/r", json={"a": 1})
    first, second = (_params(r.headers["Authorization"]) for r in seen)
    assert first["oauth_timestamp"] == str(int(clock.time()) - 5)
    assert second["oauth_timestamp"] == str(int(clock.time()))
    assert first["oauth_nonce"] != second["oauth_nonce"]
    assert first["realm"] == "123456"


def test_form_body_is_signed_json_body_is_not() -> None:
    auth = _tba()
    url = "https://x.test/r"
    json_a = auth.authorization_header(
        "POST", url, body=b'{"a":1}', content_type="application/json", nonce="n", timestamp="1"
    )
    json_b = auth.authorization_header(
        "POST", url, body=b'{"a":2}', content_type="application/json", nonce="n", timestamp="1"
    )
    form_a = auth.authorization_header(
        "POST",
        url,
        body=b"a=1",
        content_type="application/x-www-form-urlencoded",
        nonce="n",
        timestamp="1",
    )
    form_b = auth.authorization_header(
        "POST",
        url,
        body=b"a=2",
        content_type="application/x-www-form-urlencoded",
        nonce="n",
        timestamp="1",
    )
    assert json_a == json_b
    assert form_a != form_b


def test_tba_401_raises_without_retry() -> None:
    calls: list[int] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        calls.append(1)
        return httpx2.Response(401, json={"o:errorCode": "INVALID_LOGIN"})

    async def main() -> None:
        transport = httpx2.MockTransport(handler)
        async with httpx2.AsyncClient(transport=transport, auth=_tba()) as client:
            await client.get("https://x.test/r")

    with pytest.raises(AuthError) as info:
        asyncio.run(main())
    assert calls == [1]
    assert info.value.tenant == "123456"


def test_tba_configuration_and_repr() -> None:
    with pytest.raises(ConfigurationError):
        _tba(consumer_secret="")
    with pytest.raises(ConfigurationError):
        _tba(consumer_key="")
    with pytest.raises(ConfigurationError):
        _tba(realm=None).token_passport()
    text = repr(_tba()) + repr(_tba().token_passport())
    for secret in ("CS-SECRET", "TS-SECRET", "TOKEN-ID"):
        assert secret not in text


@pytest.mark.parametrize(
    ("url", "body"),
    [
        ("https://x.test/r?oauth_=0", b""),
        ("https://x.test/r?oauth_token=stolen", b""),
        ("https://x.test/r", b"oauth_nonce=1&a=2"),
    ],
)
def test_a_request_carrying_oauth_parameters_gets_a_typed_error(url: str, body: bytes) -> None:
    auth = OAuth1Auth(consumer_key="ck", consumer_secret="cs-secret", token="tk", token_secret="ts")
    content_type = "application/x-www-form-urlencoded" if body else None
    with pytest.raises(ConfigurationError, match="must not carry") as info:
        auth.authorization_header("POST", url, body=body, content_type=content_type)
    assert "cs-secret" not in str(info.value)
    assert "stolen" not in str(info.value)
