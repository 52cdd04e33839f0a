"""MLproject files: parsing, typed parameters, command building, and every way they can be wrong."""

from __future__ import annotations

import os

import pytest
from trackline.projects import ExecutionException, load_project
from trackline.projects.spec import ENV_CONDA, ENV_DOCKER, ENV_PYTHON


def test_typed_parameters_and_defaults_are_read(typed_project):
    project = load_project(str(typed_project))
    assert project.name == "typed"
    assert project.has_mlproject_file
    main = project.get_entry_point("main")
    assert {name: (p.type, p.default) for name, p in main.parameters.items()} == {
        "alpha": ("float", 0.1),
        "data": ("path", "data/default.csv"),
        "label": ("string", None),
        "source": ("uri", "s3://bucket/key"),
    }
    assert main.parameters["label"].required
    assert not main.parameters["alpha"].required


def test_file_name_is_matched_case_insensitively_and_shorthand_types(tmp_path, write_files):
    write_files(
        tmp_path,
        {
            "mlProject": """
                entry_points:
                  main:
                    parameters: {n: float, s: string}
                    command: "echo {n} {s}"
            """
        },
    )
    entry = load_project(str(tmp_path)).get_entry_point("main")
    assert [(p.name, p.type, p.required) for p in entry.parameters.values()] == [
        ("n", "float", True),
        ("s", "string", True),
    ]


def test_command_quotes_values_and_appends_undeclared_parameters(typed_project, tmp_path):
    entry = load_project(str(typed_project)).get_entry_point("main")
    values = entry.resolve_parameters(
        {"label": "two words; rm -rf /", "extra": "x y", "alpha": 2},
        str(tmp_path),
        str(typed_project),
    )
    command = entry.command_for(values)
    data = os.path.join(str(typed_project), "data", "default.csv")
    assert command == (
        f"python record.py --alpha 2 --data {data} --label 'two words; rm -rf /' "
        "--source s3://bucket/key --extra 'x y'"
    )
    # Logged run params: the declared ones in order (defaults filled), then the extra ones,
    # each in its shell-quoted form, as MLflow logs them.
    assert values.as_run_params() == {
        "alpha": "2",
        "data": data,
        "label": "'two words; rm -rf /'",
        "source": "s3://bucket/key",
        "extra": "'x y'",
    }


def test_user_paths_resolve_against_the_working_directory(typed_project, tmp_path):
    entry = load_project(str(typed_project)).get_entry_point("main")
    values = entry.resolve_parameters(
        {"label": "l", "data": "inputs/data.csv"}, str(tmp_path), str(typed_project)
    )
    assert values.declared["data"] == str(tmp_path / "inputs" / "data.csv")


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({}, "No value given for missing parameters: 'label'"),
        ({"label": "x", "alpha": "fast"}, "Parameter 'alpha' has type float, but the value 'fast'"),
        ({"label": "x", "source": "just/a/path"}, "Parameter 'source' has type uri"),
        ({"label": "x", "data": "no/such/file.csv"}, "Parameter 'data' has type path, but"),
    ],
)
def test_bad_parameter_values_are_refused(typed_project, tmp_path, given, message):
    entry = load_project(str(typed_project)).get_entry_point("main")
    with pytest.raises(ExecutionException, match=message) as info:
        entry.resolve_parameters(given, str(tmp_path), str(typed_project))
    assert info.value.error_code == "INVALID_PARAMETER_VALUE"


def test_missing_parameters_are_all_named(tmp_path, write_files):
    write_files(
        tmp_path,
        {
            "MLproject": "entry_points:\n  main:\n    parameters: {a: string, b: float}\n    command: 'echo {a} {b}'\n"
        },
    )
    entry = load_project(str(tmp_path)).get_entry_point("main")
    with pytest.raises(ExecutionException, match="missing parameters: 'a', 'b'"):
        entry.resolve_parameters(None, str(tmp_path), str(tmp_path))


@pytest.mark.parametrize(
    ("mlproject", "message"),
    [
        ("entry_points: [main]\n", "entry_points must be a mapping"),
        ("entry_points:\n  main: {parameters: {}}\n", "entry point 'main' needs a 'command'"),
        (
            "entry_points:\n  main:\n    parameters: {n: int}\n    command: 'echo {n}'\n",
            "parameter 'n' has unknown type 'int'; use one of string, float, path, uri",
        ),
        (
            "entry_points:\n  main:\n    command: 'echo {beta}'\n",
            "the command uses {beta}, which is not one of its parameters",
        ),
        ("python_env: missing.yaml\n", "names python_env 'missing.yaml', but"),
        (
            "python_env: env.yaml\nconda_env: env.yaml\n",
            "declares python_env and conda_env: a project has at most one",
        ),
        ("docker_env: {volumes: []}\n", "docker_env must be a mapping with an 'image'"),
        ("- a list\n", "must be a YAML mapping"),
        ("entry_points: {main: {command: 'a'}\n", "is not valid YAML"),
    ],
)
def test_bad_mlproject_files_are_refused(tmp_path, write_files, mlproject, message):
    write_files(tmp_path, {"MLproject": mlproject, "env.yaml": "python: '3.11'\n"})
    with pytest.raises(ExecutionException, match=message):
        load_project(str(tmp_path))


def test_unknown_entry_point_names_the_declared_ones(typed_project):
    project = load_project(str(typed_project))
    with pytest.raises(ExecutionException, match=r"'train' is not defined .*fail, main, sleep"):
        project.get_entry_point("train")


def test_projects_without_mlproject_run_py_and_sh_files(tmp_path, write_files, monkeypatch):
    write_files(tmp_path, {"train.py": "print(1)\n", "run.sh": "echo 1\n"})
    monkeypatch.setenv("SHELL", "/bin/bash")
    project = load_project(str(tmp_path))
    assert not project.has_mlproject_file
    assert project.get_entry_point("train.py").command == "python train.py"
    assert project.get_entry_point("run.sh").command == "/bin/bash run.sh"
    with pytest.raises(ExecutionException, match="no file 'other.py'"):
        project.get_entry_point("other.py")
    with pytest.raises(ExecutionException, match=r"not a \.py or \.sh file"):
        project.get_entry_point("main")


def test_environment_files_are_found_with_or_without_mlproject(tmp_path, write_files):
    write_files(tmp_path / "a", {"python_env.yaml": "python: '3.11'\n"})
    write_files(tmp_path / "b", {"conda.yaml": "dependencies: [python=3.11]\n"})
    write_files(tmp_path / "c", {"MLproject": "conda_env: env.yml\n", "env.yml": "name: x\n"})
    write_files(tmp_path / "d", {"MLproject": "docker_env: {image: 'python:3.11'}\n"})
    assert load_project(str(tmp_path / "a")).env_type == ENV_PYTHON
    assert load_project(str(tmp_path / "b")).env_type == ENV_CONDA
    c = load_project(str(tmp_path / "c"))
    assert (c.env_type, c.env_config_path) == (ENV_CONDA, str(tmp_path / "c" / "env.yml"))
    d = load_project(str(tmp_path / "d"))
    assert (d.env_type, d.docker_env) == (ENV_DOCKER, {"image": "python:3.11"})
    assert load_project(str(tmp_path / "a")).env_config_path == str(
        tmp_path / "a" / "python_env.yaml"
    )
