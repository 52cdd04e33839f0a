"""The helpers a flavor plugin is built from: save → log → load in about a hundred lines.

A flavor's ``save_model`` writes its own files into a directory and describes them::

    from trackline.models import flavor

    def save_model(obj, path, *, signature=None, input_example=None, code_paths=None,
                   pip_requirements=None, extra_pip_requirements=None, conda_env=None,
                   metadata=None, trackline_model=None):
        with flavor.model_directory(path) as folder:
            model = flavor.new_model(trackline_model, metadata)
            ... write folder / "model.bin" ...
            code = flavor.copy_code_paths(folder, code_paths)
            model.add_flavor("mylib", data="model.bin", mylib_version=..., code=code)
            flavor.add_pyfunc(model, loader_module="mlflow.mylib", data="model.bin", code=code)
            flavor.finish(folder, model, signature=signature, input_example=input_example,
                          predict=lambda x: obj.predict(x),
                          requirements=["mylib"], pip_requirements=pip_requirements,
                          extra_pip_requirements=extra_pip_requirements, conda_env=conda_env)

    def log_model(obj, name=None, **kwargs):
        return flavor.log_model(save_model, obj, name=name, **kwargs)

    def load_model(model_uri, dst_path=None):
        folder = flavor.download_model(model_uri, dst_path)
        conf = flavor.flavor_config(folder, "mylib")
        return mylib.load(os.path.join(folder, conf["data"]))

    def _load_pyfunc(path):       # called by trackline.pyfunc.load_model
        ...

The module registered with ``FlavorSpec(name="mylib", module=...)`` is what
``trackline.mylib`` returns, and what a ``loader_module`` of ``mlflow.mylib`` (MLflow's name,
written so that MLflow loads the model too) resolves to.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from trackline.exceptions import RESOURCE_ALREADY_EXISTS, TracklineException
from trackline.models.environment import python_version, resolve_requirements, write_environment
from trackline.models.input_example import save_input_example
from trackline.models.model import MLMODEL_FILE_NAME, Model, ModelInfo
from trackline.models.signature import ModelSignature, infer_signature
from trackline.models.uri import download_model
from trackline.tracking.uri import env

logger = logging.getLogger(__name__)

PYFUNC_FLAVOR = "python_function"
CODE_DIR = "code"

__all__ = [
    "PYFUNC_FLAVOR",
    "add_code_to_path",
    "add_pyfunc",
    "class_name",
    "copy_code_paths",
    "corrupted_model_file",
    "download_model",
    "finish",
    "flavor_config",
    "import_library",
    "log_model",
    "model_directory",
    "model_file",
    "model_folder",
    "new_model",
    "pickle_allowed",
    "require_pickle_allowed",
]


@contextlib.contextmanager
def model_directory(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Create the model directory; if saving fails, remove what was written.

    An existing non-empty directory is refused (RESOURCE_ALREADY_EXISTS) and left as it is.
    """
    folder = Path(path)
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise TracklineException(
            f"Path {str(folder)!r} already exists and is not empty; save the model to a new "
            "directory.",
            RESOURCE_ALREADY_EXISTS,
        )
    created = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    try:
        yield folder
    except BaseException:
        if created:
            shutil.rmtree(folder, ignore_errors=True)
        else:  # an empty directory the caller made: leave it empty
            for child in folder.iterdir():
                if child.is_dir():
                    shutil.rmtree(child, ignore_errors=True)
                else:
                    child.unlink(missing_ok=True)
        raise


def new_model(
    trackline_model: Model | None = None, metadata: dict[str, Any] | None = None
) -> Model:
    """The ``Model`` to fill: the one ``log_model`` prepared, or a fresh one."""
    from trackline import __version__

    model = trackline_model if trackline_model is not None else Model()
    if metadata is not None:
        if not isinstance(metadata, dict):
            raise TracklineException.invalid_parameter_value(
                f"metadata must be a dict, got {type(metadata).__name__}."
            )
        model.metadata = metadata
    model.extra.setdefault("trackline_version", __version__)
    return model


def copy_code_paths(folder: str | os.PathLike[str], code_paths: list[str] | None) -> str | None:
    """Copy files/directories into ``<model>/code``; returns ``"code"`` or ``None``."""
    if not code_paths:
        return None
    if isinstance(code_paths, (str, os.PathLike)):
        raise TracklineException.invalid_parameter_value(
            "code_paths must be a list of paths, not a single string."
        )
    target = Path(folder) / CODE_DIR
    target.mkdir(exist_ok=True)
    for source in map(Path, code_paths):
        if not source.exists():
            raise TracklineException.invalid_parameter_value(
                f"code path {str(source)!r} does not exist."
            )
        destination = target / source.name
        if source.is_dir():
            shutil.copytree(
                source,
                destination,
                ignore=shutil.ignore_patterns("__pycache__"),
                dirs_exist_ok=True,
            )
        else:
            shutil.copy2(source, destination)
    return CODE_DIR


def add_pyfunc(
    model: Model,
    loader_module: str,
    *,
    data: str | None = None,
    code: str | None = None,
    **config: Any,
) -> None:
    """Declare the ``python_function`` flavor (``env`` and ``python_version`` are filled in
    by ``finish``). ``loader_module`` is the module whose ``_load_pyfunc(path)`` loads it;
    write MLflow's name (``mlflow.<flavor>``) so that MLflow can load the model as well."""
    conf: dict[str, Any] = {"loader_module": loader_module, "python_version": python_version()}
    if data is not None:
        conf["data"] = data
    if code is not None:
        conf["code"] = code
    conf.update(config)
    model.add_flavor(PYFUNC_FLAVOR, **conf)


def _directory_size(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


def finish(
    folder: str | os.PathLike[str],
    model: Model,
    *,
    signature: ModelSignature | None | bool = None,
    input_example: Any = None,
    predict: Callable[[Any], Any] | None = None,
    requirements: list[str] | tuple[str, ...] = (),
    pip_requirements: Any = None,
    extra_pip_requirements: Any = None,
    conda_env: Any = None,
) -> Model:
    """Write input example, signature, environment files and the MLmodel file.

    Without ``signature`` one is inferred from ``input_example`` (and from
    ``predict(input_example)`` for the outputs, when ``predict`` is given and succeeds).
    ``signature=False`` writes none.
    """
    folder = Path(folder)
    if input_example is not None:
        model.saved_input_example_info = save_input_example(folder, input_example)
    if signature is None and input_example is not None:
        signature = _infer_from_example(model, folder, input_example, predict)
    if signature is not None and signature is not False:
        if not isinstance(signature, ModelSignature):
            raise TracklineException.invalid_parameter_value(
                f"signature must be a ModelSignature, got {type(signature).__name__}; "
                "build one with trackline.models.infer_signature."
            )
        model.signature = signature
    lines = resolve_requirements(requirements, pip_requirements, extra_pip_requirements, conda_env)
    env = write_environment(folder, lines, conda_env)
    if PYFUNC_FLAVOR in model.flavors:
        model.flavors[PYFUNC_FLAVOR]["env"] = env
    model.model_size_bytes = _directory_size(folder)
    model.save(folder / MLMODEL_FILE_NAME)
    return model


def _infer_from_example(
    model: Model, folder: Path, input_example: Any, predict: Callable[[Any], Any] | None
) -> ModelSignature | None:
    example = model.load_input_example(folder)
    params = model.load_input_example_params(folder)
    output = None
    if predict is not None:
        try:
            output = predict(example)
        except Exception as exc:  # the example may not suit the model; keep the input part
            logger.warning("Could not infer the model's output from the input example: %s", exc)
    try:
        return infer_signature(example, output, params)
    except TracklineException as exc:
        logger.warning("Could not infer a signature from the input example: %s", exc)
        return None


def flavor_config(folder: str | os.PathLike[str], flavor_name: str) -> dict[str, Any]:
    """The configuration of ``flavor_name`` in the model at ``folder`` (clear error if absent)."""
    return Model.load(folder).get_flavor(flavor_name)


def add_code_to_path(folder: str | os.PathLike[str], conf: dict[str, Any]) -> None:
    """Put the model's ``code`` directory (its ``code_paths``) first on ``sys.path``."""
    code = conf.get("code")
    if not code:
        return
    code_dir = str(Path(folder) / code)
    if not os.path.isdir(code_dir):
        raise TracklineException.invalid_parameter_value(
            f"The model's code directory {code!r} is missing from {str(folder)!r}."
        )
    if code_dir not in sys.path:
        sys.path.insert(0, code_dir)


# -- loading: shared checks and errors -------------------------------------------------------


def import_library(module_name: str, display_name: str, saved_version: str | None = None) -> Any:
    """``import <module_name>``, or an error that says what to install.

    ``display_name`` starts the message ("XGBoost models need ..."); ``saved_version`` (the
    version the model was saved with) is pinned in the suggested ``pip install``, without a
    local ``+cpu``-style suffix, which PyPI does not serve.
    """
    import importlib

    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        public = saved_version.split("+", 1)[0] if saved_version else None
        wanted = f"{module_name}=={public}" if public else module_name
        saved = f" (the model was saved with {module_name} {saved_version})."
        raise TracklineException(
            f"{display_name} models need the '{module_name}' package, which is not installed: "
            f"pip install '{wanted}'" + (saved if saved_version else ".")
        ) from exc


def class_name(obj: Any) -> str:
    """The importable name of ``obj``'s class (``module.QualName``), as ``model_class``
    records it."""
    return f"{type(obj).__module__}.{type(obj).__qualname__}"


def model_folder(path: str | os.PathLike[str]) -> str:
    """The model directory for a pyfunc loader's ``path``: the directory itself, or the one
    holding the model file that the ``python_function`` flavor's ``data`` names."""
    return os.path.dirname(path) if os.path.isfile(path) else os.fspath(path)


def model_file(folder: str | os.PathLike[str], relative: Any, flavor_name: str) -> str:
    """The absolute path of the model file ``relative`` (a flavor's ``data``) in ``folder``.

    Refused: no name, a name that leads outside the model directory (``../``, an absolute
    path, a link), and a file that is not there (RESOURCE_DOES_NOT_EXIST).
    """
    if not isinstance(relative, str) or not relative:
        raise TracklineException.invalid_parameter_value(
            f"The model's {flavor_name} flavor names no model file (data: {relative!r})."
        )
    root = Path(folder).resolve()
    file = (root / relative).resolve()
    if root not in file.parents:
        raise TracklineException.invalid_parameter_value(
            f"The model's data path {relative!r} points outside the model directory."
        )
    if not file.is_file():
        raise TracklineException(
            f"The model file {str(file)!r} is missing.", "RESOURCE_DOES_NOT_EXIST"
        )
    return str(file)


def corrupted_model_file(
    file: str | os.PathLike[str],
    exc: BaseException,
    library: str,
    expected: str = "a model of this format",
) -> TracklineException:
    """The error for a model file that ``library`` could not read (raise it ``from exc``):
    names the file, says it is corrupted or not ``expected``, and gives the first line of the
    library's own message."""
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return TracklineException.invalid_parameter_value(
        f"The {library} model file {os.path.basename(file)!r} cannot be read; it is corrupted "
        f"or not {expected} ({detail})."
    )


_TRUE_VALUES = ("1", "true", "yes")


def pickle_allowed() -> bool:
    """Whether models may be unpickled: ``TRACKLINE_ALLOW_PICKLE_DESERIALIZATION`` (or
    ``MLFLOW_ALLOW_PICKLE_DESERIALIZATION``), true unless set otherwise, as in MLflow."""
    return (env("ALLOW_PICKLE_DESERIALIZATION", "true") or "true").lower() in _TRUE_VALUES


def require_pickle_allowed(what: str) -> None:
    """Refuse to unpickle a model when :func:`pickle_allowed` is false.

    ``what`` opens the message and says why loading runs code, e.g. ``"The model is a
    pickle file, and loading it would run code from it"``.
    """
    if not pickle_allowed():
        raise TracklineException.invalid_parameter_value(
            f"{what}; TRACKLINE_ALLOW_PICKLE_DESERIALIZATION (or "
            "MLFLOW_ALLOW_PICKLE_DESERIALIZATION) is false. Set it to true only for models "
            "from a trusted source."
        )


# -- logging a model (MLflow 3: a logged model with its own artifact location) --------------


def _accepts(function: Callable[..., Any], name: str) -> bool:
    params = inspect.signature(function).parameters
    return name in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def _logged_models_api(client: Any) -> Any:
    """The client's logged-model methods, or its store's (same names and parameters) while
    the client does not have them."""
    return client if hasattr(client, "create_logged_model") else client._store


def log_model(
    save_model: Callable[..., Any],
    *args: Any,
    name: str | None = None,
    artifact_path: str | None = None,
    registered_model_name: str | None = None,
    await_registration_for: int = 300,
    params: dict[str, Any] | None = None,
    tags: dict[str, Any] | None = None,
    model_type: str | None = None,
    step: int = 0,
    model_id: str | None = None,
    **save_kwargs: Any,
) -> ModelInfo:
    """Log a model as MLflow 3 does, saving it with the flavor's ``save_model``.

    1. create a PENDING logged model in the active run's experiment (or use ``model_id``);
    2. ``save_model(*args, path=<tmp>, trackline_model=<Model>, **save_kwargs)``;
    3. upload the directory to the logged model's artifact location;
    4. link it to the active run (``log_outputs``) and finalize it READY (UPLOAD_FAILED and
       re-raise if any step fails);
    5. register it under ``registered_model_name`` if given.
    """
    from trackline.artifacts import get_artifact_repository
    from trackline.entities import LoggedModelOutput, LoggedModelStatus
    from trackline.tracking import fluent

    if name is None:
        if artifact_path is not None:
            name = artifact_path  # MLflow 3 deprecated artifact_path for name
        else:
            name = "model"
    # A flavor written for MLflow's API takes the prepared model as mlflow_model=.
    model_keyword = next(
        (k for k in ("trackline_model", "mlflow_model") if _accepts(save_model, k)), None
    )
    if model_keyword is None:
        raise TracklineException.invalid_parameter_value(
            f"{getattr(save_model, '__qualname__', save_model)!r} cannot be logged: a flavor's "
            "save_model must accept trackline_model= (or MLflow's mlflow_model=)"
        )
    run = fluent.active_run()
    run_id = run.info.run_id if run else None
    client = fluent._client()
    api = _logged_models_api(client)
    if model_id is not None:
        logged = api.get_logged_model(model_id)
    else:
        experiment_id = run.info.experiment_id if run else fluent._resolve_experiment_id()
        logged = api.create_logged_model(
            experiment_id,
            name=name,
            source_run_id=run_id,
            tags={k: str(v) for k, v in (tags or {}).items()} or None,
            params={k: str(v) for k, v in (params or {}).items()} or None,
            model_type=model_type,
        )
    model = Model(
        artifact_path=logged.artifact_location,
        run_id=run_id,
        model_id=logged.model_id,
        model_uuid=logged.model_id,
    )
    try:
        with tempfile.TemporaryDirectory(prefix="trackline-log-model-") as tmp:
            local = os.path.join(tmp, "model")
            save_model(*args, path=local, **{model_keyword: model}, **save_kwargs)
            repo = get_artifact_repository(logged.artifact_location, client.tracking_uri)
            repo.log_artifacts(local, None)
        if run_id is not None:
            api.log_outputs(run_id, [LoggedModelOutput(logged.model_id, step)])
        logged = api.finalize_logged_model(logged.model_id, LoggedModelStatus.READY)
    except BaseException:
        with contextlib.suppress(Exception):
            api.finalize_logged_model(logged.model_id, LoggedModelStatus.UPLOAD_FAILED)
        raise
    info = ModelInfo.from_model(
        model,
        model_uri=f"models:/{logged.model_id}",
        name=name,
        params=dict(logged.params or {}),
        tags=dict(logged.tags or {}),
        metrics=list(logged.metrics or []) or None,
        creation_timestamp=logged.creation_timestamp,
    )
    if registered_model_name is not None:
        import trackline

        version = trackline.register_model(
            info.model_uri, registered_model_name, await_registration_for=await_registration_for
        )
        # register_model also records the version in the logged model's mlflow.modelVersions.
        info.registered_model_version = int(version.version)
    return info
