"""A faithful simulator of the Kantata OX API v1 (a product feature, not a mock).

Mount it with ``httpx2.MockTransport(KantataSimulator(...))`` or serve it over loopback.
The fidelity table in ``docs/connectors/kantata.md`` maps each behaviour to the fact sheet.

Examples:
    >>> import httpx2
    >>> sim = KantataSimulator(seed=1)
    >>> with httpx2.Client(transport=httpx2.MockTransport(sim)) as http:
    ...     body = http.get(sim.base_url + "time_entries?per_page=2",
    ...                     headers=sim.auth_headers()).json()
    >>> body["meta"]["page_size"], len(body["results"])
    (2, 2)
"""

from erpsa_kantata.simulator._config import RateLimit, SimulatorConfig
from erpsa_kantata.simulator._handler import BASE_URL, KantataSimulator, parse_rails_form

__all__ = ["BASE_URL", "KantataSimulator", "RateLimit", "SimulatorConfig", "parse_rails_form"]
