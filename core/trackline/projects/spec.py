"""The ``MLproject`` file: entry points, typed parameters, and the environment a project asks for.

A project is a directory. Its ``MLproject`` file (any capitalisation) names entry points, each a
shell command with ``{placeholders}`` for typed parameters::

    name: tutorial
    python_env: python_env.yaml
    entry_points:
      main:
        parameters:
          alpha: {type: float, default: 0.1}
          data: path                 # shorthand: the value is the type; no default = required
        command: "python train.py --alpha {alpha} --data {data}"

Without an ``MLproject`` file a project still runs: the entry point names a ``.py`` file (run
with ``python``) or a ``.sh`` file (run with ``$SHELL``, else ``bash``), and a
``python_env.yaml`` or ``conda.yaml`` next to it selects the environment.

Everything is checked when the file is loaded or the parameters are resolved, before any run is
created, so that a mistake in a project costs nothing but the error message.
"""

from __future__ import annotations

import os
import shlex
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from trackline.projects.exceptions import ExecutionException

MLPROJECT_FILE_NAME = "mlproject"
PYTHON_ENV_FILE_NAME = "python_env.yaml"
CONDA_ENV_FILE_NAME = "conda.yaml"

PARAMETER_TYPES = ("string", "float", "path", "uri")
DEFAULT_PARAMETER_TYPE = "string"

# Kinds of environment a project can ask for (the MLproject key without "_env").
ENV_PYTHON = "python"
ENV_CONDA = "conda"
ENV_DOCKER = "docker"


def is_uri(value: str) -> bool:
    """Whether ``value`` has a URI scheme (``s3://b/k``, ``file:///x``); a Windows drive has not."""
    scheme = urlparse(value).scheme
    return len(scheme) > 1


def is_local_path_value(value: str) -> bool:
    """A plain path or a ``file:`` URI: something on this machine, not to be downloaded."""
    return not is_uri(value) or urlparse(value).scheme == "file"


def _local_path(value: str) -> str:
    if urlparse(value).scheme == "file":
        return urlparse(value).path
    return value


@dataclass(frozen=True)
class Parameter:
    """One declared parameter of an entry point: its type and its default (``None``: required)."""

    name: str
    type: str = DEFAULT_PARAMETER_TYPE
    default: Any = None

    @property
    def required(self) -> bool:
        return self.default is None

    def validate(self, value: Any, base_dir: str) -> str:
        """The value as it goes on the command line, before quoting; raise if it is invalid.

        ``float`` values must parse as numbers (MLflow passes them through unchecked; a typo
        caught here saves a failed run). A local ``path`` must exist and is made absolute
        against ``base_dir``; a remote one is downloaded later by ``resolve_remote_paths``.
        """
        text = str(value)
        if self.type == "float":
            try:
                float(text)
            except ValueError:
                raise ExecutionException(
                    f"Parameter '{self.name}' has type float, but the value {text!r} is not a "
                    "number."
                ) from None
        elif self.type == "uri":
            if not is_uri(text):
                raise ExecutionException(
                    f"Parameter '{self.name}' has type uri, but the value {text!r} is not a URI "
                    "(expected a scheme, such as s3://bucket/key or file:///path)."
                )
        elif self.type == "path" and is_local_path_value(text):
            local = os.path.join(base_dir, os.path.expanduser(_local_path(text)))
            if not os.path.exists(local):
                raise ExecutionException(
                    f"Parameter '{self.name}' has type path, but {text!r} does not exist "
                    f"(relative paths are resolved against {base_dir})."
                )
            return os.path.abspath(local)
        return text


@dataclass(frozen=True)
class ResolvedParameters:
    """Parameter values after validation, in declaration order, then the undeclared ones.

    ``declared`` and ``extra`` hold the raw values (a remote ``path`` still its URI);
    ``as_run_params`` is what is logged on the run (shell-quoted, as MLflow logs them).
    """

    declared: dict[str, str]
    extra: dict[str, str]
    types: dict[str, str]

    def with_remote_paths_downloaded(self, storage_dir: str) -> ResolvedParameters:
        """A copy where each remote ``path`` value is downloaded into ``storage_dir``.

        Each parameter gets its own ``param_<index>`` folder (the index is its position among
        the declared parameters), as MLflow lays them out.
        """
        declared = dict(self.declared)
        for index, (name, value) in enumerate(self.declared.items()):
            if self.types.get(name) != "path" or is_local_path_value(value):
                continue
            from trackline.artifacts import download_artifacts

            target = os.path.join(storage_dir, f"param_{index}")
            os.makedirs(target, exist_ok=True)
            try:
                declared[name] = download_artifacts(artifact_uri=value, dst_path=target)
            except Exception as exc:
                raise ExecutionException(
                    f"Could not download {value!r} for parameter '{name}': {exc}"
                ) from exc
        return ResolvedParameters(declared, dict(self.extra), dict(self.types))

    def as_run_params(self) -> dict[str, str]:
        quoted = {k: shlex.quote(v) for k, v in self.declared.items()}
        quoted.update({k: shlex.quote(v) for k, v in self.extra.items() if k not in quoted})
        return quoted


@dataclass(frozen=True)
class EntryPoint:
    """A named command with typed parameters."""

    name: str
    command: str
    parameters: dict[str, Parameter] = field(default_factory=dict)

    def resolve_parameters(
        self, user_parameters: Mapping[str, Any] | None, user_dir: str, project_dir: str
    ) -> ResolvedParameters:
        """Validate ``user_parameters`` against the declarations and fill in the defaults.

        Relative local paths given by the user resolve against ``user_dir`` (where the user
        is); defaults written in the MLproject against ``project_dir``.
        """
        given = {str(k): v for k, v in (user_parameters or {}).items()}
        missing = [name for name, p in self.parameters.items() if p.required and name not in given]
        if missing:
            names = ", ".join(f"'{name}'" for name in missing)
            raise ExecutionException(
                f"No value given for missing parameters: {names} (entry point '{self.name}'). "
                "Pass them with -P NAME=VALUE."
            )
        declared = {}
        for name, parameter in self.parameters.items():
            if name in given:
                declared[name] = parameter.validate(given[name], user_dir)
            else:
                declared[name] = parameter.validate(parameter.default, project_dir)
        extra = {k: str(v) for k, v in given.items() if k not in self.parameters}
        types = {name: p.type for name, p in self.parameters.items()}
        return ResolvedParameters(declared, extra, types)

    def command_for(self, values: ResolvedParameters) -> str:
        """The shell command with every value quoted; undeclared parameters appended.

        Undeclared parameters become `` --key value``, the way MLflow passes them, so that a
        script reading its own ``argparse`` options receives them.
        """
        quoted = {k: shlex.quote(v) for k, v in values.declared.items()}
        command = self.command.format(**quoted)
        extras = [f"--{shlex.quote(k)} {shlex.quote(v)}" for k, v in values.extra.items()]
        return " ".join([command, *extras])


@dataclass(frozen=True)
class Project:
    """A loaded project: where it lives, its entry points and the environment it asks for."""

    directory: str
    name: str | None = None
    entry_points: dict[str, EntryPoint] = field(default_factory=dict)
    env_type: str = ENV_PYTHON
    env_config_path: str | None = None  # python_env.yaml or conda.yaml, absolute
    docker_env: dict[str, Any] | None = None
    has_mlproject_file: bool = False

    def get_entry_point(self, name: str) -> EntryPoint:
        """The entry point ``name``, or a ``.py``/``.sh`` file of the project run directly."""
        if name in self.entry_points:
            return self.entry_points[name]
        extension = os.path.splitext(name)[1]
        declared = ", ".join(sorted(self.entry_points)) or "none"
        if extension not in (".py", ".sh"):
            raise ExecutionException(
                f"Entry point '{name}' is not defined in the project at {self.directory} "
                f"(its entry points: {declared}), and is not a .py or .sh file to run directly."
            )
        script = os.path.join(self.directory, name)
        if not os.path.isfile(script):
            raise ExecutionException(
                f"Entry point '{name}' is not defined in the project (its entry points: "
                f"{declared}), and there is no file {name!r} in {self.directory}."
            )
        runner = "python" if extension == ".py" else os.environ.get("SHELL") or "bash"
        return EntryPoint(name=name, command=f"{runner} {shlex.quote(name)}")


def find_mlproject_file(directory: str) -> str | None:
    """The ``MLproject`` file of ``directory`` (the name is matched case-insensitively)."""
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return None
    for name in names:
        path = os.path.join(directory, name)
        if name.lower() == MLPROJECT_FILE_NAME and os.path.isfile(path):
            return path
    return None


def load_project(directory: str) -> Project:
    """Read and check the project in ``directory``; raise ``ExecutionException`` if it is bad."""
    directory = os.path.abspath(directory)
    if not os.path.isdir(directory):
        raise ExecutionException(f"Project directory {directory} does not exist.")
    path = find_mlproject_file(directory)
    if path is None:
        return _project_without_file(directory)
    import yaml  # only when a file is read

    try:
        with open(path, encoding="utf-8") as handle:
            document = yaml.safe_load(handle)
    except yaml.YAMLError as exc:
        raise ExecutionException(f"{path} is not valid YAML: {exc}") from exc
    if document is None:
        document = {}
    if not isinstance(document, dict):
        raise ExecutionException(f"{path} must be a YAML mapping, not {type(document).__name__}.")
    name = document.get("name")
    entry_points = _entry_points(document.get("entry_points"), path)
    envs = [key for key in ("python_env", "conda_env", "docker_env") if document.get(key)]
    if len(envs) > 1:
        raise ExecutionException(
            f"{path} declares {' and '.join(envs)}: a project has at most one of python_env, "
            "conda_env and docker_env."
        )
    common = {"directory": directory, "name": name, "entry_points": entry_points}
    if "docker_env" in envs:
        docker_env = document["docker_env"]
        if not isinstance(docker_env, dict) or not docker_env.get("image"):
            raise ExecutionException(
                f"{path}: docker_env must be a mapping with an 'image', such as "
                "docker_env: {image: python:3.11}."
            )
        return Project(
            **common, env_type=ENV_DOCKER, docker_env=docker_env, has_mlproject_file=True
        )
    for key, env_type in (("python_env", ENV_PYTHON), ("conda_env", ENV_CONDA)):
        if key in envs:
            env_path = os.path.join(directory, str(document[key]))
            if not os.path.isfile(env_path):
                raise ExecutionException(
                    f"{path} names {key} {document[key]!r}, but {env_path} does not exist."
                )
            return Project(
                **common, env_type=env_type, env_config_path=env_path, has_mlproject_file=True
            )
    default = _project_without_file(directory)
    return Project(
        **common,
        env_type=default.env_type,
        env_config_path=default.env_config_path,
        has_mlproject_file=True,
    )


def _project_without_file(directory: str) -> Project:
    for file_name, env_type in (
        (PYTHON_ENV_FILE_NAME, ENV_PYTHON),
        (CONDA_ENV_FILE_NAME, ENV_CONDA),
    ):
        candidate = os.path.join(directory, file_name)
        if os.path.isfile(candidate):
            return Project(directory=directory, env_type=env_type, env_config_path=candidate)
    return Project(directory=directory)


def _entry_points(raw: Any, path: str) -> dict[str, EntryPoint]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ExecutionException(f"{path}: entry_points must be a mapping of name to entry point.")
    result = {}
    for name, body in raw.items():
        name = str(name)
        where = f"{path}: entry point '{name}'"
        if not isinstance(body, dict) or not isinstance(body.get("command"), str):
            raise ExecutionException(f"{where} needs a 'command' string.")
        parameters = _parameters(body.get("parameters"), where)
        _check_placeholders(body["command"], parameters, where)
        result[name] = EntryPoint(name=name, command=body["command"], parameters=parameters)
    return result


def _parameters(raw: Any, where: str) -> dict[str, Parameter]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ExecutionException(f"{where}: parameters must be a mapping of name to type.")
    result = {}
    for name, declaration in raw.items():
        name = str(name)
        if isinstance(declaration, str):
            type_name, default = declaration, None
        elif isinstance(declaration, dict):
            type_name = declaration.get("type", DEFAULT_PARAMETER_TYPE)
            default = declaration.get("default")
        else:
            raise ExecutionException(
                f"{where}: parameter '{name}' must be a type name or a mapping with 'type' and "
                "'default'."
            )
        if type_name not in PARAMETER_TYPES:
            raise ExecutionException(
                f"{where}: parameter '{name}' has unknown type {type_name!r}; use one of "
                f"{', '.join(PARAMETER_TYPES)}."
            )
        result[name] = Parameter(name=name, type=type_name, default=default)
    return result


def _check_placeholders(command: str, parameters: dict[str, Parameter], where: str) -> None:
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(command) if f is not None]
    except ValueError as exc:
        raise ExecutionException(
            f"{where}: the command is not a valid template ({exc}); write a literal brace as "
            "{{ or }}."
        ) from exc
    for name in fields:
        if name not in parameters:
            raise ExecutionException(
                f"{where}: the command uses {{{name}}}, which is not one of its parameters "
                f"({', '.join(parameters) or 'none declared'})."
            )
