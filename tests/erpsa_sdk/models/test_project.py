"""Project, ProjectTask, Assignment, Milestone."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError

from erpsa_sdk.models import (
    Assignment,
    Milestone,
    Money,
    Project,
    ProjectStatus,
    ProjectTask,
    TaskStatus,
)


def test_project_rules() -> None:
    p = Project(key="p", name="X", currency="USD", status="on_hold", budget=Money(10, "USD"))
    assert p.status is ProjectStatus.ON_HOLD
    assert p.warnings == ()
    with pytest.raises(ValidationError, match="EUR"):
        Project(key="p", name="X", currency="USD", budget=Money(10, "EUR"))
    with pytest.raises(ValidationError, match="before start"):
        Project(
            key="p",
            name="X",
            currency="USD",
            start_date=date(2026, 2, 1),
            end_date=date(2026, 1, 1),
        )


def test_task_assignment_and_milestone() -> None:
    t = ProjectTask(key="t", project_key="p", name="Build", status="Doing")
    assert t.status is TaskStatus.UNMAPPED
    assert t.status_raw == "Doing"
    with pytest.raises(ValidationError):
        ProjectTask(key="t", project_key="p", name="Build", estimated_minutes=1.5)
    a = Assignment(
        key="a", project_key="p", resource_key="r", start_date=date(2026, 1, 1), planned_minutes=600
    )
    assert a.status == "confirmed"
    with pytest.raises(ValidationError):
        Assignment(
            key="a",
            project_key="p",
            resource_key="r",
            start_date=date(2026, 1, 2),
            end_date=date(2026, 1, 1),
        )
    done = Milestone(
        key="m", project_key="p", name="Go-live", status="achieved", completed_on=date(2026, 6, 1)
    )
    assert done.warnings == ()
