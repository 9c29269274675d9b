"""Role checks for the API: reading needs the viewer role, changing a spec the editor role,
rebalancing and rolling back the operator role (see :mod:`topology_editor.roles`)."""

from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from topology_editor import roles


class RolePermission(BasePermission):
    """Safe methods need :data:`roles.VIEW`, others :data:`roles.CHANGE`, unless the view's
    ``action_permissions`` names the permissions of an action (``{"rebalance": (REBALANCE,)}``)."""

    message = "your role does not allow this"

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.has_perms(required_permissions(request, view)))


def required_permissions(request: Request, view: APIView) -> tuple[str, ...]:
    overrides = getattr(view, "action_permissions", {})
    action = getattr(view, "action", None)
    if action in overrides:
        return overrides[action]
    return (roles.VIEW,) if request.method in SAFE_METHODS else (roles.CHANGE,)
