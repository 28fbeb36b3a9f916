"""The Brian2 boundary: every private Brian2 name lives in ``_brian_compat``."""

import ast
import importlib
import re
from pathlib import Path

import pytest

import brian_dendrites
import brian_dendrites.models
from brian_dendrites import _brian_compat as compat

ROOT = Path(__file__).resolve().parents[1]

#: Brian2 submodules that are documented public API (``from brian2.units import *``).
PUBLIC_SUBMODULES = {"brian2.units"}

#: Files allowed to import private Brian2 submodules besides _brian_compat (none).
ALLOWED_FOR_NOW: set = set()


def _table_rows():
    """``(module, name)`` rows of the table in the module docstring."""
    rows = []
    for line in compat.__doc__.splitlines():
        match = re.match(r"^(brian2(?:\.\w+)+)\s+(\w+)\s+\S", line)
        if match:
            rows.append(match.groups())
    return rows


def test_table_lists_names():
    rows = _table_rows()
    assert len(rows) >= 10
    names = {name for _, name in rows}
    assert {"ArrayVariable", "CPPStandaloneDevice", "FileLock", "reset_device"} <= names


@pytest.mark.parametrize("module, name", _table_rows())
def test_every_listed_name_exists_in_installed_brian2(module, name):
    mod = importlib.import_module(module)
    assert hasattr(mod, name), f"{module}.{name} missing in the installed brian2"
    assert getattr(compat, name) is getattr(mod, name)


def test_every_reexported_brian_name_is_in_the_table():
    listed = {name for _, name in _table_rows()}
    for name in compat.__all__:
        obj = getattr(compat, name)
        if getattr(obj, "__module__", "").startswith("brian2") or name == "DIMENSIONLESS":
            assert name in listed, f"{name} is re-exported but not in the docstring table"


def test_version_range():
    assert compat.brian2_version_tested()  # CI installs a tested brian2
    assert compat.brian2_version_tested("2.9.0")
    assert compat.brian2_version_tested("2.10.1")
    assert not compat.brian2_version_tested("2.8.0.4")
    assert not compat.brian2_version_tested("3.0")
    with pytest.raises(ValueError, match="version"):
        compat.brian2_version_tested("two")
    with pytest.raises(TypeError, match="version"):
        compat.brian2_version_tested(2.9)


def test_untested_version_warns_not_fails():
    with pytest.warns(RuntimeWarning, match="tested with brian2"):
        assert compat.warn_if_untested("2.99.0") is False


def test_install_requires_matches_tested_range():
    text = (ROOT / "setup.cfg").read_text()
    lower, upper = compat.BRIAN2_TESTED
    assert f"brian2>={lower},<{upper}" in text


def _private_brian_imports(path):
    """``lineno: module`` of imports from private Brian2 submodules in a file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and node.level == 0:
            modules = [node.module or ""]
        elif isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        else:
            continue
        for module in modules:
            if module.startswith("brian2.") and module not in PUBLIC_SUBMODULES:
                found.append(f"{node.lineno}: {module}")
    return found


def _source_files():
    for folder in ("brian_dendrites", "models"):
        yield from sorted((ROOT / folder).rglob("*.py"))


def test_no_private_brian2_imports_outside_compat():
    offenders = {}
    for path in _source_files():
        rel = path.relative_to(ROOT).as_posix()
        if rel in ("brian_dendrites/_brian_compat.py", *ALLOWED_FOR_NOW):
            continue
        found = _private_brian_imports(path)
        if found:
            offenders[rel] = found
    assert not offenders, (
        f"import private Brian2 API through brian_dendrites._brian_compat: {offenders}"
    )


def test_the_check_sees_private_imports(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import brian2.units\nfrom brian2 import ms\n"
                   "def f():\n    from brian2.core.variables import ArrayVariable\n")
    assert _private_brian_imports(bad) == ["4: brian2.core.variables"]


def test_package_is_imported_from_the_checkout():
    """setup.cfg's ``pythonpath = .``: the tests exercise this checkout, not an installed copy."""
    assert Path(brian_dendrites.__file__).resolve().parent.parent == ROOT
    assert Path(brian_dendrites.models.__file__).resolve().parent == ROOT / "models"
