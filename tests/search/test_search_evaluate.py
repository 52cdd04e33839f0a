"""Unit tests of the reference evaluator: matching and sorting with MLflow's semantics."""

from __future__ import annotations

import math

import pytest
from trackline.entities import (
    Dataset,
    DatasetInput,
    Experiment,
    InputTag,
    Metric,
    Param,
    Run,
    RunData,
    RunInfo,
    RunInputs,
    RunTag,
)
from trackline.search import (
    experiment_matches,
    parse_experiment_filter,
    parse_experiment_order_by,
    parse_run_filter,
    parse_run_order_by,
    run_matches,
    sort_experiments,
    sort_runs,
)


def make_run(
    run_id: str,
    *,
    metrics: dict[str, float] | None = None,
    params: dict[str, str] | None = None,
    tags: dict[str, str] | None = None,
    datasets: list[tuple[str, str, str | None]] = (),
    start_time: int | None = 100,
    end_time: int | None = None,
    status: str = "FINISHED",
    run_name: str = "",
    user_id: str = "alice",
    artifact_uri: str = "file:///tmp/a",
) -> Run:
    info = RunInfo(
        run_id=run_id,
        experiment_id="0",
        run_name=run_name,
        user_id=user_id,
        status=status,
        start_time=start_time,
        end_time=end_time,
        artifact_uri=artifact_uri,
    )
    data = RunData(
        tuple(Metric(k, v, timestamp=0) for k, v in (metrics or {}).items()),
        tuple(Param(k, v) for k, v in (params or {}).items()),
        tuple(RunTag(k, v) for k, v in (tags or {}).items()),
    )
    inputs = RunInputs(
        tuple(
            DatasetInput(
                Dataset(name, digest, "local", "file:///d"),
                (InputTag("mlflow.data.context", context),) if context is not None else (),
            )
            for name, digest, context in datasets
        )
    )
    return Run(info, data, inputs)


def matches(filter_string: str, run: Run) -> bool:
    return run_matches(parse_run_filter(filter_string), run)


RUN = make_run(
    "r1",
    metrics={"acc": 0.9, "loss": 0.25, "zero": 0.0},
    params={"model": "CNN", "lr": "0.01", "empty": "", "pat": "a.b*c"},
    tags={"mlflow.runName": "tagged", "team": "Vision", "my tag": "x"},
    datasets=[("mnist", "d1", "training"), ("cifar", "d2", "eval"), ("nocontext", "d3", None)],
    start_time=1000,
    end_time=2000,
    status="FINISHED",
    run_name="bright-owl",
)


# --------------------------------------------------------------------------------------------
# Matching
# --------------------------------------------------------------------------------------------


def test_no_filter_matches_everything():
    assert run_matches(None, RUN)
    assert experiment_matches(None, Experiment("1", "e"))


@pytest.mark.parametrize(
    ("filter_string", "expected"),
    [
        ("metrics.acc = 0.9", True),
        ("metrics.acc != 0.9", False),
        ("metrics.acc > 0.8", True),
        ("metrics.acc > 0.9", False),
        ("metrics.acc >= 0.9", True),
        ("metrics.acc < 1", True),
        ("metrics.acc <= 0.89", False),
        ("metrics.zero = 0", True),
        ("metrics.loss < -1e3", False),
        # a missing metric fails every comparison, != included
        ("metrics.missing != 1", False),
        ("metrics.missing < 1e300", False),
        ("metrics.missing = 0", False),
    ],
)
def test_metric_comparisons(filter_string, expected):
    assert matches(filter_string, RUN) is expected


def test_metric_uses_latest_value():
    run = Run(
        RunInfo("r", "0"),
        RunData(metric_list=(Metric("acc", 0.5, timestamp=1, step=3),)),
    )
    assert matches("metrics.acc = 0.5", run)


@pytest.mark.parametrize(
    ("filter_string", "expected"),
    [
        ("params.model = 'CNN'", True),
        ("params.model = 'cnn'", False),  # = is case-sensitive
        ("params.model != 'cnn'", True),
        ("params.model != 'CNN'", False),
        ("params.lr = '0.01'", True),
        ("params.empty = ''", True),
        ("params.model LIKE 'C%'", True),
        ("params.model LIKE 'c%'", False),  # LIKE is case-sensitive
        ("params.model ILIKE 'c%'", True),
        ("params.model ILIKE '%N'", True),
        ("params.model LIKE 'C_N'", True),
        ("params.model LIKE 'C_'", False),  # _ is exactly one character
        ("params.model LIKE 'CNN%'", True),  # % may be empty
        ("params.model LIKE '%'", True),
        ("params.pat LIKE 'a.b*c'", True),  # regex characters are literal
        ("params.pat LIKE 'aXb*c'", False),
        ("params.pat LIKE 'a.b%'", True),
        ("params.empty LIKE '%'", True),
        ("params.empty LIKE '_'", False),
        ("params.model IN ('RNN', 'CNN')", True),
        ("params.model IN ('RNN')", False),
        ("params.model NOT IN ('RNN')", True),
        ("params.model NOT IN ('CNN', 'RNN')", False),
        ("params.model IS NULL", False),
        ("params.model IS NOT NULL", True),
        ("params.missing IS NULL", True),
        ("params.missing IS NOT NULL", False),
        # SQL semantics: a missing key fails !=, NOT IN, LIKE...
        ("params.missing != 'x'", False),
        ("params.missing NOT IN ('x')", False),
        ("params.missing LIKE '%'", False),
        ("params.missing = ''", False),
    ],
)
def test_param_comparisons(filter_string, expected):
    assert matches(filter_string, RUN) is expected


@pytest.mark.parametrize(
    ("filter_string", "expected"),
    [
        ("tags.team = 'Vision'", True),
        ("tags.team ILIKE 'vision'", True),
        ("tags.team LIKE 'vision'", False),
        ("tags.`my tag` = 'x'", True),
        ("tags.mlflow.runName = 'tagged'", True),
        ("tags.other IS NULL", True),
        ("tags.other != 'x'", False),
        ("tags.team NOT IN ('NLP')", True),
    ],
)
def test_tag_comparisons(filter_string, expected):
    assert matches(filter_string, RUN) is expected


def test_like_is_multiline_and_escapes_nothing():
    run = make_run("r", params={"text": "line1\nline2", "pct": "50%"})
    assert matches("params.text LIKE 'line1%line2'", run)
    assert matches("params.text LIKE 'line1_line2'", run)
    assert matches("params.pct LIKE '50%'", run)
    assert matches("params.pct LIKE '%\\%'", run) is False  # no escape char: '\' is literal


@pytest.mark.parametrize(
    ("filter_string", "expected"),
    [
        ("attributes.status = 'FINISHED'", True),
        ("status != 'FINISHED'", False),
        ("status IN ('RUNNING', 'FINISHED')", True),
        ("status NOT IN ('FINISHED')", False),
        ("run_id = 'r1'", True),
        ("run_id IN ('r2', 'r3')", False),
        ("run_name = 'bright-owl'", True),
        ("`Run name` LIKE 'bright%'", True),
        ("user_id = 'alice'", True),
        ("user_id ILIKE 'ALICE'", True),
        ("artifact_uri LIKE 'file://%'", True),
        ("start_time = 1000", True),
        ("created > 999", True),
        ("start_time < 1000", False),
        ("end_time >= 2000", True),
        ("end_time > 2000", False),
    ],
)
def test_attribute_comparisons(filter_string, expected):
    assert matches(filter_string, RUN) is expected


def test_missing_end_time_fails_every_comparison():
    run = make_run("r", end_time=None)
    assert not matches("end_time > 0", run)
    assert not matches("end_time != 5", run)


def test_empty_run_name_is_a_value():
    run = make_run("r", run_name="")
    assert matches("run_name = ''", run)
    assert not matches("run_name != ''", run)


@pytest.mark.parametrize(
    ("filter_string", "expected"),
    [
        ("datasets.name = 'mnist'", True),
        ("datasets.name = 'cifar'", True),  # any dataset may satisfy the comparison
        ("datasets.name = 'imagenet'", False),
        ("datasets.name != 'mnist'", True),  # cifar is not mnist
        ("datasets.name IN ('imagenet', 'cifar')", True),
        ("datasets.name NOT IN ('mnist', 'cifar', 'nocontext')", False),
        ("datasets.digest = 'd2'", True),
        ("datasets.digest LIKE 'd%'", True),
        ("datasets.context = 'training'", True),
        ("datasets.context ILIKE 'EVAL'", True),
        ("datasets.context = 'test'", False),
        # datasets without a context tag never satisfy a context comparison
        ("datasets.context NOT IN ('training', 'eval')", False),
    ],
)
def test_dataset_comparisons(filter_string, expected):
    assert matches(filter_string, RUN) is expected


def test_dataset_comparison_on_run_without_datasets():
    run = make_run("r")
    assert not matches("datasets.name = 'mnist'", run)
    assert not matches("datasets.name != 'mnist'", run)
    assert not matches("datasets.name NOT IN ('mnist')", run)


def test_separate_dataset_comparisons_may_match_different_datasets():
    # MLflow checks each comparison on its own, not "one dataset satisfying both".
    assert matches("datasets.name = 'mnist' AND datasets.context = 'eval'", RUN)


@pytest.mark.parametrize(
    ("filter_string", "expected"),
    [
        ("metrics.acc > 0.5 AND params.model = 'CNN'", True),
        ("metrics.acc > 0.5 AND params.model = 'RNN'", False),
        ("metrics.acc > 0.95 OR params.model = 'CNN'", True),
        ("metrics.acc > 0.95 OR params.model = 'RNN'", False),
        ("metrics.acc > 0.95 OR params.model = 'CNN' AND tags.team = 'NLP'", False),
        ("(metrics.acc > 0.95 OR params.model = 'CNN') AND tags.team = 'Vision'", True),
        ("metrics.acc > 0.95 AND params.model = 'CNN' OR tags.team = 'Vision'", True),
        ("metrics.acc > 0.95 AND (params.model = 'CNN' OR tags.team = 'Vision')", False),
    ],
)
def test_and_or(filter_string, expected):
    assert matches(filter_string, RUN) is expected


def test_filter_selects_runs():
    runs = [
        make_run("a", metrics={"acc": 0.5}, params={"model": "cnn"}),
        make_run("b", metrics={"acc": 0.95}, params={"model": "rnn"}),
        make_run("c", params={"model": "cnn"}),
        make_run("d", metrics={"acc": 0.99}),
    ]
    node = parse_run_filter("metrics.acc > 0.9 OR params.model = 'cnn'")
    assert [r.info.run_id for r in runs if run_matches(node, r)] == ["a", "b", "c", "d"]
    node = parse_run_filter("metrics.acc > 0.9 AND params.model != 'cnn'")
    assert [r.info.run_id for r in runs if run_matches(node, r)] == ["b"]


EXPERIMENT = Experiment(
    "12", "vision-exp", tags={"team": "Vision"}, creation_time=100, last_update_time=200
)


@pytest.mark.parametrize(
    ("filter_string", "expected"),
    [
        ("name = 'vision-exp'", True),
        ("name LIKE 'vision%'", True),
        ("name LIKE 'Vision%'", False),
        ("name ILIKE 'VISION%'", True),
        ("name != 'vision-exp'", False),
        ("experiment_id = '12'", True),
        ("experiment_id IN ('1', '12')", True),
        ("experiment_id NOT IN ('12')", False),
        ("creation_time = 100", True),
        ("creation_time > 100", False),
        ("last_update_time >= 200", True),
        ("tags.team = 'Vision'", True),
        ("tags.team IS NOT NULL", True),
        ("tags.owner IS NULL", True),
        ("tags.owner != 'bob'", False),
        ("name = 'x' OR tags.team = 'Vision'", True),
        ("(name = 'x' OR tags.team = 'Vision') AND creation_time < 50", False),
    ],
)
def test_experiment_matches(filter_string, expected):
    assert experiment_matches(parse_experiment_filter(filter_string), EXPERIMENT) is expected


def test_experiment_without_times_fails_time_comparisons():
    experiment = Experiment("1", "e")
    assert not experiment_matches(parse_experiment_filter("creation_time > 0"), experiment)
    assert not experiment_matches(parse_experiment_filter("creation_time != 0"), experiment)


# --------------------------------------------------------------------------------------------
# Sorting runs
# --------------------------------------------------------------------------------------------


def ids(runs: list[Run]) -> list[str]:
    return [r.info.run_id for r in runs]


def sort(runs: list[Run], *clauses: str) -> list[str]:
    return ids(sort_runs(runs, parse_run_order_by(list(clauses))))


def test_default_order_is_start_time_desc_then_run_id():
    runs = [
        make_run("b", start_time=10),
        make_run("c", start_time=30),
        make_run("a", start_time=10),
        make_run("d", start_time=20),
    ]
    assert sort(runs) == ["c", "d", "a", "b"]
    assert ids(sort_runs(runs)) == ["c", "d", "a", "b"]


def test_missing_start_time_sorts_last_by_default():
    runs = [make_run("a", start_time=None), make_run("b", start_time=1)]
    assert sort(runs) == ["b", "a"]


METRIC_RUNS = [
    make_run("nan", metrics={"m": math.nan}, start_time=1),
    make_run("low", metrics={"m": 1.0}, start_time=2),
    make_run("none", metrics={}, start_time=3),
    make_run("high", metrics={"m": 5.0}, start_time=4),
    make_run("mid", metrics={"m": 3.0}, start_time=5),
    make_run("neg", metrics={"m": -2.0}, start_time=6),
]


def test_metric_order_ascending_nan_then_missing_last():
    assert sort(METRIC_RUNS, "metrics.m") == ["neg", "low", "mid", "high", "nan", "none"]
    assert sort(METRIC_RUNS, "metrics.m ASC") == ["neg", "low", "mid", "high", "nan", "none"]


def test_metric_order_descending_nan_then_missing_still_last():
    assert sort(METRIC_RUNS, "metrics.m DESC") == ["high", "mid", "low", "neg", "nan", "none"]


def test_ties_fall_back_to_default_order():
    runs = [
        make_run("b", metrics={"m": 1}, start_time=5),
        make_run("a", metrics={"m": 1}, start_time=5),
        make_run("c", metrics={"m": 1}, start_time=9),
        make_run("d", metrics={"m": 0}, start_time=1),
    ]
    assert sort(runs, "metrics.m DESC") == ["c", "a", "b", "d"]


def test_missing_values_keep_default_order_among_themselves():
    runs = [
        make_run("x", start_time=1),
        make_run("y", start_time=3),
        make_run("z", params={"p": "a"}, start_time=2),
    ]
    assert sort(runs, "params.p DESC") == ["z", "y", "x"]
    assert sort(runs, "params.p") == ["z", "y", "x"]


def test_multiple_order_by_keys():
    runs = [
        make_run("a", params={"model": "cnn"}, metrics={"acc": 0.5}),
        make_run("b", params={"model": "rnn"}, metrics={"acc": 0.9}),
        make_run("c", params={"model": "cnn"}, metrics={"acc": 0.7}),
        make_run("d", params={"model": "rnn"}, metrics={"acc": 0.1}),
        make_run("e", metrics={"acc": 1.0}),
    ]
    assert sort(runs, "params.model", "metrics.acc DESC") == ["c", "a", "b", "d", "e"]
    assert sort(runs, "params.model DESC", "metrics.acc") == ["d", "b", "a", "c", "e"]


def test_order_by_string_attributes_and_tags():
    runs = [
        make_run("r1", run_name="beta", tags={"t": "2"}, status="RUNNING"),
        make_run("r2", run_name="alpha", tags={"t": "10"}, status="FAILED"),
        make_run("r3", run_name="gamma", status="FINISHED"),
    ]
    assert sort(runs, "run_name") == ["r2", "r1", "r3"]
    assert sort(runs, "`Run name` DESC") == ["r3", "r1", "r2"]
    assert sort(runs, "tags.t") == ["r2", "r1", "r3"]  # strings sort as strings
    assert sort(runs, "status") == ["r2", "r3", "r1"]
    assert sort(runs, "run_id DESC") == ["r3", "r2", "r1"]


def test_order_by_end_time_puts_unfinished_runs_last():
    runs = [
        make_run("a", end_time=None),
        make_run("b", end_time=5),
        make_run("c", end_time=9),
    ]
    assert sort(runs, "end_time") == ["b", "c", "a"]
    assert sort(runs, "end_time DESC") == ["c", "b", "a"]


def test_sort_runs_does_not_modify_input():
    runs = [make_run("b", start_time=1), make_run("a", start_time=2)]
    before = list(runs)
    sort_runs(runs, [])
    assert runs == before


# --------------------------------------------------------------------------------------------
# Sorting experiments
# --------------------------------------------------------------------------------------------


EXPERIMENTS = [
    Experiment("2", "beta", creation_time=10),
    Experiment("10", "alpha", creation_time=30),
    Experiment("1", "gamma", creation_time=10),
    Experiment("3", "delta", creation_time=None),
    Experiment("0", "Default", creation_time=20),
]


def sort_exp(*clauses: str) -> list[str]:
    ordered = sort_experiments(EXPERIMENTS, parse_experiment_order_by(list(clauses)))
    return [e.experiment_id for e in ordered]


def test_default_experiment_order():
    assert sort_exp() == ["10", "0", "1", "2", "3"]
    assert [e.experiment_id for e in sort_experiments(EXPERIMENTS)] == ["10", "0", "1", "2", "3"]


def test_experiment_order_by_name():
    assert sort_exp("name") == ["0", "10", "2", "3", "1"]  # "Default" < "alpha": case-sensitive
    assert sort_exp("name DESC") == ["1", "3", "2", "10", "0"]


def test_experiment_order_by_id_is_numeric():
    assert sort_exp("experiment_id") == ["0", "1", "2", "3", "10"]
    assert sort_exp("experiment_id DESC") == ["10", "3", "2", "1", "0"]


def test_experiment_order_ties_broken_by_id():
    assert sort_exp("creation_time") == ["1", "2", "0", "10", "3"]
    assert sort_exp("creation_time DESC") == ["10", "0", "1", "2", "3"]


def test_experiment_order_by_last_update_time_missing_last():
    experiments = [
        Experiment("1", "a", last_update_time=None),
        Experiment("2", "b", last_update_time=7),
        Experiment("3", "c", last_update_time=3),
    ]
    order = parse_experiment_order_by(["last_update_time DESC"])
    assert [e.experiment_id for e in sort_experiments(experiments, order)] == ["2", "3", "1"]
    order = parse_experiment_order_by(["last_update_time"])
    assert [e.experiment_id for e in sort_experiments(experiments, order)] == ["3", "2", "1"]


def test_non_numeric_experiment_ids_sort_after_numeric_ones():
    experiments = [Experiment("b", "x"), Experiment("5", "y"), Experiment("a", "z")]
    order = parse_experiment_order_by(["experiment_id"])
    assert [e.experiment_id for e in sort_experiments(experiments, order)] == ["5", "a", "b"]
