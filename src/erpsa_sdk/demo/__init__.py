"""``erpsa demo``: a professional services firm synced from Kantata to two ERPs, checked.

:func:`run_scenario` seeds Kantata with a firm, runs Kantata → NetSuite and Kantata →
Dynamics 365 (a dual run) on simulators under faults, with planted bad records, a mid-run edit
and two deletions; :func:`summarize` checks the result with a checker that reads only the
firm and the simulators' stored rows, and returns the JSON summary.

Examples:
    >>> from erpsa_sdk.demo import Planted
    >>> Planted().edited_minutes
    0
"""

from erpsa_sdk.demo._scenario import DemoRun, Planted, run_drills, run_scenario
from erpsa_sdk.demo._summary import summarize

__all__ = ["DemoRun", "Planted", "run_drills", "run_scenario", "summarize"]
