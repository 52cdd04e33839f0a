"""Datasets to record with ``log_input``: ``trackline.data.from_pandas`` / ``from_numpy``.

A dataset is described, never copied: a name, a short content digest, where it came from
(``source_type`` and a JSON ``source``), a column schema and a size profile — the fields of
MLflow's Dataset entity, so runs logged here look the same to MLflow clients.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from trackline.entities import Dataset

# Only this many rows feed the digest, so that huge frames are fingerprinted quickly.
_DIGEST_ROWS = 10_000

_NUMPY_TO_SCHEMA_TYPE = {
    "b": "boolean",
    "i": "long",
    "u": "long",
    "f": "double",
    "M": "datetime",
    "O": "string",
    "U": "string",
    "S": "binary",
}


@dataclass(frozen=True)
class TrackedDataset:
    """What ``from_pandas``/``from_numpy`` return; pass it to ``trackline.log_input``."""

    name: str
    digest: str
    source_type: str
    source: str
    schema: str | None
    profile: str | None

    def _to_mlflow_entity(self) -> Dataset:
        return Dataset(
            self.name, self.digest, self.source_type, self.source, self.schema, self.profile
        )

    def to_dict(self) -> dict[str, Any]:
        return self._to_mlflow_entity().to_dict()


def _source(source: str | None) -> tuple[str, str]:
    if source is None:
        return "code", json.dumps({"tags": {}})
    scheme = urlparse(str(source)).scheme
    if scheme in ("http", "https"):
        return "http", json.dumps({"url": str(source)})
    if scheme and len(scheme) > 1 and scheme != "file":
        return scheme, json.dumps({"uri": str(source)})
    return "local", json.dumps({"uri": str(source)})


def _column_schema(names: list[str], kinds: list[str]) -> str:
    columns = [
        {"type": _NUMPY_TO_SCHEMA_TYPE.get(kind, "string"), "name": name, "required": True}
        for name, kind in zip(names, kinds, strict=True)
    ]
    return json.dumps({"mlflow_colspec": columns})


def from_pandas(
    df: Any,
    source: str | None = None,
    targets: str | None = None,
    name: str | None = None,
    digest: str | None = None,
) -> TrackedDataset:
    """Describe a pandas DataFrame (its first rows fingerprint the digest)."""
    import pandas as pd

    if digest is None:
        hashed = pd.util.hash_pandas_object(df.head(_DIGEST_ROWS), index=False).to_numpy()
        fingerprint = hashlib.md5(hashed.tobytes(), usedforsecurity=False)
        fingerprint.update(str(df.shape).encode())
        fingerprint.update(json.dumps([str(c) for c in df.columns]).encode())
        digest = fingerprint.hexdigest()[:8]
    source_type, source_json = _source(source)
    schema = _column_schema([str(c) for c in df.columns], [dt.kind for dt in df.dtypes])
    profile = json.dumps({"num_rows": int(len(df)), "num_elements": int(df.size)})
    return TrackedDataset(name or "dataset", digest, source_type, source_json, schema, profile)


def from_numpy(
    features: Any,
    source: str | None = None,
    targets: Any = None,
    name: str | None = None,
    digest: str | None = None,
) -> TrackedDataset:
    """Describe a numpy array (and optional targets)."""
    import numpy as np

    features = np.asarray(features)
    arrays = [features] + ([np.asarray(targets)] if targets is not None else [])
    if digest is None:
        fingerprint = hashlib.md5(usedforsecurity=False)
        for array in arrays:
            fingerprint.update(np.ascontiguousarray(array[:_DIGEST_ROWS]).tobytes())
            fingerprint.update(str(array.shape).encode())
        digest = fingerprint.hexdigest()[:8]
    source_type, source_json = _source(source)
    names = ["features"] + (["targets"] if targets is not None else [])
    schema = json.dumps(
        {
            "mlflow_tensorspec": {
                n: json.dumps({"type": a.dtype.name, "shape": [-1, *a.shape[1:]]})
                for n, a in zip(names, arrays, strict=True)
            }
        }
    )
    profile = json.dumps({n: {"shape": list(a.shape)} for n, a in zip(names, arrays, strict=True)})
    return TrackedDataset(name or "dataset", digest, source_type, source_json, schema, profile)
