"""Deterministic vendor-shaped time-entry records, as the connectors really read them.

Record ``i`` of a vendor is a pure function of ``i``: the frozen server renders it, and any
checker can regenerate it. One record in each stream is *poisoned* (a value the mapping must
refuse), so a run proves that validation ran: the SDK must hand it over as ``Rejected``.

* ``netsuite``   - SuiteQL rows of ``timebill``: flat columns, every value a string
  (hours ``"3.25"``, booleans ``"T"``/``"F"``), ordered by (``lastmodified``, ``id``).
* ``kantata``    - the ``time_entries`` envelope: ``results`` refs plus a map keyed by id.
* ``dynamics365`` - Dataverse ``msdyn_timeentries`` OData rows (GUIDs, option-set codes).
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

VENDORS = ("netsuite", "kantata", "dynamics365")

_EPOCH = datetime(2025, 1, 1, tzinfo=UTC)
_WORDS = (
    "configured mapping for invoice sync reviewed exceptions with the client finance team "
    "updated the integration runbook fixed rounding on billable hours prepared cutover"
)
_STATUS = ("Approved", "Pending Approval", "Open")
_ENTRY_STATUS = (192350000, 192350001, 192350002, 192350003)


def poison_index(n: int) -> int:
    """Where the poisoned record sits in a stream of ``n`` records (mid-stream, mid-page).

    Example:
        >>> poison_index(100_000)
        50037
    """
    return n // 2 + 37 if n > 100 else n // 2


def _memo(i: int) -> str:
    # A slice of varying length and offset: memos differ in size like real ones do.
    start = (i * 7) % 60
    return f"Work item {i}: " + _WORDS[start : start + 40 + (i * 11) % 90] + "."


def _guid(kind: int, i: int) -> str:
    return str(uuid.UUID(int=(kind << 96) | (i + 1), version=4))


def netsuite_row(i: int, *, poisoned: bool = False) -> dict[str, Any]:
    """One SuiteQL ``timebill`` row (numbers as strings, ``links`` as NetSuite sends them).

    Example:
        >>> netsuite_row(3)["hours"], netsuite_row(3)["id"]
        ('2.00', '100003')
    """
    minutes = 15 * (1 + (i * 13) % 32)
    return {
        "links": [],
        "id": str(100_000 + i),
        "lastmodified": (_EPOCH + timedelta(seconds=i)).strftime("%Y-%m-%d %H:%M:%S"),
        "employee": str(500 + i % 400),
        "customer": str(2000 + i % 30),
        "casetaskevent": str(9000 + i % 240),
        "trandate": (_EPOCH.date() + timedelta(days=i // 120)).isoformat(),
        "hours": "not-a-number" if poisoned else f"{minutes / 60:.2f}",
        "memo": _memo(i),
        "isbillable": "T" if i % 5 else "F",
        "approvalstatus": _STATUS[i % 3],
    }


def netsuite_id(i: int) -> str:
    """The internal id of NetSuite row ``i``.

    Example:
        >>> netsuite_id(0)
        '100000'
    """
    return str(100_000 + i)


def kantata_ts(i: int) -> str:
    """``updated_at`` of Kantata record ``i`` (one second apart: no ties).

    Example:
        >>> kantata_ts(61)
        '2025-01-01T00:01:01+00:00'
    """
    return (_EPOCH + timedelta(seconds=i)).isoformat(timespec="seconds")


def kantata_row(i: int, *, poisoned: bool = False) -> dict[str, Any]:
    """One Kantata ``time_entries`` record (money in cents with its base unit).

    Example:
        >>> kantata_row(2)["time_in_minutes"], kantata_row(2)["currency"]
        (405, 'JPY')
    """
    currency, unit = (("USD", 100), ("EUR", 100), ("JPY", 1))[i % 3]
    ts = kantata_ts(i)
    return {
        "location": None,
        "billable": bool(i % 5),
        "notes": _memo(i),
        "rate_in_cents": 15000 if unit == 100 else 150,
        "cost_rate_in_cents": 7500 if unit == 100 else 75,
        "approved": i % 3 == 0,
        "taxable": False,
        "is_invoiced": False,
        "story_id": str(1 + i % 240),
        "user_id": str(1 + i % 400),
        "active_submission_id": None,
        "recent_submission_id": None,
        "role_id": None,
        "invoice_id": None,
        "workspace_id": str(1 + i % 30),
        "date_performed": (_EPOCH.date() + timedelta(days=i // 120)).isoformat(),
        "time_in_minutes": 30.5 if poisoned else 15 * (1 + (i * 13) % 32),
        "currency": currency,
        "currency_symbol": {"USD": "$", "EUR": "€", "JPY": "¥"}[currency],
        "currency_base_unit": unit,
        "created_at": ts,
        "updated_at": ts,
        "user_can_edit": True,
        "id": str(i + 1),
    }


def kantata_id(i: int) -> str:
    """The id of Kantata record ``i``.

    Example:
        >>> kantata_id(0)
        '1'
    """
    return str(i + 1)


def dynamics_row(i: int, *, poisoned: bool = False) -> dict[str, Any]:
    """One Dataverse ``msdyn_timeentry`` row as the connector selects it.

    Example:
        >>> dynamics_row(0)["msdyn_duration"]
        15
    """
    ts = (_EPOCH + timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%SZ")
    version = 1_000_000 + i
    return {
        "@odata.etag": f'W/"{version}"',
        "msdyn_timeentryid": dynamics_id(i),
        "msdyn_description": _memo(i),
        "msdyn_date": "not-a-date"
        if poisoned
        else (_EPOCH.date() + timedelta(days=i // 120)).isoformat(),
        "msdyn_duration": 15 * (1 + (i * 13) % 32),
        "msdyn_type": 192350000,
        "msdyn_entrystatus": _ENTRY_STATUS[i % 4],
        "msdyn_externaldescription": None,
        "statecode": 0,
        "_msdyn_bookableresource_value": _guid(2, i % 400),
        "_msdyn_project_value": _guid(3, i % 30),
        "_msdyn_projecttask_value": _guid(4, i % 240) if i % 4 else None,
        "modifiedon": ts,
        "createdon": ts,
        "versionnumber": version,
    }


def dynamics_id(i: int) -> str:
    """The row id (a GUID) of Dataverse record ``i``.

    Example:
        >>> dynamics_id(0)
        '00000001-0000-4000-8000-000000000001'
    """
    return _guid(1, i)


ROWS = {"netsuite": netsuite_row, "kantata": kantata_row, "dynamics365": dynamics_row}
IDS = {"netsuite": netsuite_id, "kantata": kantata_id, "dynamics365": dynamics_id}


def render(vendor: str, n: int) -> list[bytes]:
    """Every record of a stream of ``n``, as compact JSON bytes (the poisoned one included).

    Example:
        >>> json.loads(render("netsuite", 2)[1])["id"]
        '100001'
    """
    make = ROWS[vendor]
    bad = poison_index(n)
    dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
    return [dumps(make(i, poisoned=i == bad)).encode() for i in range(n)]
