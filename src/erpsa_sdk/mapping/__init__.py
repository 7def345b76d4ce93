"""erpsa_sdk.mapping (under construction)."""
