"""Pipeline: the target connection and tenant it carries."""

from __future__ import annotations

from erpsa_sdk.models import Customer
from erpsa_sdk.sync import Pipeline

from .fakes import FakeSource, FakeTarget


def test_tenant_is_carried_not_parsed_back_from_the_connection_name() -> None:
    # A connector name with a colon made "<connector>:<tenant>" ambiguous to split.
    target = FakeTarget(name="erp:eu", tenant="acme")
    pipeline = Pipeline("p", source=FakeSource(), target=target, namespace="n", types=[Customer])
    assert pipeline.target_connection == "erp:eu:acme"
    assert pipeline.target_tenant_name == "acme"


def test_a_given_tenant_wins_over_the_connectors() -> None:
    pipeline = Pipeline(
        "p",
        source=FakeSource(),
        target=FakeTarget(tenant="from-connector"),
        namespace="n",
        types=[Customer],
        target_tenant="given:1",
    )
    assert pipeline.target_tenant_name == "given:1"
    assert pipeline.target_connection == "fakeerp:given:1"
