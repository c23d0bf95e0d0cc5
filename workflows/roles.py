"""Roles as Django groups: viewer, operator, designer (an administrator is a superuser).

- viewer: sees flows, executions, history and logs;
- operator: a viewer who may also start, stop, redrive and re-run executions and complete
  or fail waiting callbacks;
- designer: a viewer who may also create, change and delete flows.

A signed-in user in no group sees nothing. The groups are (re)created after every
``migrate``; assign people to them in the admin.
"""

from __future__ import annotations

from typing import Any

VIEW = ("workflows.view_flow", "workflows.view_execution")
OPERATE = "workflows.operate_execution"
DESIGN = "workflows.design_flow"

ROLES: dict[str, list[str]] = {
    "viewer": [
        "view_flow",
        "view_flowversion",
        "view_execution",
        "view_event",
        "view_taskattempt",
        "view_steplog",
    ],
    "operator": [
        "view_flow",
        "view_flowversion",
        "view_execution",
        "view_event",
        "view_taskattempt",
        "view_steplog",
        "operate_execution",
    ],
    "designer": [
        "view_flow",
        "view_flowversion",
        "view_execution",
        "view_event",
        "view_taskattempt",
        "view_steplog",
        "design_flow",
    ],
}


def can_view(user: Any) -> bool:
    return bool(user and user.is_authenticated and user.has_perms(VIEW))


def can_operate(user: Any) -> bool:
    return can_view(user) and user.has_perm(OPERATE)


def can_design(user: Any) -> bool:
    return can_view(user) and user.has_perm(DESIGN)


def ensure_roles(**_: Any) -> None:
    """Create or update the role groups (connected to ``post_migrate``)."""
    from django.contrib.auth.models import Group, Permission

    for name, codenames in ROLES.items():
        group, _ = Group.objects.get_or_create(name=name)
        permissions = Permission.objects.filter(
            content_type__app_label="workflows", codename__in=codenames
        )
        group.permissions.set(permissions)
