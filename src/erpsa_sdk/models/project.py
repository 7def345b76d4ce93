"""Delivery: :class:`Project`, :class:`ProjectTask`, :class:`Assignment`, :class:`Milestone`.

Examples:
    >>> from datetime import date
    >>> p = Project(key="p1", name="Data platform", currency="USD", status="active",
    ...             start_date=date(2026, 1, 5))
    >>> p.status
    <ProjectStatus.ACTIVE: 'active'>
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import ClassVar

from pydantic import Field, model_validator

from erpsa_sdk.models._base import (
    CanonicalModel,
    Currency,
    Key,
    Minutes,
    RuleWarning,
    check_currency,
    check_range,
)
from erpsa_sdk.models.commercial import BillingType
from erpsa_sdk.models.money import Money

__all__ = [
    "Assignment",
    "AssignmentStatus",
    "Milestone",
    "MilestoneStatus",
    "Project",
    "ProjectStatus",
    "ProjectTask",
    "TaskStatus",
]


class ProjectStatus(StrEnum):
    """Lifecycle of a project.

    Examples:
        >>> ProjectStatus("on_hold")
        <ProjectStatus.ON_HOLD: 'on_hold'>
    """

    PROPOSED = "proposed"
    APPROVED = "approved"
    ACTIVE = "active"
    ON_HOLD = "on_hold"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    UNMAPPED = "unmapped"


class Project(CanonicalModel):
    """A customer engagement (or an internal project) with dates, budget and billing type.

    Structural: end >= start; ``budget`` in the project currency.
    Business: an unknown status becomes ``UNMAPPED`` with ``status_raw`` kept.

    Examples:
        >>> p = Project(key="p1", name="X", currency="USD", status="Green",
        ...             start_date=date(2026, 1, 1))
        >>> p.status, p.status_raw, p.warnings[0].code
        (<ProjectStatus.UNMAPPED: 'unmapped'>, 'Green', 'unknown_status')
    """

    object_type: ClassVar[str] = "project"
    _status_fields = {  # noqa: RUF012
        "status": (ProjectStatus, "status_raw"),
        "billing_type": (BillingType, "billing_type_raw"),
    }

    name: str = Field(min_length=1)
    code: str | None = None
    customer_key: Key | None = None
    contract_key: Key | None = None
    legal_entity_key: Key | None = None
    cost_center_key: Key | None = None
    manager_key: Key | None = None
    status: ProjectStatus = ProjectStatus.ACTIVE
    status_raw: str | None = None
    billing_type: BillingType = BillingType.TIME_AND_MATERIALS
    billing_type_raw: str | None = None
    currency: Currency
    budget: Money | None = None
    start_date: date | None = None
    end_date: date | None = None

    @model_validator(mode="after")
    def _structure(self) -> Project:
        check_range(self.start_date, self.end_date, "project")
        check_currency(self.budget, self.currency, "project budget")
        return self


class TaskStatus(StrEnum):
    """Lifecycle of a project task.

    Examples:
        >>> TaskStatus.DONE.value
        'done'
    """

    OPEN = "open"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    CANCELLED = "cancelled"
    UNMAPPED = "unmapped"


class ProjectTask(CanonicalModel):
    """A task (phase, work item) of a project that time and expenses are booked to.

    Examples:
        >>> ProjectTask(key="t1", project_key="p1", name="Discovery", estimated_minutes=2400
        ...             ).billable
        True
    """

    object_type: ClassVar[str] = "project_task"
    _status_fields = {"status": (TaskStatus, "status_raw")}  # noqa: RUF012

    project_key: Key
    name: str = Field(min_length=1)
    parent_task_key: Key | None = None
    billable: bool = True
    status: TaskStatus = TaskStatus.OPEN
    status_raw: str | None = None
    start_date: date | None = None
    end_date: date | None = None
    estimated_minutes: Minutes | None = None

    @model_validator(mode="after")
    def _structure(self) -> ProjectTask:
        check_range(self.start_date, self.end_date, "task")
        return self


class AssignmentStatus(StrEnum):
    """Whether a staffing assignment is tentative, confirmed or cancelled.

    Examples:
        >>> AssignmentStatus("confirmed")
        <AssignmentStatus.CONFIRMED: 'confirmed'>
    """

    PROPOSED = "proposed"
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"
    UNMAPPED = "unmapped"


class Assignment(CanonicalModel):
    """A resource staffed on a project (or task) for a period, with planned minutes.

    Examples:
        >>> a = Assignment(key="a1", project_key="p1", resource_key="r1",
        ...                start_date=date(2026, 1, 5), end_date=date(2026, 3, 27),
        ...                planned_minutes=28800)
        >>> a.planned_minutes // 60
        480
    """

    object_type: ClassVar[str] = "assignment"
    _status_fields = {"status": (AssignmentStatus, "status_raw")}  # noqa: RUF012

    project_key: Key
    resource_key: Key
    task_key: Key | None = None
    role: str | None = None
    status: AssignmentStatus = AssignmentStatus.CONFIRMED
    status_raw: str | None = None
    start_date: date
    end_date: date | None = None
    planned_minutes: Minutes | None = None
    bill_rate: Money | None = None

    @model_validator(mode="after")
    def _structure(self) -> Assignment:
        check_range(self.start_date, self.end_date, "assignment")
        return self


class MilestoneStatus(StrEnum):
    """Lifecycle of a billing milestone.

    Examples:
        >>> MilestoneStatus.ACHIEVED.value
        'achieved'
    """

    PLANNED = "planned"
    ACHIEVED = "achieved"
    INVOICED = "invoiced"
    CANCELLED = "cancelled"
    UNMAPPED = "unmapped"


class Milestone(CanonicalModel):
    """A project milestone, possibly billable for ``amount``.

    Business: an achieved milestone without ``completed_on`` gets a warning.

    Examples:
        >>> m = Milestone(key="m1", project_key="p1", name="Go-live", due_date=date(2026, 6, 30),
        ...               status="achieved")
        >>> m.warnings[0].code
        'missing_completion_date'
    """

    object_type: ClassVar[str] = "milestone"
    _status_fields = {"status": (MilestoneStatus, "status_raw")}  # noqa: RUF012

    project_key: Key
    name: str = Field(min_length=1)
    due_date: date | None = None
    completed_on: date | None = None
    amount: Money | None = None
    status: MilestoneStatus = MilestoneStatus.PLANNED
    status_raw: str | None = None

    def business_warnings(self) -> list[RuleWarning]:
        """An achieved or invoiced milestone should say when it was completed.

        Examples:
            >>> Milestone(key="m1", project_key="p1", name="x").business_warnings()
            []
        """
        if self.status in (MilestoneStatus.ACHIEVED, MilestoneStatus.INVOICED) and (
            self.completed_on is None
        ):
            return [
                RuleWarning(
                    code="missing_completion_date",
                    field="completed_on",
                    message=f"milestone is {self.status.value} without a date",
                )
            ]
        return []
