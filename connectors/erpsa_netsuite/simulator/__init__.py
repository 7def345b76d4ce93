"""The NetSuite simulator: SuiteTalk REST (record service, SuiteQL, OAuth 2.0 M2M, TBA) in memory.

Examples:
    >>> from erpsa_netsuite.simulator import NetSuiteSimulator
    >>> NetSuiteSimulator(seed=0).base_url
    'https://1234567.suitetalk.api.netsuite.com'
"""

from __future__ import annotations

from erpsa_netsuite.simulator._sim import CustomField, NetSuiteSimulator, SimConfig

__all__ = ["CustomField", "NetSuiteSimulator", "SimConfig"]
