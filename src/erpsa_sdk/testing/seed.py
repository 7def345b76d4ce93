"""A realistic professional services firm from a seed, written into simulators.

:func:`generate_firm` builds the firm deterministically from an integer seed: legal entities,
customers, projects with tasks and billing milestones, consultants with cost and bill rates,
and weeks of time entries and expenses with approvals. :func:`write_firm` writes it into a
simulator through its admin API (the rows a vendor would hold), with one writer per vendor
(:data:`SEED_WRITERS`; register your own for a third-party simulator). The firm is plain data,
so an independent checker can recompute what each target must hold from it alone.

Examples:
    >>> firm = generate_firm(seed=7, weeks=2)
    >>> len(firm.legal_entities), len(firm.customers), len(firm.projects), len(firm.consultants)
    (2, 6, 12, 40)
    >>> firm == generate_firm(seed=7, weeks=2)
    True
    >>> sorted({p.currency for p in firm.projects})
    ['GBP', 'USD']
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

__all__ = [
    "SEED_WRITERS",
    "FirmConsultant",
    "FirmCustomer",
    "FirmExpense",
    "FirmLegalEntity",
    "FirmMilestone",
    "FirmProject",
    "FirmTimeEntry",
    "SeedWriter",
    "SeededFirm",
    "clear_simulator",
    "generate_firm",
    "write_firm",
]

_FIRST = (
    "Ada", "Grace", "Alan", "Katherine", "Edsger", "Barbara", "Donald", "Frances", "John",
    "Margaret", "Claude", "Radia", "Tim", "Hedy", "Dennis", "Shafi", "Ken", "Sophie", "Niklaus",
    "Anita",
)  # fmt: skip
_LAST = (
    "Lovelace", "Hopper", "Turing", "Johnson", "Dijkstra", "Liskov", "Knuth", "Allen",
    "Backus", "Hamilton", "Shannon", "Perlman", "Berners", "Lamarr", "Ritchie", "Goldwasser",
    "Thompson", "Wilson", "Wirth", "Borg",
)  # fmt: skip
_CUSTOMERS = (
    "Globex Manufacturing", "Initech Software", "Umbrella Health", "Stark Logistics",
    "Wayne Retail", "Tyrell Energy",
)  # fmt: skip
_ROLES = (
    ("Analyst", 6500, 14000),
    ("Consultant", 8000, 17500),
    ("Senior Consultant", 9500, 21000),
    ("Manager", 11000, 25000),
)
_CATEGORIES = ("Travel", "Meals", "Hotel")
_DOMAIN = "northwind-consulting.example"


@dataclass(frozen=True)
class FirmLegalEntity:
    """A legal entity of the firm (a NetSuite subsidiary, a Dynamics 365 company).

    Examples:
        >>> FirmLegalEntity("US", "Northwind Consulting Inc", "USD", "US").currency
        'USD'
    """

    code: str
    name: str
    currency: str
    country: str


@dataclass(frozen=True)
class FirmCustomer:
    """A customer, contracted by one legal entity.

    Examples:
        >>> FirmCustomer(1, "Globex", "US").legal_entity
        'US'
    """

    index: int
    name: str
    legal_entity: str


@dataclass(frozen=True)
class FirmMilestone:
    """A billing milestone of a project (amount in minor units of the project currency).

    Examples:
        >>> FirmMilestone("Go-live", date(2026, 3, 31), 500000).amount_minor
        500000
    """

    name: str
    due: date
    amount_minor: int


@dataclass(frozen=True)
class FirmProject:
    """A project of a customer, in its legal entity's currency, with tasks and milestones.

    Examples:
        >>> p = FirmProject(1, "Globex ERP", 1, "US", "USD", ("Discovery",), ())
        >>> p.tasks
        ('Discovery',)
    """

    index: int
    name: str
    customer: int
    legal_entity: str
    currency: str
    tasks: tuple[str, ...]
    milestones: tuple[FirmMilestone, ...]


@dataclass(frozen=True)
class FirmConsultant:
    """A consultant employed by one legal entity, with hourly cost and bill rates (minor units).

    Examples:
        >>> c = FirmConsultant(1, "Ada Lovelace", "ada@x.example", "US", "Analyst", 6500, 14000)
        >>> c.bill_rate_minor > c.cost_rate_minor
        True
    """

    index: int
    name: str
    email: str
    legal_entity: str
    role: str
    cost_rate_minor: int
    bill_rate_minor: int


@dataclass(frozen=True)
class FirmTimeEntry:
    """One time entry: who, on which project (and task), when, how long, approved or not.

    Examples:
        >>> FirmTimeEntry(1, 3, 2, 0, date(2026, 10, 5), 90, True, "Workshop").minutes
        90
    """

    index: int
    consultant: int
    project: int
    task: int
    day: date
    minutes: int
    approved: bool
    notes: str


@dataclass(frozen=True)
class FirmExpense:
    """One expense of a consultant on a project (amount in minor units of the project currency).

    Examples:
        >>> FirmExpense(1, 3, 2, date(2026, 10, 6), "Travel", 4550).category
        'Travel'
    """

    index: int
    consultant: int
    project: int
    day: date
    category: str
    amount_minor: int


@dataclass(frozen=True)
class SeededFirm:
    """The whole firm; plain data, equal for equal seeds.

    Examples:
        >>> firm = generate_firm(seed=1, weeks=1)
        >>> firm.project(1).customer in {c.index for c in firm.customers}
        True
    """

    seed: int
    start: date
    weeks: int
    legal_entities: tuple[FirmLegalEntity, ...]
    customers: tuple[FirmCustomer, ...]
    projects: tuple[FirmProject, ...]
    consultants: tuple[FirmConsultant, ...]
    time_entries: tuple[FirmTimeEntry, ...]
    expenses: tuple[FirmExpense, ...]

    def project(self, index: int) -> FirmProject:
        """The project with ``index`` (``KeyError`` when absent)."""
        for p in self.projects:
            if p.index == index:
                return p
        raise KeyError(index)

    def consultant(self, index: int) -> FirmConsultant:
        """The consultant with ``index`` (``KeyError`` when absent)."""
        for c in self.consultants:
            if c.index == index:
                return c
        raise KeyError(index)

    def legal_entity(self, code: str) -> FirmLegalEntity:
        """The legal entity with ``code`` (``KeyError`` when absent)."""
        for le in self.legal_entities:
            if le.code == code:
                return le
        raise KeyError(code)


def generate_firm(
    seed: int = 0,
    *,
    weeks: int = 6,
    consultants: int = 40,
    customers: int = 6,
    projects_per_customer: int = 2,
    entries_per_week: int = 2,
    start: date = date(2026, 9, 7),
) -> SeededFirm:
    """Build a professional services firm from ``seed`` (same seed, same firm).

    Two legal entities (US in USD, UK in GBP); each customer belongs to one, its projects bill
    in that entity's currency; consultants work ``entries_per_week`` days a week on projects of
    their own legal entity; about one expense per consultant every two weeks; entries older
    than the last week are approved.

    Examples:
        >>> firm = generate_firm(seed=3, weeks=6)
        >>> len(firm.time_entries), len(firm.expenses)
        (480, 120)
        >>> all(firm.project(e.project).legal_entity == firm.consultant(e.consultant).legal_entity
        ...     for e in firm.time_entries)
        True
    """
    if weeks < 1 or consultants < 2 or customers < 2:
        raise ValueError("a firm needs at least one week, two consultants and two customers")
    rng = random.Random(seed)  # noqa: S311 - test data, not crypto
    les = (
        FirmLegalEntity("US", "Northwind Consulting Inc", "USD", "US"),
        FirmLegalEntity("UK", "Northwind Consulting Ltd", "GBP", "GB"),
    )
    custs = tuple(
        FirmCustomer(i + 1, _CUSTOMERS[i % len(_CUSTOMERS)] + ("" if i < 6 else f" {i}"),
                     les[i % 2].code)
        for i in range(customers)
    )  # fmt: skip
    projs: list[FirmProject] = []
    for cust in custs:
        for j in range(projects_per_customer):
            currency = next(le.currency for le in les if le.code == cust.legal_entity)
            kind = ("ERP rollout", "Data migration", "Advisory", "Integration")[
                (cust.index + j) % 4
            ]
            milestones = (
                FirmMilestone("Design sign-off", start + timedelta(weeks=2), 1_500_000),
                FirmMilestone("Go-live", start + timedelta(weeks=weeks), 3_000_000),
            )
            projs.append(
                FirmProject(
                    len(projs) + 1,
                    f"{cust.name.split()[0]} {kind}",
                    cust.index,
                    cust.legal_entity,
                    currency,
                    ("Discovery", "Build", "Support"),
                    milestones,
                )
            )
    people: list[FirmConsultant] = []
    for i in range(consultants):
        first, last = _FIRST[i % len(_FIRST)], _LAST[(i * 7 + i // len(_FIRST)) % len(_LAST)]
        role, cost, bill = _ROLES[rng.randrange(len(_ROLES))]
        people.append(
            FirmConsultant(
                i + 1,
                f"{first} {last}",
                f"{first.lower()}.{last.lower()}.{i + 1}@{_DOMAIN}",
                les[i % 2].code,
                role,
                cost,
                bill,
            )
        )
    by_le = {le.code: [p for p in projs if p.legal_entity == le.code] for le in les}
    entries: list[FirmTimeEntry] = []
    expenses: list[FirmExpense] = []
    for week in range(weeks):
        monday = start + timedelta(weeks=week)
        for person in people:
            days = sorted(rng.sample(range(5), min(entries_per_week, 5)))
            for d in days:
                proj = rng.choice(by_le[person.legal_entity])
                entries.append(
                    FirmTimeEntry(
                        len(entries) + 1,
                        person.index,
                        proj.index,
                        rng.randrange(len(proj.tasks)),
                        monday + timedelta(days=d),
                        rng.choice((60, 120, 180, 240, 360, 480)),
                        week < weeks - 1,
                        f"{proj.tasks[0]} work, week {week + 1}",
                    )
                )
            if (person.index + week) % 2 == 0:
                proj = rng.choice(by_le[person.legal_entity])
                expenses.append(
                    FirmExpense(
                        len(expenses) + 1,
                        person.index,
                        proj.index,
                        monday + timedelta(days=rng.randrange(5)),
                        rng.choice(_CATEGORIES),
                        rng.randrange(1_500, 60_000),
                    )
                )
    return SeededFirm(
        seed, start, weeks, les, custs, tuple(projs), tuple(people), tuple(entries),
        tuple(expenses),
    )  # fmt: skip


#: A writer puts a firm (or the part the vendor owns) into a simulator and returns, per
#: canonical type, firm index -> the simulator's record id.
SeedWriter = Callable[[Any, SeededFirm], dict[str, dict[str, str]]]


def clear_simulator(sim: Any, *, keep: tuple[str, ...] = ()) -> int:
    """Delete every live row of a simulator through its admin API (except tables in ``keep``).

    The deletions leave tombstones, as a vendor would; advance the clock past the vendor's
    event retention before a sync starts if they must not be seen. Returns the rows deleted.

    Examples:
        >>> from erpsa_sdk.testing import Simulator
        >>> class Notes(Simulator):
        ...     vendor = "notes"
        ...     tables = ("notes",)
        >>> sim = Notes()
        >>> _ = sim.admin.insert("notes", {"text": "a"})
        >>> clear_simulator(sim), sim.admin.count("notes")
        (1, 0)
    """
    gone = 0
    for table in sim.tables:
        if table in keep:
            continue
        for row in sim.admin.rows(table):
            sim.admin.delete(table, row["id"])
            gone += 1
    return gone


def _kantata(sim: Any, firm: SeededFirm) -> dict[str, dict[str, str]]:
    ids: dict[str, dict[str, str]] = {
        k: {} for k in ("Customer", "Project", "ProjectTask", "Milestone", "Resource")
    }
    ids.update(TimeEntry={}, Expense={})
    for person in firm.consultants:
        row = sim.admin.insert(
            "users",
            {
                "full_name": person.name,
                "email_address": person.email,
                "headline": person.role,
                "disabled": False,
                "account_id": 6300001,
            },
        )
        ids["Resource"][str(person.index)] = str(row["id"])
    for cust in firm.customers:
        rec = sim.create("workspace_groups", name=cust.name, company=True)
        ids["Customer"][str(cust.index)] = str(rec["id"])
    tasks: dict[tuple[int, int], str] = {}
    base_unit = 100
    for proj in firm.projects:
        rec = sim.create(
            "workspaces",
            title=proj.name,
            creator_role="maven",
            currency=proj.currency,
            workspace_group_ids=[ids["Customer"][str(proj.customer)]],
            start_date=firm.start.isoformat(),
            due_date=(firm.start + timedelta(weeks=firm.weeks)).isoformat(),
        )
        ws = str(rec["id"])
        ids["Project"][str(proj.index)] = ws
        members = [
            ids["Resource"][str(c.index)]
            for c in firm.consultants
            if c.legal_entity == proj.legal_entity
        ]
        sim.table("workspaces").update(ws, {"participant_ids": members})
        for t, title in enumerate(proj.tasks):
            story = sim.create("stories", title=title, story_type="task", workspace_id=ws)
            tasks[(proj.index, t)] = str(story["id"])
            ids["ProjectTask"][f"{proj.index}.{t}"] = str(story["id"])
        for m, ms in enumerate(proj.milestones):
            story = sim.create(
                "stories",
                title=ms.name,
                story_type="milestone",
                workspace_id=ws,
                due_date=ms.due.isoformat(),
            )
            ids["Milestone"][f"{proj.index}.{m}"] = str(story["id"])
    for entry in firm.time_entries:
        proj = firm.project(entry.project)
        person = firm.consultant(entry.consultant)
        rec = sim.create(
            "time_entries",
            workspace_id=ids["Project"][str(proj.index)],
            user_id=ids["Resource"][str(person.index)],
            story_id=tasks[(proj.index, entry.task)],
            date_performed=entry.day.isoformat(),
            time_in_minutes=entry.minutes,
            billable=True,
            rate_in_cents=person.bill_rate_minor * base_unit // 100,
            cost_rate_in_cents=person.cost_rate_minor * base_unit // 100,
            notes=entry.notes,
        )
        ids["TimeEntry"][str(entry.index)] = str(rec["id"])
        if entry.approved:
            sim.approve(str(rec["id"]))
    for exp in firm.expenses:
        rec = sim.create(
            "expenses",
            workspace_id=ids["Project"][str(exp.project)],
            user_id=ids["Resource"][str(exp.consultant)],
            date=exp.day.isoformat(),
            category=exp.category,
            amount_in_cents=exp.amount_minor,
            notes=f"{exp.category} expense",
        )
        ids["Expense"][str(exp.index)] = str(rec["id"])
    return ids


def _netsuite(sim: Any, firm: SeededFirm) -> dict[str, dict[str, str]]:
    """The ERP's own master data: subsidiaries, employees and service items."""
    currencies = {r["data"].get("symbol"): r["id"] for r in sim.admin.rows("currency")}
    ids: dict[str, dict[str, str]] = {"LegalEntity": {}, "Resource": {}, "ServiceItem": {}}
    for le in firm.legal_entities:
        row = sim.admin.insert(
            "subsidiary",
            {
                "name": le.name,
                "legalname": le.name,
                "country": le.country,
                "currency": currencies[le.currency],
                "isinactive": False,
            },
        )
        ids["LegalEntity"][le.code] = str(row["id"])
    for role, _, _ in _ROLES:
        row = sim.admin.insert(
            "serviceitem", {"itemid": f"PS {role}", "displayname": role, "isinactive": False}
        )
        ids["ServiceItem"][role] = str(row["id"])
    for person in firm.consultants:
        first, _, last = person.name.partition(" ")
        row = sim.admin.insert(
            "employee",
            {
                "entityid": person.name,
                "firstname": first,
                "lastname": last,
                "email": person.email,
                "title": person.role,
                "subsidiary": int(ids["LegalEntity"][person.legal_entity]),
                "isinactive": False,
            },
        )
        ids["Resource"][str(person.index)] = str(row["id"])
    return ids


def _dynamics365(sim: Any, firm: SeededFirm) -> dict[str, dict[str, str]]:
    """The ERP's own master data: companies and bookable resources."""
    currencies = {
        r["data"].get("isocurrencycode"): r["data"]["transactioncurrencyid"]
        for r in sim.admin.rows("transactioncurrency")
    }
    ids: dict[str, dict[str, str]] = {"LegalEntity": {}, "Resource": {}}
    for le in firm.legal_entities:
        row = sim.admin.insert(
            "cdm_company",
            {
                "cdm_name": le.name,
                "cdm_companycode": f"NW{le.code}",
                "statecode": 0,
                "_transactioncurrencyid_value": currencies[le.currency],
            },
        )
        ids["LegalEntity"][le.code] = str(row["id"])
    for person in firm.consultants:
        row = sim.admin.insert(
            "bookableresource",
            {
                "name": person.name,
                "resourcetype": 3,
                "msdyn_primaryemail": person.email,
                "statecode": 0,
            },
        )
        ids["Resource"][str(person.index)] = str(row["id"])
    return ids


#: Writers by simulator ``vendor``: the PSA gets the whole firm, an ERP its own master data.
SEED_WRITERS: dict[str, SeedWriter] = {
    "kantata": _kantata,
    "netsuite": _netsuite,
    "dynamics365": _dynamics365,
}


def write_firm(
    sim: Any, firm: SeededFirm, *, writers: Mapping[str, SeedWriter] | None = None
) -> dict[str, dict[str, str]]:
    """Write ``firm`` into ``sim`` with the writer registered for its vendor.

    Returns canonical type -> firm index -> the simulator's record id. A simulator without a
    writer raises ``LookupError`` naming the vendors that have one.

    Examples:
        >>> from erpsa_sdk.testing import Simulator
        >>> class Other(Simulator):
        ...     vendor = "other"
        >>> write_firm(Other(), generate_firm(weeks=1))  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        LookupError: no seed writer for simulator vendor 'other'; known: ...
    """
    table = {**SEED_WRITERS, **(writers or {})}
    writer = table.get(getattr(sim, "vendor", ""))
    if writer is None:
        raise LookupError(
            f"no seed writer for simulator vendor {getattr(sim, 'vendor', '?')!r}; "
            f"known: {sorted(table)}"
        )
    return writer(sim, firm)
