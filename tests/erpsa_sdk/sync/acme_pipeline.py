"""A configured AcmePSA -> AcmeERP pipeline on in-process simulators (issue 8 tests)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
from acme_psa_erp import ACMEERP, ACMEPSA

from erpsa_sdk.clock import SimClock
from erpsa_sdk.mapping import build_runner, parse_config
from erpsa_sdk.sync import SQLiteStateStore, SyncRunner
from erpsa_sdk.testing import SimRequest

CATEGORIES = {
    "travel": "EXP-TRAVEL",
    "meals": "EXP-MEALS",
    "lodging": "EXP-LODGING",
    "software": "EXP-SOFTWARE",
}


def config_text(
    *,
    types: str = '["Customer", "Project", "TimeEntry", "Expense"]',
    natural_keys: str = 'Customer = ["name"]\nResource = ["email"]',
    validate: bool = True,
    categories: dict[str, str] | None = None,
    unresolved_after: int = 3,
    extra: str = "",
) -> str:
    cats = "\n".join(f'{k} = "{v}"' for k, v in (categories or CATEGORIES).items())
    return f"""
namespace = "it-test"
state = "sqlite:///:memory:"

[connections.psa]
connector = "acmepsa"
tenant = "sim"
settings = {{ api_token = {{ env = "PSA_TOKEN" }} }}

[connections.erp]
connector = "acmeerp"
tenant = "sim"
settings = {{ api_token = {{ env = "ERP_TOKEN" }} }}

[value_maps.expense_category]
{cats}

[[pipelines]]
name = "psa-to-erp"
source = "psa"
target = "erp"
types = {types}
validate = {str(validate).lower()}
unresolved_after = {unresolved_after}
{extra}
[pipelines.natural_keys]
{natural_keys}

[pipelines.value_maps]
"Expense.category" = "expense_category"
"""


@dataclass
class AcmeEnv:
    """Both simulators on one autojump SimClock, a SQLite store and a configured runner."""

    tmp: Path
    text: str = field(default_factory=config_text)
    clock: SimClock = field(default_factory=lambda: SimClock(autojump=True))
    requests: list[tuple[str, str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.psa_sim = ACMEPSA.simulator(seed=1, clock=self.clock)
        self.erp_sim = ACMEERP.simulator(seed=1, clock=self.clock)
        self.store = SQLiteStateStore(self.tmp / "state.db", clock=self.clock)
        self.config = parse_config(self.text, source="pipeline.toml")
        self.erp_sim.before_request(self._log)

    def _log(self, req: SimRequest) -> None:
        try:
            body = json.loads(req.body) if req.body else None
        except ValueError:
            body = None
        self.requests.append((req.method, req.path, body))

    @property
    def environ(self) -> dict[str, str]:
        return {"PSA_TOKEN": self.psa_sim.api_token, "ERP_TOKEN": self.erp_sim.api_token}

    def runner(self, **options: Any) -> SyncRunner:
        options.setdefault("handle_signals", False)
        options.setdefault("workers", 4)
        runner: SyncRunner = build_runner(
            self.config,
            store=self.store,
            environ=self.environ,
            transports={
                "psa": httpx2.MockTransport(self.psa_sim),
                "erp": httpx2.MockTransport(self.erp_sim),
            },
            clock=self.clock,
            **options,
        )
        return runner

    def writes(self, path_part: str) -> list[tuple[str, str, Any]]:
        """Write requests (POST / PUT / PATCH / DELETE) whose path contains ``path_part``."""
        return [r for r in self.requests if r[0] != "GET" and path_part in r[1]]

    def letters(self) -> list[Any]:
        return self.store.dead_letters("psa-to-erp")
