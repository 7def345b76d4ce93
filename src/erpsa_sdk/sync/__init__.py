"""erpsa_sdk.sync (under construction)."""
