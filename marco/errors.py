"""The error a user can fix (missing model, dataset or bad field): entry points print it on one line and exit 2.
It imports no marco module, so every module can raise it without pulling in another."""


class MarcoError(Exception):
    """A problem the user can fix; its message is the one line they see."""
