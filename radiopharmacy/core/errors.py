"""Domain errors raised by services and pure modules; the API's exception handler maps them.

No Django import here: the pure modules (physics, planner, specs) raise `InputError`.
"""


class ApplicationError(Exception):
    """Bad input or a broken domain rule: a 400 with a message and optional field errors."""

    status_code = 400

    def __init__(self, message: str, *, fields: dict[str, list[str]] | None = None, **extra):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}
        self.extra = extra

    def as_dict(self) -> dict:
        body = {"detail": self.message, **self.fields, **self.extra}
        return body


class NotAllowed(ApplicationError):
    """The actor may not do this (role, four eyes, wrong password for a signature): a 403."""

    status_code = 403


class StateConflict(ApplicationError):
    """A refused state change (not releasable, not enough activity left): a 409 with blockers."""

    status_code = 409

    def __init__(self, message: str, *, blocking: list[str] | None = None, **extra):
        super().__init__(message, blocking=list(blocking or []), **extra)
        self.blocking = list(blocking or [])


class NotFound(ApplicationError):
    """The record named in the URL does not exist: a 404."""

    status_code = 404


class InputError(ValueError):
    """Impossible input to a pure module (a naive datetime, a negative activity, an unknown
    nuclide): the caller's mistake, so the API answers 400 with the message.

    Pure Python on purpose: physics, the planner and the specification evaluator raise it and
    import no Django. Any other exception that reaches the API is a programming error: a 500,
    logged with its traceback.
    """
