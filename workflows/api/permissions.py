"""Who may call which endpoint: role checks for every API view (see ``workflows.roles``)."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import SAFE_METHODS, BasePermission

from .. import roles


class RolePermission(BasePermission):
    """Reads need the viewer role; each view names the role its writes need.

    ``write_role`` on the view: ``"operate"`` (default) or ``"design"``.
    """

    message = "Your role does not allow this."

    def has_permission(self, request: Any, view: Any) -> bool:
        user = request.user
        if not roles.can_view(user):
            return False
        if request.method in SAFE_METHODS or getattr(view, "read_only_post", False):
            return True
        if getattr(view, "write_role", "operate") == "design":
            return roles.can_design(user)
        return roles.can_operate(user)
