"""The scoring server's routes and payload rules, through Starlette's test client."""

from __future__ import annotations

import json
import re

import pytest
import trackline.pyfunc
from starlette.testclient import TestClient
from trackline_serving.app import build_app

JSON = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def client(column_model):
    with TestClient(build_app(trackline.pyfunc.load_model(column_model))) as c:
        yield c


@pytest.fixture(scope="module")
def tensor_client(tensor_model):
    with TestClient(build_app(trackline.pyfunc.load_model(tensor_model))) as c:
        yield c


def test_health_routes(client):
    for route in ("/ping", "/health"):
        response = client.get(route)
        assert response.status_code == 200
        assert response.text == "\n"
    from trackline import __version__

    assert client.get("/version").text == __version__


@pytest.mark.parametrize(
    "body",
    [
        {"dataframe_split": {"columns": ["a", "b"], "data": [[1.0, 1], [2.0, 2]]}},
        {"dataframe_split": {"index": [7, 8], "columns": ["a", "b"], "data": [[1, 1], [2, 2]]}},
        {"dataframe_records": [{"a": 1.0, "b": 1}, {"a": 2.0, "b": 2}]},
        {"instances": [{"a": 1.0, "b": 1}, {"a": 2.0, "b": 2}]},
        {"inputs": {"a": [1.0, 2.0], "b": [1, 2]}},
        {"inputs": [{"a": 1.0, "b": 1}, {"a": 2.0, "b": 2}]},
    ],
    ids=["split", "split-index", "records", "instances", "inputs-columns", "inputs-records"],
)
def test_every_json_format_predicts(client, body):
    response = client.post("/invocations", json=body)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"predictions": [{"y": 2.0}, {"y": 4.0}]}


def test_serving_input_example_is_a_valid_request(client, column_model):
    with open(f"{column_model}/serving_input_example.json") as f:
        body = f.read()
    response = client.post("/invocations", content=body, headers=JSON)
    assert response.json() == {"predictions": [{"y": 2.0}, {"y": 4.0}]}


def test_params_are_passed(client):
    body = {"dataframe_records": [{"a": 1.0, "b": 1}], "params": {"factor": 10}}
    assert client.post("/invocations", json=body).json() == {"predictions": [{"y": 20.0}]}


def test_csv(client):
    for content_type in ("text/csv", "text/csv; charset=utf-8", "text/csv;charset=UTF-8"):
        response = client.post(
            "/invocations", content="a,b\n1.0,1\n2.0,2\n", headers={"Content-Type": content_type}
        )
        assert response.status_code == 200, response.text
        assert response.json() == {"predictions": [{"y": 2.0}, {"y": 4.0}]}


def test_tensor_inputs(tensor_client):
    response = tensor_client.post("/invocations", json={"inputs": [[1, 2, 3], [4, 5, 6]]})
    assert response.json() == {"predictions": [6.0, 15.0]}
    response = tensor_client.post("/invocations", json={"instances": [[1, 1, 1]]})
    assert response.json() == {"predictions": [3.0]}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "got a list"),
        ('{"data": [1]}', "exactly one of the keys"),
        ('{"inputs": [1], "instances": [1]}', "exactly one of the keys"),
        ('{"dataframe_split": [1, 2]}', "pandas split orient"),
        ('{"dataframe_records": {"a": 1}}', "must be a list of records"),
        ('{"dataframe_records": [{"a": 1.0}]}', r"missing input column\(s\) \['b'\]"),
        ('{"dataframe_records": [{"a": "x", "b": 1}]}', "column 'a' must be of type double"),
        ('{"dataframe_records": [{"a": 1.0, "b": 1}], "params": [1]}', "must be a JSON object"),
        ('{"dataframe_records": [{"a": 1.0, "b": 1}], "params": {"factor": "x"}}', "factor"),
    ],
    ids=[
        "bad-json",
        "list",
        "no-key",
        "two-keys",
        "split-not-object",
        "records-not-list",
        "missing-column",
        "wrong-type",
        "params-not-object",
        "bad-param",
    ],
)
def test_bad_payloads_are_400_with_a_message(client, body, message):
    response = client.post("/invocations", content=body, headers=JSON)
    assert response.status_code == 400, response.text
    error = response.json()
    assert error["error_code"] in ("BAD_REQUEST", "INVALID_PARAMETER_VALUE")
    assert re.search(message, error["message"]), error["message"]


def test_bad_csv_is_400(client):
    response = client.post(
        "/invocations", content=b"\xff\xfe\x00", headers={"Content-Type": "text/csv"}
    )
    assert response.status_code == 400
    assert "UTF-8" in response.json()["message"]


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/xml",
        "application/json; charset=latin-1",
        "application/json; format=pandas-split",
        None,
    ],
)
def test_unsupported_content_types_are_415(client, content_type):
    headers = {"Content-Type": content_type} if content_type else {}
    response = client.post("/invocations", content=b'{"inputs": [1]}', headers=headers)
    assert response.status_code == 415
    assert response.headers["content-type"].startswith("text/plain")


def test_model_failure_is_400_with_stack_trace(failing_model):
    with TestClient(build_app(trackline.pyfunc.load_model(failing_model))) as c:
        response = c.post("/invocations", json={"inputs": [1]})
    assert response.status_code == 400
    error = response.json()
    assert error["error_code"] == "BAD_REQUEST"
    assert "ZeroDivisionError" in error["message"]
    assert "the model divided by zero" in error["stack_trace"]


def test_slow_prediction_is_504(tmp_path):
    class Slow(trackline.pyfunc.PythonModel):
        def predict(self, context, model_input, params=None):
            import time

            time.sleep(2)
            return model_input

    trackline.pyfunc.save_model(tmp_path / "slow", python_model=Slow())
    with TestClient(build_app(trackline.pyfunc.load_model(tmp_path / "slow"), timeout=0.2)) as c:
        response = c.post("/invocations", json={"inputs": [1]})
    assert response.status_code == 504


def test_get_on_invocations_is_405(client):
    assert client.get("/invocations").status_code == 405
    assert json.loads(client.post("/invocations", json={"inputs": {"a": [1.0], "b": [1]}}).text)


def test_parquet(client):
    import importlib.util

    import pandas as pd

    headers = {"Content-Type": "application/vnd.apache.parquet"}
    if importlib.util.find_spec("pyarrow") is None:
        response = client.post("/invocations", content=b"PAR1", headers=headers)
        assert response.status_code == 400
        assert "pyarrow" in response.json()["message"]
        return
    import io

    buffer = io.BytesIO()
    pd.DataFrame({"a": [1.0], "b": [3]}).to_parquet(buffer)
    response = client.post("/invocations", content=buffer.getvalue(), headers=headers)
    assert response.json() == {"predictions": [{"y": 4.0}]}
    bad = client.post("/invocations", content=b"not parquet", headers=headers)
    assert bad.status_code == 400
