"""Kantata OX (formerly Mavenlink) connector for erpsa-sdk.

* :class:`Kantata` / :class:`AsyncKantata` - clients for ``https://api.mavenlink.com/api/v1/``
  with incremental SEEK reads, side-loading, external-reference writes and static bearer auth.
* :mod:`erpsa_kantata.mapping` - pure mappings to and from the canonical objects.
* :mod:`erpsa_kantata.simulator` - a faithful simulator (:class:`KantataSimulator`).

Examples:
    >>> import httpx2
    >>> from erpsa_sdk.models import Project
    >>> from erpsa_kantata.simulator import KantataSimulator
    >>> sim = KantataSimulator(seed=0)
    >>> with Kantata(token=sim.token, transport=httpx2.MockTransport(sim)) as kantata:
    ...     names = sorted(p.name for p in kantata.read(Project))
    >>> names
    ['Legacy audit', 'Northwind rollout', 'Tokyo office move']
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from erpsa_kantata._core import DeletionFeedExpired, Related
from erpsa_kantata.client import AsyncKantata, AsyncKantataPager, Kantata, KantataPager
from erpsa_kantata.connector import CAPABILITIES, KantataConnector, KantataSettings, connector

if TYPE_CHECKING:
    from erpsa_kantata.simulator import KantataSimulator, SimulatorConfig

__all__ = [
    "CAPABILITIES",
    "AsyncKantata",
    "AsyncKantataPager",
    "DeletionFeedExpired",
    "Kantata",
    "KantataConnector",
    "KantataPager",
    "KantataSettings",
    "KantataSimulator",
    "Related",
    "SimulatorConfig",
    "connector",
]


def __getattr__(name: str) -> Any:
    # The simulator is imported on first use, as in the other connectors: importing the
    # connector (every ``erpsa`` command, every sync) must not pay for it.
    if name in ("KantataSimulator", "SimulatorConfig"):
        from erpsa_kantata import simulator

        return getattr(simulator, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
