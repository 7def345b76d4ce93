"""erpsa_sdk.limits (under construction)."""
