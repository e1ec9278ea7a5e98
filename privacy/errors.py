"""The one error type of the personal-data stage."""
from __future__ import annotations

from datalake.errors import DatalakeError


class ErasureError(DatalakeError):
    """An erasure could not be done; the message says what failed and what to do."""
