"""Request parsing rules of the wire protocol (spec §1.2) and response shapes (§1.3)."""

from __future__ import annotations

import json

import pytest
from server_test_helpers import API, error, ok, post

MISSING = "Missing value for required parameter '{}'. See the API docs for more information about request parameters."


def run_id(client) -> str:
    return ok(post(client, "/runs/create", {"experiment_id": "0"}))["run"]["info"]["run_id"]


def test_post_without_content_type(client):
    response = client.post(API + "/experiments/create", content=b'{"name": "x"}')
    message = error(response, 400, "INVALID_PARAMETER_VALUE")
    assert message == "Bad Request. Content-Type header is missing."


def test_post_with_wrong_content_type(client):
    response = client.post(
        API + "/experiments/create",
        content=b'{"name": "x"}',
        headers={"content-type": "text/plain"},
    )
    message = error(response, 400, "INVALID_PARAMETER_VALUE")
    assert message == "Bad Request. Content-Type must be one of ['application/json']."


def test_content_type_parameters_are_allowed(client):
    response = client.post(
        API + "/experiments/create",
        content=b'{"name": "x"}',
        headers={"content-type": "application/json; charset=utf-8"},
    )
    ok(response)


def test_malformed_json_is_400(client):
    response = client.post(
        API + "/experiments/create", content=b"{nope", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400


def test_json_string_body_is_decoded_twice(client):
    response = client.post(
        API + "/experiments/create",
        content=json.dumps(json.dumps({"name": "twice"})),
        headers={"content-type": "application/json"},
    )
    ok(response)


def test_empty_string_is_missing(client):
    message = error(
        post(client, "/experiments/create", {"name": ""}), 400, "INVALID_PARAMETER_VALUE"
    )
    assert message == MISSING.format("name")


def test_type_error_message(client):
    message = error(
        post(client, "/experiments/create", {"name": 5}), 400, "INVALID_PARAMETER_VALUE"
    )
    assert message.startswith(
        "Invalid value 5 for parameter 'name' supplied: Hint: Value was of type"
    )


def test_unknown_fields_are_ignored(client):
    ok(post(client, "/experiments/create", {"name": "x", "surprise": [1, 2]}))


def test_camel_case_is_accepted(client):
    rid = run_id(client)
    ok(post(client, "/runs/log-parameter", {"runId": rid, "key": "a", "value": "1"}))


def test_both_spellings_is_400(client):
    rid = run_id(client)
    body = {"run_id": rid, "runId": rid, "key": "a", "value": "1"}
    error(post(client, "/runs/log-parameter", body), 400, "INVALID_PARAMETER_VALUE")


@pytest.mark.parametrize("path", ["/runs/log-parameter", "/runs/set-tag"])
def test_run_uuid_alias(client, path):
    rid = run_id(client)
    ok(post(client, path, {"run_uuid": rid, "key": "a", "value": "1"}))


def test_run_uuid_alias_in_query(client):
    rid = run_id(client)
    got = ok(client.get(API + "/runs/get", params={"run_uuid": rid}))
    assert got["run"]["info"]["run_id"] == rid


def test_missing_run_id(client):
    message = error(
        post(client, "/runs/log-parameter", {"key": "a"}), 400, "INVALID_PARAMETER_VALUE"
    )
    assert message == MISSING.format("run_id")


@pytest.mark.parametrize("value", [10, "10", 10.0])
def test_int64_as_number_or_string(client, value):
    rid = run_id(client)
    body = {"run_id": rid, "key": "m", "value": 1, "timestamp": value, "step": "7"}
    ok(post(client, "/runs/log-metric", body))


@pytest.mark.parametrize("value", ["ten", 1.5, True, [1]])
def test_int64_type_errors(client, value):
    rid = run_id(client)
    body = {"run_id": rid, "key": "m", "value": 1, "timestamp": value}
    message = error(post(client, "/runs/log-metric", body), 400, "INVALID_PARAMETER_VALUE")
    assert "parameter 'timestamp'" in message


@pytest.mark.parametrize("view", ["ALL", 3, "3"])
def test_enum_names_or_numbers(client, view):
    body = {"max_results": 10, "view_type": view}
    ok(post(client, "/experiments/search", body))


def test_bad_enum(client):
    body = {"max_results": 10, "view_type": "SOME"}
    error(post(client, "/experiments/search", body), 400, "INVALID_PARAMETER_VALUE")


def test_get_repeated_keys_make_lists(client):
    rid = run_id(client)
    params = [("run_ids", rid), ("run_ids", rid), ("metric_key", "m")]
    ok(client.get(API + "/metrics/get-history-bulk-interval", params=params))


@pytest.mark.parametrize("literal,status", [("true", 200), ("FALSE", 200), ("yes", 400)])
def test_bool_literals_in_query(literal, status):
    from trackline_server.protocol import Field, parse_message

    fields = (Field("flag", "bool"),)
    if status == 200:
        assert parse_message(fields, {"flag": [literal]}, query=True)["flag"] is (
            literal.lower() == "true"
        )
    else:
        with pytest.raises(Exception, match="Invalid value"):
            parse_message(fields, {"flag": [literal]}, query=True)


def test_get_without_query_reads_json_body(client):
    response = client.request(
        "GET",
        API + "/experiments/get",
        content=b'{"experiment_id": "0"}',
        headers={"content-type": "application/json"},
    )
    assert ok(response)["experiment"]["experiment_id"] == "0"


def test_get_missing_parameter(client):
    message = error(client.get(API + "/experiments/get"), 400, "INVALID_PARAMETER_VALUE")
    assert message == MISSING.format("experiment_id")


def test_body_too_large_is_413(make_client):
    client = make_client(max_request_body=100)
    response = post(client, "/experiments/create", {"name": "x" * 200})
    assert response.status_code == 413
    assert "too large" in response.json()["message"]


def test_responses_omit_unset_fields_and_use_numbers(client):
    run = ok(post(client, "/runs/create", {"experiment_id": "0", "start_time": "123"}))["run"]
    assert run["info"]["start_time"] == 123
    assert "end_time" not in run["info"]
    assert (
        ok(post(client, "/experiments/set-experiment-tag", {"experiment_id": "0", "key": "k"}))
        == {}
    )


# -- the fast path for lists of plain messages ---------------------------------------------------

PLAIN_AND_ODD_METRICS = [
    {"key": "a", "value": 1.5, "timestamp": 10, "step": 2},
    {"key": "a", "value": 3, "timestamp": 10},  # an integer value becomes a double
    {"key": "a", "value": 1.5, "timestamp": 10, "step": 0, "extra": [1]},  # ignored field
    {"key": "a", "value": 1.5, "timestamp": 10, "dataset_name": "d", "model_id": ""},
    {"key": "a", "value": "NaN", "timestamp": "10", "step": "-3"},  # strings: full rules
    {"key": "a", "value": 1.0, "timestamp": 10, "runId": "r"},  # camelCase: full rules
    {"key": "a", "value": 1.0, "timestamp": 2**63 - 1, "step": -(2**63)},
]


@pytest.mark.parametrize("metric", PLAIN_AND_ODD_METRICS)
def test_metric_lists_parse_as_single_messages(metric):
    from trackline_server.protocol import MESSAGES, Field, parse_message

    batch = parse_message((Field("metrics", "Metric", repeated=True),), {"metrics": [metric]})
    single = parse_message(MESSAGES["Metric"], metric, prefix="metrics[0].")
    assert batch == {"metrics": [single]}
    assert [type(v) for v in batch["metrics"][0].values()] == [type(v) for v in single.values()]


@pytest.mark.parametrize(
    ("metric", "message"),
    [
        ({"value": 1.0, "timestamp": 1}, MISSING.format("metrics[1].key")),
        ({"key": "", "value": 1.0, "timestamp": 1}, MISSING.format("metrics[1].key")),
        ({"key": "k", "value": True, "timestamp": 1}, "Invalid value true for parameter"),
        ({"key": "k", "value": 1.0, "timestamp": 2**63}, "Invalid value"),
        ({"key": "k", "value": 1.0, "timestamp": 1.5}, "Invalid value 1.5 for parameter"),
        (
            {"key": 5, "value": 1.0, "timestamp": 1},
            "Invalid value 5 for parameter 'metrics[1].key'",
        ),
    ],
)
def test_bad_metric_in_a_batch_is_named(client, metric, message):
    good = {"key": "k", "value": 1.0, "timestamp": 1}
    body = {"run_id": run_id(client), "metrics": [good, metric, good]}
    assert message in error(post(client, "/runs/log-batch", body), 400, "INVALID_PARAMETER_VALUE")
