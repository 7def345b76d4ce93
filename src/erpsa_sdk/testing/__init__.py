"""The test kit: vendor simulators, reproducible fault plans, loopback serving, contract suite.

* :class:`Simulator` — the base of every vendor simulator: a stateful in-memory API usable as
  ``httpx2.MockTransport(sim)``, with an admin API, limits and faults, driven by a clock.
* :class:`FaultPlan` — faults chosen by ``hash(seed, method, path, body, attempt)``.
* :func:`serve` — the same simulator on ``127.0.0.1`` over HTTP (needs the ``testing`` extra).
* :class:`ContractSuite` — the pytest class every connector subclasses to prove the contract
  (imported on first use; it needs pytest).

Example:
    >>> from erpsa_sdk.testing import FaultPlan, Simulator
    >>> FaultPlan.parse("timeout=0.5;seed=1").rates
    {<FaultKind.TIMEOUT: 'timeout'>: 0.5}
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from erpsa_sdk.testing.faults import FaultKind, FaultPlan
from erpsa_sdk.testing.simulator import (
    Admin,
    Drop,
    FaultEvent,
    SimError,
    SimReply,
    SimRequest,
    SimResponse,
    SimStats,
    Simulator,
    route,
)
from erpsa_sdk.testing.store import Row, Table

if TYPE_CHECKING:
    from erpsa_sdk.testing.contract import ContractSuite
    from erpsa_sdk.testing.loopback import ServedSimulator, serve

__all__ = [
    "Admin",
    "ContractSuite",
    "Drop",
    "FaultEvent",
    "FaultKind",
    "FaultPlan",
    "Row",
    "ServedSimulator",
    "SimError",
    "SimReply",
    "SimRequest",
    "SimResponse",
    "SimStats",
    "Simulator",
    "Table",
    "route",
    "serve",
]

# Loaded on first use: serve needs uvicorn, the contract suite needs pytest.
_LAZY = {
    "ContractSuite": "erpsa_sdk.testing.contract",
    "ServedSimulator": "erpsa_sdk.testing.loopback",
    "serve": "erpsa_sdk.testing.loopback",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'erpsa_sdk.testing' has no attribute {name!r}")
    return getattr(import_module(module), name)
