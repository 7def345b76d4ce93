"""The demo's independent checker: the firm and the simulators' stored rows, nothing else.

It never asks the runner or its state store. From the seeded firm (and the records the demo
planted) it recomputes every record's EntityKey, decides what each ERP must hold, and reads
the ERP simulators' stored rows by EntityKey (through the simulator's declared EntityKey
field: NetSuite's external id, Dataverse's UUIDv5 row id).

Examples:
    >>> from erpsa_sdk.demo.checker import TypeCount
    >>> TypeCount(seeded=10, dead_letters=1, skipped=0).expected
    9
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from erpsa_sdk.models import EntityKey

__all__ = ["Expectation", "PipelineCheck", "TypeCount", "check_target", "rows_for"]

_OBJECT_TYPES = {
    "Customer": "customer",
    "Project": "project",
    "ProjectTask": "project_task",
    "TimeEntry": "time_entry",
    "Expense": "expense",
}


@dataclass(frozen=True)
class TypeCount:
    """Per canonical type: seeded at the source, planted dead letters, skipped as unsupported.

    Examples:
        >>> TypeCount(seeded=4, dead_letters=0, skipped=4).expected
        0
    """

    seeded: int
    dead_letters: int
    skipped: int

    @property
    def expected(self) -> int:
        """``seeded - dead_letters - skipped``: what the target must hold."""
        return self.seeded - self.dead_letters - self.skipped


@dataclass
class Expectation:
    """What one target must hold: EntityKeys per type, and the keys parked on purpose.

    Examples:
        >>> Expectation(namespace="demo", system="kantata", tenant="t").expected
        {}
    """

    namespace: str
    system: str
    tenant: str
    expected: dict[str, set[str]] = field(default_factory=dict)
    parked: dict[str, set[str]] = field(default_factory=dict)
    absent: dict[str, set[str]] = field(default_factory=dict)
    counts: dict[str, TypeCount] = field(default_factory=dict)

    def key(self, type_name: str, source_id: str) -> EntityKey:
        """The EntityKey of a source record."""
        return EntityKey(
            namespace=self.namespace,
            system=self.system,
            tenant=self.tenant,
            source_id=source_id,
            object_type=_OBJECT_TYPES[type_name],
        )


@dataclass
class PipelineCheck:
    """What the checker found at one target.

    Examples:
        >>> PipelineCheck("p").clean
        True
    """

    pipeline: str
    missing: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    landed: dict[str, int] = field(default_factory=dict)
    values_differ: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        """Nothing missing, duplicated, unexpected, or with a wrong value."""
        return not (self.missing or self.duplicates or self.unexpected or self.values_differ)


def rows_for(sim: Any, type_name: str, ek: EntityKey) -> list[dict[str, Any]]:
    """Stored rows of ``type_name`` carrying ``ek`` in any of its vendor forms.

    A simulator declares where the EntityKey lives; the value is the canonical form, the
    external-id form or the UUIDv5, depending on the vendor, so all three are tried.

    Examples:
        >>> class Sim:
        ...     def rows_with_entity_key(self, type_name, key):
        ...         return [{"id": 1}] if key.startswith("demo_") else []
        >>> ek = EntityKey(namespace="demo", system="k", tenant="t", source_id="1",
        ...                object_type="time_entry")
        >>> rows_for(Sim(), "TimeEntry", ek)
        [{'id': 1}]
    """
    out: list[dict[str, Any]] = []
    seen: set[Any] = set()
    for candidate in (ek.canonical, ek.external_id, str(ek.uuid5())):
        try:
            rows = sim.rows_with_entity_key(type_name, candidate)
        except (ValueError, KeyError):
            continue
        for row in rows:
            if row["id"] not in seen:
                seen.add(row["id"])
                out.append(row)
    return out


def check_target(
    sim: Any,
    pipeline: str,
    expectation: Expectation,
    *,
    every_source_id: Mapping[str, Iterable[str]],
    values: Mapping[str, Mapping[str, Any]] | None = None,
) -> PipelineCheck:
    """Compare one ERP simulator's stored rows with the expectation.

    Parameters:
        sim: the ERP simulator (its ``rows_with_entity_key`` and ``entity_key_fields``).
        expectation: what it must hold.
        every_source_id: type -> every source id the demo ever created (seeded, planted,
            deleted), so a row for any of them that is not expected counts as unexpected.
        values: type -> source id -> a predicate ``row data -> bool`` (e.g. the edited entry's
            minutes); a row failing it is listed in ``values_differ``.

    Examples:
        >>> check_target.__name__
        'check_target'
    """
    result = PipelineCheck(pipeline)
    for type_name, ids in every_source_id.items():
        expected = expectation.expected.get(type_name, set())
        if type_name not in getattr(sim, "entity_key_fields", {}):
            # Nothing can be verified at this target: anything expected counts as missing.
            result.missing.extend(f"{type_name}:{i}" for i in sorted(expected))
            result.landed[type_name] = 0
            continue
        parked = expectation.parked.get(type_name, set())
        landed = 0
        for source_id in ids:
            ek = expectation.key(type_name, source_id)
            rows = rows_for(sim, type_name, ek)
            if source_id in expected:
                if not rows:
                    result.missing.append(f"{type_name}:{source_id}")
                    continue
                landed += 1
                if len(rows) > 1:
                    result.duplicates.append(f"{type_name}:{source_id}")
                check = (values or {}).get(type_name, {}).get(source_id)
                if check is not None and not check(rows[0]["data"]):
                    result.values_differ.append(f"{type_name}:{source_id}")
            elif rows and source_id not in parked:
                result.unexpected.append(f"{type_name}:{source_id}")
        result.landed[type_name] = landed
    return result
