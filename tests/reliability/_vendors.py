"""Each first-party connector wired to its simulator (or to any transport) for the suite."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx2

from erpsa_sdk.clock import SimClock
from erpsa_sdk.connector import Connector, ConnectorPlugin
from erpsa_sdk.models import Customer, EntityKey, SourceRef, WriteKey
from erpsa_sdk.registry import get_plugin

NAMESPACE = "reliability"


@dataclass(frozen=True)
class Vendor:
    """How to reach one connector's simulator."""

    name: str
    settings: Callable[[Any, int], Any]
    reads: bool = True
    writes: bool = True

    @property
    def plugin(self) -> ConnectorPlugin:
        return get_plugin(self.name)

    def simulator(self, *, seed: int = 1, faults: Any = None, clock: SimClock) -> Any:
        return self.plugin.simulator(seed=seed, faults=faults, clock=clock)

    def connect(
        self, sim: Any, transport: httpx2.BaseTransport, clock: SimClock, *, page_size: int = 20
    ) -> Connector:
        return self.plugin.create(self.settings(sim, page_size), transport=transport, clock=clock)


VENDORS = (
    Vendor(
        "netsuite",
        lambda sim, page_size: {
            "account_id": sim.tenant,
            "max_concurrency": 3,
            "token": sim.api_token,
            "page_size": page_size,
            "lag_seconds": 0,
            "default_subsidiary": "1",
        },
    ),
    Vendor("kantata", lambda sim, page_size: {"token": sim.api_token, "page_size": page_size}),
    Vendor(
        "dynamics365",
        lambda sim, page_size: {
            "environment_url": sim.environment_url,
            "token": sim.api_token,
            "page_size": page_size,
        },
    ),
)
IDS = [v.name for v in VENDORS]


def _acme(sim: Any, page_size: int) -> Any:
    from acme_psa_erp import settings_for  # the example third-party plugin (own package)

    return settings_for(sim, page_size=page_size)


#: The first-party connectors plus the example third-party plugin, split by what each does.
PLUGINS = (
    *VENDORS,
    Vendor("acmepsa", _acme, writes=False),
    Vendor("acmeerp", _acme, reads=False),
)
READERS = [v for v in PLUGINS if v.reads]
WRITERS = [v for v in PLUGINS if v.writes]


def customer(index: int, revision: int = 1) -> Customer:
    """A canonical customer from a PSA called ``reliabilitypsa``."""
    return Customer(
        key=str(index),
        name=f"Customer {index} rev{revision}",
        currency="USD",
        source_refs=[
            SourceRef(
                system="reliabilitypsa",
                tenant="t1",
                id=str(index),
                version=f"2026-03-01T00:00:{revision:02d}Z",
            )
        ],
    )


def keys(obj: Customer, version: str = "v1") -> tuple[EntityKey, WriteKey]:
    """The EntityKey and a WriteKey of a customer, as the runner builds them."""
    ek = obj.entity_key(NAMESPACE)
    return ek, WriteKey(entity_key=ek, version=version, operation="upsert")


def stored_rows(sim: Any, type_name: str, ek: EntityKey) -> list[dict[str, Any]]:
    """The simulator's stored rows carrying ``ek`` in whichever form its vendor keeps it
    (canonical text, external-id form or UUIDv5); read from the simulator, never the SDK."""
    found: dict[Any, dict[str, Any]] = {}
    for form in (ek.canonical, ek.external_id, str(ek.uuid5())):
        try:
            rows = sim.rows_with_entity_key(type_name, form)
        except (ValueError, KeyError):
            continue
        for row in rows:
            found.setdefault(row["id"], row)
    return list(found.values())
