"""The example plugin passes the contract suite (both connectors)."""

from __future__ import annotations

from tests.examples._suites import AcmeErpSuite, AcmePsaSuite


class TestAcmePsaContract(AcmePsaSuite):
    pass


class TestAcmeErpContract(AcmeErpSuite):
    pass
