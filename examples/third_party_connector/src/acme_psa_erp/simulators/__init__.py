"""Simulators of the invented AcmePSA and AcmeERP APIs, built on :mod:`erpsa_sdk.testing`.

Both systems know the same people (by e-mail), so the ERP's employees can be matched to the
PSA's resources.

Example:
    >>> from acme_psa_erp.simulators import AcmeErpSimulator, AcmePsaSimulator
    >>> AcmePsaSimulator(seed=1).admin.count("time_entries")
    60
    >>> AcmeErpSimulator(seed=1).admin.count("employees")
    8
"""

from __future__ import annotations

from acme_psa_erp.simulators.erp import AcmeErpSimulator
from acme_psa_erp.simulators.psa import AcmePsaSimulator

__all__ = ["AcmeErpSimulator", "AcmePsaSimulator"]
