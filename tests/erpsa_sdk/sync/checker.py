"""An independent checker for AcmePSA -> AcmeERP runs: it knows nothing of the runner.

From the source simulator's rows it recomputes every record's EntityKey and the values the
target must hold (a hash per record), then reads the target simulator's rows: every live
source record must appear exactly once with the latest values, every deleted one must be
gone, and nothing else may be there.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from datetime import datetime
from decimal import Decimal
from typing import Any

from erpsa_sdk.models import EntityKey

#: PSA table -> (object type, ERP table, field holding the EntityKey)
TABLES = {
    "customers": ("customer", "customers", "external_id"),
    "projects": ("project", "projects", "external_ref"),
    "time_entries": ("time_entry", "time_entries", "ext_ref"),
    "expenses": ("expense", "expenses", "ext_ref"),
}


def _dec(value: Any) -> str | None:
    return None if value is None else str(Decimal(str(value)).quantize(Decimal("0.01")))


def _digest(values: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(values, sort_keys=True, default=str).encode()).hexdigest()


class Checker:
    def __init__(self, psa_sim: Any, erp_sim: Any, *, namespace: str, tenant: str) -> None:
        self.psa = psa_sim
        self.erp = erp_sim
        self.namespace = namespace
        self.tenant = tenant

    def key(self, object_type: str, source_id: Any) -> str:
        return str(
            EntityKey(
                namespace=self.namespace,
                system="acmepsa",
                tenant=self.tenant,
                source_id=str(source_id),
                object_type=object_type,
            )
        )

    def _erp_by_key(self) -> dict[str, dict[str, list[dict[str, Any]]]]:
        out: dict[str, dict[str, list[dict[str, Any]]]] = {}
        for table, (_, erp_table, field) in TABLES.items():
            grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
            for row in self.erp.admin.rows(erp_table):
                if row["data"].get("reverses_id") is not None:
                    continue
                grouped[str(row["data"].get(field))].append(row)
            out[table] = grouped
        return out

    def expected(self, table: str, data: dict[str, Any], erp: Any) -> dict[str, Any]:
        """The values AcmeERP must hold for one AcmePSA row (ids mapped through EntityKeys)."""

        def erp_id(psa_table: str, source_id: Any) -> int | None:
            rows = erp[psa_table].get(self.key(TABLES[psa_table][0], source_id), [])
            return rows[0]["id"] if len(rows) == 1 else None

        def employee(person_id: Any) -> int | None:
            people = {r["id"]: r["data"]["email"] for r in self.psa.admin.rows("resources")}
            email = people.get(person_id)
            found = [
                r["id"] for r in self.erp.admin.rows("employees") if r["data"]["email"] == email
            ]
            return found[0] if len(found) == 1 else None

        if table == "customers":
            return {k: data.get(k) for k in ("name", "currency", "email")}
        if table == "projects":
            return {
                "name": data["name"],
                "code": data.get("code"),
                "currency": data["currency"],
                "customer_id": erp_id("customers", data.get("customer_id")),
                "budget": _dec(data.get("budget")),
            }
        if table == "time_entries":
            return {
                "employee_id": employee(data["person_id"]),
                "project_id": erp_id("projects", data["project_id"]),
                "date": data["date"],
                "minutes": data["minutes"],
                "billable": data.get("billable", True),
                "memo": data.get("notes"),
                "rate": _dec(data.get("rate")),
            }
        return {
            "employee_id": employee(data["person_id"]),
            "project_id": erp_id("projects", data["project_id"]),
            "date": data["date"],
            "category": data["category"],
            "amount": _dec(data["amount"]),
            "memo": data.get("notes"),
        }

    @staticmethod
    def actual(table: str, data: dict[str, Any]) -> dict[str, Any]:
        if table == "customers":
            return {k: data.get(k) for k in ("name", "currency", "email")}
        if table == "projects":
            return {
                "name": data["name"],
                "code": data.get("code"),
                "currency": data["currency"],
                "customer_id": data.get("customer_id"),
                "budget": _dec(data.get("budget")),
            }
        if table == "time_entries":
            return {
                "employee_id": data["employee_id"],
                "project_id": data["project_id"],
                "date": data["date"],
                "minutes": data["minutes"],
                "billable": data.get("billable", True),
                "memo": data.get("memo"),
                "rate": _dec(data.get("rate")),
            }
        return {
            "employee_id": data["employee_id"],
            "project_id": data["project_id"],
            "date": data["date"],
            "category": data["category"],
            "amount": _dec(data["amount"]),
            "memo": data.get("memo"),
        }

    def problems(self) -> list[str]:
        """Everything wrong at the target: lost, duplicated, stale, stray or undeleted rows."""
        erp = self._erp_by_key()
        found: list[str] = []
        for table, (object_type, _, _) in TABLES.items():
            keys = set()
            for row in self.psa.admin.rows(table, include_deleted=True):
                key = self.key(object_type, row["id"])
                keys.add(key)
                there = erp[table].get(key, [])
                if row.get("deleted_at") is not None:
                    if there:
                        found.append(f"{table}/{row['id']}: deleted at the source, still at ERP")
                    continue
                if not there:
                    found.append(f"{table}/{row['id']}: lost (not at ERP)")
                elif len(there) > 1:
                    found.append(f"{table}/{row['id']}: duplicated {len(there)} times at ERP")
                else:
                    want = _digest(self.expected(table, row["data"], erp))
                    got = _digest(self.actual(table, there[0]["data"]))
                    if want != got:
                        found.append(
                            f"{table}/{row['id']}: stale at ERP: "
                            f"{self.actual(table, there[0]['data'])} != "
                            f"{self.expected(table, row['data'], erp)}"
                        )
            for key in set(erp[table]) - keys:
                found.append(f"{table}: stray ERP row(s) with key {key}")
        return found

    def checkpoint_problems(self, checkpoints: dict[str, Any]) -> list[str]:
        """Rows a committed checkpoint has passed must be at the ERP with their values then.

        ``checkpoints`` maps a PSA table to its keyset cursor ``{"after": [ts, id], ...}``. A
        live row whose ``(updated_at, id)`` is at or before the cursor was read before the
        checkpoint moved, so the target must already hold exactly it.
        """
        erp = self._erp_by_key()
        found: list[str] = []
        for table, cursor in checkpoints.items():
            after = (cursor or {}).get("after")
            if not after:
                continue
            limit = (datetime.fromisoformat(str(after[0]).replace("Z", "+00:00")), int(after[1]))
            object_type = TABLES[table][0]
            for row in self.psa.admin.rows(table):
                stamp = datetime.fromisoformat(str(row["modified_at"]).replace("Z", "+00:00"))
                if (stamp, int(row["id"])) > limit:
                    continue
                there = erp[table].get(self.key(object_type, row["id"]), [])
                if len(there) != 1:
                    found.append(f"checkpoint of {table} passed {row['id']} ({len(there)} at ERP)")
                elif _digest(self.expected(table, row["data"], erp)) != _digest(
                    self.actual(table, there[0]["data"])
                ):
                    found.append(f"checkpoint of {table} passed {row['id']} with stale values")
        return found
