"""``erpsa simulate``: one JSON line, then a plain httpx2 client pages through the simulator."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import httpx2
import pytest
from typer.testing import CliRunner

from erpsa_sdk.cli import app
from erpsa_sdk.testing.loopback import free_port

CLI = [sys.executable, "-c", "from erpsa_sdk.cli import main; main()"]


def test_prints_one_json_line_and_a_plain_client_pages_through() -> None:
    pytest.importorskip("acme_psa_erp", reason="install examples/third_party_connector")
    port = free_port()
    proc = subprocess.Popen(
        [*CLI, "simulate", "acmepsa", "--port", str(port), "--seed", "3"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ},
    )
    try:
        assert proc.stdout is not None
        line = json.loads(proc.stdout.readline())
        assert set(line) == {"vendor", "base_url", "credentials"}
        assert line["vendor"] == "acmepsa"
        assert line["base_url"] == f"http://127.0.0.1:{port}/v2"
        creds = line["credentials"]
        assert {"authorization", "token_url", "client_id", "client_secret"} <= set(creds)
        # Only what the line says: the base URL and the ready Authorization value.
        with httpx2.Client(
            base_url=line["base_url"], headers={"Authorization": creds["authorization"]}
        ) as client:
            seen: list[int] = []
            params: dict[str, object] = {"limit": 7}
            pages = 0
            while True:
                page = client.get("/time_entries", params=params).raise_for_status().json()["data"]
                if not page:
                    break
                pages += 1
                seen += [row["id"] for row in page]
                params = {
                    "limit": 7,
                    "updated_after": page[-1]["updated_at"],
                    "after_id": page[-1]["id"],
                }
            assert pages == 9
            assert sorted(seen) == list(range(1, 61))
            # The token endpoint and test keys work for clients that run the flow themselves.
            token = client.post(
                creds["token_url"],
                data={
                    "grant_type": "client_credentials",
                    "client_id": creds["client_id"],
                    "client_secret": creds["client_secret"],
                },
            ).json()["access_token"]
            bearer = {"Authorization": f"Bearer {token}"}
            assert client.get("/resources", headers=bearer).status_code == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "acmepsa stopped" in err


def test_bad_fault_plans_and_unknown_vendors_exit_2() -> None:
    result = CliRunner().invoke(app, ["simulate", "acmepsa", "--faults", "explode=1"])
    assert result.exit_code == 2
    assert "unknown fault kind 'explode'" in result.output
    result = CliRunner().invoke(app, ["simulate", "nope"])
    assert result.exit_code == 2
    assert "no connector plugin named 'nope'" in result.output
