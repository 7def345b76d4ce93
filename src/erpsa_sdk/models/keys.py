"""The two keys of a write: :class:`EntityKey` (which record), :class:`WriteKey` (which write).

``EntityKey`` is a source record's identity at a target for its whole life: the same for every
version of the record. ``WriteKey`` names one logical write of one version; it is reused on
every retry and replay, so a source edit is a new WriteKey on the same EntityKey.

String forms (designed limit: **at most 64 ASCII characters** from ``[a-z0-9_-]``, safe in a
URL path such as NetSuite's ``PUT …/eid:<key>`` and within NetSuite ``externalId``, Kantata
external references and a Salesforce external-id field of 255):

* ``str(entity_key)`` is ``<namespace>_<26 base32 chars>``: the namespace stays readable, the
  rest is a SHA-256 digest of every component (130 bits), at most 24 + 1 + 26 = 51 characters.
* ``str(write_key)`` is ``<namespace>_w<26 base32 chars>``: at most 52 characters.
* ``key.canonical`` is the full, reversible form; ``EntityKey.parse`` reads it back.
* ``entity_key.uuid5()`` is the Dataverse row id (a UUIDv5 of the canonical form).

Examples:
    >>> ek = EntityKey(namespace="acme-prod", system="kantata", tenant="acme",
    ...                source_id="42", object_type="time_entry")
    >>> str(ek)
    'acme-prod_bamqlqoeqhemalrxalicpi3sb2'
    >>> EntityKey.parse(ek.canonical) == ek
    True
    >>> WriteKey(entity_key=ek, version="v1", operation="upsert") != WriteKey(
    ...     entity_key=ek, version="v2", operation="upsert")
    True
"""

from __future__ import annotations

import base64
import functools
import hashlib
import uuid
from enum import StrEnum
from typing import Final
from urllib.parse import quote, unquote

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["KEY_MAX_LENGTH", "EntityKey", "WriteKey", "WriteOperation"]

#: Longest ``str()`` form of either key; every target's external-id field holds this much.
KEY_MAX_LENGTH: Final = 64

# Namespace: an explicit deployment setting such as "acme-prod". Lower-case letters, digits and
# inner hyphens only, so it can never be a file path or a pipeline file name by accident.
_NAMESPACE_PATTERN: Final = r"^[a-z0-9](?:[a-z0-9-]{0,22}[a-z0-9])?$"
_DNS_ROOT: Final = uuid.uuid5(uuid.NAMESPACE_URL, "urn:erpsa-sdk:entity-key")
_DIGEST_CHARS: Final = 26


# Keys are rebuilt from the same parts many times while one record is synced (planning,
# ledger, lineage, logs): both pure functions are memoised, in bounded caches.
@functools.lru_cache(maxsize=16_384)
def _digest(text: str) -> str:
    raw = hashlib.sha256(text.encode("utf-8")).digest()
    return base64.b32encode(raw).decode("ascii").lower()[:_DIGEST_CHARS]


@functools.lru_cache(maxsize=16_384)
def _enc(part: str) -> str:
    # ':' separates components in the canonical form; quote everything outside unreserved.
    return quote(part, safe="-._~")


class WriteOperation(StrEnum):
    """What a write does to the target record.

    Examples:
        >>> WriteOperation("upsert") is WriteOperation.UPSERT
        True
    """

    CREATE = "create"
    UPSERT = "upsert"
    UPDATE = "update"
    DELETE = "delete"
    REVERSE = "reverse"


class EntityKey(BaseModel):
    """A source record's stable identity at a target.

    Attributes:
        namespace: the deployment's explicit, stable namespace (``acme-prod``): 1-24 of
            ``[a-z0-9-]``, no leading or trailing hyphen. Never derive it from a pipeline name
            or a file path; changing it is a migration.
        system: the source system (``kantata``).
        tenant: the source tenant or account.
        source_id: the record's id in the source system.
        object_type: the target object type (``time_entry``, ``customer``).

    Examples:
        >>> ek = EntityKey(namespace="acme-prod", system="netsuite", tenant="TSTDRV1",
        ...                source_id="1001", object_type="customer")
        >>> ek.canonical
        'ek1:acme-prod:netsuite:TSTDRV1:customer:1001'
        >>> len(str(ek)) <= KEY_MAX_LENGTH
        True
        >>> str(ek.uuid5())
        'a5a67b72-0de1-5768-b690-d6bf1dc94cc8'
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    namespace: str = Field(pattern=_NAMESPACE_PATTERN)
    system: str = Field(min_length=1, max_length=200)
    tenant: str = Field(min_length=1, max_length=200)
    source_id: str = Field(min_length=1, max_length=1000)
    object_type: str = Field(min_length=1, max_length=100)

    @property
    def canonical(self) -> str:
        """The full, reversible form: ``ek1:<ns>:<system>:<tenant>:<object_type>:<source_id>``.

        Examples:
            >>> EntityKey(namespace="n", system="s", tenant="t:1", source_id="a b",
            ...           object_type="project").canonical
            'ek1:n:s:t%3A1:project:a%20b'
        """
        parts = (self.namespace, self.system, self.tenant, self.object_type, self.source_id)
        return "ek1:" + ":".join(_enc(p) for p in parts)

    @classmethod
    def parse(cls, text: str) -> EntityKey:
        """Read back a :attr:`canonical` form (the hashed ``str()`` form cannot be reversed).

        Examples:
            >>> EntityKey.parse("ek1:n:s:t:project:P-1").source_id
            'P-1'
        """
        parts = text.split(":")
        if len(parts) != 6 or parts[0] != "ek1":
            raise ValueError(f"not a canonical EntityKey: {text!r}")
        namespace, system, tenant, object_type, source_id = (unquote(p) for p in parts[1:])
        return cls(
            namespace=namespace,
            system=system,
            tenant=tenant,
            source_id=source_id,
            object_type=object_type,
        )

    @property
    def external_id(self) -> str:
        """The compact form for vendor external-id fields (same as ``str(key)``).

        Examples:
            >>> ek = EntityKey(namespace="n", system="s", tenant="t", source_id="1",
            ...                object_type="project")
            >>> ek.external_id == str(ek) and ek.external_id.startswith("n_")
            True
        """
        return f"{self.namespace}_{_digest(self.canonical)}"

    def uuid5(self) -> uuid.UUID:
        """A deterministic UUID (version 5) of the key, for targets keyed by GUID (Dataverse).

        Examples:
            >>> ek = EntityKey(namespace="n", system="s", tenant="t", source_id="1",
            ...                object_type="project")
            >>> ek.uuid5().version
            5
        """
        return uuid.uuid5(_DNS_ROOT, self.canonical)

    def __str__(self) -> str:
        return self.external_id


class WriteKey(BaseModel):
    """One logical write: an :class:`EntityKey`, the source version and the operation.

    The same WriteKey is reused on every retry and replay of that write and keys the ledger;
    it is sent to a vendor only where the vendor deduplicates requests.

    Examples:
        >>> ek = EntityKey(namespace="acme-prod", system="kantata", tenant="acme",
        ...                source_id="42", object_type="time_entry")
        >>> wk = WriteKey(entity_key=ek, version="2026-11-01T10:00:00Z", operation="upsert")
        >>> str(wk).startswith("acme-prod_w"), len(str(wk)) <= KEY_MAX_LENGTH
        (True, True)
        >>> WriteKey.parse(wk.canonical) == wk
        True
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    entity_key: EntityKey
    version: str = Field(min_length=1, max_length=500)
    operation: WriteOperation

    @property
    def canonical(self) -> str:
        """The full, reversible form: ``wk1:<operation>:<version>:<entity canonical>``.

        Examples:
            >>> ek = EntityKey.parse("ek1:n:s:t:project:1")
            >>> WriteKey(entity_key=ek, version="7", operation="delete").canonical
            'wk1:delete:7:ek1:n:s:t:project:1'
        """
        return f"wk1:{self.operation.value}:{_enc(self.version)}:{self.entity_key.canonical}"

    @classmethod
    def parse(cls, text: str) -> WriteKey:
        """Read back a :attr:`canonical` form.

        Examples:
            >>> WriteKey.parse("wk1:upsert:v1:ek1:n:s:t:project:1").version
            'v1'
        """
        parts = text.split(":", 3)
        if len(parts) != 4 or parts[0] != "wk1":
            raise ValueError(f"not a canonical WriteKey: {text!r}")
        return cls(
            entity_key=EntityKey.parse(parts[3]),
            version=unquote(parts[2]),
            operation=WriteOperation(parts[1]),
        )

    @property
    def token(self) -> str:
        """The compact form (same as ``str(key)``) for ledgers and vendor idempotency headers.

        Examples:
            >>> wk = WriteKey.parse("wk1:upsert:v1:ek1:n:s:t:project:1")
            >>> wk.token == str(wk)
            True
        """
        return f"{self.entity_key.namespace}_w{_digest(self.canonical)}"

    def uuid5(self) -> uuid.UUID:
        """A deterministic UUID of the write, for vendors whose request ids must be GUIDs.

        Examples:
            >>> WriteKey.parse("wk1:upsert:v1:ek1:n:s:t:project:1").uuid5().version
            5
        """
        return uuid.uuid5(_DNS_ROOT, self.canonical)

    def __str__(self) -> str:
        return self.token
