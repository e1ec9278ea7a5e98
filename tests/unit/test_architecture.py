"""The shape of the code, checked so that a newcomer can trust it (STYLE.md, "Where it bends"):

* ``datalake/`` (the ground) imports no stage;
* a stage imports another stage only through its package root (the stage contract: ``mapreduce.run``,
  ``hbase.run``, ``hbase.person_in_hbase``), never one of its modules; entry points and dags/ sit on top;
* no module is over ~400 lines without saying why in its docstring;
* every environment variable the Python code reads is read in datalake/settings.py and listed in
  README's configuration table, and the README lists no variable that nothing reads.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from datalake.settings import VARIABLES

ROOT = Path(__file__).resolve().parents[2]
GROUND = "datalake"
STAGES = ("collection", "mapreduce", "hbase", "privacy", "analysis")
PACKAGES = (GROUND,) + STAGES
MAX_LINES = 400
ENV_PREFIXES = ("DATALAKE_", "MASTODON_", "HBASE_", "HADOOP_")


def modules():
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            yield package, path


def imported(path: Path) -> list[str]:
    """Every module name a file imports (absolute imports; the project has no relative ones)."""
    names = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.append(node.module)
    return names


def test_the_ground_imports_no_stage():
    offending = [f"{path.relative_to(ROOT)} imports {name}" for package, path in modules() if package == GROUND
                 for name in imported(path) if name.split(".")[0] in STAGES]
    assert offending == []


def test_a_stage_reaches_another_only_through_its_package_root():
    offending = []
    for package, path in modules():
        if package == GROUND:
            continue
        for name in imported(path):
            top = name.split(".")[0]
            if top in PACKAGES and top not in (package, GROUND) and name != top:
                offending.append(f"{path.relative_to(ROOT)} imports {name}")
    assert offending == []


def test_no_module_is_long_without_a_reason():
    long = []
    for _, path in modules():
        lines = path.read_text().count("\n")
        docstring = ast.get_docstring(ast.parse(path.read_text())) or ""
        if lines > MAX_LINES and "longer than" not in docstring.lower():
            long.append(f"{path.relative_to(ROOT)}: {lines} lines")
    assert long == [], "split these, or say in the docstring why they are longer than ~400 lines"


def _environment_reads(path: Path) -> set[str]:
    text = path.read_text()
    names = set(re.findall(r"""(?:environ|env)\.get\(\s*["']([A-Z][A-Z0-9_]+)["']""", text))
    names |= set(re.findall(r"""(?:environ|env)\[\s*["']([A-Z][A-Z0-9_]+)["']\s*\]""", text))
    return {name for name in names if name.startswith(ENV_PREFIXES)}


def test_only_the_settings_module_reads_the_environment():
    readers = {str(path.relative_to(ROOT)): _environment_reads(path) for _, path in modules()}
    readers.update({str(path.relative_to(ROOT)): _environment_reads(path) for path in (ROOT / "dags").glob("*.py")})
    elsewhere = {path: names for path, names in readers.items() if names and path != "datalake/settings.py"}
    assert elsewhere == {}
    assert readers["datalake/settings.py"] <= {variable.name for variable in VARIABLES}


def _readme_variables() -> set[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    return {name for row in section.splitlines() if row.startswith("| `")
            for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", row.split("|")[1])}


def test_readme_lists_exactly_the_variables_of_the_settings_module():
    documented = _readme_variables()
    declared = {variable.name for variable in VARIABLES}
    assert documented == declared, (f"missing from README: {sorted(declared - documented)}; "
                                    f"in README but read nowhere: {sorted(documented - declared)}")


@pytest.mark.parametrize("variable", VARIABLES, ids=lambda variable: variable.name)
def test_every_variable_has_a_default_and_a_meaning(variable):
    assert variable.default and variable.meaning and not variable.meaning.endswith(".")
