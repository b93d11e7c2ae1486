"""The one exception type users see: a message naming the place and the fix."""


class HashlensError(Exception):
    """Bad input or an impossible request; the CLI prints it as one line."""


class Refused(HashlensError):
    """A request outside its contract (:mod:`hashlens.contracts`): a field out of its bounds,
    unknown or missing. The CLI exits 2 with its one line; the API answers 422 with it and
    ``errors``, one ``{loc, type, msg}`` per field refused."""

    def __init__(self, message: str, errors: list[dict[str, object]] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or []
