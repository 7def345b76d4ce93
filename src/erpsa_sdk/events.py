"""Business events in a CloudEvents 1.0 envelope, and the catalogue of event types.

A :class:`BusinessEvent` carries the CloudEvents context attributes (``id``, ``source``,
``type``, ``specversion``, ``time``, ``subject``, ``datacontenttype``), the JSON ``data`` and
three extension attributes: ``correlationid`` (the run or request that caused it),
``causationid`` (the event that caused it) and ``writekey`` (the :class:`~erpsa_sdk.models.WriteKey`
of the write it reports). ``to_json`` / ``from_json`` use the CloudEvents JSON format.

Events from other producers are read as the specification allows: ``time`` may be absent,
``data_base64`` may carry binary data, and other extension attributes are kept (in
:attr:`BusinessEvent.extensions`) and written back out. An extension's name must be lowercase
ASCII letters and digits; its value a string, a boolean or a 32-bit integer (binary, URI and
timestamp values travel as strings in JSON); a ``null`` attribute counts as absent.

Examples:
    >>> from datetime import UTC, datetime
    >>> event = BusinessEvent.create(EventType.TIMEENTRY_APPROVED, source="/kantata/acme",
    ...     subject="te-1", data={"minutes": 34}, time=datetime(2026, 11, 2, 17, tzinfo=UTC),
    ...     id="evt-1", correlationid="run-42")
    >>> event.type
    'dev.erpsa.timeentry.approved'
    >>> BusinessEvent.from_json(event.to_json()) == event
    True
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import uuid
from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any, Final

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = ["EVENT_TYPE_PREFIX", "BusinessEvent", "EventType"]

#: Reverse-DNS prefix of the catalogue's CloudEvents ``type`` values (CloudEvents recommends one).
EVENT_TYPE_PREFIX: Final = "dev.erpsa."

_ATTRIBUTE_NAME = re.compile(r"[a-z0-9]+")
_INT32 = range(-(2**31), 2**31)
#: An extension attribute's value in the JSON format: String (also Binary, URI, URI-reference
#: and Timestamp, which JSON carries as strings), Boolean or Integer.
ExtensionValue = str | bool | int


def _extension_value(name: str, value: Any) -> ExtensionValue:
    if isinstance(value, (str, bool)):
        return value
    if isinstance(value, int):
        if value not in _INT32:
            raise ValueError(f"extension attribute {name!r}: {value} is not a 32-bit integer")
        return value
    raise ValueError(
        f"extension attribute {name!r} must be a string, boolean or integer, "
        f"not {type(value).__name__}"
    )


class EventType(StrEnum):
    """The catalogue of business event types (``<object>.<what happened>``).

    The CloudEvents ``type`` is :data:`EVENT_TYPE_PREFIX` + the value; see :attr:`ce_type`.

    Examples:
        >>> EventType.INVOICE_RELEASED.ce_type
        'dev.erpsa.invoice.released'
        >>> EventType.from_ce_type("dev.erpsa.project.approved")
        <EventType.PROJECT_APPROVED: 'project.approved'>
    """

    CUSTOMER_CREATED = "customer.created"
    CUSTOMER_UPDATED = "customer.updated"
    PROJECT_CREATED = "project.created"
    PROJECT_APPROVED = "project.approved"
    PROJECT_CLOSED = "project.closed"
    CONTRACT_SIGNED = "contract.signed"
    RESOURCE_ASSIGNED = "resource.assigned"
    RESOURCE_RATE_CHANGED = "resource.rate_changed"
    TIMESHEET_SUBMITTED = "timesheet.submitted"
    TIMESHEET_APPROVED = "timesheet.approved"
    TIMEENTRY_APPROVED = "timeentry.approved"
    TIMEENTRY_REJECTED = "timeentry.rejected"
    EXPENSE_SUBMITTED = "expense.submitted"
    EXPENSE_APPROVED = "expense.approved"
    MILESTONE_ACHIEVED = "milestone.achieved"
    INVOICE_RELEASED = "invoice.released"
    INVOICE_POSTED = "invoice.posted"
    INVOICE_VOIDED = "invoice.voided"
    REVENUE_POSTED = "revenue.posted"
    REVENUE_REVERSED = "revenue.reversed"
    RECORD_DELETED = "record.deleted"
    RECORD_REJECTED = "record.rejected"

    @property
    def ce_type(self) -> str:
        """The CloudEvents ``type`` attribute of this event type.

        Examples:
            >>> EventType.REVENUE_POSTED.ce_type
            'dev.erpsa.revenue.posted'
        """
        return EVENT_TYPE_PREFIX + self.value

    @classmethod
    def from_ce_type(cls, ce_type: str) -> EventType:
        """The catalogue entry of a CloudEvents ``type``; ``ValueError`` when not in it.

        Examples:
            >>> EventType.from_ce_type("dev.erpsa.expense.approved").value
            'expense.approved'
        """
        if not ce_type.startswith(EVENT_TYPE_PREFIX):
            raise ValueError(f"{ce_type!r} is not an erpsa-sdk event type")
        return cls(ce_type.removeprefix(EVENT_TYPE_PREFIX))


class BusinessEvent(BaseModel):
    """A business event as a CloudEvents 1.0 envelope.

    Attributes:
        id: unique within ``source``; :meth:`create` derives it from ``writekey`` when given,
            so a replayed write emits the same event id (consumers deduplicate on it).
        source: URI reference of the producer context (``/kantata/acme``).
        type: the CloudEvents type; catalogue types start with :data:`EVENT_TYPE_PREFIX`.
        time: aware timestamp of the occurrence; optional in CloudEvents, so an event from
            another producer may lack it (:meth:`create` always sets it).
        subject: the object the event is about (a canonical key).
        data: the JSON payload (typically a canonical object dumped in JSON mode).
        data_base64: binary data, base64-encoded (the JSON format's alternative to ``data``).
        correlationid: extension attribute: the run or request this event belongs to.
        causationid: extension attribute: the id of the event that caused this one.
        writekey: extension attribute: the compact ``WriteKey`` of the write it reports.

    Any other attribute is an extension attribute, kept in :attr:`extensions`.

    Examples:
        >>> from datetime import UTC, datetime
        >>> e = BusinessEvent(id="1", source="/netsuite/TSTDRV1", type="dev.erpsa.invoice.posted",
        ...                   time=datetime(2026, 11, 30, tzinfo=UTC))
        >>> e.specversion, e.datacontenttype
        ('1.0', 'application/json')
    """

    model_config = ConfigDict(frozen=True, extra="allow")

    id: str = Field(min_length=1)
    source: str = Field(min_length=1)
    type: str = Field(min_length=1)
    specversion: str = "1.0"
    time: AwareDatetime | None = None
    subject: str | None = None
    datacontenttype: str = "application/json"
    dataschema: str | None = None
    data: Any = None
    data_base64: str | None = None
    correlationid: str | None = Field(default=None, min_length=1)
    causationid: str | None = Field(default=None, min_length=1)
    writekey: str | None = Field(default=None, min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _extensions(cls, values: Any) -> Any:
        if not isinstance(values, Mapping):
            return values
        kept: dict[str, Any] = {}
        for name, value in values.items():
            if name in cls.model_fields:
                kept[name] = value
            elif value is not None:  # the JSON format treats a null attribute as absent
                if not isinstance(name, str) or not _ATTRIBUTE_NAME.fullmatch(name):
                    raise ValueError(
                        f"attribute name {name!r}: CloudEvents names are lowercase ASCII "
                        "letters and digits"
                    )
                kept[name] = _extension_value(name, value)
        if kept.get("data") is not None and kept.get("data_base64") is not None:
            raise ValueError("an event carries data or data_base64, not both")
        return kept

    @field_validator("data_base64")
    @classmethod
    def _base64(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                base64.b64decode(value, validate=True)
            except binascii.Error:
                raise ValueError("data_base64 is not valid base64") from None
        return value

    @field_validator("specversion")
    @classmethod
    def _v1(cls, value: str) -> str:
        if value != "1.0":
            raise ValueError(f"only CloudEvents specversion 1.0 is supported, got {value!r}")
        return value

    @classmethod
    def create(
        cls,
        event_type: EventType | str,
        *,
        source: str,
        data: Any = None,
        subject: str | None = None,
        time: datetime | None = None,
        id: str | None = None,
        correlationid: str | None = None,
        causationid: str | None = None,
        writekey: object | None = None,
        extensions: Mapping[str, ExtensionValue] | None = None,
    ) -> BusinessEvent:
        """Build an event; a pydantic model as ``data`` is dumped in JSON mode.

        ``time`` defaults to now (UTC). ``id`` defaults to a UUIDv5 of (type, writekey) when a
        write key is given, else a random UUID. ``writekey`` may be a ``WriteKey`` or its string.
        ``extensions`` adds further extension attributes (names must not be context
        attributes).

        Examples:
            >>> from erpsa_sdk.models import Money
            >>> e = BusinessEvent.create("invoice.released", source="/erpsa", writekey="ns_wabc",
            ...                          data=Money("10", "EUR"))
            >>> e.type, e.data, e.id == BusinessEvent.create("invoice.released",
            ...     source="/erpsa", writekey="ns_wabc").id
            ('dev.erpsa.invoice.released', {'amount': '10.00', 'currency': 'EUR'}, True)
        """
        ce_type = (
            EventType(event_type).ce_type
            if isinstance(event_type, EventType) or event_type in EventType._value2member_map_
            else event_type
        )
        key = None if writekey is None else str(writekey)
        if id is None:
            id = (
                str(uuid.uuid5(uuid.NAMESPACE_URL, f"{ce_type}|{key}"))
                if key
                else str(uuid.uuid4())
            )
        if time is None:
            from erpsa_sdk.clock import SystemClock

            time = SystemClock().now()
        payload = data.model_dump(mode="json") if isinstance(data, BaseModel) else data
        clash = sorted(set(extensions or {}) & set(cls.model_fields))
        if clash:
            raise ValueError(f"{', '.join(clash)}: not extension attributes")
        return cls(
            **dict(extensions or {}),
            id=id,
            source=source,
            type=ce_type,
            time=time,
            subject=subject,
            data=payload,
            correlationid=correlationid,
            causationid=causationid,
            writekey=key,
        )

    @property
    def extensions(self) -> dict[str, ExtensionValue]:
        """Extension attributes other than ``correlationid``, ``causationid`` and ``writekey``.

        Examples:
            >>> BusinessEvent.from_json('{"id":"1","source":"/x","type":"t",'
            ...     '"specversion":"1.0","traceparent":"00-ab-cd-01","partition":3}').extensions
            {'traceparent': '00-ab-cd-01', 'partition': 3}
        """
        return dict(self.model_extra or {})

    @property
    def event_type(self) -> EventType | None:
        """The catalogue entry of :attr:`type`, or ``None`` for a custom type.

        Examples:
            >>> from datetime import UTC, datetime
            >>> BusinessEvent(id="1", source="/x", type="com.example.custom",
            ...               time=datetime(2026, 1, 1, tzinfo=UTC)).event_type is None
            True
        """
        try:
            return EventType.from_ce_type(self.type)
        except ValueError:
            return None

    def to_dict(self) -> dict[str, Any]:
        """The CloudEvents JSON-format object (unset optional attributes left out).

        Examples:
            >>> from datetime import UTC, datetime
            >>> sorted(BusinessEvent(id="1", source="/x", type="t",
            ...        time=datetime(2026, 1, 1, tzinfo=UTC)).to_dict())
            ['datacontenttype', 'id', 'source', 'specversion', 'time', 'type']
        """
        return self.model_dump(mode="json", exclude_none=True)

    def to_json(self) -> str:
        """The event in CloudEvents JSON format (``application/cloudevents+json``).

        Examples:
            >>> from datetime import UTC, datetime
            >>> BusinessEvent(id="1", source="/x", type="t",
            ...               time=datetime(2026, 1, 1, tzinfo=UTC)).to_json()
            '{"datacontenttype":"application/json","id":"1","source":"/x","specversion":"1.0","time":"2026-01-01T00:00:00Z","type":"t"}'
        """
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes) -> BusinessEvent:
        """Read an event in CloudEvents JSON format (``pydantic.ValidationError`` if invalid).

        Examples:
            >>> BusinessEvent.from_json('{"id":"1","source":"/x","type":"t",'
            ...     '"specversion":"1.0","time":"2026-01-01T00:00:00Z"}').id
            '1'
            >>> BusinessEvent.from_json('{"id":"1","source":"/x","type":"t",'
            ...     '"specversion":"1.0","comexampleextension1":"value"}').time is None
            True
        """
        return cls.model_validate_json(text)
