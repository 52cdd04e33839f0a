"""Logged-model endpoints through the ASGI app: JSON shapes, path parameters, errors."""

from __future__ import annotations

import json

from server_test_helpers import API, error, ok, post

AJAX = "/ajax-api/2.0/mlflow"
UNKNOWN = "m-" + "0" * 32


def create_experiment(client, name: str = "lm") -> str:
    return ok(post(client, "/experiments/create", {"name": name}))["experiment_id"]


def create_run(client, experiment_id: str) -> str:
    body = {"experiment_id": experiment_id, "start_time": 1000}
    return ok(post(client, "/runs/create", body))["run"]["info"]["run_id"]


def create_model(client, experiment_id: str, **extra) -> dict:
    body = {"experiment_id": experiment_id, **extra}
    return ok(post(client, "/logged-models", body))["model"]


def patch(client, path: str, body: dict):
    return client.patch(API + path, content=json.dumps(body))


def delete(client, path: str, body: dict | None = None):
    return client.request("DELETE", API + path, content=json.dumps(body or {}))


def test_create_get_finalize_shapes(client):
    exp_id = create_experiment(client)
    run_id = create_run(client, exp_id)
    model = create_model(
        client,
        exp_id,
        name="clf",
        model_type="sklearn",
        source_run_id=run_id,
        params=[{"key": "depth", "value": "3"}],
        tags=[{"key": "team", "value": "a"}],
    )
    info = model["info"]
    assert info["model_id"].startswith("m-") and len(info["model_id"]) == 34
    assert info["status"] == "LOGGED_MODEL_PENDING"
    assert info["experiment_id"] == exp_id
    # Served with proxied artifacts: the model's files live under the experiment's location.
    assert info["artifact_uri"] == f"mlflow-artifacts:/{exp_id}/models/{info['model_id']}/artifacts"
    assert isinstance(info["creation_timestamp_ms"], int)
    assert info["tags"] == [{"key": "team", "value": "a"}]
    assert model["data"] == {"params": [{"key": "depth", "value": "3"}]}

    model_id = info["model_id"]
    got = ok(client.get(API + f"/logged-models/{model_id}"))["model"]
    assert got == model
    done = ok(patch(client, f"/logged-models/{model_id}", {"status": "LOGGED_MODEL_READY"}))
    assert done["model"]["info"]["status"] == "LOGGED_MODEL_READY"
    # Enum numbers are accepted as well (3 = LOGGED_MODEL_UPLOAD_FAILED).
    failed = ok(patch(client, f"/logged-models/{model_id}", {"status": 3}))
    assert failed["model"]["info"]["status"] == "LOGGED_MODEL_UPLOAD_FAILED"


def test_tags_params_and_delete(client):
    exp_id = create_experiment(client)
    model_id = create_model(client, exp_id)["info"]["model_id"]
    tagged = ok(
        patch(client, f"/logged-models/{model_id}/tags", {"tags": [{"key": "a/b", "value": "1"}]})
    )
    assert tagged["model"]["info"]["tags"] == [{"key": "a/b", "value": "1"}]
    # A tag key with a slash travels in the URL path.
    assert ok(delete(client, f"/logged-models/{model_id}/tags/a/b")) == {}
    error(delete(client, f"/logged-models/{model_id}/tags/a/b"), 404, "RESOURCE_DOES_NOT_EXIST")
    body = {"params": [{"key": "lr", "value": "0.1"}]}
    assert ok(post(client, f"/logged-models/{model_id}/params", body)) == {}
    changed = {"params": [{"key": "lr", "value": "0.2"}]}
    error(
        post(client, f"/logged-models/{model_id}/params", changed), 400, "INVALID_PARAMETER_VALUE"
    )
    got = ok(client.get(API + f"/logged-models/{model_id}"))["model"]
    assert got["data"]["params"] == [{"key": "lr", "value": "0.1"}]

    assert ok(delete(client, f"/logged-models/{model_id}", {"model_id": model_id})) == {}
    error(client.get(API + f"/logged-models/{model_id}"), 404, "RESOURCE_DOES_NOT_EXIST")
    kept = ok(client.get(API + f"/logged-models/{model_id}", params={"allow_deleted": "true"}))
    assert kept["model"]["info"]["model_id"] == model_id


def test_metrics_outputs_and_inputs_show_on_the_run(client):
    exp_id = create_experiment(client)
    run_id = create_run(client, exp_id)
    model_id = create_model(client, exp_id, source_run_id=run_id)["info"]["model_id"]
    metric = {"key": "acc", "value": "NaN", "timestamp": 5, "step": 1, "model_id": model_id}
    ok(post(client, "/runs/log-batch", {"run_id": run_id, "metrics": [metric]}))
    body = {"run_id": run_id, "models": [{"model_id": model_id, "step": 1}]}
    assert ok(post(client, "/runs/outputs", body)) == {}
    ok(post(client, "/runs/log-inputs", {"run_id": run_id, "models": [{"model_id": model_id}]}))
    run = ok(client.get(API + "/runs/get", params={"run_id": run_id}))["run"]
    assert run["outputs"] == {"model_outputs": [{"model_id": model_id, "step": 1}]}
    assert run["inputs"] == {"model_inputs": [{"model_id": model_id}]}
    model = ok(client.get(API + f"/logged-models/{model_id}"))["model"]
    assert model["data"]["metrics"] == [
        {
            "key": "acc",
            "value": "NaN",
            "timestamp": 5,
            "step": 1,
            "model_id": model_id,
            "run_id": run_id,
        }
    ]


def test_search(client):
    exp_id = create_experiment(client)
    run_id = create_run(client, exp_id)
    ids = {}
    for name, acc in (("a", 0.2), ("b", 0.9), ("c", 0.5)):
        ids[name] = create_model(client, exp_id, name=name)["info"]["model_id"]
        metric = {"key": "acc", "value": acc, "timestamp": 1, "model_id": ids[name]}
        ok(post(client, "/runs/log-metric", {"run_id": run_id, **metric}))
    body = {
        "experiment_ids": [exp_id],
        "filter": "metrics.acc > 0.3",
        "order_by": [{"field_name": "metrics.acc", "ascending": False}],
        "max_results": 1,
    }
    page = ok(post(client, "/logged-models/search", body))
    assert [m["info"]["name"] for m in page["models"]] == ["b"]
    body["page_token"] = page["next_page_token"]
    page2 = ok(post(client, "/logged-models/search", body))
    assert [m["info"]["name"] for m in page2["models"]] == ["c"]
    assert "next_page_token" not in page2


def test_artifacts_list_and_download(client):
    exp_id = create_experiment(client)
    info = create_model(client, exp_id)["info"]
    model_id = info["model_id"]
    prefix = info["artifact_uri"].removeprefix("mlflow-artifacts:/")
    for path, data in (("MLmodel", b"flavors: {}\n"), ("data/model.pkl", b"\x00\x01")):
        url = f"/api/2.0/mlflow-artifacts/artifacts/{prefix}/{path}"
        assert client.put(url, content=data).status_code == 200
    listed = ok(client.get(API + f"/logged-models/{model_id}/artifacts/directories"))
    assert listed["root_uri"] == info["artifact_uri"]
    assert sorted((f["path"], f["is_dir"]) for f in listed["files"]) == [
        ("MLmodel", False),
        ("data", True),
    ]
    inner = ok(
        client.get(
            API + f"/logged-models/{model_id}/artifacts/directories",
            params={"artifact_directory_path": "data"},
        )
    )
    assert inner["files"] == [{"path": "data/model.pkl", "is_dir": False, "file_size": 2}]
    got = client.get(
        AJAX + f"/logged-models/{model_id}/artifacts/files",
        params={"artifact_file_path": "data/model.pkl"},
    )
    assert got.status_code == 200 and got.content == b"\x00\x01"
    assert got.headers["content-disposition"].startswith("attachment")
    escape = client.get(
        AJAX + f"/logged-models/{model_id}/artifacts/files",
        params={"artifact_file_path": "../../../x"},
    )
    error(escape, 400, "INVALID_PARAMETER_VALUE")
    missing = client.get(
        AJAX + f"/logged-models/{model_id}/artifacts/files",
        params={"artifact_file_path": "nope"},
    )
    error(missing, 404, "RESOURCE_DOES_NOT_EXIST")


def test_bad_input(client):
    exp_id = create_experiment(client)
    model_id = create_model(client, exp_id)["info"]["model_id"]
    error(client.get(API + f"/logged-models/{UNKNOWN}"), 404, "RESOURCE_DOES_NOT_EXIST")
    error(
        patch(client, f"/logged-models/{UNKNOWN}", {"status": "LOGGED_MODEL_READY"}),
        404,
        "RESOURCE_DOES_NOT_EXIST",
    )
    error(
        patch(client, f"/logged-models/{model_id}", {"status": "DONE"}),
        400,
        "INVALID_PARAMETER_VALUE",
    )
    error(
        patch(client, f"/logged-models/{model_id}", {"status": "LOGGED_MODEL_PENDING"}),
        400,
        "INVALID_PARAMETER_VALUE",
    )
    message = error(patch(client, f"/logged-models/{model_id}", {}), 400, "INVALID_PARAMETER_VALUE")
    assert "'status'" in message
    error(post(client, "/logged-models", {}), 400, "INVALID_PARAMETER_VALUE")
    error(
        post(client, "/logged-models", {"experiment_id": "424242"}), 404, "RESOURCE_DOES_NOT_EXIST"
    )
    bad_filter = {"experiment_ids": [exp_id], "filter": "metrics.acc > 'x'"}
    error(post(client, "/logged-models/search", bad_filter), 400, "INVALID_PARAMETER_VALUE")
    bad_order = {"experiment_ids": [exp_id], "order_by": [{"ascending": True}]}
    error(post(client, "/logged-models/search", bad_order), 400, "INVALID_PARAMETER_VALUE")
    error(post(client, "/runs/outputs", {"run_id": "r" * 32}), 400, "INVALID_PARAMETER_VALUE")
    run_id = create_run(client, exp_id)
    outputs = {"run_id": run_id, "models": [{"model_id": UNKNOWN, "step": 0}]}
    error(post(client, "/runs/outputs", outputs), 404, "RESOURCE_DOES_NOT_EXIST")
    assert ok(client.get(API + f"/logged-models/{model_id}"))["model"]["info"]["status"] == (
        "LOGGED_MODEL_PENDING"
    )


def test_openapi_documents_the_path_parameters(client):
    document = ok(client.get("/openapi.json"))
    operation = document["paths"]["/api/2.0/mlflow/logged-models/{model_id}/tags/{tag_key}"]
    names = [p["name"] for p in operation["delete"]["parameters"]]
    assert names == ["model_id", "tag_key"]
    get = document["paths"]["/api/2.0/mlflow/logged-models/{model_id}"]["get"]
    assert [(p["name"], p["in"]) for p in get["parameters"]] == [
        ("model_id", "path"),
        ("allow_deleted", "query"),
    ]
