"""Why a service refused a change (besides :class:`orchestrator.SpecError`, an invalid spec).

Each carries a stable ``code``; the API maps them to HTTP statuses, the admin and the
management commands to messages. None of them changes anything: they are raised before the
first write or roll the transaction back.
"""

from orchestrator import FieldError


class ServiceError(Exception):
    code = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFoundError(ServiceError):
    """No deployment, entity, pod or revision of that name."""

    code = "not_found"

    def __init__(self, kind: str, name: str, within: str = "") -> None:
        where = f" in {within}" if within else ""
        super().__init__(f"no {kind} named {name!r}{where}")
        self.kind, self.name = kind, name


class StaleVersionError(ServiceError):
    """The change was based on an older version of the deployment than the stored one."""

    code = "stale_version"

    def __init__(self, name: str, expected: int, actual: int) -> None:
        super().__init__(
            f"deployment {name!r} is at version {actual}, not {expected}: it changed since you read it"
        )
        self.expected, self.actual = expected, actual


class ConflictError(ServiceError):
    """The change contradicts the stored state (a name already taken)."""

    code = "conflict"


class RoleError(ServiceError):
    """The caller's role does not allow this change (a rollback made as an edit, for one)."""

    code = "permission_denied"


class InvalidRequestError(ServiceError):
    """The request itself names something wrong (an unknown pod to move a partition to),
    with the request fields at fault; an invalid *resulting spec* is a SpecError instead."""

    code = "invalid_request"

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(str(error) for error in errors))
        self.errors = errors

    def as_dicts(self) -> list[dict[str, str]]:
        return [{"path": e.path, "message": e.message, "code": e.code} for e in self.errors]


class BusyError(ServiceError):
    """The database stayed locked by other writes for longer than ``DATABASE_LOCK_TIMEOUT_SECONDS``;
    nothing was changed and the same request can simply be sent again."""

    code = "busy"
    retry_after_seconds = 1

    def __init__(self) -> None:
        super().__init__("the database is busy with other changes; nothing was changed, try again")
