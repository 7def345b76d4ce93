"""Shared canonical machinery: extensions against a tenant schema, warnings, identity."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from pydantic import ValidationError

from erpsa_sdk.models import (
    CanonicalModel,
    Customer,
    ExtensionField,
    ExtensionSchema,
    Money,
    RuleWarning,
    SourceRef,
    TimeEntry,
    extension_context,
)

SCHEMA = ExtensionSchema(
    fields={
        "region": ExtensionField(kind="string", required=True, choices=("EMEA", "AMER")),
        "po": ExtensionField(kind="string", max_length=5),
        "tier": ExtensionField(kind="integer"),
        "cap": ExtensionField(kind="decimal"),
        "vip": ExtensionField(kind="boolean"),
        "since": ExtensionField(kind="date"),
        "seen": ExtensionField(kind="datetime"),
        "credit": ExtensionField(kind="money"),
    }
)


def test_extensions_are_free_without_a_schema() -> None:
    c = Customer(key="c", name="A", extensions={"anything": [1, 2]})
    assert c.extensions == {"anything": [1, 2]}


def test_extensions_are_validated_and_converted_with_a_schema() -> None:
    raw = {
        "region": "EMEA",
        "cap": "37.5",
        "since": "2026-01-01",
        "vip": True,
        "seen": "2026-01-01T00:00:00Z",
        "credit": {"amount": "10", "currency": "EUR"},
        "tier": 2,
    }
    c = Customer.model_validate(
        {"key": "c", "name": "A", "extensions": raw}, context=extension_context(SCHEMA)
    )
    assert c.extensions["cap"] == Decimal("37.5")
    assert c.extensions["since"] == date(2026, 1, 1)
    assert c.extensions["seen"] == datetime(2026, 1, 1, tzinfo=UTC)
    assert c.extensions["credit"] == Money("10", "EUR")


@pytest.mark.parametrize(
    ("extensions", "message"),
    [
        ({}, "'region' is required"),
        ({"region": "APAC"}, "must be one of"),
        ({"region": "EMEA", "po": "123456"}, "longer than 5"),
        ({"region": "EMEA", "tier": "2"}, "'tier' is not a valid integer"),
        ({"region": "EMEA", "seen": "2026-01-01T00:00:00"}, "timezone"),
        ({"region": "EMEA", "credit": {"amount": 1.5, "currency": "EUR"}}, "float"),
        ({"region": "EMEA", "colour": "red"}, "'colour' is not in the tenant schema"),
    ],
)
def test_schema_violations_are_structural(extensions: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Customer.model_validate(
            {"key": "c", "name": "A", "extensions": extensions}, context=extension_context(SCHEMA)
        )


def test_schema_by_model_name_applies_only_to_that_model() -> None:
    ctx = extension_context({"TimeEntry": SCHEMA})
    assert Customer.model_validate(
        {"key": "c", "name": "A", "extensions": {"x": 1}}, context=ctx
    ).extensions == {"x": 1}
    with pytest.raises(ValidationError, match="required"):
        TimeEntry.model_validate(
            {
                "key": "t",
                "resource_key": "r",
                "project_key": "p",
                "work_date": "2026-01-01",
                "duration_minutes": 1,
            },
            context=ctx,
        )


def test_unknown_fields_allowed_when_the_schema_says_so() -> None:
    loose = ExtensionSchema(fields={}, allow_unknown=True)
    assert loose.validate_values({"x": 1}) == {"x": 1}


def test_extra_top_level_fields_are_refused() -> None:
    with pytest.raises(ValidationError, match="extra"):
        Customer.model_validate({"key": "c", "name": "A", "colour": "red"})


def test_warnings_survive_a_round_trip_without_duplicates() -> None:
    c = TimeEntry(
        key="t",
        resource_key="r",
        project_key="p",
        work_date=date(2026, 1, 1),
        duration_minutes=2000,
        status="weird",
    )
    again = TimeEntry.model_validate_json(c.model_dump_json())
    assert again.warnings == c.warnings
    assert len(again.warnings) == 2
    # Caller-supplied warnings are kept too.
    extra = RuleWarning(code="custom", message="from the mapping")
    kept = TimeEntry.model_validate({**c.model_dump(), "warnings": [extra]})
    assert extra in kept.warnings
    assert len(kept.warnings) == 3


def test_every_canonical_model_has_a_version_and_an_object_type() -> None:
    from erpsa_sdk.models.schema import canonical_models

    models = canonical_models()
    assert len(models) == 14  # lines and rate periods are parts of these
    assert len({m.object_type for m in models}) == 14
    for model in models:
        assert issubclass(model, CanonicalModel)
        assert model.schema_version.count(".") == 2
        for name in ("key", "source_refs", "extensions", "warnings"):
            assert name in model.model_fields


def test_entity_key_uses_the_chosen_source_ref() -> None:
    c = Customer(
        key="c",
        name="A",
        source_refs=[
            SourceRef(system="salesforce", tenant="o", id="1"),
            SourceRef(system="netsuite", tenant="T", id="9"),
        ],
    )
    assert c.entity_key("ns", source=1).canonical == "ek1:ns:netsuite:T:customer:9"
    assert c.entity_key("ns", object_type="account").object_type == "account"
