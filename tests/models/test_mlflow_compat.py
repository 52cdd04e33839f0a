"""Custom pyfunc models cross between trackline and the real MLflow, both ways.

MLflow 3.17 runs for real from benchmarks/.venv-mlflow, in a subprocess; the models are
written by scripts run as ``__main__`` (as a user's training script is), so their classes are
pickled by value.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest
import trackline.pyfunc
from trackline.exceptions import TracklineException

REPO = Path(__file__).resolve().parents[2]
MLFLOW_PYTHON = (
    Path(os.environ.get("TRACKLINE_TEST_MLFLOW_VENV", REPO / "benchmarks" / ".venv-mlflow"))
    / "bin"
    / "python"
)

pytestmark = pytest.mark.skipif(
    not MLFLOW_PYTHON.exists(), reason="needs MLflow in benchmarks/.venv-mlflow"
)


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "TRACKLINE_"))}


def run(python: str | Path, script: str, cwd: Path) -> str:
    done = subprocess.run(
        [str(python), "-c", textwrap.dedent(script)],
        capture_output=True,
        text=True,
        env=_clean_env(),
        cwd=cwd,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""


SAVE_TRACKLINE = """
import pandas as pd
import trackline.pyfunc

class Offset(trackline.pyfunc.PythonModel):
    def load_context(self, context):
        with open(context.artifacts["offset"]) as f:
            self.offset = float(f.read())

    def predict(self, context, model_input, params=None):
        return model_input["a"] + self.offset

with open("offset.txt", "w") as f:
    f.write("100")
trackline.pyfunc.save_model("model", python_model=Offset(), artifacts={"offset": "offset.txt"},
                            input_example=pd.DataFrame({"a": [1.0, 2.0]}))
"""

SAVE_MLFLOW = """
import pandas as pd
import mlflow.pyfunc

class Offset(mlflow.pyfunc.PythonModel):
    def load_context(self, context):
        with open(context.artifacts["offset"]) as f:
            self.offset = float(f.read())

    def predict(self, context, model_input, params=None):
        return model_input["a"] + self.offset

with open("offset.txt", "w") as f:
    f.write("100")
mlflow.pyfunc.save_model("model", python_model=Offset(), artifacts={"offset": "offset.txt"},
                         input_example=pd.DataFrame({"a": [1.0, 2.0]}))
"""


def test_trackline_custom_model_loads_in_mlflow(tmp_path):
    run(sys.executable, SAVE_TRACKLINE, tmp_path)
    assert b"trackline" not in (tmp_path / "model" / "python_model.pkl").read_bytes()
    out = run(
        MLFLOW_PYTHON,
        """
        import json, pandas as pd, mlflow.pyfunc
        model = mlflow.pyfunc.load_model("model")
        python_model = model.unwrap_python_model()
        print(json.dumps({
            "predictions": model.predict(pd.DataFrame({"a": [1.0, 5.0]})).tolist(),
            "is_mlflow_model": isinstance(python_model, mlflow.pyfunc.PythonModel),
            "signature": model.metadata.signature.to_dict(),
        }))
        """,
        tmp_path,
    )
    result = json.loads(out)
    assert result["predictions"] == [101.0, 105.0]
    assert result["is_mlflow_model"] is True
    assert json.loads(result["signature"]["inputs"]) == [
        {"type": "double", "name": "a", "required": True}
    ]


def test_mlflow_custom_model_loads_in_trackline(tmp_path):
    run(MLFLOW_PYTHON, SAVE_MLFLOW, tmp_path)
    model = trackline.pyfunc.load_model(tmp_path / "model")
    assert model.predict(pd.DataFrame({"a": [1.0, 5.0]})).tolist() == [101.0, 105.0]
    assert isinstance(model.unwrap_python_model(), trackline.pyfunc.PythonModel)
    with pytest.raises(TracklineException, match=r"missing input column\(s\) \['a'\]"):
        model.predict(pd.DataFrame({"b": [1.0]}))


def test_mlflow_custom_model_loads_where_mlflow_is_not_installed(tmp_path):
    run(MLFLOW_PYTHON, SAVE_MLFLOW, tmp_path)
    out = run(
        sys.executable,
        """
        import sys
        sys.modules["mlflow"] = None  # as if MLflow were not installed
        import pandas as pd, trackline.pyfunc
        model = trackline.pyfunc.load_model("model")
        print(model.predict(pd.DataFrame({"a": [2.0]})).tolist())
        """,
        tmp_path,
    )
    assert out == "[102.0]"


def test_trackline_example_files_are_what_mlflow_writes(tmp_path):
    (tmp_path / "t").mkdir()
    (tmp_path / "m").mkdir()
    run(sys.executable, SAVE_TRACKLINE, tmp_path / "t")
    run(MLFLOW_PYTHON, SAVE_MLFLOW, tmp_path / "m")
    for name in ("input_example.json", "serving_input_example.json"):
        ours = json.loads((tmp_path / "t" / "model" / name).read_text())
        theirs = json.loads((tmp_path / "m" / "model" / name).read_text())
        assert ours == theirs, name
    import yaml

    ours = yaml.safe_load((tmp_path / "t" / "model" / "MLmodel").read_text())
    theirs = yaml.safe_load((tmp_path / "m" / "model" / "MLmodel").read_text())
    volatile = {"model_uuid", "utc_time_created", "model_size_bytes", "trackline_version"}
    assert {k: v for k, v in ours.items() if k not in volatile} == {
        k: v for k, v in theirs.items() if k not in volatile
    }
