"""The one error type of the collection boundary."""
from __future__ import annotations

from datalake.errors import DatalakeError, redact

__all__ = ["CollectionError", "redact"]


class CollectionError(DatalakeError):
    """Collecting an instance failed.

    The message reads ``instance <url>: <what failed>; <what to do>`` and never holds a secret.
    ``permanent`` (a refused timeline, a refused token, a domain that cannot name a partition)
    marks a failure that a retry cannot fix: the configuration must change.
    """
