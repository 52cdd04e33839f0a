"""Checked rules of the architecture (DESIGN.md): who may import whom, and what stays lazy."""

from __future__ import annotations

import ast
import inspect
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

REPO = Path(__file__).resolve().parents[2]
CORE = REPO / "core" / "trackline"
PLUGIN_DIRS = sorted(p for p in (REPO / "plugins").iterdir() if (p / "pyproject.toml").exists())
CONTRIB_DIRS = sorted(p for p in (REPO / "contrib").glob("*") if (p / "pyproject.toml").exists())
ALL_PLUGIN_DIRS = PLUGIN_DIRS + CONTRIB_DIRS


def _package_name(plugin_dir: Path) -> str:
    (src,) = [
        p for p in (plugin_dir / "src").iterdir() if p.is_dir() and not p.name.endswith(".egg-info")
    ]
    return src.name


def _imported_top_level(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


PLUGIN_PACKAGES = {_package_name(d): d for d in ALL_PLUGIN_DIRS}


def test_there_are_plugins_to_check():
    assert {"trackline_sql", "trackline_fsspec"} <= set(PLUGIN_PACKAGES)


def test_core_imports_no_plugin():
    offenders = [
        f"{path.relative_to(REPO)} imports {sorted(_imported_top_level(path) & set(PLUGIN_PACKAGES))}"
        for path in CORE.rglob("*.py")
        if _imported_top_level(path) & set(PLUGIN_PACKAGES)
    ]
    assert offenders == []


@pytest.mark.parametrize("package", sorted(PLUGIN_PACKAGES))
def test_plugins_do_not_import_each_other(package):
    others = set(PLUGIN_PACKAGES) - {package}
    plugin_dir = PLUGIN_PACKAGES[package]
    offenders = [
        f"{path.relative_to(REPO)} imports {sorted(_imported_top_level(path) & others)}"
        for path in plugin_dir.rglob("*.py")
        if _imported_top_level(path) & others
    ]
    assert offenders == []


@pytest.mark.parametrize("plugin_dir", PLUGIN_DIRS, ids=lambda p: p.name)
def test_plugin_distribution_layout(plugin_dir):
    project = tomllib.loads((plugin_dir / "pyproject.toml").read_text())["project"]
    assert project["name"] == f"trackline-{plugin_dir.name}"
    entry_points = project["entry-points"]["trackline"]
    assert list(entry_points.values()) == [f"trackline_{plugin_dir.name}.plugin"]
    assert any(dep.startswith("trackline") for dep in project["dependencies"])
    assert "test" in project.get("optional-dependencies", {}), "scripts/test.sh installs [test]"
    for required in ("README.md", "CHANGELOG.md", "tests"):
        assert (plugin_dir / required).exists(), f"{plugin_dir.name} lacks {required}"


def test_install_hints_match_what_plugins_register():
    """The only place the core names plugins is INSTALL_HINTS; it must not drift."""
    from trackline.plugins.manager import (
        INSTALL_HINTS,
        INSTALL_HINTS_BY_KIND,
        TracklinePluginManager,
    )

    pm = TracklinePluginManager()
    pm.load_entrypoints()
    reg = pm.registry
    for kind, table in (
        ("tracking store", reg.tracking_stores),
        ("artifact repository", reg.artifact_repositories),
        ("model registry store", reg.registry_stores),
    ):
        for scheme, (_, plugin_name) in table.items():
            if plugin_name.startswith("trackline.") or plugin_name == "memory":
                continue
            dist = pm._distributions.get(plugin_name)
            assert dist is not None
            hint = INSTALL_HINTS_BY_KIND.get(kind, {}).get(scheme) or INSTALL_HINTS.get(scheme, "")
            assert hint.split("[")[0] == dist.metadata["Name"], (
                f"INSTALL_HINTS[{scheme!r}] should name {dist.metadata['Name']}"
            )


def test_every_hook_is_documented():
    from trackline.plugins import hookspecs

    spec_names = [
        name
        for name, function in inspect.getmembers(hookspecs, inspect.isfunction)
        if hasattr(function, "trackline_spec")
    ]
    assert len(spec_names) >= 10
    for name in spec_names:
        doc = getattr(hookspecs, name).__doc__ or ""
        assert len(doc) > 80, f"{name} needs a docstring for plugin authors"


def test_hook_reference_is_generated_from_the_docstrings():
    sys.path.insert(0, str(REPO / "scripts"))
    try:
        import gen_hook_docs
    finally:
        sys.path.pop(0)
    committed = (REPO / "docs" / "plugins" / "hooks.md").read_text(encoding="utf-8")
    assert committed == gen_hook_docs.render(), "run: python scripts/gen_hook_docs.py"


@pytest.mark.parametrize(
    "statement",
    ["import trackline", "import trackline.plugins.hookspecs"]
    + [f"import {name}.plugin" for name in sorted(PLUGIN_PACKAGES)],
)
def test_imports_stay_light(statement):
    """Importing the core or a plugin's hook module pulls no heavy library."""
    heavy = [
        "sqlalchemy",
        "alembic",
        "pandas",
        "numpy",
        "fsspec",
        "boto3",
        "sklearn",
        "torch",
        "flask",
    ]
    code = f"{statement}\nimport sys\nprint(','.join(m for m in {heavy!r} if m in sys.modules))"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""
