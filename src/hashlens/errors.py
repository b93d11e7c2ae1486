"""The one exception type users see: a message naming the place and the fix."""


class HashlensError(Exception):
    """Bad input or an impossible request; the CLI prints it as one line."""
