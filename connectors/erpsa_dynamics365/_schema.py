"""Dataverse tables the connector and the simulator know: entity sets, keys, lookups, options.

One :class:`TableSpec` per table: logical name, entity set, primary key, primary name, the
plain columns, and the lookups (navigation property -> lookup column and target table). A
lookup column ``x`` is read as ``_x_value`` and written as ``"<nav>@odata.bind": "/<set>(<id>)"``.

Option-set values come from the entity reference (``msdyn_timeentry``: type and entry status);
those not found there are marked unverified in the docs page and are configuration.

Examples:
    >>> TABLES["msdyn_timeentry"].entity_set
    'msdyn_timeentries'
    >>> TABLES["msdyn_timeentry"].lookup_for_column("msdyn_projecttask")
    Lookup(nav='msdyn_projecttask', column='msdyn_projecttask', target='msdyn_projecttask')
    >>> by_set("accounts").logical
    'account'
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "SCHEDULE_TABLES",
    "TABLES",
    "Lookup",
    "TableSpec",
    "by_set",
]


@dataclass(frozen=True)
class Lookup:
    """One single-valued navigation property: bind name, lookup column, target table.

    Examples:
        >>> Lookup("msdyn_customer_account", "msdyn_customer", "account").value_field
        '_msdyn_customer_value'
    """

    nav: str
    column: str
    target: str

    @property
    def value_field(self) -> str:
        """The read-side name of the lookup (``_<column>_value``)."""
        return f"_{self.column}_value"


@dataclass(frozen=True)
class TableSpec:
    """What a Dataverse table looks like to the connector and the simulator.

    Examples:
        >>> TABLES["account"].pk, TABLES["account"].primary_name
        ('accountid', 'name')
    """

    logical: str
    entity_set: str
    pk: str
    primary_name: str
    columns: tuple[str, ...] = ()
    lookups: tuple[Lookup, ...] = ()
    #: Alternate keys the simulator's seeded metadata defines (name -> key columns).
    alternate_keys: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def lookup(self, nav: str) -> Lookup | None:
        """The lookup bound through navigation property ``nav``.

        Examples:
            >>> TABLES["invoice"].lookup("customerid_account").target
            'account'
        """
        return next((lk for lk in self.lookups if lk.nav == nav), None)

    def lookup_for_column(self, column: str) -> Lookup | None:
        """The (first) lookup writing column ``column``.

        Examples:
            >>> TABLES["msdyn_expense"].lookup_for_column("msdyn_expensecategory").nav
            'msdyn_ExpenseCategory'
        """
        return next((lk for lk in self.lookups if lk.column == column), None)

    @property
    def all_columns(self) -> tuple[str, ...]:
        """Every readable column, lookups as ``_x_value``, plus the system columns.

        Examples:
            >>> TABLES["transactioncurrency"].all_columns[-3:]
            ('modifiedon', 'createdon', 'versionnumber')
        """
        return (
            self.pk,
            *self.columns,
            *dict.fromkeys(lk.value_field for lk in self.lookups),
            "modifiedon",
            "createdon",
            "versionnumber",
        )


_CURRENCY = Lookup("transactioncurrencyid", "transactioncurrencyid", "transactioncurrency")

TABLES: dict[str, TableSpec] = {
    t.logical: t
    for t in (
        TableSpec(
            "transactioncurrency",
            "transactioncurrencies",
            "transactioncurrencyid",
            "currencyname",
            columns=("currencyname", "isocurrencycode", "statecode"),
        ),
        TableSpec(
            "account",
            "accounts",
            "accountid",
            "name",
            columns=("name", "accountnumber", "emailaddress1", "statecode", "statuscode"),
            lookups=(_CURRENCY, Lookup("parentaccountid", "parentaccountid", "account")),
            alternate_keys={"accountnumber_key": ("accountnumber",)},
        ),
        TableSpec(
            "cdm_company",
            "cdm_companies",
            "cdm_companyid",
            "cdm_name",
            columns=("cdm_name", "cdm_companycode", "statecode"),
            lookups=(_CURRENCY,),
        ),
        TableSpec(
            "bookableresource",
            "bookableresources",
            "bookableresourceid",
            "name",
            columns=("name", "resourcetype", "msdyn_primaryemail", "statecode"),
        ),
        TableSpec(
            "msdyn_project",
            "msdyn_projects",
            "msdyn_projectid",
            "msdyn_subject",
            columns=(
                "msdyn_subject",
                "msdyn_description",
                "msdyn_scheduledstart",
                "msdyn_finish",
                "msdyn_effort",
                "msdyn_progress",
                "statecode",
                "statuscode",
            ),
            lookups=(
                Lookup("msdyn_customer_account", "msdyn_customer", "account"),
                Lookup(
                    "msdyn_contractorganizationalunitid",
                    "msdyn_contractorganizationalunitid",
                    "cdm_company",
                ),
                _CURRENCY,
            ),
        ),
        TableSpec(
            "msdyn_projecttask",
            "msdyn_projecttasks",
            "msdyn_projecttaskid",
            "msdyn_subject",
            columns=(
                "msdyn_subject",
                "msdyn_scheduledstart",
                "msdyn_scheduledend",
                "msdyn_effort",
                "msdyn_progress",
                "statecode",
            ),
            lookups=(
                Lookup("msdyn_project", "msdyn_project", "msdyn_project"),
                Lookup("msdyn_parenttask", "msdyn_parenttask", "msdyn_projecttask"),
            ),
        ),
        TableSpec(
            "msdyn_resourceassignment",
            "msdyn_resourceassignments",
            "msdyn_resourceassignmentid",
            "msdyn_name",
            columns=("msdyn_name", "msdyn_fromdate", "msdyn_todate", "msdyn_hours", "statecode"),
            lookups=(
                Lookup("msdyn_projectid", "msdyn_projectid", "msdyn_project"),
                Lookup("msdyn_taskid", "msdyn_taskid", "msdyn_projecttask"),
                Lookup("msdyn_bookableresourceid", "msdyn_bookableresourceid", "bookableresource"),
            ),
        ),
        TableSpec(
            "msdyn_timeentry",
            "msdyn_timeentries",
            "msdyn_timeentryid",
            "msdyn_description",
            columns=(
                "msdyn_description",
                "msdyn_date",
                "msdyn_duration",
                "msdyn_type",
                "msdyn_entrystatus",
                "msdyn_externaldescription",
                "statecode",
            ),
            lookups=(
                Lookup("msdyn_bookableresource", "msdyn_bookableresource", "bookableresource"),
                Lookup("msdyn_project", "msdyn_project", "msdyn_project"),
                Lookup("msdyn_projecttask", "msdyn_projecttask", "msdyn_projecttask"),
            ),
        ),
        TableSpec(
            "msdyn_expensecategory",
            "msdyn_expensecategories",
            "msdyn_expensecategoryid",
            "msdyn_name",
            columns=("msdyn_name", "statecode"),
        ),
        TableSpec(
            "msdyn_expense",
            "msdyn_expenses",
            "msdyn_expenseid",
            "msdyn_name",
            columns=(
                "msdyn_name",
                "msdyn_transactiondate",
                "msdyn_amount",
                "msdyn_salestaxamount",
                "msdyn_expensestatus",
                "statecode",
            ),
            lookups=(
                Lookup("msdyn_bookableresource", "msdyn_bookableresource", "bookableresource"),
                Lookup("msdyn_project", "msdyn_project", "msdyn_project"),
                Lookup("msdyn_ExpenseCategory", "msdyn_expensecategory", "msdyn_expensecategory"),
                _CURRENCY,
            ),
        ),
        TableSpec(
            "invoice",
            "invoices",
            "invoiceid",
            "name",
            columns=(
                "name",
                "invoicenumber",
                "datedelivered",
                "duedate",
                "totallineitemamount",
                "totaltax",
                "totaldiscountamount",
                "totalamount",
                "statecode",
                "statuscode",
            ),
            lookups=(
                Lookup("customerid_account", "customerid", "account"),
                Lookup("msdyn_project", "msdyn_project", "msdyn_project"),
                _CURRENCY,
            ),
        ),
    )
}

#: Tables only the Project schedule APIs may write (and only for licensed users).
SCHEDULE_TABLES = frozenset({"msdyn_projecttask", "msdyn_resourceassignment"})

_BY_SET = {t.entity_set: t for t in TABLES.values()}


def by_set(entity_set: str) -> TableSpec:
    """The table behind an entity set name (``KeyError`` when unknown).

    Examples:
        >>> by_set("msdyn_projecttasks").pk
        'msdyn_projecttaskid'
    """
    return _BY_SET[entity_set]
