"""Input examples: ``input_example.json`` and ``serving_input_example.json``.

``input_example.json`` holds the raw example (a DataFrame in pandas ``split`` orient, an
array as nested lists, anything JSON as itself); ``serving_input_example.json`` is the same
data wrapped as a request body for ``POST /invocations``, so a user can copy it into curl.
An example may be a tuple ``(data, params)``: the params join the serving payload.
"""

from __future__ import annotations

import base64
import datetime as _dt
import json
import os
from pathlib import Path
from typing import Any

from trackline.exceptions import TracklineException

INPUT_EXAMPLE_FILE = "input_example.json"
SERVING_INPUT_FILE = "serving_input_example.json"


def to_jsonable(value: Any) -> Any:
    """numpy/pandas values → plain JSON values (DataFrames as records, as the server answers)."""
    import numpy as np

    try:
        import pandas as pd
    except ImportError:
        pd = None
    if pd is not None:
        if isinstance(value, pd.DataFrame):
            return [
                {str(k): to_jsonable(v) for k, v in row.items()}
                for row in value.to_dict(orient="records")
            ]
        if isinstance(value, pd.Series):
            return [to_jsonable(v) for v in value.tolist()]
        if isinstance(value, pd.Timestamp):
            return value.isoformat()
    if isinstance(value, np.ndarray):
        return [to_jsonable(v) for v in value.tolist()] if value.dtype == object else value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, (_dt.datetime, _dt.date)):
        return value.isoformat()
    if isinstance(value, float) and value != value:
        return None
    return value


def _split_frame(frame: Any) -> dict[str, Any]:
    return {
        "columns": [str(c) for c in frame.columns],
        "data": [[to_jsonable(v) for v in row] for row in frame.itertuples(index=False)],
    }


def _describe(example: Any) -> tuple[str, Any, Any]:
    """(type, raw JSON to store, serving payload without params)."""
    import numpy as np

    try:
        import pandas as pd
    except ImportError:
        pd = None
    if pd is not None and isinstance(example, pd.Series):
        example = example.to_frame()
    if pd is not None and isinstance(example, pd.DataFrame):
        split = _split_frame(example)
        return "dataframe", split, {"dataframe_split": split}
    if isinstance(example, np.ndarray):
        data = to_jsonable(example)
        return "ndarray", data, {"inputs": data}
    if (
        isinstance(example, dict)
        and example
        and all(isinstance(v, np.ndarray) for v in example.values())
    ):
        data = {str(k): to_jsonable(v) for k, v in example.items()}
        return "ndarray", data, {"inputs": data}
    if isinstance(example, (dict, list, str, int, float, bool)):
        data = to_jsonable(example)
        return "json_object", data, {"inputs": data}
    raise TracklineException.invalid_parameter_value(
        f"Unsupported input example of type {type(example).__name__}: give a pandas DataFrame "
        "or Series, a numpy array, a dict of arrays, or JSON data (dict, list, str, number)."
    )


def save_input_example(
    path: str | os.PathLike[str], example: Any, params: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Write both example files into ``path``; returns ``saved_input_example_info``."""
    if isinstance(example, tuple) and len(example) == 2 and isinstance(example[1], dict):
        example, params = example
    kind, raw, serving = _describe(example)
    info: dict[str, Any] = {"artifact_path": INPUT_EXAMPLE_FILE, "type": kind}
    if kind == "dataframe":
        info["pandas_orient"] = "split"
    if params:
        serving = {**serving, "params": to_jsonable(params)}
        raw = serving  # the example with params is stored in its serving form, as MLflow does
        info["params"] = "true"
    folder = Path(path)
    (folder / INPUT_EXAMPLE_FILE).write_text(json.dumps(raw), encoding="utf-8")
    (folder / SERVING_INPUT_FILE).write_text(json.dumps(serving, indent=2), encoding="utf-8")
    info["serving_input_path"] = SERVING_INPUT_FILE
    return info


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TracklineException(
            f"The model's input example {str(path)!r} is missing.", "RESOURCE_DOES_NOT_EXIST"
        ) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise TracklineException.invalid_parameter_value(
            f"The model's input example {str(path)!r} is not valid JSON: {exc}"
        ) from exc


def load_input_example(path: str | os.PathLike[str], info: dict[str, Any] | None) -> Any:
    """The example as the model takes it: DataFrame, ndarray (or dict of them), or JSON."""
    if not info:
        return None
    raw = _read_json(Path(path) / info.get("artifact_path", INPUT_EXAMPLE_FILE))
    kind = info.get("type")
    if info.get("params") and isinstance(raw, dict):
        raw = next((raw[k] for k in ("dataframe_split", "inputs", "instances") if k in raw), raw)
    if kind == "dataframe":
        import pandas as pd

        orient = info.get("pandas_orient", "split")
        if orient == "split":
            return pd.DataFrame(raw["data"], columns=raw["columns"])
        return pd.DataFrame(raw)
    if kind == "ndarray":
        import numpy as np

        if isinstance(raw, dict):
            return {k: np.asarray(v) for k, v in raw.items()}
        return np.asarray(raw)
    return raw


def load_input_example_params(path: str | os.PathLike[str], info: dict[str, Any] | None) -> Any:
    if not info or not info.get("params"):
        return None
    raw = _read_json(Path(path) / info.get("artifact_path", INPUT_EXAMPLE_FILE))
    return raw.get("params") if isinstance(raw, dict) else None
