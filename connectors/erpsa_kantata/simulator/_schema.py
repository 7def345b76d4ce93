"""What the simulated Kantata collections look like: attributes, writable fields, side-loads.

Written from the vendor's model specification (``create_attributes`` / ``update_attributes`` /
``associations``) summarised in the PSA fact sheet §1.8; nothing here is copied from it.

Examples:
    >>> COLLECTIONS["time_entries"].singular
    'time_entry'
    >>> COLLECTIONS["time_entries"].associations["workspace"]
    ('workspace_id', 'workspaces')
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["COLLECTIONS", "CURRENCY_BASE_UNITS", "EXTRA_LIMITED", "Collection"]

# ISO 4217 minor units expressed as Kantata's ``currency_base_unit`` (units of ``*_in_cents``
# per whole currency unit): a yen amount "in cents" is whole yen.
CURRENCY_BASE_UNITS: Mapping[str, int] = {
    "JPY": 1,
    "KRW": 1,
    "ISK": 1,
    "CLP": 1,
    "VND": 1,
    "KWD": 1000,
    "BHD": 1000,
    "JOD": 1000,
    "OMR": 1000,
    "TND": 1000,
}

CURRENCY_SYMBOLS: Mapping[str, str] = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}

# Fact sheet §1.6: eight operations have their own, extra limits (method, collection path).
EXTRA_LIMITED: frozenset[tuple[str, str]] = frozenset(
    {
        ("POST", "workspaces"),
        ("GET", "workspaces"),
        ("POST", "workspaces/invite"),
        ("POST", "account_invitations"),
        ("PUT", "account_invitations/resend"),
        ("POST", "custom_field_values"),
        ("GET", "custom_field_values"),
        ("POST", "project_snapshots"),
    }
)


@dataclass(frozen=True)
class Collection:
    """One Kantata collection as the simulator serves it.

    Attributes:
        name: the URL segment and envelope key (``time_entries``).
        singular: the request body root (``time_entry``).
        subject_type: the class name used by external references (``TimeEntry``).
        create: attributes accepted on create (``None``: the API cannot create this type).
        update: attributes accepted on update (``None``: read-only).
        required: attributes whose absence on create is a 422 validation error.
        associations: include name -> (foreign-key field on the parent, collection).
        orders: fields accepted by ``order=``.
        default_order: (field, descending) used without ``order=``.
        archived_scope: how archived records are hidden from lists: ``"self"`` (a workspace,
            shown with ``include_archived=true``), ``"workspace"`` (rows of an archived
            workspace, shown with ``from_archived_workspaces=true``) or ``None``.

    Examples:
        >>> COLLECTIONS["workspaces"].archived_scope
        'self'
    """

    name: str
    singular: str
    subject_type: str
    create: frozenset[str] | None
    update: frozenset[str] | None
    required: tuple[str, ...] = ()
    associations: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    orders: frozenset[str] = frozenset({"id", "created_at", "updated_at"})
    default_order: tuple[str, bool] = ("id", False)
    archived_scope: str | None = None


def _fs(*names: str) -> frozenset[str]:
    return frozenset(names)


_EXT = {"external_references": ("external_reference_ids", "external_references")}
_CFV = {"custom_field_values": ("custom_field_value_ids", "custom_field_values")}

COLLECTIONS: Mapping[str, Collection] = {
    c.name: c
    for c in (
        Collection(
            name="workspaces",
            singular="workspace",
            subject_type="Workspace",
            create=_fs(
                "title",
                "creator_role",
                "budgeted",
                "description",
                "currency",
                "price",
                "start_date",
                "due_date",
                "rate_card_id",
                "external_reference",
                "workspace_group_ids",
                "primary_workspace_group_id",
                "primary_maven_id",
                "status_key",
                "target_margin",
            ),
            update=_fs(
                "title",
                "budgeted",
                "description",
                "archived",
                "price",
                "start_date",
                "due_date",
                "rate_card_id",
                "currency",
                "external_reference",
                "workspace_group_ids",
                "primary_workspace_group_id",
                "status_key",
                "target_margin",
            ),
            required=("title", "creator_role"),
            associations={
                "creator": ("creator_id", "users"),
                "primary_counterpart": ("primary_counterpart_id", "users"),
                "primary_maven": ("primary_maven_id", "users"),
                "participants": ("participant_ids", "users"),
                "workspace_groups": ("workspace_group_ids", "workspace_groups"),
                **_EXT,
                **_CFV,
            },
            orders=_fs("id", "created_at", "updated_at", "title"),
            archived_scope="self",
        ),
        Collection(
            name="workspace_groups",
            singular="workspace_group",
            subject_type="WorkspaceGroup",
            create=_fs(
                "name",
                "company",
                "contact_name",
                "email",
                "phone_number",
                "address",
                "website",
                "notes",
                "add_workspace_ids",
                "external_reference",
            ),
            update=_fs(
                "name",
                "company",
                "contact_name",
                "email",
                "phone_number",
                "address",
                "website",
                "notes",
                "add_workspace_ids",
                "remove_workspace_ids",
                "external_reference",
            ),
            required=("name",),
            associations={"workspaces": ("workspace_ids", "workspaces"), **_EXT, **_CFV},
            orders=_fs("id", "created_at", "updated_at", "name"),
        ),
        Collection(
            name="stories",
            singular="story",
            subject_type="Story",
            create=_fs(
                "title",
                "story_type",
                "workspace_id",
                "description",
                "parent_id",
                "start_date",
                "due_date",
                "archived",
                "assignee_ids",
                "budget_estimate_in_cents",
                "time_estimate_in_minutes",
                "billable",
                "percentage_complete",
                "state",
                "external_reference",
            ),
            update=_fs(
                "title",
                "story_type",
                "description",
                "parent_id",
                "start_date",
                "due_date",
                "archived",
                "assignee_ids",
                "budget_estimate_in_cents",
                "time_estimate_in_minutes",
                "billable",
                "percentage_complete",
                "state",
                "external_reference",
            ),
            required=("title", "story_type", "workspace_id"),
            associations={
                "workspace": ("workspace_id", "workspaces"),
                "parent": ("parent_id", "stories"),
                "assignees": ("assignee_ids", "users"),
                "creator": ("creator_id", "users"),
                **_EXT,
                **_CFV,
            },
            orders=_fs("id", "created_at", "updated_at", "due_date", "start_date", "position"),
        ),
        Collection(
            name="users",
            singular="user",
            subject_type="User",
            create=None,
            update=_fs("full_name", "headline", "email_address", "external_reference"),
            associations={**_EXT, **_CFV},
            orders=_fs("id", "created_at", "updated_at", "full_name"),
        ),
        Collection(
            name="workspace_allocations",
            singular="workspace_allocation",
            subject_type="WorkspaceAllocation",
            # The vendor takes a workspace resource id; the simulator takes the user and the
            # workspace directly (no workspace_resources collection yet).
            create=_fs(
                "resource_id",
                "workspace_id",
                "start_date",
                "end_date",
                "minutes",
                "hard",
                "notes",
                "external_reference",
            ),
            update=_fs("start_date", "end_date", "minutes", "hard", "notes", "external_reference"),
            required=("resource_id", "start_date", "end_date", "minutes"),
            associations={
                "workspace": ("workspace_id", "workspaces"),
                "user": ("user_id", "users"),
                **_EXT,
            },
        ),
        Collection(
            name="time_entries",
            singular="time_entry",
            subject_type="TimeEntry",
            create=_fs(
                "workspace_id",
                "date_performed",
                "time_in_minutes",
                "billable",
                "notes",
                "rate_in_cents",
                "cost_rate_in_cents",
                "role_id",
                "story_id",
                "user_id",
                "external_reference",
                "location",
            ),
            update=_fs(
                "workspace_id",
                "date_performed",
                "time_in_minutes",
                "billable",
                "notes",
                "rate_in_cents",
                "cost_rate_in_cents",
                "role_id",
                "story_id",
                "user_id",
                "external_reference",
                "location",
            ),
            required=("workspace_id", "date_performed", "time_in_minutes"),
            associations={
                "workspace": ("workspace_id", "workspaces"),
                "user": ("user_id", "users"),
                "story": ("story_id", "stories"),
                "invoice": ("invoice_id", "invoices"),
                **_EXT,
            },
            orders=_fs("id", "created_at", "updated_at", "date_performed"),
            default_order=("date_performed", True),
            archived_scope="workspace",
        ),
        Collection(
            name="expenses",
            singular="expense",
            subject_type="Expense",
            create=_fs(
                "workspace_id",
                "date",
                "category",
                "amount_in_cents",
                "notes",
                "user_id",
                "billable",
                "story_id",
                "expense_category_id",
                "reimbursable",
                "external_reference",
            ),
            update=_fs(
                "date",
                "category",
                "amount_in_cents",
                "notes",
                "user_id",
                "billable",
                "story_id",
                "expense_category_id",
                "external_reference",
            ),
            required=("workspace_id", "date", "category", "amount_in_cents"),
            associations={
                "workspace": ("workspace_id", "workspaces"),
                "user": ("user_id", "users"),
                "story": ("story_id", "stories"),
                **_EXT,
            },
            orders=_fs("id", "created_at", "updated_at", "date"),
            archived_scope="workspace",
        ),
        Collection(
            name="invoices",
            singular="invoice",
            subject_type="Invoice",
            create=_fs(
                "workspace_id",
                "time_entry_ids",
                "expense_ids",
                "invoice_date",
                "payment_schedule",
                "draft",
                "message",
                "purchase_order",
                "tax_rate",
                "user_invoice_number",
                "external_reference",
            ),
            update=_fs(
                "payment_schedule",
                "invoice_date",
                "user_invoice_number",
                "draft",
                "message",
                "purchase_order",
                "tax_rate",
                "external_reference",
            ),
            required=("workspace_id",),
            associations={
                "time_entries": ("time_entry_ids", "time_entries"),
                "expenses": ("expense_ids", "expenses"),
                "workspaces": ("workspace_ids", "workspaces"),
                "user": ("user_id", "users"),
                **_EXT,
            },
            orders=_fs("id", "created_at", "updated_at", "invoice_date"),
        ),
        Collection(
            name="rate_cards",
            singular="rate_card",
            subject_type="RateCard",
            create=None,
            update=None,
            associations=dict(_EXT),
        ),
        Collection(
            name="external_references",
            singular="external_reference",
            subject_type="ExternalReference",
            create=None,
            update=None,
        ),
        Collection(
            name="custom_field_values",
            singular="custom_field_value",
            subject_type="CustomFieldValue",
            create=_fs("subject_type", "subject_id", "custom_field_id", "value"),
            update=_fs("value"),
            required=("subject_type", "subject_id", "custom_field_id", "value"),
            associations={**_EXT},
        ),
        Collection(
            name="subscribed_events",
            singular="subscribed_event",
            subject_type="SubscribedEvent",
            create=None,
            update=None,
            orders=_fs("id", "created_at", "updated_at"),
        ),
    )
}

# Class name (external references) -> collection, and the lower-case form custom fields use.
SUBJECT_TYPES: Mapping[str, str] = {c.subject_type: c.name for c in COLLECTIONS.values()}
