"""Microsoft Dynamics 365 connector for erpsa-sdk: Dataverse Web API, Project Operations.

* :class:`Dynamics365` / :class:`AsyncDynamics365` - clients for
  ``https://<env>.<region>.dynamics.com/api/data/v9.2/`` (OData v4 queries, keyset reads
  whose pages follow ``@odata.nextLink`` unchanged, upserts by id or alternate key).
* :data:`connector` - the plugin object (entry point ``dynamics365``): the
  :class:`Dynamics365Connector` writes rows addressed by ``UUIDv5(EntityKey)``.
* :mod:`erpsa_dynamics365.simulator` - the Dataverse simulator.

Examples:
    >>> import httpx2
    >>> from erpsa_sdk.models import Project
    >>> sim = connector.simulator(seed=0)
    >>> with Dynamics365(sim.environment_url, auth=bearer(sim.api_token),
    ...                  transport=httpx2.MockTransport(sim), clock=sim.clock) as d365:
    ...     [p.name for p in d365.read(Project)]
    ['Contoso ERP rollout']
"""

from erpsa_dynamics365._core import (
    SERVICE_PROTECTION,
    ErrorCodes,
    ThrottleKind,
    environment_url,
    row_id,
)
from erpsa_dynamics365.client import AsyncDynamics365, Dynamics365, WriteAnswer, bearer
from erpsa_dynamics365.connector import (
    CAPABILITIES,
    Dynamics365Connector,
    Dynamics365Settings,
    connector,
    entra_auth,
)
from erpsa_dynamics365.mapping import OptionSet, TenantMapping

__all__ = [
    "CAPABILITIES",
    "SERVICE_PROTECTION",
    "AsyncDynamics365",
    "Dynamics365",
    "Dynamics365Connector",
    "Dynamics365Settings",
    "ErrorCodes",
    "OptionSet",
    "TenantMapping",
    "ThrottleKind",
    "WriteAnswer",
    "bearer",
    "connector",
    "entra_auth",
    "environment_url",
    "row_id",
]
