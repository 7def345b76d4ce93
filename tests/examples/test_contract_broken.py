"""Deliberately broken variants of the example plugin FAIL the contract suite, clearly.

Each variant changes one thing a careless connector (or simulator) gets wrong; the matching
check must raise ContractViolation with a message that names the problem.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from acme_psa_erp import ACMEERP, ACMEPSA, AcmeErpConnector, AcmePsaConnector
from acme_psa_erp.erp import TARGETS
from acme_psa_erp.simulators import AcmeErpSimulator
from pydantic import BaseModel

from erpsa_sdk.connector import Capabilities, Cursor, WriteOutcome, WriteResult
from erpsa_sdk.errors import IndeterminateWrite, NotFoundError
from erpsa_sdk.http import ApiClient, WriteSafety
from erpsa_sdk.models import EntityKey, SourceRef, WriteKey
from erpsa_sdk.testing import SimError, SimRequest, SimResponse, route
from erpsa_sdk.testing.contract import (
    ContractViolation,
    check_commit_then_drop,
    check_delete_twice,
    check_limits,
    check_negative_control,
    check_read_completeness,
    check_write_edit_write,
)
from tests.examples._suites import AcmeErpSuite, AcmePsaSuite

# -- 1. a reader that drops the last page ------------------------------------------------------


class _DropLastPage:
    def __init__(self, pager: Any, since: Cursor) -> None:
        self._pager = pager
        self._cursor = since

    def iter_pages(self) -> Iterator[Any]:
        pending = None
        for page in self._pager.iter_pages():
            if pending is not None:
                yield pending
                self._cursor = pending.cursor
            pending = page  # the last page is never handed over

    def __iter__(self) -> Iterator[Any]:
        for page in self.iter_pages():
            yield from page.items

    @property
    def cursor(self) -> Cursor:
        return self._cursor


class DropsLastPage(AcmePsaConnector):
    def read(self, model: type[BaseModel], *, since: Cursor = None, **filters: Any) -> Any:
        return _DropLastPage(super().read(model, since=since, **filters), since)


# -- 2. a writer that re-creates blindly after a lost answer -----------------------------------


class CreatesBlindlyOnRetry(AcmeErpConnector):
    def upsert(
        self,
        obj: BaseModel,
        *,
        entity_key: EntityKey,
        write_key: WriteKey,
        refs: Mapping[str, SourceRef],
    ) -> WriteResult:
        try:
            return super().upsert(obj, entity_key=entity_key, write_key=write_key, refs=refs)
        except IndeterminateWrite:
            collection, _ = TARGETS[type(obj).__name__]
            payload = self._payload(obj, entity_key, refs)
            self._client.request("POST", f"/{collection}", json=payload, safety=WriteSafety.UNSAFE)
            return WriteResult(outcome=WriteOutcome.CREATED, entity_key=entity_key)


# -- 3. a simulator that de-duplicates silently ------------------------------------------------


class DedupingErpSimulator(AcmeErpSimulator):
    @route("POST", "/{collection}")
    def create(self, req: SimRequest) -> SimResponse:
        body = req.json()
        table = self._table_of(req)
        if isinstance(body, dict) and table in {"projects", "time_entries", "expenses"}:
            for row in self.table(table).live_rows():
                if all(row.data.get(k) == v for k, v in body.items()):
                    return SimResponse.json(self.render(row), status=201)
        return super().create(req)


def _deduping_sim(seed: int = 0, faults: Any = None, clock: Any = None) -> DedupingErpSimulator:
    return DedupingErpSimulator(seed=seed, faults=faults, clock=clock)


# -- 4. a writer that writes an edit as a new record -------------------------------------------


class WritesEditAsNew(AcmeErpConnector):
    def upsert(
        self,
        obj: BaseModel,
        *,
        entity_key: EntityKey,
        write_key: WriteKey,
        refs: Mapping[str, SourceRef],
    ) -> WriteResult:
        collection, _ = TARGETS[type(obj).__name__]
        if collection == "customers":
            return super().upsert(obj, entity_key=entity_key, write_key=write_key, refs=refs)
        payload = self._payload(obj, entity_key, refs)
        resp = self._client.request(
            "POST", f"/{collection}", json=payload, safety=WriteSafety.UNSAFE
        )
        return WriteResult(
            outcome=WriteOutcome.CREATED, entity_key=entity_key, ref=self._ref(resp.json())
        )


# -- 5. a delete that raises when the record is already gone -----------------------------------


class DeleteRaisesOnSecondCall(AcmeErpConnector):
    def delete(
        self, model: type[BaseModel], *, entity_key: EntityKey, write_key: WriteKey
    ) -> WriteResult:
        if self.lookup(model, entity_key=entity_key) is None:
            raise NotFoundError("record not found", status=404)
        return super().delete(model, entity_key=entity_key, write_key=write_key)


# -- 6. a connector that ignores its declared limits -------------------------------------------


class IgnoresLimits(AcmeErpConnector):
    def __init__(self, settings: Any, *, transport: Any = None, clock: Any = None) -> None:
        super().__init__(settings, transport=transport, clock=clock)
        self._client = ApiClient(
            base_url=settings.base_url,
            tenant=settings.tenant,
            transport=transport,
            clock=clock,
            headers={"authorization": f"Bearer {settings.api_token.get_secret_value()}"},
        )


def _erp_suite(**changes: Any) -> AcmeErpSuite:
    suite = type(
        "BrokenErpSuite", (AcmeErpSuite,), {"plugin": dataclasses.replace(ACMEERP, **changes)}
    )
    return suite()  # type: ignore[no-any-return]


def test_the_unbroken_plugin_passes_the_same_checks() -> None:
    erp = AcmeErpSuite()
    for check in (check_commit_then_drop, check_write_edit_write, check_negative_control):
        check(erp.harness(), "TimeEntry")
    check_delete_twice(erp.harness(), "TimeEntry")
    check_limits(erp.harness())
    check_read_completeness(AcmePsaSuite().harness(), "TimeEntry")


def test_dropping_the_last_page_fails_read_completeness() -> None:
    suite = type(
        "S", (AcmePsaSuite,), {"plugin": dataclasses.replace(ACMEPSA, connector=DropsLastPage)}
    )()
    with pytest.raises(
        ContractViolation,
        match=r"read completeness \(TimeEntry\): \d+ of \d+ rows "
        r"that existed throughout the walk were never yielded .*drop or skip a page",
    ):
        check_read_completeness(suite.harness(), "TimeEntry")


def test_creating_blindly_on_retry_fails_commit_then_drop() -> None:
    suite = _erp_suite(connector=CreatesBlindlyOnRetry)
    with pytest.raises(
        ContractViolation,
        match=r"commit-then-drop \(TimeEntry\): EntityKey \S+ has 2 "
        r"records at the target .*never create blindly",
    ):
        check_commit_then_drop(suite.harness(), "TimeEntry")


def test_a_simulator_that_dedupes_silently_fails_the_negative_control() -> None:
    suite = _erp_suite(simulator_factory=_deduping_sim)
    check_write_edit_write(suite.harness(), "TimeEntry")  # the connector itself is fine...
    with pytest.raises(
        ContractViolation,
        match=r"negative control \(TimeEntry\): .* left 1 "
        r"record\(s\), .*'unsafe'.* de-duplicates silently",
    ):
        check_negative_control(suite.harness(), "TimeEntry")  # ...the simulator lies


class DedupesCustomers(AcmeErpSimulator):
    @route("POST", "/{collection}")
    def create(self, req: SimRequest) -> SimResponse:
        body = req.json()
        if isinstance(body, dict) and self._table_of(req) == "customers":
            for row in self.table("customers").live_rows():
                if all(row.data.get(k) == v for k, v in body.items()):
                    return SimResponse.json(self.render(row), status=201)
        return super().create(req)


def _customer_deduping_sim(seed: int = 0, faults: Any = None, clock: Any = None) -> Any:
    return DedupesCustomers(seed=seed, faults=faults, clock=clock)


class DeclaresVendorDedup(AcmeErpConnector):
    @property
    def capabilities(self) -> Capabilities:
        caps = super().capabilities
        customer = caps.types["Customer"].model_copy(update={"vendor_dedupes_blind_creates": True})
        return caps.model_copy(update={"types": {**caps.types, "Customer": customer}})


def test_a_keyed_create_does_not_excuse_a_deduping_simulator() -> None:
    # Customer creates are natural upserts (the connector's safety), yet AcmeERP does not
    # de-duplicate a keyless POST: the negative control still runs and catches the lie.
    suite = _erp_suite(simulator_factory=_customer_deduping_sim)
    with pytest.raises(
        ContractViolation,
        match=r"negative control \(Customer\): .* left 1 record\(s\), .*'natural_upsert' "
        r"and vendor_dedupes_blind_creates=False",
    ):
        check_negative_control(suite.harness(), "Customer")
    # Only the explicit vendor declaration turns the check off.
    declared = _erp_suite(simulator_factory=_customer_deduping_sim, connector=DeclaresVendorDedup)
    with pytest.raises(pytest.skip.Exception, match="the vendor de-duplicates"):
        check_negative_control(declared.harness(), "Customer")


def test_writing_an_edit_as_a_new_record_fails_write_edit_write() -> None:
    suite = _erp_suite(connector=WritesEditAsNew)
    with pytest.raises(
        ContractViolation,
        match=r"write-edit-write \(Project\): 2 records at the "
        r"target carry EntityKey .*not write a new one",
    ):
        check_write_edit_write(suite.harness(), "Project")


def test_delete_raising_on_the_second_call_fails_delete_twice() -> None:
    suite = _erp_suite(connector=DeleteRaisesOnSecondCall)
    with pytest.raises(
        ContractViolation,
        match=r"delete \(TimeEntry\): the second delete raised "
        r"NotFoundError: .*must return not_found",
    ):
        check_delete_twice(suite.harness(), "TimeEntry")


def test_ignoring_declared_limits_fails_the_limits_check() -> None:
    suite = _erp_suite(connector=IgnoresLimits)
    with pytest.raises(
        ContractViolation,
        match=r"limits: .*refused \d+ request\(s\) over the "
        r"declared limits",
    ):
        check_limits(suite.harness())


_ = SimError  # the deduping simulator answers like the real one otherwise


def test_the_suite_as_pytest_reports_the_broken_simulator(tmp_path: Path) -> None:
    """The same proof through pytest: the subclassed suite fails, naming the problem."""
    module = tmp_path / "test_partner_contract.py"
    module.write_text(
        "import dataclasses\n"
        "from acme_psa_erp import ACMEERP\n"
        "from tests.examples._suites import AcmeErpSuite\n"
        "from tests.examples.test_contract_broken import _deduping_sim\n\n"
        "class TestDedupingSimulator(AcmeErpSuite):\n"
        "    plugin = dataclasses.replace(ACMEERP, simulator_factory=_deduping_sim)\n",
        encoding="utf-8",
    )
    root = Path(__file__).resolve().parents[2]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")]),
    }
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(module),
            "-q",
            "-p",
            "no:cacheprovider",
            "--rootdir",
            str(tmp_path),
            "-k",
            "negative_control or write_edit_write",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1, result.stdout
    assert "FAILED" in result.stdout
    assert "test_negative_control_naive_writer_duplicates[TimeEntry]" in result.stdout
    assert "de-duplicates silently" in result.stdout
    # Project, TimeEntry and Expense creates do not de-duplicate; write-edit-write still passes,
    # and so does Customer's negative control (it runs: a keyed upsert is no vendor dedup).
    assert "3 failed, 9 passed" in result.stdout
