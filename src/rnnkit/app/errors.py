"""The error an application raises for a problem with the user's input."""


class UserError(Exception):
    """A problem with the user's input: the CLI prints its one-line message and exits non-zero."""
