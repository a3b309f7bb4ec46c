"""Domain errors raised by services; the API's exception handler maps them to HTTP answers."""


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
