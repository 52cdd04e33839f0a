"""The same raw requests to ``trackline server`` and to a real ``mlflow server``: same HTTP
status, same ``error_code``.

The REST store turns those two fields into exceptions, so a client sees the same error from
either server. Each case is a bad (or borderline) request of the tracking API; a handful
where trackline is deliberately stricter than MLflow are listed in ``STRICTER`` and checked
to stay that way. Successful answers must have the same fields, and searches over the same
seeded runs must find the same runs in the same order. Needs ``benchmarks/.venv-mlflow``
(see conftest.py).
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import requests

pytestmark = pytest.mark.mlflow_server

API = "/api/2.0/mlflow"
UNKNOWN_RUN = "f" * 32
LONG = "x" * 300

# name -> (method, path, parameters); "{E}" / "{R}" stand for an experiment and a run made first.
CASES: dict[str, tuple[str, str, dict[str, Any]]] = {
    "experiment without a name": ("POST", "/experiments/create", {}),
    "experiment with an empty name": ("POST", "/experiments/create", {"name": ""}),
    "experiment name that is a number": ("POST", "/experiments/create", {"name": 5}),
    "experiment name taken": ("POST", "/experiments/create", {"name": "{EXP_NAME}"}),
    "get experiment 'abc'": ("GET", "/experiments/get", {"experiment_id": "abc"}),
    "get experiment '1.5'": ("GET", "/experiments/get", {"experiment_id": "1.5"}),
    "get experiment -1": ("GET", "/experiments/get", {"experiment_id": "-1"}),
    "get unknown experiment": ("GET", "/experiments/get", {"experiment_id": "999999"}),
    "get experiment without id": ("GET", "/experiments/get", {}),
    "delete experiment 'abc'": ("POST", "/experiments/delete", {"experiment_id": "abc"}),
    "restore experiment 'abc'": ("POST", "/experiments/restore", {"experiment_id": "abc"}),
    "rename experiment 'abc'": (
        "POST",
        "/experiments/update",
        {"experiment_id": "abc", "new_name": "n"},
    ),
    "tag experiment 'abc'": (
        "POST",
        "/experiments/set-experiment-tag",
        {"experiment_id": "abc", "key": "k", "value": "v"},
    ),
    "experiment tag key too long": (
        "POST",
        "/experiments/set-experiment-tag",
        {"experiment_id": "{E}", "key": LONG, "value": "v"},
    ),
    "unknown experiment by name": (
        "GET",
        "/experiments/get-by-name",
        {"experiment_name": "no such experiment"},
    ),
    "delete unknown experiment": ("POST", "/experiments/delete", {"experiment_id": "999999"}),
    "search experiments, bad filter": ("POST", "/experiments/search", {"filter": "name ==="}),
    "search experiments, 0 results": ("POST", "/experiments/search", {"max_results": 0}),
    "search experiments, too many": ("POST", "/experiments/search", {"max_results": 500000}),
    "search experiments, bad order": ("POST", "/experiments/search", {"order_by": ["foo ASC"]}),
    "search experiments, bad token": ("POST", "/experiments/search", {"page_token": "garbage"}),
    "run in experiment 'abc'": ("POST", "/runs/create", {"experiment_id": "abc"}),
    "run in unknown experiment": ("POST", "/runs/create", {"experiment_id": "999999"}),
    "run with a text start time": (
        "POST",
        "/runs/create",
        {"experiment_id": "{E}", "start_time": "abc"},
    ),
    "get unknown run": ("GET", "/runs/get", {"run_id": UNKNOWN_RUN}),
    "get run '../x'": ("GET", "/runs/get", {"run_id": "../x"}),
    "get run without id": ("GET", "/runs/get", {}),
    "delete unknown run": ("POST", "/runs/delete", {"run_id": UNKNOWN_RUN}),
    "metric without value": (
        "POST",
        "/runs/log-metric",
        {"run_id": "{R}", "key": "m", "timestamp": 1},
    ),
    "metric value 'abc'": (
        "POST",
        "/runs/log-metric",
        {"run_id": "{R}", "key": "m", "value": "abc", "timestamp": 1},
    ),
    "metric without timestamp": (
        "POST",
        "/runs/log-metric",
        {"run_id": "{R}", "key": "m", "value": 1},
    ),
    "metric key 'a/../b'": (
        "POST",
        "/runs/log-metric",
        {"run_id": "{R}", "key": "a/../b", "value": 1, "timestamp": 1},
    ),
    "metric key too long": (
        "POST",
        "/runs/log-metric",
        {"run_id": "{R}", "key": LONG, "value": 1, "timestamp": 1},
    ),
    "metric of an unknown run": (
        "POST",
        "/runs/log-metric",
        {"run_id": UNKNOWN_RUN, "key": "m", "value": 1, "timestamp": 1},
    ),
    "param logged again with another value": (
        "POST",
        "/runs/log-parameter",
        {"run_id": "{R}", "key": "p", "value": "2"},
    ),
    "param logged again with the same value": (
        "POST",
        "/runs/log-parameter",
        {"run_id": "{R}", "key": "p", "value": "1"},
    ),
    "param value too long": (
        "POST",
        "/runs/log-parameter",
        {"run_id": "{R}", "key": "long", "value": "v" * 6001},
    ),
    "tag value too long": (
        "POST",
        "/runs/set-tag",
        {"run_id": "{R}", "key": "t", "value": "v" * 8001},
    ),
    "tag without key": ("POST", "/runs/set-tag", {"run_id": "{R}", "value": "v"}),
    "delete a tag the run lacks": ("POST", "/runs/delete-tag", {"run_id": "{R}", "key": "none"}),
    "batch of 1,001 metrics": (
        "POST",
        "/runs/log-batch",
        {
            "run_id": "{R}",
            "metrics": [{"key": "b", "value": 1, "timestamp": 1, "step": i} for i in range(1001)],
        },
    ),
    "batch of 101 params": (
        "POST",
        "/runs/log-batch",
        {"run_id": "{R}", "params": [{"key": f"p{i}", "value": "1"} for i in range(101)]},
    ),
    "batch changing a param": (
        "POST",
        "/runs/log-batch",
        {"run_id": "{R}", "params": [{"key": "p", "value": "9"}]},
    ),
    "batch with one key twice": (
        "POST",
        "/runs/log-batch",
        {"run_id": "{R}", "params": [{"key": "d", "value": "1"}, {"key": "d", "value": "2"}]},
    ),
    "batch of an unknown run": (
        "POST",
        "/runs/log-batch",
        {"run_id": UNKNOWN_RUN, "params": [{"key": "x", "value": "1"}]},
    ),
    "search runs, bad filter": (
        "POST",
        "/runs/search",
        {"experiment_ids": ["{E}"], "filter": "metrics.m >>> 1"},
    ),
    "search runs, unknown entity": (
        "POST",
        "/runs/search",
        {"experiment_ids": ["{E}"], "filter": "foo.m = 1"},
    ),
    "search runs, unquoted param": (
        "POST",
        "/runs/search",
        {"experiment_ids": ["{E}"], "filter": "params.p = 1"},
    ),
    "search runs, 0 results": (
        "POST",
        "/runs/search",
        {"experiment_ids": ["{E}"], "max_results": 0},
    ),
    "search runs, too many": (
        "POST",
        "/runs/search",
        {"experiment_ids": ["{E}"], "max_results": 50001},
    ),
    "search runs, bad order": (
        "POST",
        "/runs/search",
        {"experiment_ids": ["{E}"], "order_by": ["metrics.m SIDEWAYS"]},
    ),
    "search runs, bad token": (
        "POST",
        "/runs/search",
        {"experiment_ids": ["{E}"], "page_token": "garbage"},
    ),
    "search runs in experiment 'abc'": ("POST", "/runs/search", {"experiment_ids": ["abc"]}),
    "search runs of an unknown experiment": ("POST", "/runs/search", {"experiment_ids": ["99999"]}),
    "history of an unknown run": (
        "GET",
        "/metrics/get-history",
        {"run_id": UNKNOWN_RUN, "metric_key": "m"},
    ),
    "history without key": ("GET", "/metrics/get-history", {"run_id": "{R}"}),
    "bulk history of 101 runs": (
        "GET",
        "/metrics/get-history-bulk-interval",
        {"run_ids": ["{R}"] * 101, "metric_key": "m"},
    ),
    "bulk history, 0 results": (
        "GET",
        "/metrics/get-history-bulk-interval",
        {"run_ids": ["{R}"], "metric_key": "m", "max_results": 0},
    ),
    "bulk history, start step only": (
        "GET",
        "/metrics/get-history-bulk-interval",
        {"run_ids": ["{R}"], "metric_key": "m", "start_step": 1},
    ),
    "list artifacts at '../x'": ("GET", "/artifacts/list", {"run_id": "{R}", "path": "../x"}),
    "list artifacts of an unknown run": ("GET", "/artifacts/list", {"run_id": UNKNOWN_RUN}),
    "logged models of an unknown experiment": (
        "POST",
        "/logged-models",
        {"experiment_id": "99999"},
    ),
    "search logged models without experiments": ("POST", "/logged-models/search", {}),
    # Required means present: an explicit empty list is accepted, as by MLflow.
    "search logged models in an empty list": (
        "POST",
        "/logged-models/search",
        {"experiment_ids": []},
    ),
    "run outputs without models": ("POST", "/runs/outputs", {"run_id": "{R}"}),
    "run outputs, an empty list": ("POST", "/runs/outputs", {"run_id": "{R}", "models": []}),
    "unknown logged model": ("GET", "/logged-models/m-" + "f" * 32, {}),
    "unknown registered model": ("GET", "/registered-models/get", {"name": "no-such-model"}),
    "registered model without a name": ("POST", "/registered-models/create", {}),
    "version of an unknown model": (
        "POST",
        "/model-versions/create",
        {"name": "no-such-model", "source": "s3://bucket/model"},
    ),
    "unknown endpoint": ("GET", "/nonexistent", {}),
    "GET on a POST endpoint": ("GET", "/runs/create", {}),
}

# Where MLflow 3.17.2 accepts what it should not; trackline answers 400 INVALID_PARAMETER_VALUE.
STRICTER: dict[str, tuple[str, str, dict[str, Any]]] = {
    "run status 'BOGUS'": ("POST", "/runs/update", {"run_id": "{R}", "status": "BOGUS"}),
    "run view type 'BOGUS'": (
        "POST",
        "/runs/search",
        {"experiment_ids": ["{E}"], "run_view_type": "BOGUS"},
    ),
    "history max_results 'abc'": (
        "GET",
        "/metrics/get-history",
        {"run_id": "{R}", "metric_key": "m", "max_results": "abc"},
    ),
    "dataset without digest": (
        "POST",
        "/runs/log-inputs",
        {"run_id": "{R}", "datasets": [{"dataset": {"name": "d"}}]},
    ),
}


def _prepare(url: str) -> dict[str, str]:
    """An experiment with two runs, each with param p=1 and one point of metric m: {R} for the
    bad requests (MLflow keeps some of them), {S} for the successful ones."""
    name = f"parity-{uuid.uuid4().hex[:8]}"
    experiment = requests.post(f"{url}{API}/experiments/create", json={"name": name}, timeout=30)
    experiment_id = experiment.json()["experiment_id"]
    names = {"{E}": experiment_id, "{EXP_NAME}": name}
    for placeholder in ("{R}", "{S}"):
        run = requests.post(
            f"{url}{API}/runs/create", json={"experiment_id": experiment_id}, timeout=30
        )
        run_id = names[placeholder] = run.json()["run"]["info"]["run_id"]
        param = {"run_id": run_id, "key": "p", "value": "1"}
        assert requests.post(f"{url}{API}/runs/log-parameter", json=param, timeout=30).ok
        metric = {"run_id": run_id, "key": "m", "value": 0.5, "timestamp": 7, "step": 1}
        assert requests.post(f"{url}{API}/runs/log-metric", json=metric, timeout=30).ok
    return names


def _fill(value: Any, names: dict[str, str]) -> Any:
    if isinstance(value, str):
        for placeholder, actual in names.items():
            value = value.replace(placeholder, actual)
        return value
    if isinstance(value, list):
        return [_fill(v, names) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, names) for k, v in value.items()}
    return value


def _request(url: str, names: dict[str, str], case: tuple[str, str, dict]) -> requests.Response:
    method, path, params = case
    params = _fill(params, names)
    if method == "GET":
        return requests.get(f"{url}{API}{path}", params=params, timeout=60)
    return requests.post(f"{url}{API}{path}", json=params, timeout=60)


def _answer(url: str, names: dict[str, str], case: tuple[str, str, dict]) -> tuple[int, str]:
    response = _request(url, names, case)
    try:
        body = response.json()
    except ValueError:
        return response.status_code, "(not JSON)"
    return response.status_code, body.get("error_code", "(success)")


@pytest.fixture(scope="module")
def servers(trackline_server, mlflow_server) -> dict[str, tuple[str, dict[str, str]]]:
    return {
        "mlflow": (mlflow_server.url, _prepare(mlflow_server.url)),
        "trackline": (trackline_server.url, _prepare(trackline_server.url)),
    }


@pytest.mark.parametrize("name", list(CASES))
def test_same_status_and_error_code_as_mlflow(servers, name):
    theirs = _answer(*servers["mlflow"], CASES[name])
    ours = _answer(*servers["trackline"], CASES[name])
    assert ours == theirs


@pytest.mark.parametrize("name", list(STRICTER))
def test_stricter_than_mlflow_where_it_accepts_nonsense(servers, name):
    theirs = _answer(*servers["mlflow"], STRICTER[name])
    ours = _answer(*servers["trackline"], STRICTER[name])
    assert theirs == (200, "(success)"), "MLflow changed; move this case to CASES"
    assert ours == (400, "INVALID_PARAMETER_VALUE")


# Successful answers: the same fields, nested the same way (values differ: ids, times).
SUCCESSES: dict[str, tuple[str, str, dict[str, Any]]] = {
    "create a run": (
        "POST",
        "/runs/create",
        {"experiment_id": "{E}", "run_name": "r", "tags": [{"key": "a", "value": "b"}]},
    ),
    "get a run": ("GET", "/runs/get", {"run_id": "{S}"}),
    "search runs": (
        "POST",
        "/runs/search",
        {"experiment_ids": ["{E}"], "filter": "attributes.run_id = '{S}'"},
    ),
    "update a run": (
        "POST",
        "/runs/update",
        {"run_id": "{S}", "status": "FINISHED", "end_time": 2000},
    ),
    "metric history": ("GET", "/metrics/get-history", {"run_id": "{S}", "metric_key": "m"}),
    "bulk metric history": (
        "GET",
        "/metrics/get-history-bulk-interval",
        {"run_ids": ["{S}"], "metric_key": "m"},
    ),
    "list artifacts": ("GET", "/artifacts/list", {"run_id": "{S}"}),
    "search experiments": ("POST", "/experiments/search", {"max_results": 1}),
}


def _fields(value: Any) -> Any:
    if isinstance(value, dict):
        # MLflow 3.17 adds the workspace of an experiment ("default"); clients fill it in.
        return {k: _fields(v) for k, v in value.items() if k != "workspace"}
    if isinstance(value, list):
        return [_fields(value[0])] if value else []
    return type(value).__name__


@pytest.mark.parametrize("name", list(SUCCESSES))
def test_successful_answers_have_mlflows_fields(servers, name):
    theirs = _request(*servers["mlflow"], SUCCESSES[name])
    ours = _request(*servers["trackline"], SUCCESSES[name])
    assert (ours.status_code, theirs.status_code) == (200, 200), ours.text + theirs.text
    assert _fields(ours.json()) == _fields(theirs.json())


def test_ajax_bulk_history_caps_the_whole_answer_as_mlflow(servers):
    answers = {}
    for server, (url, names) in servers.items():
        response = requests.get(
            f"{url}/ajax-api/2.0/mlflow/metrics/get-history-bulk",
            params={"run_id": [names["{R}"], names["{S}"]], "metric_key": "m", "max_results": 1},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        answers[server] = [(m["step"], m["value"]) for m in response.json()["metrics"]]
    assert answers["trackline"] == answers["mlflow"] == [(1, 0.5)]


def test_an_empty_file_is_listed_without_a_size_as_by_mlflow(servers):
    answers = {}
    for server, (url, names) in servers.items():
        run_id = names["{S}"]
        root = f"{url}/api/2.0/mlflow-artifacts/artifacts/{names['{E}']}/{run_id}/artifacts"
        assert requests.put(f"{root}/empty.txt", data=b"", timeout=30).ok
        assert requests.put(f"{root}/full.txt", data=b"abc", timeout=30).ok
        listed = requests.get(
            f"{url}{API}/artifacts/list", params={"run_id": run_id}, timeout=30
        ).json()
        answers[server] = sorted(listed["files"], key=lambda f: f["path"])
    assert (
        answers["trackline"]
        == answers["mlflow"]
        == [
            {"path": "empty.txt", "is_dir": False},
            {"path": "full.txt", "is_dir": False, "file_size": 3},
        ]
    )


# Search semantics: the same data on both servers, the same runs in the same order.
SEARCHES: list[tuple[str, list[str]]] = [
    ("", ["attributes.run_name"]),
    ("metrics.loss > 0.1", []),
    ("metrics.loss < 0.2", ["metrics.loss ASC"]),
    ("metrics.acc >= 0.2 and metrics.loss < 0.5", []),
    ("metrics.loss = 0.5", []),
    ("metrics.loss != 0.5", []),
    ("params.lr = '0.2'", []),
    ("params.lr != '0.2'", ["params.lr DESC"]),
    ("tags.grp = 'a'", []),
    ("tags.grp LIKE 'B%'", []),
    ("tags.grp ILIKE 'b%'", []),
    ("tags.`grp` = 'B'", []),
    ("attributes.status = 'FINISHED'", []),
    ("attributes.status != 'RUNNING'", []),
    ("attributes.run_name LIKE 'run-0%'", ["attributes.run_name DESC"]),
    ("run_name = 'run-03'", []),
    ("attributes.start_time > 1005", ["attributes.start_time ASC"]),
    ("attributes.end_time > 0", []),
    ("datasets.name = 'ds2'", []),
    ("datasets.digest IN ('dg2', 'dg3')", []),
    ("datasets.context = 'train'", []),
    ("", ["metrics.loss DESC"]),
    ("", ["metrics.loss ASC"]),
    ("", ["metrics.acc"]),
    ("", ["params.lr", "attributes.run_name DESC"]),
    ("", ["tags.grp ASC", "run_name"]),
    ("", ["attributes.end_time DESC"]),
]


def _seed_search_data(url: str) -> str:
    """Twelve runs with overlapping params, tags, metrics (some missing), statuses, datasets
    and one deleted run, logged the same way on either server."""
    name = f"search-{uuid.uuid4().hex[:8]}"
    experiment_id = requests.post(
        f"{url}{API}/experiments/create", json={"name": name}, timeout=30
    ).json()["experiment_id"]

    def post(path: str, body: dict) -> None:
        response = requests.post(f"{url}{API}{path}", json=body, timeout=30)
        assert response.status_code == 200, response.text

    for i in range(12):
        created = requests.post(
            f"{url}{API}/runs/create",
            json={
                "experiment_id": experiment_id,
                "run_name": f"run-{i:02d}",
                "start_time": 1000 + (i * 7) % 12,
                "tags": [{"key": "grp", "value": "a" if i % 3 == 0 else "B"}],
            },
            timeout=30,
        )
        run_id = created.json()["run"]["info"]["run_id"]
        metrics = []
        if i % 5:
            metrics.append({"key": "loss", "value": 1.0 / (i + 1), "timestamp": 1, "step": 0})
        if i % 2 == 0:
            metrics.append({"key": "acc", "value": i * 0.05, "timestamp": 1, "step": 0})
        params = [{"key": "lr", "value": str(0.1 * (i % 4))}]
        post("/runs/log-batch", {"run_id": run_id, "metrics": metrics, "params": params})
        if i % 4 == 1:
            post("/runs/update", {"run_id": run_id, "status": "FINISHED", "end_time": 5000 + i})
        if i in (2, 3):
            dataset = {"name": f"ds{i}", "digest": f"dg{i}", "source_type": "local", "source": "{}"}
            context = [{"key": "mlflow.data.context", "value": "train"}]
            post(
                "/runs/log-inputs",
                {"run_id": run_id, "datasets": [{"tags": context, "dataset": dataset}]},
            )
        if i == 7:
            post("/runs/delete", {"run_id": run_id})
    return experiment_id


@pytest.fixture(scope="module")
def search_data(trackline_server, mlflow_server) -> dict[str, tuple[str, str]]:
    return {
        "mlflow": (mlflow_server.url, _seed_search_data(mlflow_server.url)),
        "trackline": (trackline_server.url, _seed_search_data(trackline_server.url)),
    }


def _search_all(url: str, experiment_id: str, filter_string: str, order_by, view: str) -> list:
    names, token = [], None
    while True:
        body = {
            "experiment_ids": [experiment_id],
            "filter": filter_string,
            "order_by": order_by,
            "max_results": 5,
            "run_view_type": view,
            **({"page_token": token} if token else {}),
        }
        answer = requests.post(f"{url}{API}/runs/search", json=body, timeout=30)
        assert answer.status_code == 200, answer.text
        names += [run["info"]["run_name"] for run in answer.json().get("runs", [])]
        token = answer.json().get("next_page_token")
        if not token:
            return names


@pytest.mark.parametrize("view", ["ACTIVE_ONLY", "ALL"])
@pytest.mark.parametrize(("filter_string", "order_by"), SEARCHES)
def test_search_finds_the_same_runs_in_the_same_order(search_data, filter_string, order_by, view):
    found = {
        server: _search_all(url, experiment_id, filter_string, order_by, view)
        for server, (url, experiment_id) in search_data.items()
    }
    if order_by:
        assert found["trackline"] == found["mlflow"]
    else:  # no order asked: ties between equal start times may come in any order
        assert sorted(found["trackline"]) == sorted(found["mlflow"])
    assert found["mlflow"], "the data should give every search something to find"
