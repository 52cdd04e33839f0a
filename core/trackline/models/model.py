"""The ``MLmodel`` file: reading and writing every field MLflow's format has.

``MLmodel`` is YAML written with ``safe_dump`` (keys sorted), holding the flavors and the
metadata of a model directory. It is the contract between trackline and MLflow: a directory
written here loads in MLflow, and the reverse. Reading never imports a flavor or unpickles
anything; only ``yaml.safe_load`` touches the file.
"""

from __future__ import annotations

import datetime as _dt
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from trackline.exceptions import RESOURCE_DOES_NOT_EXIST, TracklineException
from trackline.models.signature import ModelSignature

MLMODEL_FILE_NAME = "MLmodel"
# The MLflow release whose model format trackline writes; MLflow warns about nothing when it
# reads a model with this version, and readers can tell which fields to expect.
MLFLOW_FORMAT_VERSION = "3.17.2"

# Keys the Model class maps to attributes; anything else in the file is kept verbatim.
_KNOWN_KEYS = (
    "artifact_path",
    "run_id",
    "utc_time_created",
    "flavors",
    "signature",
    "saved_input_example_info",
    "model_uuid",
    "mlflow_version",
    "metadata",
    "model_size_bytes",
    "resources",
    "env_vars",
    "auth_policy",
    "model_id",
    "prompts",
)


def _utc_now() -> str:
    # Naive UTC with microseconds: "2026-01-02 03:04:05.123456", as MLflow writes it.
    return str(_dt.datetime.now(_dt.timezone.utc).replace(tzinfo=None))


class Model:
    """The contents of one ``MLmodel`` file.

    Attribute names are the file's keys. Unknown keys found in a file are kept in
    ``extra`` and written back, so a round trip loses nothing.
    """

    def __init__(
        self,
        artifact_path: str | None = None,
        run_id: str | None = None,
        utc_time_created: str | None = None,
        flavors: dict[str, dict[str, Any]] | None = None,
        signature: ModelSignature | None = None,
        saved_input_example_info: dict[str, Any] | None = None,
        model_uuid: str | Callable[[], str] | None = lambda: uuid.uuid4().hex,
        mlflow_version: str | None = MLFLOW_FORMAT_VERSION,
        metadata: dict[str, Any] | None = None,
        model_size_bytes: int | None = None,
        resources: Any = None,
        env_vars: list[str] | None = None,
        auth_policy: Any = None,
        model_id: str | None = None,
        prompts: list[str] | None = None,
        **extra: Any,
    ) -> None:
        self.artifact_path = artifact_path
        self.run_id = run_id
        self.utc_time_created = str(utc_time_created or _utc_now())
        self.flavors = flavors if flavors is not None else {}
        self.signature = signature
        self.saved_input_example_info = saved_input_example_info
        self.model_uuid = model_uuid() if callable(model_uuid) else model_uuid
        self.mlflow_version = mlflow_version
        self.metadata = metadata
        self.model_size_bytes = model_size_bytes
        self.resources = resources
        self.env_vars = env_vars
        self.auth_policy = auth_policy
        self.model_id = model_id
        self.prompts = prompts
        self.extra = extra

    # -- flavors ---------------------------------------------------------------------------

    def add_flavor(self, name: str, **params: Any) -> Model:
        """Add (or replace) the configuration of one flavor; returns self for chaining."""
        self.flavors[name] = params
        return self

    def get_flavor(self, name: str) -> dict[str, Any]:
        """The configuration of flavor ``name``, or an error listing the flavors there are."""
        if name not in self.flavors:
            raise TracklineException(
                f"The model has no {name!r} flavor; it has {sorted(self.flavors) or 'none'}.",
                RESOURCE_DOES_NOT_EXIST,
            )
        return self.flavors[name]

    # -- schema access (MLflow's names) ----------------------------------------------------

    def get_input_schema(self) -> Any:
        return self.signature.inputs if self.signature else None

    def get_output_schema(self) -> Any:
        return self.signature.outputs if self.signature else None

    def get_params_schema(self) -> Any:
        return self.signature.params if self.signature else None

    @classmethod
    def log(
        cls,
        artifact_path: str | None = None,
        flavor: Any = None,
        registered_model_name: str | None = None,
        await_registration_for: int = 300,
        metadata: dict[str, Any] | None = None,
        name: str | None = None,
        params: dict[str, Any] | None = None,
        tags: dict[str, Any] | None = None,
        model_type: str | None = None,
        step: int = 0,
        model_id: str | None = None,
        **kwargs: Any,
    ) -> ModelInfo:
        """Log a model with ``flavor.save_model(path=..., **kwargs)`` (MLflow's ``Model.log``)."""
        from trackline.models.flavor import log_model

        if flavor is None or not callable(getattr(flavor, "save_model", None)):
            raise TracklineException.invalid_parameter_value(
                "Model.log needs flavor=<a module with save_model>."
            )
        if metadata is not None:
            kwargs["metadata"] = metadata
        return log_model(
            flavor.save_model,
            name=name,
            artifact_path=artifact_path,
            registered_model_name=registered_model_name,
            await_registration_for=await_registration_for,
            params=params,
            tags=tags,
            model_type=model_type,
            step=step,
            model_id=model_id,
            **kwargs,
        )

    def get_model_info(self) -> ModelInfo:
        return ModelInfo.from_model(self)

    def load_input_example(self, path: str | os.PathLike[str]) -> Any:
        """The input example saved next to this MLmodel in ``path``, or ``None``."""
        from trackline.models.input_example import load_input_example

        return load_input_example(path, self.saved_input_example_info)

    def load_input_example_params(self, path: str | os.PathLike[str]) -> Any:
        from trackline.models.input_example import load_input_example_params

        return load_input_example_params(path, self.saved_input_example_info)

    # -- (de)serialisation -----------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = dict(self.extra)
        out.update(
            {
                "flavors": self.flavors,
                "model_uuid": self.model_uuid,
                "model_id": self.model_id,
                "utc_time_created": self.utc_time_created,
                "prompts": self.prompts,
            }
        )
        optional = {
            "artifact_path": self.artifact_path,
            "run_id": self.run_id,
            "mlflow_version": self.mlflow_version,
            "saved_input_example_info": self.saved_input_example_info,
            "metadata": self.metadata,
            "model_size_bytes": self.model_size_bytes,
            "resources": self.resources,
            "env_vars": self.env_vars,
            "auth_policy": self.auth_policy,
        }
        out.update({k: v for k, v in optional.items() if v is not None})
        if self.signature is not None:
            out["signature"] = self.signature.to_dict()
            out["is_signature_from_type_hint"] = self.signature.is_signature_from_type_hint
            out["type_hint_from_example"] = self.signature.type_hint_from_example
        return out

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), default_flow_style=False)

    def __str__(self) -> str:
        return self.to_yaml()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Model) and self.to_dict() == other.to_dict()

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Model:
        raw = dict(raw)
        signature = None
        is_from_hint = raw.pop("is_signature_from_type_hint", False)
        from_example = raw.pop("type_hint_from_example", False)
        if isinstance(raw.get("signature"), dict):
            signature = ModelSignature.from_dict(raw["signature"])
            signature.is_signature_from_type_hint = bool(is_from_hint)
            signature.type_hint_from_example = bool(from_example)
        raw["signature"] = signature
        flavors = raw.get("flavors")
        if flavors is not None and not isinstance(flavors, dict):
            raise TracklineException.invalid_parameter_value(
                f"'flavors' in MLmodel must be a mapping, got {type(flavors).__name__}."
            )
        raw.setdefault("model_uuid", None)
        raw.setdefault("mlflow_version", None)
        return cls(**raw)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write to ``path`` (the MLmodel file itself)."""
        Path(path).write_text(self.to_yaml(), encoding="utf-8")

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Model:
        """Read a model directory's MLmodel (or the file itself); URIs are downloaded first."""
        path = str(path)
        if "://" in path or path.startswith(("runs:", "models:")):
            from trackline.models.uri import download_model

            path = download_model(path)
        file = Path(path)
        if file.is_dir():
            file = file / MLMODEL_FILE_NAME
        return cls._read(file)

    @classmethod
    def _read(cls, file: Path) -> Model:
        if not file.exists():
            where = file.parent
            raise TracklineException(
                f"No {MLMODEL_FILE_NAME} file in {str(where)!r}: this is not a model directory "
                "(a model saved by trackline or MLflow has an MLmodel file at its root).",
                RESOURCE_DOES_NOT_EXIST,
            )
        try:
            raw = yaml.safe_load(file.read_text(encoding="utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise TracklineException.invalid_parameter_value(
                f"The MLmodel file {str(file)!r} is not valid YAML: {exc}"
            ) from exc
        if not isinstance(raw, dict):
            raise TracklineException.invalid_parameter_value(
                f"The MLmodel file {str(file)!r} must hold a YAML mapping, "
                f"got {type(raw).__name__}."
            )
        if not isinstance(raw.get("flavors"), dict) or not raw["flavors"]:
            raise TracklineException.invalid_parameter_value(
                f"The MLmodel file {str(file)!r} has no 'flavors' mapping, so nothing can load it."
            )
        for name, conf in raw["flavors"].items():
            if not isinstance(conf, dict):
                raise TracklineException.invalid_parameter_value(
                    f"Flavor {name!r} in {str(file)!r} must be a mapping of settings."
                )
        try:
            return cls.from_dict(raw)
        except TypeError as exc:
            raise TracklineException.invalid_parameter_value(
                f"The MLmodel file {str(file)!r} is malformed: {exc}"
            ) from exc


@dataclass
class ModelInfo:
    """What ``log_model`` returns; MLflow's ``ModelInfo`` fields."""

    artifact_path: str | None
    flavors: dict[str, Any]
    model_uri: str
    model_uuid: str | None
    run_id: str | None
    saved_input_example_info: dict[str, Any] | None
    signature: ModelSignature | None
    utc_time_created: str
    mlflow_version: str | None
    metadata: dict[str, Any] | None = None
    model_id: str | None = None
    name: str | None = None
    params: dict[str, str] = field(default_factory=dict)
    metrics: list[Any] | None = None
    tags: dict[str, str] = field(default_factory=dict)
    creation_timestamp: int | None = None
    registered_model_version: int | None = None
    env_vars: list[str] | None = None
    prompts: list[str] | None = None

    @property
    def signature_dict(self) -> dict[str, Any] | None:
        return self.signature.to_dict() if self.signature else None

    @classmethod
    def from_model(cls, model: Model, model_uri: str | None = None, **extra: Any) -> ModelInfo:
        return cls(
            artifact_path=model.artifact_path,
            flavors=model.flavors,
            model_uri=model_uri or (f"models:/{model.model_id}" if model.model_id else ""),
            model_uuid=model.model_uuid,
            run_id=model.run_id,
            saved_input_example_info=model.saved_input_example_info,
            signature=model.signature,
            utc_time_created=model.utc_time_created,
            mlflow_version=model.mlflow_version,
            metadata=model.metadata,
            model_id=model.model_id,
            env_vars=model.env_vars,
            prompts=model.prompts,
            **extra,
        )
