"""acme-psa-erp: an example erpsa-sdk plugin for the invented AcmePSA and AcmeERP.

The package publishes two :class:`~erpsa_sdk.connector.ConnectorPlugin` objects through the
``erpsa_sdk.connectors`` entry-point group (see ``pyproject.toml``): :data:`ACMEPSA`, a source,
and :data:`ACMEERP`, a target. Each builds its connector from settings and its simulator from
``(seed, faults, clock)``.

Example:
    >>> import httpx2
    >>> from acme_psa_erp import ACMEERP, ACMEPSA, settings_for
    >>> sim = ACMEERP.simulator(seed=2)
    >>> erp = ACMEERP.create(settings_for(sim), transport=httpx2.MockTransport(sim),
    ...                      clock=sim.clock)
    >>> erp.health().ok, ACMEPSA.capabilities.of("TimeEntry").deletions.value
    (True, 'tombstone_query')
"""

from __future__ import annotations

from typing import Any

from acme_psa_erp._common import AcmeSettings
from acme_psa_erp.erp import CAPABILITIES as ERP_CAPABILITIES
from acme_psa_erp.erp import AcmeErpConnector, AcmeErpSettings
from acme_psa_erp.psa import CAPABILITIES as PSA_CAPABILITIES
from acme_psa_erp.psa import AcmePsaConnector, AcmePsaSettings
from acme_psa_erp.simulators import AcmeErpSimulator, AcmePsaSimulator
from erpsa_sdk.clock import Clock
from erpsa_sdk.connector import PLUGIN_API_VERSION, ConnectorPlugin
from erpsa_sdk.testing.faults import FaultPlan
from erpsa_sdk.testing.simulator import Simulator

__all__ = [
    "ACMEERP",
    "ACMEPSA",
    "AcmeErpConnector",
    "AcmeErpSettings",
    "AcmeErpSimulator",
    "AcmePsaConnector",
    "AcmePsaSettings",
    "AcmePsaSimulator",
    "settings_for",
]


def _psa_simulator(
    seed: int = 0, faults: FaultPlan | str | None = None, clock: Clock | None = None
) -> AcmePsaSimulator:
    return AcmePsaSimulator(seed=seed, faults=faults, clock=clock)


def _erp_simulator(
    seed: int = 0, faults: FaultPlan | str | None = None, clock: Clock | None = None
) -> AcmeErpSimulator:
    return AcmeErpSimulator(seed=seed, faults=faults, clock=clock)


def settings_for(sim: Simulator, *, base_url: str | None = None, **overrides: Any) -> AcmeSettings:
    """Settings that reach ``sim``: its test token, and its base URL when it is served
    (``base_url`` from :func:`erpsa_sdk.testing.serve`), else the vendor's default URL (for
    ``httpx2.MockTransport(sim)``).

    Example:
        >>> settings_for(AcmePsaSimulator()).base_url
        'https://api.acmepsa.example/v2'
    """
    settings_cls: type[AcmeSettings] = (
        AcmeErpSettings if isinstance(sim, AcmeErpSimulator) else AcmePsaSettings
    )
    values: dict[str, Any] = {"tenant": sim.tenant, "api_token": sim.api_token, **overrides}
    if base_url is not None:
        values["base_url"] = base_url
    return settings_cls(**values)


ACMEPSA = ConnectorPlugin(
    name="acmepsa",
    connector=AcmePsaConnector,
    settings=AcmePsaSettings,
    capabilities=PSA_CAPABILITIES,
    simulator_factory=_psa_simulator,
    api_version=PLUGIN_API_VERSION,
    description="AcmePSA (example plugin): projects, time and expenses to read",
)

ACMEERP = ConnectorPlugin(
    name="acmeerp",
    connector=AcmeErpConnector,
    settings=AcmeErpSettings,
    capabilities=ERP_CAPABILITIES,
    simulator_factory=_erp_simulator,
    api_version=PLUGIN_API_VERSION,
    description="AcmeERP (example plugin): customers, projects, time and expenses to write",
)
