"""erpsa_sdk.auth (under construction)."""
