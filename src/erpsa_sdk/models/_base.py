"""Shared machinery of the canonical models: base class, warnings, statuses, extensions."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    model_validator,
)

from erpsa_sdk.models.keys import EntityKey
from erpsa_sdk.models.money import Money, _to_decimal, minor_units
from erpsa_sdk.models.refs import SourceRef

__all__ = [
    "CanonicalModel",
    "Currency",
    "ExtensionField",
    "ExtensionSchema",
    "RuleWarning",
    "extension_context",
]

SCHEMA_VERSION = "1.0.0"


def _known_currency(code: str) -> str:
    minor_units(code)
    return code


#: An ISO 4217 code known to the currency registry (a structural rule).
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$"), AfterValidator(_known_currency)]

#: Exact whole minutes: an ``int`` (strict: no 34.5, no "34", no ``True``), never negative.
Minutes = Annotated[int, Field(strict=True, ge=0)]

Key = Annotated[str, Field(min_length=1, max_length=255)]


class RuleWarning(BaseModel):
    """A business rule the object breaks: kept on the object, enforced only where a target needs it.

    Examples:
        >>> RuleWarning(code="over_24h", message="1500 minutes", field="duration_minutes")
        RuleWarning(code='over_24h', message='1500 minutes', field='duration_minutes')
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str
    message: str
    field: str | None = None


class ExtensionField(BaseModel):
    """One tenant custom field: its kind, whether it is required, and allowed values.

    Examples:
        >>> ExtensionField(kind="string", required=True, choices=("EMEA", "AMER")).required
        True
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["string", "integer", "decimal", "boolean", "date", "datetime", "money"]
    required: bool = False
    choices: tuple[str, ...] | None = None
    max_length: int | None = Field(default=None, ge=1)


def _decimal(value: object) -> Decimal:
    if isinstance(value, float):
        return Decimal(repr(value))  # a custom decimal field, not money: shortest exact text
    return _to_decimal(value)


_ADAPTERS: dict[str, TypeAdapter[Any]] = {
    "string": TypeAdapter(str),
    "integer": TypeAdapter(Annotated[int, Field(strict=True)]),
    "boolean": TypeAdapter(bool),
    "date": TypeAdapter(date),
    "datetime": TypeAdapter(Annotated[datetime, Field(), AfterValidator(lambda v: _aware(v))]),
    "money": TypeAdapter(Money),
}


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("datetime must be timezone-aware")
    return value


class ExtensionSchema(BaseModel):
    """The schema of one tenant's custom fields for one object type.

    Give it to a parser (``parse_records(..., extension_schema=...)``) or through
    :func:`extension_context`; values are checked and converted (``"12.50"`` -> ``Decimal``).

    Examples:
        >>> schema = ExtensionSchema(fields={
        ...     "region": ExtensionField(kind="string", required=True, choices=("EMEA", "AMER")),
        ...     "po_number": ExtensionField(kind="string", max_length=20),
        ... })
        >>> schema.validate_values({"region": "EMEA"})
        {'region': 'EMEA'}
        >>> schema.validate_values({"colour": "red"})
        Traceback (most recent call last):
        ...
        ValueError: extensions: 'region' is required; 'colour' is not in the tenant schema
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    fields: dict[str, ExtensionField]
    allow_unknown: bool = False

    def validate_values(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Check ``values`` and return them converted; raise ``ValueError`` listing every problem.

        Examples:
            >>> ExtensionSchema(fields={"hours_cap": ExtensionField(kind="decimal")}
            ...                 ).validate_values({"hours_cap": "37.5"})
            {'hours_cap': Decimal('37.5')}
        """
        problems: list[str] = []
        result: dict[str, Any] = {}
        for name, spec in self.fields.items():
            if name not in values or values[name] is None:
                if spec.required:
                    problems.append(f"{name!r} is required")
                elif name in values:
                    result[name] = None
                continue
            raw = values[name]
            try:
                value = (
                    _decimal(raw)
                    if spec.kind == "decimal"
                    else _ADAPTERS[spec.kind].validate_python(raw)
                )
            except (ValueError, ValidationError) as exc:
                problems.append(f"{name!r} is not a valid {spec.kind}: {_first_message(exc)}")
                continue
            if spec.choices is not None and value not in spec.choices:
                problems.append(f"{name!r} must be one of {list(spec.choices)}, got {value!r}")
            if (
                spec.max_length is not None
                and isinstance(value, str)
                and len(value) > spec.max_length
            ):
                problems.append(f"{name!r} is longer than {spec.max_length} characters")
            result[name] = value
        for name, raw in values.items():
            if name not in self.fields:
                if self.allow_unknown:
                    result[name] = raw
                else:
                    problems.append(f"{name!r} is not in the tenant schema")
        if problems:
            raise ValueError("extensions: " + "; ".join(problems))
        return result


def _first_message(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return str(exc.errors()[0]["msg"])
    return str(exc)


_CONTEXT_KEY = "erpsa_extension_schema"


def extension_context(
    schema: ExtensionSchema | Mapping[str, ExtensionSchema],
) -> dict[str, Any]:
    """A pydantic validation ``context`` carrying a tenant's extension schema(s).

    Pass one schema, or a mapping from model name (``"TimeEntry"``) to schema.

    Examples:
        >>> from erpsa_sdk.models import Customer
        >>> ctx = extension_context({"Customer": ExtensionSchema(fields={
        ...     "tier": ExtensionField(kind="integer", required=True)})})
        >>> Customer.model_validate({"key": "c1", "name": "Acme", "extensions": {"tier": 2}},
        ...                         context=ctx).extensions
        {'tier': 2}
    """
    return {_CONTEXT_KEY: schema}


def _schema_for(model: type[BaseModel], context: Any) -> ExtensionSchema | None:
    if not isinstance(context, Mapping):
        return None
    found = context.get(_CONTEXT_KEY)
    if isinstance(found, ExtensionSchema):
        return found
    if isinstance(found, Mapping):
        schema = found.get(model.__name__)
        return schema if isinstance(schema, ExtensionSchema) else None
    return None


class CanonicalModel(BaseModel):
    """Base of every canonical business object.

    Every object carries its canonical ``key``, its ``source_refs``, tenant ``extensions`` and
    the ``warnings`` its business rules raised. Structural rules reject the record; business
    rules only add warnings. ``schema_version`` versions the exported JSON Schema.

    Examples:
        >>> from erpsa_sdk.models import Customer
        >>> c = Customer(key="c1", name="Acme", source_refs=[SourceRef(system="kantata",
        ...              tenant="acme", id="77")])
        >>> str(c.entity_key("acme-prod")) == str(c.entity_key("acme-prod"))
        True
        >>> Customer.schema_version
        '1.0.0'
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: ClassVar[str] = SCHEMA_VERSION
    #: The object type used in keys, events and schema file names (``time_entry``).
    object_type: ClassVar[str] = "object"
    # status field -> (its enum, the field keeping the raw value). The enum has UNMAPPED.
    _status_fields: ClassVar[dict[str, tuple[type[StrEnum], str]]] = {}

    key: Key
    source_refs: tuple[SourceRef, ...] = ()
    extensions: dict[str, Any] = Field(default_factory=dict)
    warnings: tuple[RuleWarning, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _map_statuses_and_extensions(cls, data: Any, info: ValidationInfo) -> Any:
        if not isinstance(data, Mapping):
            return data
        data = dict(data)
        for field, (enum, raw_field) in cls._status_fields.items():
            value = data.get(field)
            if value is None or isinstance(value, enum):
                continue
            if isinstance(value, str) and value in enum._value2member_map_:
                continue
            # Unknown status: keep the record, remember what the source said.
            data[field] = enum("unmapped")
            if data.get(raw_field) is None:
                data[raw_field] = str(value)
        schema = _schema_for(cls, info.context)
        if schema is not None:
            extensions = data.get("extensions") or {}
            if not isinstance(extensions, Mapping):
                raise ValueError("extensions must be an object")
            data["extensions"] = schema.validate_values(extensions)
        return data

    @model_validator(mode="after")
    def _business_rules(self) -> CanonicalModel:
        computed = list(self._status_warnings())
        computed.extend(self.business_warnings())
        merged = list(dict.fromkeys([*computed, *self.warnings]))
        if tuple(merged) != self.warnings:
            object.__setattr__(self, "warnings", tuple(merged))  # frozen: set once, here
        return self

    def _status_warnings(self) -> list[RuleWarning]:
        result = []
        for field, (_enum, raw_field) in self._status_fields.items():
            if getattr(self, field) == "unmapped":
                raw = getattr(self, raw_field)
                result.append(
                    RuleWarning(
                        code="unknown_status",
                        field=field,
                        message=f"{field} {raw!r} is not known to the mapping",
                    )
                )
        return result

    def business_warnings(self) -> list[RuleWarning]:
        """The business rules this object breaks (subclasses add theirs).

        Examples:
            >>> from erpsa_sdk.models import Customer
            >>> Customer(key="c1", name="Acme").business_warnings()
            []
        """
        return []

    def entity_key(
        self, namespace: str, *, object_type: str | None = None, source: int = 0
    ) -> EntityKey:
        """The :class:`EntityKey` of this object at a target, from one of its ``source_refs``.

        Parameters:
            namespace: the deployment namespace.
            object_type: the target object type; defaults to the model's ``object_type``.
            source: which source ref to use (the first by default).

        Examples:
            >>> from erpsa_sdk.models import Customer
            >>> c = Customer(key="c1", name="Acme",
            ...              source_refs=[SourceRef(system="kantata", tenant="acme", id="77")])
            >>> c.entity_key("acme-prod").canonical
            'ek1:acme-prod:kantata:acme:customer:77'
        """
        if not self.source_refs:
            raise ValueError(f"{type(self).__name__} {self.key!r} has no source_refs")
        ref = self.source_refs[source]
        return EntityKey(
            namespace=namespace,
            system=ref.system,
            tenant=ref.tenant,
            source_id=ref.id,
            object_type=object_type or self.object_type,
        )


class Part(BaseModel):
    """Base of value objects nested in canonical models (lines, rate periods, addresses).

    Examples:
        >>> from erpsa_sdk.models import InvoiceLine
        >>> issubclass(InvoiceLine, Part), InvoiceLine.model_config["frozen"]
        (True, True)
    """

    model_config = ConfigDict(frozen=True, extra="forbid")


def check_range(start: date | datetime | None, end: date | datetime | None, what: str) -> None:
    """Structural rule: an end never precedes its start.

    Examples:
        >>> check_range(date(2026, 1, 2), date(2026, 1, 1), "project")
        Traceback (most recent call last):
        ...
        ValueError: project: end 2026-01-01 is before start 2026-01-02
    """
    if start is not None and end is not None and end < start:
        raise ValueError(f"{what}: end {end.isoformat()} is before start {start.isoformat()}")


def check_currency(money: Money | None, currency: str, what: str) -> None:
    """Structural rule: an amount shares its document's currency.

    Examples:
        >>> check_currency(Money(1, "EUR"), "USD", "line 0 amount")
        Traceback (most recent call last):
        ...
        ValueError: line 0 amount is in EUR, the document is in USD
    """
    if money is not None and money.currency != currency:
        raise ValueError(f"{what} is in {money.currency}, the document is in {currency}")
