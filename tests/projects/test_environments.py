"""virtualenv and uv environments built from python_env.yaml, cached by specification, offline.

The dependency is a tiny wheel written by the test, so builds need no package index.
"""

from __future__ import annotations

import base64
import hashlib
import os
import sys
import zipfile
from pathlib import Path

import pytest
from trackline.projects import ExecutionException, load_project, prepare_environment, run
from trackline.projects.environments import PythonEnvSpec, find_conda, find_uv

PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"


def _write_wheel(directory: Path, name: str = "tinypkg", value: int = 42) -> Path:
    """A pure-Python wheel with one module, built by hand (no setuptools, no network)."""
    directory.mkdir(parents=True, exist_ok=True)
    files = {
        f"{name}/__init__.py": f"VALUE = {value}\n",
        f"{name}-0.1.dist-info/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n",
        f"{name}-0.1.dist-info/WHEEL": (
            "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=")
        record.append(f"{path},sha256={digest.decode()},{len(text.encode())}")
    record.append(f"{name}-0.1.dist-info/RECORD,,")
    files[f"{name}-0.1.dist-info/RECORD"] = "\n".join(record) + "\n"
    wheel = directory / f"{name}-0.1-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)
    return wheel


@pytest.fixture
def env_project(tmp_path, write_files):
    root = write_files(
        tmp_path / "env-project",
        {
            "MLproject": """
                name: env-project
                python_env: python_env.yaml
                entry_points:
                  main:
                    command: "python show_env.py"
            """,
            "python_env.yaml": f"""
                python: "{PYTHON}"
                build_dependencies:
                  - pip
                dependencies:
                  - ./wheels/tinypkg-0.1-py3-none-any.whl
            """,
            "show_env.py": """
                import sys, tinypkg
                print("prefix", sys.prefix)
                print("value", tinypkg.VALUE)
            """,
        },
    )
    _write_wheel(root / "wheels")
    return root


def _output(submitted) -> dict[str, str]:
    return dict(line.rstrip("\n").split(" ", 1) for line in submitted.logs())


@pytest.mark.parametrize(
    "manager",
    [
        "virtualenv",
        pytest.param(
            "uv", marks=pytest.mark.skipif(find_uv() is None, reason="uv is not installed")
        ),
    ],
)
def test_environment_is_built_from_python_env_then_reused(tracking, env_project, tmp_path, manager):
    first = run(str(env_project), env_manager=manager)
    assert first.get_status() == "FINISHED"
    shown = _output(first)
    env_root = tmp_path / "envs"
    (env_dir,) = [p for p in env_root.iterdir() if p.is_dir()]
    assert env_dir.name.startswith(f"{manager}-")
    assert os.path.realpath(shown["prefix"]) == os.path.realpath(env_dir)
    assert shown["value"] == "42"  # the dependency is installed in the environment only
    assert tracking.get_run(first.run_id).data.tags["mlflow.project.env"] == manager
    marker = env_dir / ".trackline-env.json"
    built_at = marker.stat().st_mtime_ns

    second = run(str(env_project), env_manager=manager)
    assert second.get_status() == "FINISHED"
    assert _output(second)["prefix"] == shown["prefix"]
    assert marker.stat().st_mtime_ns == built_at  # reused, not rebuilt
    project = load_project(str(env_project))
    assert prepare_environment(project, manager).reused


def test_a_changed_specification_gets_its_own_environment(tracking, env_project, tmp_path):
    project = load_project(str(env_project))
    first = prepare_environment(project, "uv" if find_uv() else "virtualenv")
    _write_wheel(env_project / "wheels", name="otherpkg")
    spec = env_project / "python_env.yaml"
    spec.write_text(spec.read_text() + "  - ./wheels/otherpkg-0.1-py3-none-any.whl\n")
    second = prepare_environment(project, "uv" if find_uv() else "virtualenv")
    assert second.path != first.path
    assert not second.reused


def test_a_failing_build_ends_the_run_failed_and_leaves_no_environment(
    tracking, env_project, tmp_path
):
    spec = env_project / "python_env.yaml"
    spec.write_text(
        f'python: "{PYTHON}"\ndependencies: ["./wheels/missing-0.1-py3-none-any.whl"]\n'
    )
    with pytest.raises(ExecutionException, match="Building the environment failed"):
        run(str(env_project), env_manager="virtualenv")
    (failed,) = tracking.search_runs(search_all_experiments=True, output_format="list")
    assert failed.info.status == "FAILED"
    assert "missing-0.1-py3-none-any.whl" in failed.data.tags["trackline.project.error"]
    assert [p for p in (tmp_path / "envs").iterdir() if p.is_dir()] == []


def test_an_unavailable_python_version_fails_the_run_with_advice(tracking, env_project):
    (env_project / "python_env.yaml").write_text('python: "2.1"\n')
    with pytest.raises(ExecutionException, match=r"asks for Python 2\.1, which was not found"):
        run(str(env_project), env_manager="virtualenv")
    (failed,) = tracking.search_runs(search_all_experiments=True, output_format="list")
    assert failed.info.status == "FAILED"


def test_bad_python_env_files_are_refused(tmp_path):
    path = tmp_path / "python_env.yaml"
    path.write_text("python: three\n")
    with pytest.raises(ExecutionException, match="python must be a version"):
        PythonEnvSpec.from_yaml(str(path))
    path.write_text("python: '3.11'\ndependencies: pandas\n")
    with pytest.raises(ExecutionException, match="dependencies must be a list"):
        PythonEnvSpec.from_yaml(str(path))
    path.write_text("python: '3.11'\npackages: [x]\n")
    with pytest.raises(ExecutionException, match="unknown keys packages"):
        PythonEnvSpec.from_yaml(str(path))


def test_conda_yaml_gives_python_and_pip_requirements_to_virtualenv(tmp_path):
    path = tmp_path / "conda.yaml"
    path.write_text(
        "dependencies:\n  - python=3.10\n  - numpy\n  - pip\n  - pip:\n    - requests==2.31\n"
    )
    spec = PythonEnvSpec.from_conda_yaml(str(path))
    assert (spec.python, spec.dependencies) == ("3.10", ("requests==2.31",))


@pytest.mark.skipif(find_conda() is not None, reason="conda is installed here")
def test_conda_manager_without_conda_says_so_before_creating_a_run(tracking, tmp_path, write_files):
    project = write_files(
        tmp_path / "conda-project",
        {"conda.yaml": "dependencies: [python=3.11]\n", "run.py": "print(1)\n"},
    )
    with pytest.raises(ExecutionException, match="needs conda, which was not found"):
        run(str(project), entry_point="run.py")  # conda.yaml -> conda by default, as MLflow
    assert tracking.search_runs(search_all_experiments=True, output_format="list") == []


def test_local_requirements_are_part_of_the_hash(env_project, tmp_path, write_files):
    from trackline.projects.environments import specification_hash

    spec = PythonEnvSpec.from_yaml(str(env_project / "python_env.yaml"))
    identity = {"manager": "virtualenv", "python": PYTHON}
    before = specification_hash(identity, spec, str(env_project))
    assert specification_hash(identity, spec, str(env_project)) == before  # stable
    # The same line in another project names another wheel: another environment.
    other = tmp_path / "other-project"
    _write_wheel(other / "wheels")
    assert specification_hash(identity, spec, str(other)) != before
    # A wheel rebuilt in place is new content.
    _write_wheel(env_project / "wheels", value=43)
    os.utime(env_project / "wheels" / "tinypkg-0.1-py3-none-any.whl", ns=(1, 1))
    assert specification_hash(identity, spec, str(env_project)) != before
    # Index requirements are identified by their text alone.
    plain = PythonEnvSpec(python=PYTHON, dependencies=("requests==2.31", "git+https://h/r.git"))
    assert specification_hash(identity, plain, str(env_project)) == specification_hash(
        identity, plain, str(other)
    )
