"""The report protocol every stage returns, and the small table the reports print.

A stage's ``run(settings, days, ...)`` returns a report with two views:

* ``to_dict()``: what goes to XCom and to ``--json`` output: small, JSON-serializable, no
  secret (no token, key or webhook URL; personal data only where a CLI's caller asked for it);
* ``format()``: what the log and a terminal show an operator, a few readable lines.

:func:`check_report` is what tests and the DAG use to hold a report to that.
"""
from __future__ import annotations

import json
from typing import Iterable, Protocol, Sequence, runtime_checkable

#: XCom is a row of Airflow's metadata DB: a report's dict must stay well below this
MAX_REPORT_BYTES = 64 * 1024


@runtime_checkable
class Report(Protocol):
    def to_dict(self) -> dict: ...

    def format(self) -> str: ...


def check_report(report: Report, *secrets: str | None) -> dict:
    """``report.to_dict()`` after checking that it is a small JSON object holding none of ``secrets``."""
    if not isinstance(report, Report):
        raise TypeError(f"{type(report).__name__} is not a stage report (to_dict() and format())")
    document = report.to_dict()
    text = json.dumps(document, sort_keys=True)
    if len(text.encode("utf-8")) > MAX_REPORT_BYTES:
        raise ValueError(f"{type(report).__name__}.to_dict() is {len(text)} bytes: too large for XCom")
    for secret in secrets:
        if secret and secret in text:
            raise ValueError(f"{type(report).__name__}.to_dict() holds a secret")
    return document


def format_table(header: Sequence[str], rows: Iterable[Sequence[object]], left: int = 1) -> str:
    """Rows as aligned text columns: the first ``left`` columns left-aligned, the others right-aligned."""
    lines = [tuple(str(cell) for cell in header)] + [tuple(str(cell) for cell in row) for row in rows]
    widths = [max(len(line[index]) for line in lines) for index in range(len(header))]
    return "\n".join("  ".join(cell.ljust(widths[index]) if index < left else cell.rjust(widths[index])
                               for index, cell in enumerate(line)).rstrip() for line in lines)
