"""erpsa_sdk.testing (under construction)."""
