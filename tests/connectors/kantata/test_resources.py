"""Envelope and error parsing (property-tested), and the per-type resource specs."""

from __future__ import annotations

import json
from typing import Any

import httpx2
import pytest
from hypothesis import given
from hypothesis import strategies as st

from erpsa_kantata.resources import (
    RESOURCES,
    decoded_json,
    parse_envelope,
    parse_error,
    spec_for,
)
from erpsa_kantata.simulator import parse_rails_form
from erpsa_sdk.errors import (
    AuthError,
    ErpsaError,
    NotFoundError,
    RateLimited,
    ResponseFormatError,
    ServerError,
    ValidationFailed,
)
from erpsa_sdk.http.classify import parse_json

REQ = httpx2.Request("GET", "https://api.mavenlink.com/api/v1/time_entries")
ids = st.lists(st.integers(min_value=1, max_value=10**9).map(str), unique=True, max_size=30)


@given(ids=ids, extra=ids)
def test_records_follow_results_not_the_maps(ids: list[str], extra: list[str]) -> None:
    side = [i for i in extra if i not in ids]
    body: dict[str, Any] = {
        "count": len(ids),
        "results": [{"key": "stories", "id": i} for i in reversed(ids)],
        # The map mixes requested and side-loaded stories (sub_stories): never iterate it.
        "stories": {i: {"id": i} for i in [*side, *ids]},
        "meta": {"count": len(ids), "page_count": 1, "page_number": 1, "page_size": 200},
    }
    env = parse_envelope(body)
    assert [r["id"] for r in env.records()] == list(reversed(ids))
    assert env.last_page


@pytest.mark.parametrize(
    "body",
    [
        [],
        {"results": "x"},
        {"results": [{"key": "users"}]},
        {"results": [{"key": "users", "id": "1"}]},
        {"errors": [{"type": "system", "message": "x"}]},
    ],
)
def test_malformed_envelopes_are_format_errors(body: Any) -> None:
    with pytest.raises(ResponseFormatError):
        parse_envelope(body)


@pytest.mark.parametrize(
    ("status", "kind", "cls"),
    [
        (401, "oauth", AuthError),
        (404, "system", NotFoundError),
        (422, "validation", ValidationFailed),
        (400, "system", ValidationFailed),
        (429, "system", RateLimited),
        (503, "system", ServerError),
        (403, "system", Exception),
    ],
)
def test_vendor_errors_map_onto_the_tree(status: int, kind: str, cls: type[Exception]) -> None:
    body = {"errors": [{"type": kind, "message": "m", "field": "title"}]}
    err = parse_error(httpx2.Response(status, json=body, request=REQ))
    assert isinstance(err, cls)
    assert isinstance(err, ErpsaError)
    assert err.details == body["errors"]  # type: ignore[union-attr]
    assert "title: m" in str(err)


@given(status=st.integers(min_value=100, max_value=599), text=st.text(max_size=50))
def test_parse_error_never_raises(status: int, text: str) -> None:
    result = parse_error(httpx2.Response(status, text=text, request=REQ))
    assert result is None or isinstance(result, ErpsaError)
    if status < 400:
        assert result is None or isinstance(result, ResponseFormatError)


def test_a_200_with_errors_is_an_error() -> None:
    resp = httpx2.Response(200, json={"errors": [{"type": "system", "message": "x"}]}, request=REQ)
    assert isinstance(parse_error(resp), ResponseFormatError)


def test_a_200_with_an_escaped_errors_key_is_still_an_error() -> None:
    body = b'{"\\u0065rrors": [{"type": "system", "message": "x"}]}'
    resp = httpx2.Response(200, content=body, request=REQ)
    assert isinstance(parse_error(resp), ResponseFormatError)


@given(
    body=st.dictionaries(
        st.sampled_from(["errors", "results", "count", "meta", "time_entries"]),
        st.one_of(st.none(), st.integers(), st.lists(st.text(max_size=5), max_size=2)),
        max_size=4,
    ),
    ascii_only=st.booleans(),
)
def test_a_200_verdict_matches_decoding_the_body(body: dict[str, Any], ascii_only: bool) -> None:
    # The error parser decodes every 200 body (the reader reuses it); the verdict is the
    # one a full decode gives, whatever the encoding of the key.
    content = json.dumps(body, ensure_ascii=ascii_only).encode()
    if not ascii_only:
        content = content.replace(b'"errors"', b'"\\u0065rrors"')
    resp = httpx2.Response(200, content=content, request=REQ)
    expected = "errors" in body and "results" not in body
    assert isinstance(parse_error(resp), ResponseFormatError) is expected


def _outcome(read: Any, resp: httpx2.Response) -> Any:
    try:
        return ("ok", repr(read(resp)))  # repr: NaN equals itself
    except ResponseFormatError as exc:
        return ("error", str(exc))


@given(
    content=st.one_of(
        st.builds(
            lambda d: json.dumps(d).encode(),
            st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
        ),
        st.binary(max_size=30),
        st.sampled_from([b"", b"<html>login</html>", b"\xef\xbb\xbf{}", b'{"a": NaN}']),
    ),
    ctype=st.sampled_from(["application/json", "text/html", ""]),
)
def test_a_passed_200_reads_as_parse_json_would(content: bytes, ctype: str) -> None:
    # The reader takes the body the error parser decoded: same value, same errors, as decoding
    # the response again; a response that never went through parse_error decodes itself.
    def response() -> httpx2.Response:
        headers = {"content-type": ctype} if ctype else {}
        return httpx2.Response(200, content=content, headers=headers, request=REQ)

    checked = response()
    if parse_error(checked) is None:
        assert _outcome(decoded_json, checked) == _outcome(parse_json, response())
    assert _outcome(decoded_json, response()) == _outcome(parse_json, response())


@given(
    values=st.dictionaries(
        st.from_regex(r"[a-z_]{1,12}", fullmatch=True),
        st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=20),
        max_size=8,
    )
)
def test_rails_form_round_trip(values: dict[str, str]) -> None:
    from urllib.parse import urlencode

    body = urlencode({f"time_entry[{k}]": v for k, v in values.items()})
    assert parse_rails_form(body) == ({"time_entry": values} if values else {})


def test_specs() -> None:
    assert spec_for("TimeEntry").list_filters == {"from_archived_workspaces": "true"}
    assert RESOURCES["Project"].create_defaults == {"creator_role": "maven"}
    with pytest.raises(ErpsaError, match="no mapping"):
        spec_for("RevenueEvent")
