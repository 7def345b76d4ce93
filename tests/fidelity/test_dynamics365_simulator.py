"""The Dataverse simulator against Microsoft's published examples (status, headers, keys, types).

The examples are read from the vendor-data folder (``ERPSA_VENDOR_DATA``, default
``<repo>/../shared/vendor-data``); each test skips when its file is absent. Nothing is copied:
the tests compare shapes, and exact texts where Microsoft documents the message.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx2
import pytest

from erpsa_dynamics365._core import parse_error
from erpsa_dynamics365.simulator import DataverseSimulator, SimulatorConfig
from erpsa_sdk.errors import ValidationFailed

ROOT = Path(__file__).resolve().parents[2]
VENDOR_DATA = Path(os.environ.get("ERPSA_VENDOR_DATA", ROOT.parent / "shared" / "vendor-data"))
FOLDER = VENDOR_DATA / "dynamics365"
GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
COOKIE = re.compile(r'^<cookie pagenumber="(\d+)" pagingcookie="([^"]*)" istracking="False" />$')


def _published(name: str) -> Any:
    path = FOLDER / name
    if not path.is_file():
        pytest.skip(f"vendor data not found at {path}")
    return json.loads(path.read_text(encoding="utf-8"))


def _types(node: Any) -> Any:
    """The JSON type skeleton of a value (dicts keep keys, lists keep their first item)."""
    if isinstance(node, dict):
        return {k: _types(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_types(node[0])] if node else []
    return type(node).__name__


def _client(sim: DataverseSimulator, **headers: str) -> httpx2.Client:
    return httpx2.Client(
        transport=httpx2.MockTransport(sim),
        base_url=sim.api_root,
        headers={"Authorization": sim.credentials()["authorization"], **headers},
    )


def _cookie(link: str) -> re.Match[str]:
    token = unquote(link.split("$skiptoken=", 1)[1])
    found = COOKIE.match(token)
    assert found is not None, token
    return found


def test_paged_query_matches_the_published_page() -> None:
    published = _published("dataverse_page_results_page1.json")
    sim = DataverseSimulator()
    r = _client(sim, Prefer="odata.maxpagesize=2").get("accounts?$select=name")
    assert r.status_code == 200
    assert r.headers["Preference-Applied"] == "odata.maxpagesize=2"
    assert r.headers["OData-Version"] == "4.0"
    ours = r.json()
    assert list(ours) == list(published)  # @odata.context, value, @odata.nextLink
    row, theirs = ours["value"][0], published["value"][0]
    assert [k.startswith("@") for k in row] == [k.startswith("@") for k in theirs]
    assert set(_types(row).values()) == set(_types(theirs).values()) == {"str"}
    assert re.fullmatch(r'W/"\d+"', row["@odata.etag"])
    assert re.fullmatch(r'W/"\d+"', theirs["@odata.etag"])
    ours_cookie, their_cookie = (
        _cookie(ours["@odata.nextLink"]),
        _cookie(published["@odata.nextLink"]),
    )
    assert ours_cookie.group(1) == their_cookie.group(1) == "2"
    assert unquote(their_cookie.group(2)).startswith("<cookie page=")
    assert unquote(ours_cookie.group(2)).startswith("<cookie page=")
    assert "$skiptoken=%3Ccookie%20pagenumber=" in published["@odata.nextLink"]
    assert "$skiptoken=%3Ccookie%20pagenumber%3D" in ours["@odata.nextLink"]


def test_count_with_annotations_matches_the_published_shape() -> None:
    published = _published("dataverse_count_with_annotations.json")
    sim = DataverseSimulator(config=SimulatorConfig(count_cap=2))
    prefer = (
        'odata.maxpagesize=2,odata.include-annotations="Microsoft.Dynamics.CRM.totalrecordcount,'
        'Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded"'
    )
    r = _client(sim, Prefer=prefer).get(
        "accounts?$select=name&$filter=contains(name,'o')&$count=true"
    )
    ours = r.json()
    assert set(ours) == set(published)
    for key in (
        "@odata.count",
        "@Microsoft.Dynamics.CRM.totalrecordcount",
        "@Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded",
    ):
        assert type(ours[key]) is type(published[key]), key
    assert ours["@Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded"] is True


def _row_id(sim: DataverseSimulator) -> str:
    return str(sim.admin.rows("account")[0]["id"])


def test_update_only_upsert_of_a_missing_row_matches_the_published_404() -> None:
    published = _published("dataverse_error_404_upsert_if_match.json")
    sim = DataverseSimulator()
    missing = "00000000-0000-0000-0000-000000000001"
    r = _client(sim, **{"If-Match": "*"}).patch(f"accounts({missing})", json={"name": "x"})
    assert r.status_code == 404
    assert r.json() == published  # the same id, the same text, the empty code


def test_create_only_upsert_of_an_existing_row_matches_the_published_412() -> None:
    published = _published("dataverse_error_412_upsert_if_none_match.json")
    sim = DataverseSimulator()
    r = _client(sim, **{"If-None-Match": "*"}).patch(
        f"accounts({_row_id(sim)})", json={"name": "x"}
    )
    assert r.status_code == 412
    assert r.json() == published


def test_etag_mismatch_matches_the_published_412() -> None:
    published = _published("dataverse_error_412_etag_mismatch.json")
    sim = DataverseSimulator()
    r = _client(sim, **{"If-Match": 'W/"1"'}).patch(f"accounts({_row_id(sim)})", json={"name": "x"})
    assert r.status_code == 412
    assert r.json() == published


def test_entra_invalid_scope_matches_the_published_error() -> None:
    published = _published("entra_token_error_invalid_scope.json")
    sim = DataverseSimulator()
    r = httpx2.Client(transport=httpx2.MockTransport(sim)).post(
        sim.token_url(),
        data={
            "grant_type": "client_credentials",
            "client_id": sim.client_id,
            "client_secret": sim.client_secret,
            "scope": "https://foo.microsoft.com/.default",
        },
    )
    assert r.status_code == 400
    ours = r.json()
    assert _types(ours) == _types(published)
    assert ours["error"] == published["error"]
    assert ours["error_codes"] == published["error_codes"]
    assert ours["error_description"].split(": ")[0] == published["error_description"].split(": ")[0]
    assert "The scope https://foo.microsoft.com/.default is not valid." in ours["error_description"]
    for key in ("trace_id", "correlation_id"):
        assert GUID.fullmatch(ours[key])


def test_the_published_plugin_error_body_is_parsed_with_its_annotations() -> None:
    path = FOLDER / "dataverse_error_400_plugin_with_annotations_VERBATIM.txt"
    if not path.is_file():
        pytest.skip(f"vendor data not found at {path}")
    text = path.read_text(encoding="utf-8")
    body = text[text.index("{") :]
    # As published the body lacks a comma after TraceText; a real server sends valid JSON.
    repaired = re.sub(r'("\s*)\n(\s*"@Microsoft\.PowerApps\.CDS\.InnerError)', r"\1,\n\2", body)
    err = parse_error(
        httpx2.Response(
            400, content=repaired.encode(), headers={"Content-Type": "application/json"}
        )
    )
    assert isinstance(err, ValidationFailed)
    assert err.vendor_code == "0x80040265"
    assert str(err).startswith("Example Error Message.")
    assert "@Microsoft.PowerApps.CDS.HelpLink" in err.details[0]
    # Unrepaired (invalid JSON), the transport's generic classification takes over.
    assert parse_error(httpx2.Response(400, content=body.encode())) is None
