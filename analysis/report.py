"""What the notebook calls to show a chart: draw it, save it as a PNG with a stable name, display it;
or, when there is nothing to draw, display why. Also writes ``charts.json``, the list of what was
drawn and what was not, which the runner reads to tell the operator.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Callable

from analysis.charts import CHART_FILES, Chart, NoData

log = logging.getLogger(__name__)
MANIFEST = "charts.json"


def _display(obj) -> None:
    try:
        from IPython.display import display
    except ImportError:  # outside Jupyter (tests, scripts): nothing to display
        return
    display(obj)


class ChartOutput:
    """Saves each chart of the notebook under ``output_dir/<stem>.png``."""

    def __init__(self, output_dir: str | Path, notes: tuple[str, ...] | list[str] = ()):
        self.output_dir = Path(output_dir)
        self.output_dir.mkdir(parents=True, exist_ok=True)
        self.charts: dict[str, dict] = {}
        self.notes = list(notes)
        for stem in CHART_FILES:  # a fresh run: no PNG of an earlier run may pass for this one's
            (self.output_dir / f"{stem}.png").unlink(missing_ok=True)
        self._write_manifest()

    def show(self, stem: str, chart_function: Callable[..., Chart], *args, **kwargs) -> None:
        """Draw ``chart_function(*args, **kwargs)``, save ``<stem>.png``, display it; on NoData show the reason.

        Returns nothing, so that the notebook cell shows the chart and no repr after it.
        """
        if stem not in CHART_FILES:
            raise ValueError(f"unknown chart {stem!r}; the charts are {', '.join(CHART_FILES)}")
        png = self.output_dir / f"{stem}.png"
        try:
            chart = chart_function(*args, **kwargs)
        except NoData as reason:
            png.unlink(missing_ok=True)  # never leave the chart of an earlier run in place
            self.charts[stem] = {"title": CHART_FILES[stem], "png": None, "no_data": str(reason)}
            self._write_manifest()
            log.info("chart %s: no data: %s", stem, reason)
            _display_markdown(f"**No chart — {CHART_FILES[stem]}:** {reason}")
            return
        chart.save_png(png)
        self.charts[stem] = {"title": chart.title, "png": png.name, "no_data": None}
        self._write_manifest()
        try:
            from IPython.display import Image
            _display(Image(filename=str(png), alt=f"Chart: {chart.title}"))
        except ImportError:
            pass

    def _write_manifest(self) -> None:
        path = self.output_dir / MANIFEST
        tmp = path.with_name(f".{MANIFEST}.tmp")
        tmp.write_text(json.dumps({"charts": self.charts, "notes": self.notes}, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        tmp.replace(path)


    def overview(self) -> str:
        """Markdown: which PNG holds which chart, and which charts had no data."""
        drawn = sum(1 for entry in self.charts.values() if entry["png"])
        lines = ["## Files", "", f"{drawn} of {len(self.charts)} charts saved as PNG in `{self.output_dir}`:", ""]
        for stem, entry in self.charts.items():
            if entry["png"]:
                lines.append(f"- `{entry['png']}`: {entry['title']}")
            else:
                lines.append(f"- {entry['title']}: no chart ({entry['no_data']})")
        return "\n".join(lines)


def _display_markdown(text: str) -> None:
    try:
        from IPython.display import Markdown
    except ImportError:
        print(text)
        return
    _display(Markdown(text))


def show_markdown(text: str) -> None:
    """Display Markdown in the notebook (printed when not in Jupyter)."""
    _display_markdown(text)
