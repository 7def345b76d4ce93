"""Importing a connector package does not import its simulator (every sync and CLI call pays
for the connector import; only tests and ``erpsa simulate`` need the simulator)."""

from __future__ import annotations

import subprocess
import sys

import pytest

SIMULATORS = {
    "erpsa_kantata": "KantataSimulator",
    "erpsa_netsuite": "NetSuiteSimulator",
    "erpsa_dynamics365": "DataverseSimulator",
}


@pytest.mark.parametrize("package", sorted(SIMULATORS))
def test_importing_a_connector_leaves_its_simulator_unloaded(package: str) -> None:
    code = (
        f"import sys, {package}\n"
        f"print(sorted(m for m in sys.modules if m.startswith('{package}.simulator')))\n"
        f"sim = {package}.connector.simulator(seed=1)\n"
        f"print(type(sim).__name__)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert out == ["[]", SIMULATORS[package]]


def test_kantata_still_exports_its_simulator_names() -> None:
    import erpsa_kantata
    from erpsa_kantata.simulator import KantataSimulator, SimulatorConfig

    assert erpsa_kantata.KantataSimulator is KantataSimulator
    assert erpsa_kantata.SimulatorConfig is SimulatorConfig
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        _ = erpsa_kantata.Nope  # type: ignore[attr-defined]
