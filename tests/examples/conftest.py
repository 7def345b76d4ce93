"""Fixtures for the example plugin's tests: simulators on a SimClock, connectors on them."""

from __future__ import annotations

from collections.abc import Iterator

import httpx2
import pytest

pytest.importorskip("acme_psa_erp", reason="install examples/third_party_connector (make venv)")

from acme_psa_erp import ACMEERP, ACMEPSA, AcmeErpConnector, AcmePsaConnector, settings_for
from acme_psa_erp.simulators import AcmeErpSimulator, AcmePsaSimulator


@pytest.fixture
def psa_sim() -> AcmePsaSimulator:
    return ACMEPSA.simulator(seed=11)  # type: ignore[no-any-return]


@pytest.fixture
def erp_sim() -> AcmeErpSimulator:
    return ACMEERP.simulator(seed=11)  # type: ignore[no-any-return]


@pytest.fixture
def psa(psa_sim: AcmePsaSimulator) -> Iterator[AcmePsaConnector]:
    conn = ACMEPSA.create(
        settings_for(psa_sim, page_size=7),
        transport=httpx2.MockTransport(psa_sim),
        clock=psa_sim.clock,
    )
    yield conn  # type: ignore[misc]
    conn.close()


@pytest.fixture
def erp(erp_sim: AcmeErpSimulator) -> Iterator[AcmeErpConnector]:
    conn = ACMEERP.create(
        settings_for(erp_sim), transport=httpx2.MockTransport(erp_sim), clock=erp_sim.clock
    )
    yield conn  # type: ignore[misc]
    conn.close()
