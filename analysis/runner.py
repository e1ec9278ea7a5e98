"""Execute the analysis notebook headless and export it: what ``python -m analysis run`` does.

1. Check that HBase answers (a clear error now beats a traceback inside the notebook).
2. Execute ``analysis/mastodon_analysis.ipynb`` with papermill on the ``python3`` Jupyter kernel,
   injecting the connection parameters; the notebook saves each chart as ``<NN_name>.png``.
3. Write the executed notebook and an HTML export (code hidden) next to the PNGs.

The kernel must run this interpreter (the project's virtualenv): jupyter_client starts a
kernelspec whose command is ``python`` with ``sys.executable``, and inside a virtualenv
jupyter_core prefers the environment's kernelspecs (``.venv/share/jupyter/kernels/python3``,
installed by ipykernel) over a user's. The runner checks this and puts the repository on the
kernel's ``PYTHONPATH`` so that the notebook imports ``analysis`` from this checkout.
"""
from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from analysis.hbase_frames import AnalysisError, connect, describe_target
from analysis.report import MANIFEST

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = Path(__file__).resolve().with_name("mastodon_analysis.ipynb")
EXECUTED_NOTEBOOK = "mastodon_analysis.ipynb"
HTML_EXPORT = "mastodon_analysis.html"
KERNEL_NAME = "python3"
TEMPLATES = Path(__file__).resolve().with_name("nbconvert_templates")


class NotebookError(AnalysisError):
    """The notebook started but failed; the message names the cell and where the executed notebook is."""


@dataclass
class RunResult:
    output_dir: Path
    notebook: Path
    html: Path
    pngs: list[Path] = field(default_factory=list)
    no_data: dict[str, str] = field(default_factory=dict)  # chart title → why it was not drawn
    notes: list[str] = field(default_factory=list)  # what reading HBase found wrong
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return {"output_dir": str(self.output_dir), "notebook": str(self.notebook), "html": str(self.html),
                "pngs": [png.name for png in self.pngs], "no_data": self.no_data, "notes": self.notes[:20],
                "seconds": round(self.seconds, 3)}

    def format(self) -> str:
        lines = [f"analysis report in {self.output_dir} ({self.seconds:.0f} s): {self.html.name}, "
                 f"{self.notebook.name}, {len(self.pngs)} chart(s)"]
        lines += [f"  {png.name}" for png in self.pngs]
        lines += [f"  no chart: {title}: {reason}" for title, reason in self.no_data.items()]
        lines += [f"  note: {note}" for note in self.notes[:10]]
        return "\n".join(lines)


def check_kernel(kernel_name: str = KERNEL_NAME) -> str:
    """The interpreter the kernel will run, or an AnalysisError when it is not this one."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        spec = KernelSpecManager().get_kernel_spec(kernel_name)
    except NoSuchKernel:
        raise AnalysisError(
            f"no Jupyter kernel named {kernel_name!r}: install ipykernel into this virtualenv "
            "(`make setup`, or `.venv/bin/pip install -r requirements.txt`)") from None
    command = spec.argv[0] if spec.argv else ""
    version = sys.version_info
    if command in ("python", f"python{version[0]}", f"python{version[0]}.{version[1]}"):
        return sys.executable  # jupyter_client substitutes sys.executable for these
    if Path(command).resolve() == Path(sys.executable).resolve():
        return sys.executable
    raise AnalysisError(
        f"the Jupyter kernel {kernel_name!r} ({spec.resource_dir}) runs {command!r}, not this interpreter "
        f"({sys.executable}), so it would not see the project's packages. Run `python -m analysis` with the "
        "project's virtualenv (`. stack/env.sh`), or remove that kernelspec "
        f"(`jupyter kernelspec remove {kernel_name}`) so that the virtualenv's own is used.")


def _kernel_manager_class():
    from jupyter_client import AsyncKernelManager
    from traitlets import default

    class LocalSocketKernelManager(AsyncKernelManager):
        """The kernel over Unix domain sockets (files in Jupyter's runtime dir) instead of TCP ports:
        nothing listens on the network, and ipykernel has no unencrypted TCP to warn about."""

        @default("transport")
        def _transport_default(self) -> str:
            return "ipc"

    return LocalSocketKernelManager


@contextlib.contextmanager
def _repo_on_pythonpath():
    """The kernel inherits the environment: let it import this checkout's packages."""
    before = os.environ.get("PYTHONPATH")
    paths = [str(REPO_ROOT)] + ([before] if before else [])
    os.environ["PYTHONPATH"] = os.pathsep.join(paths)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = before


def run_analysis(output_dir: str | Path, host: str, port: int, table_prefix: str = "", top_n: int = 15,
                 cell_timeout_s: int = 600, kernel_name: str = KERNEL_NAME) -> RunResult:
    """Execute the notebook against HBase and write notebook, HTML and PNGs into ``output_dir``."""
    import papermill
    from papermill.exceptions import PapermillExecutionError

    started = time.monotonic()
    target = describe_target(host, port, table_prefix)
    connect(host, port, table_prefix, timeout_s=10).close()  # AnalysisError if HBase does not answer
    log.info("HBase answers: %s", target)
    interpreter = check_kernel(kernel_name)
    log.info("kernel %r runs %s", kernel_name, interpreter)

    output_dir = Path(output_dir).resolve()
    output_dir.mkdir(parents=True, exist_ok=True)
    executed = output_dir / EXECUTED_NOTEBOOK
    html = output_dir / HTML_EXPORT
    for stale in (executed, html, output_dir / MANIFEST):
        stale.unlink(missing_ok=True)
    parameters = {"hbase_host": host, "hbase_port": int(port), "table_prefix": table_prefix,
                  "output_dir": str(output_dir), "top_n": int(top_n)}
    log.info("executing %s into %s", NOTEBOOK.relative_to(REPO_ROOT), executed)
    try:
        with _repo_on_pythonpath():
            papermill.execute_notebook(
                str(NOTEBOOK), str(executed), parameters=parameters, kernel_name=kernel_name,
                progress_bar=False, log_output=False, request_save_on_cell_execute=False,
                cwd=str(output_dir), execution_timeout=cell_timeout_s, start_timeout=120,
                kernel_manager_class=_kernel_manager_class())
    except PapermillExecutionError as exc:
        raise NotebookError(
            f"the notebook failed in cell [{exc.exec_count}]: {exc.ename}: {exc.evalue}. "
            f"The executed notebook with the full traceback is {executed}") from exc
    except RuntimeError as exc:  # kernel died or did not start, cell timeout
        raise NotebookError(f"executing the notebook failed: {exc}. Partial notebook (if any): {executed}") from exc

    export_html(executed, html)
    result = _result(output_dir, executed, html)
    result.seconds = time.monotonic() - started
    return result


def export_html(notebook: Path, html: Path) -> Path:
    """The executed notebook as a standalone HTML report (outputs only, images embedded)."""
    import nbformat
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(extra_template_basedirs=[str(TEMPLATES)], template_name="analysis_report",
                            exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True)
    body, _ = exporter.from_notebook_node(nbformat.read(notebook, as_version=4))
    tmp = html.with_name(f".{html.name}.tmp")
    tmp.write_text(body, encoding="utf-8")
    tmp.replace(html)
    return html


def _result(output_dir: Path, executed: Path, html: Path) -> RunResult:
    manifest_path = output_dir / MANIFEST
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise AnalysisError(f"the notebook ran but left no readable {manifest_path}: {exc}") from exc
    result = RunResult(output_dir, executed, html, notes=list(manifest.get("notes", [])))
    for stem, entry in manifest["charts"].items():
        if entry["png"]:
            png = output_dir / entry["png"]
            if not png.is_file() or png.stat().st_size == 0:
                raise AnalysisError(f"chart {stem} was reported drawn but {png} is missing or empty")
            result.pngs.append(png)
        else:
            result.no_data[entry["title"]] = entry["no_data"]
    return result

