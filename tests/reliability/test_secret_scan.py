"""Secret scan over the logs of a full ``erpsa demo`` run at DEBUG.

The demo (Kantata -> NetSuite and Dynamics 365 under faults, with dead letters, edits and
deletions) runs through ``run_scenario``, the function ``erpsa demo`` runs; the CLI itself
lowers the SDK's logging to ERROR, so the records captured here at DEBUG are a superset of
what it can print. Secrets are every credential the three simulators hold or issued: API
tokens, static tokens, client secrets, admin keys, and the connectors' ``SecretStr`` settings.
None may appear in any log record (message, arguments, exception text) or in any repr.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from pydantic import BaseModel, SecretStr

from erpsa_sdk.demo._scenario import run_scenario
from erpsa_sdk.http.redaction import assert_no_secrets

pytestmark = pytest.mark.reliability

_SECRET_ATTRS = ("api_token", "static_token", "client_secret", "admin_key", "token")


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        # format() renders the message with its arguments and any exception and stack text.
        self.lines.append(self.format(record))


def _secrets_of(sim: Any) -> set[str]:
    found = {getattr(sim, a, None) for a in _SECRET_ATTRS}
    issued = getattr(sim, "_tokens", {}) or {}
    found |= {str(t) for t in issued}
    return {s for s in found if isinstance(s, str) and len(s) >= 8}


def _settings_secrets(connector: Any) -> set[str]:
    settings = getattr(connector, "settings", None)
    if not isinstance(settings, BaseModel):
        return set()
    return {
        value.get_secret_value()
        for value in (getattr(settings, name) for name in type(settings).model_fields)
        if isinstance(value, SecretStr) and len(value.get_secret_value()) >= 8
    }


def test_a_full_demo_at_debug_logs_no_secret(tmp_path: Any) -> None:
    capture = _Capture()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(capture)
    root.setLevel(logging.DEBUG)
    try:
        demo = run_scenario(workdir=tmp_path)
    finally:
        root.removeHandler(capture)
        root.setLevel(old_level)

    sims = [demo.kantata, *(run.sim for run in demo.pipelines)]
    secrets = set().union(*(_secrets_of(s) for s in sims))
    secrets |= set().union(*(_settings_secrets(run.connector) for run in demo.pipelines))
    text = "\n".join(capture.lines)
    assert len(secrets) >= 6, "the scan must know the demo's credentials"
    assert len(capture.lines) > 1000, "the demo logs at DEBUG"
    assert any(line.startswith("DEBUG erpsa_sdk") for line in capture.lines)
    assert_no_secrets(text, sorted(secrets))
    reprs = "\n".join(repr(x) for run in demo.pipelines for x in (run.connector, run.runner))
    assert_no_secrets(reprs, sorted(secrets))
