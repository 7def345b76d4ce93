"""The Dataverse Web API simulator (see :class:`DataverseSimulator`).

Examples:
    >>> DataverseSimulator(seed=0).api_root
    'https://contoso.crm.dynamics.com/api/data/v9.2/'
"""

from erpsa_dynamics365.simulator._filter import FilterError, compile_filter
from erpsa_dynamics365.simulator._sim import DataverseSimulator, SimulatorConfig

__all__ = ["DataverseSimulator", "FilterError", "SimulatorConfig", "compile_filter"]
