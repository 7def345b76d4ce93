"""Parse lists of raw records into canonical objects, quarantining bad records one by one.

Fast path: one validation over the whole list. On any error, the already-decoded items are
validated one by one: good ones become canonical objects, bad ones :class:`Rejected` with their
raw payload and errors. Nothing raises for one bad record, nothing is dropped.

Examples:
    >>> from erpsa_sdk.models import Customer
    >>> out = parse_records(Customer, [{"key": "c1", "name": "Acme"}, {"key": "c2"}])
    >>> [type(item).__name__ for item in out]
    ['Customer', 'Rejected']
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError

from erpsa_sdk.models._base import ExtensionSchema, extension_context
from erpsa_sdk.models.refs import Rejected, SourceRef

__all__ = ["parse_records", "parse_records_json"]

M = TypeVar("M", bound=BaseModel)


@lru_cache(maxsize=256)
def _list_adapter(model: type[BaseModel]) -> TypeAdapter[list[Any]]:
    return TypeAdapter(list[model])  # type: ignore[valid-type]


def _context(
    extension_schema: ExtensionSchema | Mapping[str, ExtensionSchema] | None,
) -> dict[str, Any] | None:
    return None if extension_schema is None else extension_context(extension_schema)


def _source_ref(raw: Any) -> SourceRef | None:
    if not isinstance(raw, Mapping):
        return None
    refs = raw.get("source_refs")
    if isinstance(refs, Sequence) and refs and not isinstance(refs, str):
        first = refs[0]
        if isinstance(first, SourceRef):
            return first
        try:
            return SourceRef.model_validate(first)
        except ValidationError:
            return None
    return None


def _errors(exc: ValidationError) -> list[dict[str, Any]]:
    # include_input=False: the raw payload is kept once, on Rejected.raw.
    return [
        {"loc": list(err["loc"]), "msg": err["msg"], "type": err["type"]}
        for err in exc.errors(include_url=False, include_input=False)
    ]


def _one_by_one(model: type[M], items: Sequence[Any], context: Any) -> list[M | Rejected]:
    out: list[M | Rejected] = []
    for raw in items:
        try:
            out.append(model.model_validate(raw, context=context))
        except ValidationError as exc:
            out.append(Rejected(source_ref=_source_ref(raw), raw=raw, errors=_errors(exc)))
    return out


def parse_records(
    model: type[M],
    records: Sequence[Any],
    *,
    extension_schema: ExtensionSchema | Mapping[str, ExtensionSchema] | None = None,
) -> list[M | Rejected]:
    """Validate ``records`` (decoded dicts) into ``model`` objects or :class:`Rejected`.

    Parameters:
        model: a canonical model class (``TimeEntry``) or any pydantic model.
        records: the raw records, in order.
        extension_schema: the tenant's schema for ``extensions`` (one, or by model name).

    Returns:
        one item per record, in the same order.

    Examples:
        >>> from erpsa_sdk.models import Money
        >>> [str(x) if isinstance(x, Money) else x.errors[0]["loc"] for x in parse_records(
        ...     Money, [{"amount": "1", "currency": "USD"}, {"amount": "1", "currency": "ZZZ"}])]
        ['1.00 USD', ['currency']]
    """
    context = _context(extension_schema)
    try:
        return list(_list_adapter(model).validate_python(records, context=context))
    except ValidationError:
        return _one_by_one(model, records, context)


def parse_records_json(
    model: type[M],
    data: str | bytes,
    *,
    extension_schema: ExtensionSchema | Mapping[str, ExtensionSchema] | None = None,
) -> list[M | Rejected]:
    """Like :func:`parse_records` for a JSON array: one ``validate_json`` on the fast path.

    The JSON is decoded a second time only when some record fails, and only locally. Data
    that is not a JSON array (or not JSON at all) raises pydantic's ``ValidationError``.

    Examples:
        >>> from erpsa_sdk.models import Customer
        >>> parse_records_json(Customer, b'[{"key": "c1", "name": "Acme"}]')[0].name
        'Acme'
        >>> parse_records_json(Customer, b'[{"key": ')  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        pydantic_core._pydantic_core.ValidationError: 1 validation error for list[...]
        ...
    """
    context = _context(extension_schema)
    try:
        return list(_list_adapter(model).validate_json(data, context=context))
    except ValidationError:
        try:
            decoded = json.loads(data)
        except ValueError:
            decoded = None  # not JSON: the ValidationError being handled says where
        if not isinstance(decoded, list):
            raise
        return _one_by_one(model, decoded, context)
