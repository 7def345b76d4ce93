"""Vendor-neutral HTTP transport: clients, errors, retries, pagination, redaction."""

from erpsa_sdk.http.safety import WriteSafety

__all__ = ["WriteSafety"]
