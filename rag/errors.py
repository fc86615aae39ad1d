"""User-facing errors: each carries one line that says what went wrong and what to do.

The CLI and the UI print ``str(error)`` and never a traceback.
"""


class RagError(Exception):
    """An error the user can act on; its message is one line."""

    exit_code = 1


class BadInputError(RagError):
    """The question, file or option given is not usable."""

    exit_code = 2


class IndexMissingError(RagError):
    """There is no index yet."""


class IndexCorruptError(RagError):
    """The index on disk cannot be read or does not match its manifest."""


class ModelError(RagError):
    """A model file is missing, corrupt or does not match the configuration."""


class LockedError(RagError):
    """Another process is writing the index."""


class MissingExtraError(RagError):
    """An optional feature whose packages are not installed (the message says which extra)."""
