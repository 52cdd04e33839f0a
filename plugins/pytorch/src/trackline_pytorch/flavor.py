"""``trackline.pytorch``: save, log and load PyTorch models in MLflow's ``pytorch`` format.

Two ways to store an ``nn.Module``, chosen with ``serialization_format`` as in MLflow 3:

- ``"pt2"`` (the default, as in MLflow 3.x): ``torch.export`` traces the model on the
  ``input_example`` and ``torch.export.save`` writes ``data/model.pt2`` — the graph as JSON
  and the weights as raw tensor bytes. trackline checks before loading that the archive holds
  no pickled payload (see ``_check_pt2_is_pickle_free``), so loading runs no code from it.
- ``"pickle"``: ``torch.save`` pickles the whole model to ``data/model.pth`` (with
  cloudpickle, recorded as ``mlflow.pytorch.pickle_module`` in
  ``data/pickle_module_info.txt``). **Loading it runs code from the file**;
  ``TRACKLINE_ALLOW_PICKLE_DESERIALIZATION=false`` (or ``MLFLOW_…``) refuses it. TorchScript
  modules are saved this way too (``torch.jit.save``).

``save_state_dict`` / ``log_state_dict`` / ``load_state_dict`` store a ``state_dict`` as
``state_dict.pth``; loading uses torch's restricted ``weights_only`` unpickler, which builds
tensors and plain containers only.
"""

from __future__ import annotations

import importlib
import io
import json
import logging
import os
import re
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from trackline.exceptions import TracklineException
from trackline.models import flavor
from trackline.models.model import Model, ModelInfo
from trackline.models.signature import ModelSignature
from trackline.tracking.uri import env

from trackline_pytorch.autolog import autolog  # trackline.pytorch.autolog(); imports no pytorch

logger = logging.getLogger(__name__)

FLAVOR_NAME = "pytorch"
SERIALIZATION_FORMAT_PICKLE = "pickle"
SERIALIZATION_FORMAT_PT2 = "pt2"
SUPPORTED_SERIALIZATION_FORMATS = (SERIALIZATION_FORMAT_PT2, SERIALIZATION_FORMAT_PICKLE)
MODEL_DATA_SUBPATH = "data"
PICKLED_MODEL_FILE = "model.pth"
EXPORTED_MODEL_FILE = "model.pt2"
STATE_DICT_FILE = "state_dict.pth"
PICKLE_MODULE_INFO_FILE = "pickle_module_info.txt"
# The pickle module name written into models: MLflow's, so that MLflow loads them as well.
DEFAULT_PICKLE_MODULE_NAME = "mlflow.pytorch.pickle_module"
# Pickle modules a model file may name, and what trackline uses for each. Any other name
# needs pickle_module= at load time: a model file does not choose which module is imported.
_PICKLE_MODULES = {
    "mlflow.pytorch.pickle_module": "trackline_pytorch.pickle_module",
    "trackline_pytorch.pickle_module": "trackline_pytorch.pickle_module",
    "cloudpickle": "trackline_pytorch.pickle_module",
    "pickle": "pickle",
}

__all__ = [
    "FLAVOR_NAME",
    "autolog",
    "SERIALIZATION_FORMAT_PICKLE",
    "SERIALIZATION_FORMAT_PT2",
    "get_default_pip_requirements",
    "load_model",
    "load_state_dict",
    "log_model",
    "log_state_dict",
    "save_model",
    "save_state_dict",
]


def _import_torch(saved_version: str | None = None) -> Any:
    return flavor.import_library("torch", "PyTorch", saved_version)


def get_default_pip_requirements(serialization_format: str = SERIALIZATION_FORMAT_PT2) -> list[str]:
    """The requirements a saved model lists, pinned to the installed versions (``cloudpickle``
    only for whole-model pickles, which need it)."""
    if serialization_format == SERIALIZATION_FORMAT_PICKLE:
        return ["torch", "cloudpickle"]
    return ["torch"]


def _pickle_explicitly_allowed() -> bool:
    value = env("ALLOW_PICKLE_DESERIALIZATION")
    return value is not None and value.lower() in ("1", "true", "yes")


# -- saving ----------------------------------------------------------------------------------


def _example_tensors(torch: Any, input_example: Any) -> list[Any] | None:
    """The example as a list of tensors, or None if it is not arrays/tensors."""
    import numpy as np

    items = input_example if isinstance(input_example, (tuple, list)) else [input_example]
    if not items or not all(isinstance(v, (np.ndarray, torch.Tensor)) for v in items):
        return None
    return [torch.from_numpy(v) if isinstance(v, np.ndarray) else v for v in items]


def _export(torch: Any, pytorch_model: Any, tensors: list[Any], signature: ModelSignature) -> Any:
    """``torch.export`` with the signature's ``-1`` dimensions left dynamic."""
    from torch.export import Dim

    specs = signature.inputs.inputs if signature.inputs is not None else []
    if len(specs) != len(tensors):
        raise TracklineException.invalid_parameter_value(
            f"The signature has {len(specs)} inputs but the input_example has {len(tensors)}."
        )
    dynamic_shapes = []
    for spec, tensor in zip(specs, tensors, strict=True):
        dims = {}
        for index, size in enumerate(spec.shape):
            if size != -1:
                continue
            if hasattr(Dim, "AUTO"):
                dims[index] = Dim.AUTO  # the exporter decides; size-1 dims stay static
            elif tensor.shape[index] > 1:
                dims[index] = Dim(f"dim_{index}")  # shared by name across inputs
        dynamic_shapes.append(dims or None)
    try:
        return torch.export.export(pytorch_model, tuple(tensors), dynamic_shapes=dynamic_shapes)
    except Exception as exc:
        raise TracklineException.invalid_parameter_value(
            f"torch.export could not trace the model on the input_example "
            f"({type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc) else ''}). "
            "Fix the model for torch.export, or save it with serialization_format='pickle'."
        ) from exc


def _infer_tensor_signature(pytorch_model: Any, example: Any) -> ModelSignature:
    from trackline.models.signature import infer_signature

    try:
        output = _PyTorchWrapper(pytorch_model, "cpu").predict(example)
    except Exception as exc:  # the output part is optional; the input part is what pt2 needs
        logger.warning("Could not run the model on the input_example: %s", exc)
        output = None
    return infer_signature(example, output)


def save_model(
    pytorch_model: Any,
    path: str | os.PathLike[str],
    conda_env: Any = None,
    trackline_model: Model | None = None,
    code_paths: list[str] | None = None,
    pickle_module: Any = None,
    signature: ModelSignature | None = None,
    input_example: Any = None,
    pip_requirements: Any = None,
    extra_pip_requirements: Any = None,
    metadata: dict[str, Any] | None = None,
    serialization_format: str | None = None,
    mlflow_model: Model | None = None,
    **kwargs: Any,
) -> None:
    """Save an ``nn.Module`` to the new directory ``path``, as ``mlflow.pytorch.save_model``.

    ``serialization_format``: ``"pt2"`` (default; needs ``input_example`` as a numpy array
    or tensor, or a tuple of them, to trace the model) or ``"pickle"`` (the whole model,
    ``torch.save(..., pickle_module=pickle_module)``; ``kwargs`` go to ``torch.save``).
    """
    torch = _import_torch()
    fmt = serialization_format or SERIALIZATION_FORMAT_PT2
    if fmt not in SUPPORTED_SERIALIZATION_FORMATS:
        raise TracklineException.invalid_parameter_value(
            f"Unknown serialization_format {fmt!r}: use 'pt2' (torch.export) or 'pickle'."
        )
    if not isinstance(pytorch_model, torch.nn.Module):
        raise TracklineException.invalid_parameter_value(
            f"pytorch_model must be a torch.nn.Module, got {type(pytorch_model).__name__}."
        )
    is_script = isinstance(pytorch_model, torch.jit.ScriptModule)
    tensors = None
    if fmt == SERIALIZATION_FORMAT_PT2:
        if is_script:
            raise TracklineException.invalid_parameter_value(
                "TorchScript modules cannot be saved as 'pt2'; use serialization_format='pickle'."
            )
        if kwargs or pickle_module is not None:
            raise TracklineException.invalid_parameter_value(
                "pickle_module and torch.save keyword arguments apply to "
                "serialization_format='pickle' only."
            )
        tensors = _example_tensors(torch, input_example)
        if tensors is None:
            given = (
                "none was given"
                if input_example is None
                else f"got a {type(input_example).__name__}"
            )
            raise TracklineException.invalid_parameter_value(
                "serialization_format='pt2' (the default) traces the model with torch.export, "
                "so it needs input_example: a numpy array or torch.Tensor (or a tuple of them); "
                f"{given}. Pass one, or save with serialization_format='pickle'."
            )
        arrays = [t.detach().cpu().numpy() for t in tensors]
        if len(arrays) == 1:
            # The example is saved as the array (MLflow cannot save a tensor either).
            input_example = arrays[0]
            if signature is None:
                signature = _infer_tensor_signature(pytorch_model, arrays[0])
        else:
            input_example = None  # several inputs: no pyfunc, no saved example (as MLflow)
            if signature is None:
                raise TracklineException.invalid_parameter_value(
                    "A model with several inputs needs signature= (one TensorSpec per input) "
                    "to be saved as 'pt2'."
                )
        if signature.inputs is None or not signature.inputs.is_tensor_spec():
            raise TracklineException.invalid_parameter_value(
                "serialization_format='pt2' needs a tensor-based signature (TensorSpec inputs); "
                "infer it from a numpy input_example, or save with serialization_format='pickle'."
            )
    module_name = DEFAULT_PICKLE_MODULE_NAME
    if pickle_module is not None:
        module_name = getattr(pickle_module, "__name__", None) or ""
        if not callable(getattr(pickle_module, "Pickler", None)):
            raise TracklineException.invalid_parameter_value(
                "pickle_module must be a module with Pickler/Unpickler/dump/load (like pickle)."
            )
    with flavor.model_directory(path) as folder:
        model = flavor.new_model(trackline_model or mlflow_model, metadata)
        data_dir = folder / MODEL_DATA_SUBPATH
        data_dir.mkdir()
        code = flavor.copy_code_paths(folder, code_paths)
        wrapper = _PyTorchWrapper(pytorch_model, "cpu")
        if fmt == SERIALIZATION_FORMAT_PT2:
            exported = _export(torch, pytorch_model, tensors, signature)
            torch.export.save(exported, str(data_dir / EXPORTED_MODEL_FILE))
        else:
            (data_dir / PICKLE_MODULE_INFO_FILE).write_text(module_name)
            target = str(data_dir / PICKLED_MODEL_FILE)
            if is_script:
                torch.jit.save(pytorch_model, target)
            else:
                real_module = pickle_module or importlib.import_module(_PICKLE_MODULES[module_name])
                torch.save(pytorch_model, target, pickle_module=real_module, **kwargs)
        model.add_flavor(
            FLAVOR_NAME,
            model_data=MODEL_DATA_SUBPATH,
            pytorch_version=str(torch.__version__),
            code=code,
        )
        if tensors is None or len(tensors) == 1:
            flavor.add_pyfunc(
                model,
                "mlflow.pytorch",
                data=MODEL_DATA_SUBPATH,
                code=code,
                pickle_module_name=module_name,
                model_config={"device": None},
            )
        flavor.finish(
            folder,
            model,
            signature=signature,
            input_example=input_example,
            predict=wrapper.predict,
            requirements=get_default_pip_requirements(fmt),
            pip_requirements=pip_requirements,
            extra_pip_requirements=extra_pip_requirements,
            conda_env=conda_env,
        )


def log_model(
    pytorch_model: Any,
    artifact_path: str | None = None,
    conda_env: Any = None,
    code_paths: list[str] | None = None,
    pickle_module: Any = None,
    registered_model_name: str | None = None,
    signature: ModelSignature | None = None,
    input_example: Any = None,
    await_registration_for: int = 300,
    pip_requirements: Any = None,
    extra_pip_requirements: Any = None,
    metadata: dict[str, Any] | None = None,
    serialization_format: str | None = None,
    name: str | None = None,
    params: dict[str, Any] | None = None,
    tags: dict[str, Any] | None = None,
    model_type: str | None = None,
    step: int = 0,
    model_id: str | None = None,
    **kwargs: Any,
) -> ModelInfo:
    """Log an ``nn.Module`` as a logged model of the active run (``models:/m-<id>``)."""
    return flavor.log_model(
        save_model,
        pytorch_model,
        name=name,
        artifact_path=artifact_path,
        registered_model_name=registered_model_name,
        await_registration_for=await_registration_for,
        params=params,
        tags=tags,
        model_type=model_type,
        step=step,
        model_id=model_id,
        conda_env=conda_env,
        code_paths=code_paths,
        pickle_module=pickle_module,
        signature=signature,
        input_example=input_example,
        pip_requirements=pip_requirements,
        extra_pip_requirements=extra_pip_requirements,
        metadata=metadata,
        serialization_format=serialization_format,
        **kwargs,
    )


# -- loading ---------------------------------------------------------------------------------

# Records of a pt2 archive that torch.export.load reads as data, never unpickles.
_PAYLOAD_CONFIG = re.compile(r"(?:^|/)data/(?:weights|constants)/[^/]+_config\.json$")
_RAW_TENSOR_PREFIXES = ("weight_", "tensor_")


def _check_pt2_is_pickle_free(torch: Any, file: str) -> list[str]:
    """The records of the ``.pt2`` archive that ``torch.export.load`` would unpickle.

    Weights and constants whose payload config says ``use_pickle: false`` are raw tensor
    bytes; anything else listed there (pickled tensors, custom or opaque objects) is
    reported. Other ``.pt`` records (sample inputs, legacy weight files) must load with
    torch's restricted ``weights_only`` unpickler, which torch tries first.
    """
    try:
        archive = zipfile.ZipFile(file)
    except (zipfile.BadZipFile, OSError) as exc:
        raise flavor.corrupted_model_file(file, exc, "PyTorch") from exc
    pickled = []
    with archive:
        for name in archive.namelist():
            if _PAYLOAD_CONFIG.search(name):
                try:
                    entries = json.loads(archive.read(name))["config"]
                except (ValueError, KeyError, TypeError) as exc:
                    raise flavor.corrupted_model_file(file, exc, "PyTorch") from exc
                folder = name.rsplit("/", 1)[0]
                for entry in entries.values():
                    path_name = str(entry.get("path_name", ""))
                    if entry.get("use_pickle") is not False or not path_name.startswith(
                        _RAW_TENSOR_PREFIXES
                    ):
                        pickled.append(f"{folder}/{path_name}")
            elif name.endswith(".pt") and "/data/" in f"/{name}":
                try:
                    torch.load(io.BytesIO(archive.read(name)), weights_only=True)
                except Exception:
                    pickled.append(name)
    return pickled


def _is_torchscript(file: Path) -> bool:
    """A TorchScript archive (``torch.jit.save``) holds ``<name>/code/`` and constants."""
    try:
        with zipfile.ZipFile(file) as archive:
            return any(n.endswith("/constants.pkl") for n in archive.namelist())
    except (zipfile.BadZipFile, OSError):
        return False


def _pickle_module_for(data_dir: Path, given: Any) -> Any:
    if given is not None:
        return given
    info = data_dir / PICKLE_MODULE_INFO_FILE
    name = info.read_text().strip() if info.is_file() else DEFAULT_PICKLE_MODULE_NAME
    if name not in _PICKLE_MODULES:
        raise TracklineException.invalid_parameter_value(
            f"The model was pickled with the module {name!r}; trackline imports only known "
            f"pickle modules ({', '.join(sorted(_PICKLE_MODULES))}). Pass pickle_module=... to "
            "load_model if you trust it."
        )
    return importlib.import_module(_PICKLE_MODULES[name])


def _load_from_data(
    data_dir: str | os.PathLike[str],
    device: str | None = None,
    saved_version: str | None = None,
    **kwargs: Any,
) -> Any:
    torch = _import_torch(saved_version)
    data_dir = Path(data_dir)
    pickled_file = data_dir / PICKLED_MODEL_FILE if data_dir.is_dir() else data_dir
    exported_file = data_dir / EXPORTED_MODEL_FILE
    if pickled_file.is_file():
        if not flavor.pickle_allowed():
            raise TracklineException.invalid_parameter_value(
                "The model is a whole-model pickle (model.pth), and loading it runs code from "
                "it; TRACKLINE_ALLOW_PICKLE_DESERIALIZATION (or MLFLOW_…) is false. Set it to "
                "true only for models from a trusted source, or save as 'pt2'."
            )
        module = _pickle_module_for(data_dir, kwargs.pop("pickle_module", None))
        kwargs.setdefault("weights_only", False)
        if device:
            kwargs.setdefault("map_location", device)
        try:
            if _is_torchscript(pickled_file):
                model = torch.jit.load(str(pickled_file), map_location=kwargs.get("map_location"))
            else:
                model = torch.load(str(pickled_file), pickle_module=module, **kwargs)
        except ModuleNotFoundError:
            raise  # a library the pickled model needs is missing: not a corrupted file
        except Exception as exc:  # a damaged archive or pickle fails in many ways
            raise flavor.corrupted_model_file(str(pickled_file), exc, "PyTorch") from exc
        model.eval()
        return model.to(device) if device else model
    if exported_file.is_file():
        pickled = _check_pt2_is_pickle_free(torch, str(exported_file))
        if pickled and not _pickle_explicitly_allowed():
            raise TracklineException.invalid_parameter_value(
                f"The 'pt2' model holds pickled records ({', '.join(pickled[:5])}); loading "
                "them would run code from the file. Set TRACKLINE_ALLOW_PICKLE_DESERIALIZATION"
                "=true explicitly to load it anyway (only for models from a trusted source)."
            )
        try:
            model = torch.export.load(str(exported_file)).module()
        except Exception as exc:
            raise flavor.corrupted_model_file(str(exported_file), exc, "PyTorch") from exc
        if device:
            wanted = torch.device(device).type
            for tensor in [*model.parameters(), *model.buffers()]:
                if tensor.device.type != wanted:
                    raise TracklineException.invalid_parameter_value(
                        f"The exported model holds tensors on {tensor.device.type!r} and "
                        f"cannot move to {wanted!r}; save it from a model on {wanted!r}."
                    )
        return model
    raise TracklineException(
        f"The model's data directory {str(data_dir)!r} holds neither {PICKLED_MODEL_FILE} nor "
        f"{EXPORTED_MODEL_FILE}.",
        "RESOURCE_DOES_NOT_EXIST",
    )


def load_model(model_uri: str, dst_path: str | None = None, **kwargs: Any) -> Any:
    """The ``nn.Module`` saved at ``model_uri`` (for 'pt2', the exported program's module).

    ``kwargs`` go to ``torch.load`` for pickled models (e.g. ``pickle_module``,
    ``map_location``).
    """
    folder = flavor.download_model(model_uri, dst_path)
    conf = flavor.flavor_config(folder, FLAVOR_NAME)
    flavor.add_code_to_path(folder, conf)
    saved_version = conf.get("pytorch_version")
    torch = _import_torch(saved_version)
    if saved_version and saved_version != torch.__version__:
        logger.warning(
            "The model was saved with torch %s; torch %s is installed.",
            saved_version,
            torch.__version__,
        )
    data = conf.get("model_data") or MODEL_DATA_SUBPATH
    root = Path(folder).resolve()
    data_dir = (root / data).resolve()
    if root != data_dir and root not in data_dir.parents:
        raise TracklineException.invalid_parameter_value(
            f"The model's model_data {data!r} points outside the model directory."
        )
    return _load_from_data(data_dir, saved_version=saved_version, **kwargs)


def _default_device(torch: Any) -> str:
    chosen = env("DEFAULT_PREDICTION_DEVICE")
    if chosen:
        return chosen
    return "cuda" if torch.cuda.is_available() else "cpu"


def _saved_version(data_dir: str) -> str | None:
    try:
        return Model.load(Path(data_dir).parent).flavors.get(FLAVOR_NAME, {}).get("pytorch_version")
    except TracklineException:
        return None


def _load_pyfunc(path: str, model_config: dict[str, Any] | None = None) -> _PyTorchWrapper:
    """pyfunc loader (``loader_module: mlflow.pytorch``); ``path`` is the model's ``data``
    directory. ``model_config={"device": "cuda"}`` picks the device (default: the
    ``TRACKLINE_DEFAULT_PREDICTION_DEVICE`` variable, else CUDA if available, else CPU)."""
    saved_version = _saved_version(path)
    torch = _import_torch(saved_version)
    device = (model_config or {}).get("device") or _default_device(torch)
    return _PyTorchWrapper(_load_from_data(path, device, saved_version), device)


class _PyTorchWrapper:
    """pyfunc face of an ``nn.Module``: a DataFrame, numpy array or tensor in, the single
    output tensor out (as a DataFrame for DataFrame input, else a numpy array)."""

    def __init__(self, pytorch_model: Any, device: str) -> None:
        self.pytorch_model = pytorch_model
        self.device = device

    def get_raw_model(self) -> Any:
        return self.pytorch_model

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        import numpy as np
        import torch

        if params and "device" in params:
            raise TracklineException.invalid_parameter_value(
                "The device is chosen when loading the model, not per prediction: "
                "trackline.pyfunc.load_model(uri, model_config={'device': 'cuda'})."
            )
        pandas = sys.modules.get("pandas")
        is_frame = pandas is not None and isinstance(data, pandas.DataFrame)
        if is_frame:
            tensor = torch.from_numpy(data.to_numpy(dtype=np.float32, copy=True))
        elif isinstance(data, np.ndarray):
            tensor = torch.from_numpy(data if data.flags.writeable else data.copy())
        elif isinstance(data, torch.Tensor):
            tensor = data
        else:
            raise TracklineException.invalid_parameter_value(
                "A PyTorch model predicts on a pandas DataFrame, a numpy array or a "
                f"torch.Tensor, not {type(data).__name__}."
            )
        with torch.no_grad():
            output = self.pytorch_model(tensor.to(self.device), **(params or {}))
        if not isinstance(output, torch.Tensor):
            raise TracklineException(
                "The PyTorch model must return a single tensor for pyfunc predict; it returned "
                f"{type(output).__name__}."
            )
        result = output.detach().to("cpu").numpy()
        if is_frame:
            return pandas.DataFrame(result, index=data.index)
        return result


# -- state dicts -----------------------------------------------------------------------------


def save_state_dict(
    state_dict: dict[str, Any], path: str | os.PathLike[str], **kwargs: Any
) -> None:
    """Save a ``state_dict`` as ``<path>/state_dict.pth`` (``kwargs`` go to ``torch.save``)."""
    torch = _import_torch()
    if not isinstance(state_dict, dict):
        raise TracklineException.invalid_parameter_value(
            f"state_dict must be a dict (model.state_dict()), got {type(state_dict).__name__}; "
            "save whole models with save_model."
        )
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    torch.save(state_dict, str(folder / STATE_DICT_FILE), **kwargs)


def log_state_dict(state_dict: dict[str, Any], artifact_path: str, **kwargs: Any) -> None:
    """Log a ``state_dict`` as ``<artifact_path>/state_dict.pth`` in the active run."""
    import trackline

    with tempfile.TemporaryDirectory(prefix="trackline-state-dict-") as tmp:
        save_state_dict(state_dict, tmp, **kwargs)
        trackline.log_artifacts(tmp, artifact_path)


def load_state_dict(state_dict_uri: str, **kwargs: Any) -> dict[str, Any]:
    """The ``state_dict`` saved at ``state_dict_uri`` (a directory with ``state_dict.pth``).

    Loaded with torch's ``weights_only=True`` unpickler (tensors and plain containers only)
    unless ``weights_only=False`` is passed.
    """
    from trackline.artifacts import download_artifacts

    torch = _import_torch()
    local = Path(download_artifacts(artifact_uri=str(state_dict_uri)))
    file = local / STATE_DICT_FILE if local.is_dir() else local
    if not file.is_file():
        raise TracklineException(
            f"No {STATE_DICT_FILE} at {str(state_dict_uri)!r}.", "RESOURCE_DOES_NOT_EXIST"
        )
    kwargs.setdefault("weights_only", True)
    try:
        return torch.load(str(file), **kwargs)
    except Exception as exc:
        if isinstance(exc, torch.serialization.pickle.UnpicklingError) and kwargs["weights_only"]:
            raise TracklineException.invalid_parameter_value(
                f"The state dict holds objects beyond tensors and plain containers "
                f"({str(exc).strip().splitlines()[0]}); pass weights_only=False only if you "
                "trust the file."
            ) from exc
        raise flavor.corrupted_model_file(str(file), exc, "PyTorch") from exc
