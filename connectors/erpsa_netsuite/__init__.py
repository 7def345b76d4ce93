"""NetSuite connector for erpsa-sdk: SuiteQL keyset reads, external-id upserts, M2M and TBA.

``connector`` is the entry-point object (``erpsa_sdk.connectors``: ``netsuite``); ``NetSuite`` /
``AsyncNetSuite`` are the clients for notebooks and services.

Examples:
    >>> import httpx2
    >>> from erpsa_netsuite import NetSuite, bearer
    >>> from erpsa_netsuite.simulator import NetSuiteSimulator
    >>> sim = NetSuiteSimulator(seed=0)
    >>> ns = NetSuite(sim.config.account_id, auth=bearer(sim.api_token),
    ...               transport=httpx2.MockTransport(sim))
    >>> sorted(r.name for r in ns.legal_entities.list())
    ['Acme DE', 'Acme UK', 'Parent Company']
"""

from __future__ import annotations

from erpsa_netsuite._core import ErrorCodes
from erpsa_netsuite.client import AsyncNetSuite, AsyncRecords, NetSuite, Records, bearer
from erpsa_netsuite.connector import CAPABILITIES, NetSuiteConnector, NetSuiteSettings, connector
from erpsa_netsuite.mapping import TenantMapping

__all__ = [
    "CAPABILITIES",
    "AsyncNetSuite",
    "AsyncRecords",
    "ErrorCodes",
    "NetSuite",
    "NetSuiteConnector",
    "NetSuiteSettings",
    "Records",
    "TenantMapping",
    "bearer",
    "connector",
]
