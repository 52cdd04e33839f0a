"""Every tracking RPC through the ASGI app: happy paths, errors, status codes."""

from __future__ import annotations

import pytest
from server_test_helpers import API, error, ok, post


def create_experiment(client, name: str = "exp") -> str:
    return ok(post(client, "/experiments/create", {"name": name}))["experiment_id"]


def create_run(client, experiment_id: str = "0", **extra) -> dict:
    body = {"experiment_id": experiment_id, "start_time": 1000, **extra}
    return ok(post(client, "/runs/create", body))["run"]


# -- experiments -------------------------------------------------------------------------------


def test_create_and_get_experiment(client):
    exp_id = create_experiment(client, "probe")
    got = ok(client.get(API + "/experiments/get", params={"experiment_id": exp_id}))["experiment"]
    assert got["name"] == "probe"
    assert got["lifecycle_stage"] == "active"
    # Serving artifacts without a default root: MLflow's proxied location.
    assert got["artifact_location"] == f"mlflow-artifacts:/{exp_id}"
    by_name = ok(client.get(API + "/experiments/get-by-name", params={"experiment_name": "probe"}))
    assert by_name["experiment"]["experiment_id"] == exp_id


def test_duplicate_experiment_is_400(client):
    create_experiment(client, "dup")
    error(post(client, "/experiments/create", {"name": "dup"}), 400, "RESOURCE_ALREADY_EXISTS")


def test_create_experiment_requires_name(client):
    message = error(post(client, "/experiments/create", {}), 400, "INVALID_PARAMETER_VALUE")
    assert message == (
        "Missing value for required parameter 'name'. "
        "See the API docs for more information about request parameters."
    )


def test_experiment_tags_on_create(client):
    body = {"name": "tagged", "tags": [{"key": "a", "value": "1"}]}
    exp_id = ok(post(client, "/experiments/create", body))["experiment_id"]
    got = ok(client.get(API + "/experiments/get", params={"experiment_id": exp_id}))
    assert got["experiment"]["tags"] == [{"key": "a", "value": "1"}]


def test_unknown_experiment_is_404(client):
    message = error(
        client.get(API + "/experiments/get", params={"experiment_id": "99999"}),
        404,
        "RESOURCE_DOES_NOT_EXIST",
    )
    assert "99999" in message
    error(
        client.get(API + "/experiments/get-by-name", params={"experiment_name": "nope"}),
        404,
        "RESOURCE_DOES_NOT_EXIST",
    )


def test_search_experiments_get_and_post(client):
    create_experiment(client, "a")
    create_experiment(client, "b")
    page = ok(client.get(API + "/experiments/search", params={"max_results": 1}))
    assert len(page["experiments"]) == 1 and page["next_page_token"]
    page2 = ok(
        post(
            client,
            "/experiments/search",
            {"max_results": 10, "page_token": page["next_page_token"]},
        )
    )
    assert len(page2["experiments"]) == 2
    filtered = ok(post(client, "/experiments/search", {"max_results": 10, "filter": "name = 'a'"}))
    assert [e["name"] for e in filtered["experiments"]] == ["a"]


def test_search_experiments_without_max_results_is_400(client):
    message = error(post(client, "/experiments/search", {}), 400, "INVALID_PARAMETER_VALUE")
    assert "Invalid value 0 for parameter 'max_results' supplied" in message


def test_update_delete_restore_experiment(client):
    exp_id = create_experiment(client, "old")
    ok(post(client, "/experiments/update", {"experiment_id": exp_id, "new_name": "new"}))
    run = create_run(client, exp_id)
    ok(post(client, "/experiments/delete", {"experiment_id": exp_id}))
    got = ok(client.get(API + "/experiments/get", params={"experiment_id": exp_id}))
    assert got["experiment"]["name"] == "new"
    assert got["experiment"]["lifecycle_stage"] == "deleted"
    message = error(
        post(client, "/runs/create", {"experiment_id": exp_id}), 400, "INVALID_PARAMETER_VALUE"
    )
    assert "must be in the 'active' state" in message
    ok(post(client, "/experiments/restore", {"experiment_id": exp_id}))
    run_id = run["info"]["run_id"]
    got_run = ok(client.get(API + "/runs/get", params={"run_id": run_id}))
    assert got_run["run"]["info"]["lifecycle_stage"] == "active"


def test_experiment_tags(client):
    exp_id = create_experiment(client)
    ok(
        post(
            client,
            "/experiments/set-experiment-tag",
            {"experiment_id": exp_id, "key": "k", "value": "v"},
        )
    )
    got = ok(client.get(API + "/experiments/get", params={"experiment_id": exp_id}))
    assert got["experiment"]["tags"] == [{"key": "k", "value": "v"}]
    ok(post(client, "/experiments/delete-experiment-tag", {"experiment_id": exp_id, "key": "k"}))
    got = ok(client.get(API + "/experiments/get", params={"experiment_id": exp_id}))
    assert "tags" not in got["experiment"]


# -- runs --------------------------------------------------------------------------------------


def test_create_run_defaults(client):
    run = create_run(client)
    info = run["info"]
    assert len(info["run_id"]) == 32 and info["run_uuid"] == info["run_id"]
    assert info["status"] == "RUNNING"
    assert info["run_name"]
    assert info["artifact_uri"] == f"mlflow-artifacts:/0/{info['run_id']}/artifacts"
    assert {"key": "mlflow.runName", "value": info["run_name"]} in run["data"]["tags"]
    assert run["inputs"] == {}


def test_create_run_without_start_time_stores_zero(client):
    run = ok(post(client, "/runs/create", {"experiment_id": "0"}))["run"]
    assert run["info"]["start_time"] == 0


def test_create_run_without_experiment_goes_to_the_default_experiment(client):
    run = ok(post(client, "/runs/create", {"run_name": "loose"}))["run"]
    assert run["info"]["experiment_id"] == "0"
    assert run["info"]["run_name"] == "loose"


def test_create_run_name_tag_mismatch_is_400(client):
    body = {
        "experiment_id": "0",
        "run_name": "a",
        "tags": [{"key": "mlflow.runName", "value": "b"}],
    }
    error(post(client, "/runs/create", body), 400, "INVALID_PARAMETER_VALUE")


def test_update_run(client):
    run_id = create_run(client)["info"]["run_id"]
    info = ok(
        post(
            client,
            "/runs/update",
            {"run_uuid": run_id, "status": "FINISHED", "end_time": 5000, "run_name": "renamed"},
        )
    )["run_info"]
    assert info["status"] == "FINISHED" and info["end_time"] == 5000
    assert info["run_name"] == "renamed"


def test_update_run_status_as_number(client):
    run_id = create_run(client)["info"]["run_id"]
    info = ok(post(client, "/runs/update", {"run_id": run_id, "status": 4}))["run_info"]
    assert info["status"] == "FAILED"


def test_get_unknown_run_is_404(client):
    error(
        client.get(API + "/runs/get", params={"run_id": "0" * 32}), 404, "RESOURCE_DOES_NOT_EXIST"
    )


def test_delete_and_restore_run(client):
    run_id = create_run(client)["info"]["run_id"]
    ok(post(client, "/runs/delete", {"run_id": run_id}))
    message = error(
        post(client, "/runs/log-parameter", {"run_id": run_id, "key": "a", "value": "1"}),
        400,
        "INVALID_PARAMETER_VALUE",
    )
    assert "must be in the 'active' state" in message
    ok(post(client, "/runs/restore", {"run_id": run_id}))
    ok(post(client, "/runs/log-parameter", {"run_id": run_id, "key": "a", "value": "1"}))


def test_log_metric_param_tag(client):
    run_id = create_run(client)["info"]["run_id"]
    body = {"run_id": run_id, "key": "m", "value": 1.5, "timestamp": 10, "step": 2}
    ok(post(client, "/runs/log-metric", body))
    ok(post(client, "/runs/log-parameter", {"run_id": run_id, "key": "p", "value": "x"}))
    ok(post(client, "/runs/set-tag", {"run_id": run_id, "key": "t", "value": "y"}))
    data = ok(client.get(API + "/runs/get", params={"run_id": run_id}))["run"]["data"]
    assert data["metrics"] == [{"key": "m", "value": 1.5, "timestamp": 10, "step": 2}]
    assert data["params"] == [{"key": "p", "value": "x"}]
    assert {"key": "t", "value": "y"} in data["tags"]
    ok(post(client, "/runs/delete-tag", {"run_id": run_id, "key": "t"}))
    error(
        post(client, "/runs/delete-tag", {"run_id": run_id, "key": "t"}),
        404,
        "RESOURCE_DOES_NOT_EXIST",
    )


def test_changing_a_param_is_400(client):
    run_id = create_run(client)["info"]["run_id"]
    ok(post(client, "/runs/log-parameter", {"run_id": run_id, "key": "p", "value": "1"}))
    message = error(
        post(client, "/runs/log-parameter", {"run_id": run_id, "key": "p", "value": "2"}),
        400,
        "INVALID_PARAMETER_VALUE",
    )
    assert "Changing param values is not allowed" in message


def test_nan_metric_round_trips_as_string(client):
    run_id = create_run(client)["info"]["run_id"]
    body = {"run_id": run_id, "key": "m", "value": "NaN", "timestamp": 1}
    ok(post(client, "/runs/log-metric", body))
    history = ok(
        client.get(API + "/metrics/get-history", params={"run_id": run_id, "metric_key": "m"})
    )
    assert history["metrics"][0]["value"] == "NaN"


def test_log_metric_requires_timestamp(client):
    run_id = create_run(client)["info"]["run_id"]
    message = error(
        post(client, "/runs/log-metric", {"run_id": run_id, "key": "m", "value": 1}),
        400,
        "INVALID_PARAMETER_VALUE",
    )
    assert "'timestamp'" in message


def test_log_batch_and_its_errors(client):
    run_id = create_run(client)["info"]["run_id"]
    body = {
        "run_id": run_id,
        "metrics": [{"key": "m", "value": 1, "timestamp": 1, "step": 0}],
        "params": [{"key": "p", "value": "v"}],
        "tags": [{"key": "t", "value": "v"}],
    }
    ok(post(client, "/runs/log-batch", body))
    message = error(
        post(client, "/runs/log-batch", {"run_id": run_id, "metrics": [{"key": "m", "value": 1}]}),
        400,
        "INVALID_PARAMETER_VALUE",
    )
    assert "'metrics[0].timestamp'" in message
    too_many = {"run_id": run_id, "params": [{"key": f"k{i}", "value": "v"} for i in range(101)]}
    message = error(post(client, "/runs/log-batch", too_many), 400, "INVALID_PARAMETER_VALUE")
    assert "100" in message


def test_bad_batch_changes_nothing(client):
    run_id = create_run(client)["info"]["run_id"]
    body = {
        "run_id": run_id,
        "params": [{"key": "good", "value": "v"}, {"key": "bad/../x", "value": "v"}],
    }
    error(post(client, "/runs/log-batch", body), 400, "INVALID_PARAMETER_VALUE")
    data = ok(client.get(API + "/runs/get", params={"run_id": run_id}))["run"]["data"]
    assert "params" not in data


def test_log_inputs(client):
    run_id = create_run(client)["info"]["run_id"]
    dataset = {"name": "d", "digest": "abc", "source_type": "local", "source": "{}"}
    body = {
        "run_id": run_id,
        "datasets": [
            {"dataset": dataset, "tags": [{"key": "mlflow.data.context", "value": "train"}]}
        ],
    }
    ok(post(client, "/runs/log-inputs", body))
    run = ok(client.get(API + "/runs/get", params={"run_id": run_id}))["run"]
    assert run["inputs"]["dataset_inputs"][0]["dataset"]["name"] == "d"


def test_search_runs(client):
    first = create_run(client)["info"]["run_id"]
    create_run(client)
    ok(post(client, "/runs/log-parameter", {"run_id": first, "key": "p", "value": "1"}))
    page = ok(post(client, "/runs/search", {"experiment_ids": ["0"], "filter": "params.p = '1'"}))
    assert [r["info"]["run_id"] for r in page["runs"]] == [first]
    paged = ok(post(client, "/runs/search", {"experiment_ids": ["0"], "max_results": 1}))
    assert len(paged["runs"]) == 1 and paged["next_page_token"]


def test_search_runs_get_is_405(client):
    assert client.get(API + "/runs/search").status_code == 405


def test_search_runs_max_results_limit(client):
    body = {"experiment_ids": ["0"], "max_results": 50001}
    error(post(client, "/runs/search", body), 400, "INVALID_PARAMETER_VALUE")


# -- metrics -----------------------------------------------------------------------------------


def _log_steps(client, run_id: str, steps) -> None:
    metrics = [{"key": "m", "value": float(s), "timestamp": s, "step": s} for s in steps]
    ok(post(client, "/runs/log-batch", {"run_id": run_id, "metrics": metrics}))


def test_metric_history_paging(client):
    run_id = create_run(client)["info"]["run_id"]
    _log_steps(client, run_id, range(5))
    params = {"run_id": run_id, "metric_key": "m", "max_results": 2}
    page = ok(client.get(API + "/metrics/get-history", params=params))
    assert [m["step"] for m in page["metrics"]] == [0, 1]
    page = ok(
        client.get(
            API + "/metrics/get-history", params={**params, "page_token": page["next_page_token"]}
        )
    )
    assert [m["step"] for m in page["metrics"]] == [2, 3]
    everything = ok(
        client.get(API + "/metrics/get-history", params={"run_id": run_id, "metric_key": "m"})
    )
    assert len(everything["metrics"]) == 5 and "next_page_token" not in everything


def test_bulk_interval_keeps_min_and_max_steps(client):
    run_id = create_run(client)["info"]["run_id"]
    _log_steps(client, run_id, range(100))
    params = {"run_ids": [run_id], "metric_key": "m", "max_results": 5}
    metrics = ok(client.get(API + "/metrics/get-history-bulk-interval", params=params))["metrics"]
    steps = [m["step"] for m in metrics]
    assert len(steps) == 5 and steps[0] == 0 and steps[-1] == 99
    assert all(m["run_id"] == run_id for m in metrics)
    ranged = {**params, "start_step": 10, "end_step": 20, "max_results": 100}
    metrics = ok(client.get(API + "/metrics/get-history-bulk-interval", params=ranged))["metrics"]
    assert [m["step"] for m in metrics] == list(range(10, 21))


def test_bulk_interval_samples_points_as_mlflow_does(client):
    # Expected steps are what mlflow server 3.17.2 answers for the same history.
    run_id = create_run(client)["info"]["run_id"]
    _log_steps(client, run_id, range(0, 997, 3))  # 333 points
    params = {"run_ids": [run_id], "metric_key": "m"}

    def steps(**extra) -> list[int]:
        query = {**params, **extra}
        answer = ok(client.get(API + "/metrics/get-history-bulk-interval", params=query))
        return [m["step"] for m in answer["metrics"]]

    assert steps(max_results=10) == [0, 102, 204, 306, 405, 504, 603, 702, 801, 996]
    assert steps(max_results=10, start_step=100, end_step=200) == [
        *(102, 114, 126, 138, 147, 156, 165, 174, 183, 198)
    ]
    assert steps(max_results=1) == [996]  # the latest point only


def test_bulk_interval_stays_bounded_when_points_share_a_step(client):
    run_id = create_run(client)["info"]["run_id"]
    metrics = [{"key": "m", "value": float(i), "timestamp": i, "step": 0} for i in range(50)]
    ok(post(client, "/runs/log-batch", {"run_id": run_id, "metrics": metrics}))
    params = {"run_ids": [run_id], "metric_key": "m", "max_results": 5}
    answer = ok(client.get(API + "/metrics/get-history-bulk-interval", params=params))
    assert [m["timestamp"] for m in answer["metrics"]] == [0, 10, 20, 30, 49]


@pytest.mark.parametrize(
    "params",
    [
        {"max_results": 0},
        {"max_results": 2501},
        {"start_step": 1},
        {"start_step": 5, "end_step": 1},
        {"run_ids": [f"{i:032x}" for i in range(101)]},
    ],
    ids=["zero", "too-many-results", "start-without-end", "start-after-end", "101-runs"],
)
def test_bulk_interval_errors(client, params):
    run_id = create_run(client)["info"]["run_id"]
    query = {"run_ids": [run_id], "metric_key": "m", **params}
    error(
        client.get(API + "/metrics/get-history-bulk-interval", params=query),
        400,
        "INVALID_PARAMETER_VALUE",
    )


def test_ajax_bulk_history(client):
    a = create_run(client)["info"]["run_id"]
    b = create_run(client)["info"]["run_id"]
    _log_steps(client, a, range(3))
    _log_steps(client, b, range(2))
    url = "/ajax-api/2.0/mlflow/metrics/get-history-bulk"
    metrics = ok(client.get(url, params={"run_id": [a, b], "metric_key": "m"}))["metrics"]
    assert sorted((m["run_id"], m["step"]) for m in metrics) == sorted(
        [(a, 0), (a, 1), (a, 2), (b, 0), (b, 1)]
    )
    # Only the UI's ajax prefix has it.
    assert client.get(API + "/metrics/get-history-bulk", params={"run_id": a}).status_code == 404


# -- routes ------------------------------------------------------------------------------------


def test_every_rpc_is_served_under_ajax_too(client):
    got = client.get("/ajax-api/2.0/mlflow/experiments/get", params={"experiment_id": "0"})
    assert ok(got)["experiment"]["name"] == "Default"


def test_unknown_route_is_404(client):
    assert client.get(API + "/nonexistent").status_code == 404


def test_logged_models_search_of_an_empty_experiment_is_an_empty_page(client):
    assert ok(post(client, "/logged-models/search", {"experiment_ids": ["0"]})) == {}


# -- run serialization -------------------------------------------------------------------------


def test_run_to_dict_matches_the_entities():
    import math

    from trackline.entities import (
        Dataset,
        DatasetInput,
        InputTag,
        LoggedModelInput,
        LoggedModelOutput,
        Metric,
        Param,
        Run,
        RunData,
        RunInfo,
        RunInputs,
        RunOutputs,
        RunTag,
    )
    from trackline_server.api import run_to_dict

    info = RunInfo("r1", "0", "name", "u", "RUNNING", 5, None, "file:///a", "active")
    finished = RunInfo("r2", "1", "", "", "FINISHED", 5, 9, "", "deleted")
    datasets = RunInputs(
        (DatasetInput(Dataset("d", "x", "local", "s", None, "p"), (InputTag("k", "v"),)),),
        (LoggedModelInput("m-1"),),
    )
    metric_lists = [
        (),
        (Metric("a", 1.5, 3, 4), Metric("b", -0.0, 0, -1)),
        (Metric("nan", math.nan, 1, 0), Metric("inf", math.inf, 1, 0)),
        (Metric("int", 3, 1, 0),),
        (Metric("a", 1.0, 1, 0, dataset_name="d", dataset_digest="x", model_id="m"),),
    ]
    for run_info in (info, finished):
        for metrics in metric_lists:
            for inputs, outputs in [
                (RunInputs(), RunOutputs()),
                (datasets, RunOutputs((LoggedModelOutput("m-2", 3),))),
            ]:
                data = RunData(metrics, (Param("p", "1"),), (RunTag("t", ""),))
                run = Run(run_info, data, inputs, outputs)
                assert run_to_dict(run) == run.to_dict()
                assert repr(run_to_dict(run)) == repr(run.to_dict())  # NaN and key order too
    empty = Run(info)
    assert run_to_dict(empty) == empty.to_dict()


def test_run_answers_carry_inputs_and_outputs_as_mlflows_do(client):
    # MLflow 3.17.2: GetRun and SearchRuns send empty "inputs" and "outputs" objects;
    # CreateRun sends "inputs" only.
    created = ok(post(client, "/runs/create", {"experiment_id": "0"}))["run"]
    assert created["inputs"] == {} and "outputs" not in created
    run_id = created["info"]["run_id"]
    got = ok(client.get(API + "/runs/get", params={"run_id": run_id}))["run"]
    assert (got["inputs"], got["outputs"]) == ({}, {})
    found = ok(post(client, "/runs/search", {"experiment_ids": ["0"]}))["runs"][0]
    assert (found["inputs"], found["outputs"]) == ({}, {})
