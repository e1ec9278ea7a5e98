"""The one error type of the collection boundary."""
from __future__ import annotations


class CollectionError(Exception):
    """Collecting an instance failed.

    The message reads ``instance <url>: <what failed>; <what to do>`` and never holds a secret.
    ``collect_all`` raises one whose ``outcomes`` lists every instance's result or error, so
    that a caller (the DAG, the CLI) can report the instances that did complete.

    ``permanent`` marks a failure that a retry cannot fix (the instance refuses the timeline:
    configuration must change), so that schedulers fail at once instead of retrying.
    """

    def __init__(self, message: str, outcomes: list | None = None, permanent: bool = False):
        super().__init__(message)
        self.outcomes = outcomes or []
        self.permanent = permanent


def redact(text: str, *secrets: str | None) -> str:
    """``text`` with every occurrence of the given secret values replaced by ``***``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text
