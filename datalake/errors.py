"""The one error base of the lake, and the redaction every error message goes through.

Every stage raises a subclass of :class:`DatalakeError` at its boundary (``CollectionError``,
``MapReduceError``, ``LoadError``, ``ErasureError``; ``ConfigError`` and ``LakeError`` here),
with a message that says what failed, where, and what to do. ``permanent`` says whether a
retry can help: a refused timeline or a wrong setting stays wrong until someone changes the
configuration, so a scheduler fails such a task at once instead of retrying it (the DAG maps
``permanent`` to Airflow's ``AirflowFailException`` in one place, datalake/airflow_support.py).
"""
from __future__ import annotations


class DatalakeError(Exception):
    """A stage failed; the message names what, where and what to do, never a secret."""

    #: a retry cannot fix it (configuration must change); subclasses and instances may override
    permanent: bool = False

    def __init__(self, message: str, *, permanent: bool | None = None):
        super().__init__(message)
        if permanent is not None:
            self.permanent = permanent


class ConfigError(DatalakeError):
    """The configuration is missing or wrong; the message says which variable and what to do."""

    permanent = True


class LakeError(DatalakeError):
    """An HDFS operation of the lake failed; the message names the path and the cause."""


def redact(text: str, *secrets: str | None) -> str:
    """``text`` with every occurrence of the given secret values replaced by ``***``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text
