"""Value maps: declared translation tables applied to canonical records in the map step.

A value map translates a source value (a PSA expense category, a workspace group, a role) to
the target's value (an ERP expense item, a subsidiary id, a service item). A value without an
entry is never given a default: the record becomes the dead letter
``unmapped_value:<map>`` for IT, and the rest of its batch syncs.

Examples:
    >>> from erpsa_sdk.models import Customer
    >>> maps = {"Customer.name": ValueMap("names", {"INITECH": "Initech Inc."})}
    >>> c = Customer(key="1", name="INITECH")
    >>> MappingPolicy(value_maps=maps).transform(c).name
    'Initech Inc.'
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from pydantic import BaseModel, ValidationError

from erpsa_sdk.connector import ReferenceRule
from erpsa_sdk.sync.deadletters import OwnerRules, RecordPolicy, UnmappedValue

__all__ = ["MappingPolicy", "ValueMap"]


@dataclass(frozen=True)
class ValueMap:
    """One declared table: source value -> target value (keys compared as text).

    Examples:
        >>> m = ValueMap("expense_category", {"travel": "EXP-TRV"})
        >>> m.translate("travel", field_path="Expense.category")
        'EXP-TRV'
        >>> m.translate("gifts", field_path="Expense.category")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        erpsa_sdk.sync.deadletters.UnmappedValue: Expense.category value 'gifts' is not in ...
    """

    name: str
    entries: Mapping[str, Any] = field(default_factory=dict)

    def translate(self, value: Any, *, field_path: str) -> Any:
        """The target value of ``value``; :class:`UnmappedValue` when there is no entry."""
        text = value.value if isinstance(value, Enum) else value
        text = str(text)
        if text not in self.entries:
            raise UnmappedValue(self.name, field_path, text)
        return self.entries[text]


class MappingPolicy(RecordPolicy):
    """A :class:`~erpsa_sdk.sync.deadletters.RecordPolicy` with value maps.

    Parameters:
        value_maps: ``"<Type>.<field>"`` -> the :class:`ValueMap` applied to that field.
        owners: owner-role rules of dead letters.
        natural_keys: master type name -> the fields of its natural key at the target.
        reference_rules: ``"<Type>.<field>"`` -> ``optional`` / ``match``.

    Examples:
        >>> MappingPolicy().transform.__name__
        'transform'
    """

    def __init__(
        self,
        *,
        value_maps: Mapping[str, ValueMap] | None = None,
        owners: OwnerRules | None = None,
        natural_keys: Mapping[str, Sequence[str]] | None = None,
        reference_rules: Mapping[str, ReferenceRule | str] | None = None,
    ) -> None:
        super().__init__(owners=owners, natural_keys=natural_keys, reference_rules=reference_rules)
        self._by_type: dict[str, list[tuple[str, ValueMap]]] = {}
        for path, value_map in (value_maps or {}).items():
            type_name, _, field_name = path.partition(".")
            self._by_type.setdefault(type_name, []).append((field_name, value_map))

    def transform(self, obj: BaseModel) -> BaseModel:
        """``obj`` with every mapped field translated (:class:`UnmappedValue` on a gap).

        An empty field stays empty: there is nothing to translate, and no default is invented.
        """
        maps = self._by_type.get(type(obj).__name__)
        if not maps:
            return obj
        changes: dict[str, Any] = {}
        for field_name, value_map in maps:
            value = getattr(obj, field_name, None)
            if value is None:
                continue
            changes[field_name] = value_map.translate(
                value, field_path=f"{type(obj).__name__}.{field_name}"
            )
        if not changes:
            return obj
        # Re-validate in JSON mode, so a mapped text becomes the field's type (an enum, a
        # currency) exactly as if the source had sent it.
        data = obj.model_dump(mode="json")
        data.update(changes)
        try:
            mapped = type(obj).model_validate_json(json.dumps(data))
        except ValidationError:
            mapped = None
        for field_name, value_map in maps:
            if field_name not in changes:
                continue
            # A target value the field does not accept (or turns into UNMAPPED) is a gap in
            # the map too: IT fixes the map, nothing is written with a made-up value.
            got = getattr(mapped, field_name, None)
            got = got.value if isinstance(got, Enum) else got
            if mapped is None or str(got) != str(changes[field_name]):
                raise UnmappedValue(
                    value_map.name, f"{type(obj).__name__}.{field_name}", changes[field_name]
                )
        assert mapped is not None
        return mapped
