"""scikit-learn autologging: real estimators on tiny data, logged into a SQLite store."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_diabetes, load_iris
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier


@pytest.fixture(autouse=True)
def _autologging_off_after_each_test():
    yield
    from trackline.autologging import _reset_for_tests

    _reset_for_tests()


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True, as_frame=True)
    return X, y


def _runs(trackline):
    from trackline.tracking import fluent

    return fluent._client().search_runs(["0"], order_by=["attributes.start_time ASC"])


def _artifacts(trackline, run_id):
    from trackline.tracking import fluent

    return {f.path for f in fluent._client().list_artifacts(run_id)}


def test_a_classifier_logs_params_metrics_tags_and_a_loadable_model(sqlite_tracking, iris):
    trackline = sqlite_tracking
    X, y = iris
    trackline.sklearn.autolog(log_input_examples=True)

    model = LogisticRegression(C=0.5, max_iter=300).fit(X, y)

    (run,) = _runs(trackline)
    assert run.info.status == "FINISHED"
    assert run.data.tags["mlflow.autologging"] == "sklearn"
    assert run.data.tags["estimator_name"] == "LogisticRegression"
    assert run.data.tags["estimator_class"] == "sklearn.linear_model._logistic.LogisticRegression"
    assert run.data.params["C"] == "0.5"
    assert run.data.params["max_iter"] == "300"
    assert set(run.data.params) == set(model.get_params(deep=True))
    from sklearn import metrics as m

    predicted = model.predict(X)
    expected = {
        "training_score": model.score(X, y),
        "training_accuracy_score": m.accuracy_score(y, predicted),
        "training_precision_score": m.precision_score(y, predicted, average="weighted"),
        "training_recall_score": m.recall_score(y, predicted, average="weighted"),
        "training_f1_score": m.f1_score(y, predicted, average="weighted"),
        "training_log_loss": m.log_loss(y, model.predict_proba(X)),
        "training_roc_auc": m.roc_auc_score(
            y, model.predict_proba(X), multi_class="ovr", average="weighted"
        ),
    }
    assert run.data.metrics == pytest.approx(expected)
    assert {"estimator.html", "training_confusion_matrix.png"} <= _artifacts(
        trackline, run.info.run_id
    )

    # The model: a logged model of the run, cloudpickle as MLflow's autolog writes it.
    logged = trackline.last_logged_model()
    assert logged.name == "model" and logged.source_run_id == run.info.run_id
    pyfunc_model = trackline.pyfunc.load_model(f"models:/{logged.model_id}")
    assert list(pyfunc_model.predict(X.iloc[:4])) == list(predicted[:4])
    meta = pyfunc_model.metadata
    assert meta.flavors["sklearn"]["serialization_format"] == "cloudpickle"
    assert [c["name"] for c in json.loads(meta.to_dict()["signature"]["inputs"])] == list(X.columns)
    assert meta.saved_input_example_info["type"] == "dataframe"


def test_the_training_dataset_is_recorded(sqlite_tracking, iris):
    trackline = sqlite_tracking
    X, y = iris
    trackline.sklearn.autolog(log_models=False)
    DecisionTreeClassifier(max_depth=2).fit(X, y)
    (run,) = _runs(trackline)
    (dataset_input,) = run.inputs.dataset_inputs
    dataset = dataset_input.dataset
    assert [t.value for t in dataset_input.tags if t.key == "mlflow.data.context"] == ["train"]
    assert len(dataset.digest) == 8
    assert [c["name"] for c in json.loads(dataset.schema)["mlflow_colspec"]] == list(X.columns)
    assert json.loads(dataset.profile)["num_rows"] == 150
    assert dataset.source_type == "code"


def test_a_regressor_logs_regression_metrics(sqlite_tracking):
    trackline = sqlite_tracking
    X, y = load_diabetes(return_X_y=True)
    trackline.sklearn.autolog(log_models=False, log_datasets=False)
    model = LinearRegression().fit(X[:80], y[:80])
    (run,) = _runs(trackline)
    from sklearn import metrics as m

    predicted = model.predict(X[:80])
    mse = m.mean_squared_error(y[:80], predicted)
    assert run.data.metrics == pytest.approx(
        {
            "training_score": model.score(X[:80], y[:80]),
            "training_mean_squared_error": mse,
            "training_root_mean_squared_error": np.sqrt(mse),
            "training_mean_absolute_error": m.mean_absolute_error(y[:80], predicted),
            "training_r2_score": m.r2_score(y[:80], predicted),
        }
    )
    assert not run.inputs.dataset_inputs


def test_binary_metrics_use_the_positive_class(sqlite_tracking, iris):
    trackline = sqlite_tracking
    X, y = iris
    mask = y < 2
    trackline.sklearn.autolog(log_models=False)
    model = LogisticRegression().fit(X[mask], y[mask])
    (run,) = _runs(trackline)
    from sklearn import metrics as m

    proba = model.predict_proba(X[mask])[:, 1]
    assert {"training_roc_curve.png", "training_precision_recall_curve.png"} <= _artifacts(
        trackline, run.info.run_id
    )
    assert run.data.metrics["training_roc_auc"] == pytest.approx(m.roc_auc_score(y[mask], proba))
    assert run.data.metrics["training_f1_score"] == pytest.approx(
        m.f1_score(y[mask], model.predict(X[mask]))
    )


def test_a_pipeline_logs_once_with_the_params_of_its_steps(sqlite_tracking, iris):
    trackline = sqlite_tracking
    X, y = iris
    trackline.sklearn.autolog(log_models=False)
    Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression())]).fit(X, y)
    (run,) = _runs(trackline)  # the steps' own fit calls logged nothing
    assert run.data.tags["estimator_name"] == "Pipeline"
    assert run.data.params["clf__C"] == "1.0"
    assert run.data.params["scale__with_mean"] == "True"
    assert "training_accuracy_score" in run.data.metrics


def test_a_parameter_search_logs_best_params_and_child_runs(sqlite_tracking, iris):
    trackline = sqlite_tracking
    X, y = iris
    trackline.sklearn.autolog(max_tuning_runs=2)
    search = GridSearchCV(
        DecisionTreeClassifier(random_state=0), {"max_depth": [1, 2, 3]}, cv=3
    ).fit(X, y)

    runs = _runs(trackline)
    (parent,) = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert parent.data.tags["estimator_name"] == "GridSearchCV"
    assert parent.data.params["best_max_depth"] == str(search.best_params_["max_depth"])
    assert parent.data.params["estimator"] == "DecisionTreeClassifier(random_state=0)"
    assert "estimator__max_depth" not in parent.data.params  # not deep, as MLflow
    assert parent.data.metrics["best_cv_score"] == pytest.approx(search.best_score_)
    assert "cv_results.csv" in _artifacts(trackline, parent.info.run_id)

    assert len(children) == 2  # max_tuning_runs: the two best candidates
    ranks = search.cv_results_["rank_test_score"]
    best_two = sorted(range(3), key=lambda i: (ranks[i], i))[:2]
    assert sorted(c.data.params["max_depth"] for c in children) == sorted(
        str(search.cv_results_["params"][i]["max_depth"]) for i in best_two
    )
    for child in children:
        assert child.data.tags["estimator_name"] == "DecisionTreeClassifier"
        assert child.info.status == "FINISHED"
        assert "mean_test_score" in child.data.metrics
        assert "rank_test_score" in child.data.metrics
        assert not any(k.startswith("split") for k in child.data.metrics)

    names = {m.name for m in trackline.search_logged_models(output_format="list")}
    assert names == {"model", "best_estimator"}


def test_the_active_run_is_used(sqlite_tracking, iris):
    trackline = sqlite_tracking
    X, y = iris
    trackline.sklearn.autolog(log_models=False)
    with trackline.start_run() as run:
        DecisionTreeClassifier().fit(X, y)
        assert trackline.active_run().info.run_id == run.info.run_id
    (logged,) = _runs(trackline)
    assert logged.info.run_id == run.info.run_id
    assert logged.data.tags["estimator_name"] == "DecisionTreeClassifier"


def test_blanket_autolog_enables_sklearn_with_per_library_options(sqlite_tracking, iris):
    trackline = sqlite_tracking
    X, y = iris
    trackline.autolog(log_models=False, sklearn={"max_tuning_runs": 1})
    GridSearchCV(DecisionTreeClassifier(), {"max_depth": [1, 2]}, cv=2).fit(X, y)
    runs = _runs(trackline)
    assert len(runs) == 2  # parent + max_tuning_runs=1 child
    assert trackline.search_logged_models(output_format="list") == []


class _Unpicklable(LogisticRegression):
    """An estimator that cannot be pickled (it holds a lock)."""

    def fit(self, X, y):
        import threading

        self.lock_ = threading.Lock()
        return super().fit(X, y)


def test_a_model_that_cannot_be_pickled_gives_one_warning(sqlite_tracking, iris):
    trackline = sqlite_tracking
    X, y = iris
    trackline.sklearn.autolog()
    from trackline.autologging import AutologgingWarning

    with pytest.warns(AutologgingWarning, match="logging the model") as caught:
        model = _Unpicklable(max_iter=300).fit(X, y)
    assert len([w for w in caught if issubclass(w.category, AutologgingWarning)]) == 1
    assert hasattr(model, "coef_")  # trained and returned as usual
    (run,) = _runs(trackline)
    assert run.info.status == "FINISHED"
    assert "training_accuracy_score" in run.data.metrics


def _with_keyword(X, k):
    return X


def test_a_param_too_long_is_truncated_with_one_warning(sqlite_tracking, iris):
    trackline = sqlite_tracking
    X, y = iris
    trackline.sklearn.autolog(log_models=False)
    from sklearn.preprocessing import FunctionTransformer
    from trackline.autologging import AutologgingWarning

    long_value = {"k": "x" * 7000}
    with pytest.warns(AutologgingWarning, match="'kw_args' was truncated to 6000") as caught:
        FunctionTransformer(func=_with_keyword, kw_args=long_value).fit_transform(np.ones((3, 2)))
    assert len(caught) == 1
    (run,) = _runs(trackline)
    assert len(run.data.params["kw_args"]) == 6000


def test_the_users_error_propagates_and_the_run_fails(sqlite_tracking):
    trackline = sqlite_tracking
    trackline.sklearn.autolog()
    with pytest.raises(ValueError, match="Found input variables with inconsistent numbers"):
        LogisticRegression().fit(np.ones((4, 2)), [0, 1])
    (run,) = _runs(trackline)
    assert run.info.status == "FAILED"


def test_disable_restores_the_estimators(sqlite_tracking, iris):
    trackline = sqlite_tracking
    X, y = iris
    original = LogisticRegression.__dict__["fit"]
    trackline.sklearn.autolog()
    assert LogisticRegression.__dict__["fit"] is not original
    trackline.sklearn.autolog(disable=True)
    assert LogisticRegression.__dict__["fit"] is original
    # Pipeline.fit_predict is an available_if descriptor: restored as the same object.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        LogisticRegression(max_iter=300).fit(X, y)
    assert _runs(trackline) == []


def test_bad_options_are_refused(sqlite_tracking):
    trackline = sqlite_tracking
    from trackline.exceptions import TracklineException

    original = LogisticRegression.__dict__["fit"]
    with pytest.raises(TracklineException, match="serialization_format 'json'"):
        trackline.sklearn.autolog(serialization_format="json")
    with pytest.raises(TracklineException, match="max_tuning_runs must be None or an integer"):
        trackline.sklearn.autolog(max_tuning_runs=-1)
    assert LogisticRegression.__dict__["fit"] is original


def test_pandas_and_dataframe_frames_keep_working_after_disable(sqlite_tracking):
    trackline = sqlite_tracking
    trackline.sklearn.autolog(log_models=False)
    frame = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0], "b": [1.0, 0.0, 1.0, 0.0]})
    transformed = StandardScaler().fit_transform(frame)
    assert transformed.shape == (4, 2)
    (run,) = _runs(trackline)
    assert run.data.tags["estimator_name"] == "StandardScaler"


def test_autolog_before_importing_sklearn_in_a_fresh_interpreter(tmp_path):
    """The real import hook: sklearn is imported by the user after autolog(), never by it."""
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent(
        f"""
        import sys
        import trackline
        trackline.set_tracking_uri("sqlite:///{tmp_path / "fresh.db"}")
        trackline.autolog(log_models=False)
        assert "sklearn" not in sys.modules, "autolog() imported sklearn"
        from sklearn.datasets import load_iris
        from sklearn.tree import DecisionTreeClassifier
        X, y = load_iris(return_X_y=True)
        DecisionTreeClassifier(max_depth=2).fit(X, y)
        run = trackline.last_active_run()
        print(run.data.tags["mlflow.autologging"], run.data.params["max_depth"],
              sorted(run.data.metrics)[0])
        """
    )
    env = {
        **__import__("os").environ,
        "TRACKLINE_DEFAULT_ARTIFACT_ROOT": str(tmp_path / "artifacts"),
    }
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["sklearn", "2", "training_accuracy_score"]


def test_post_training_metrics_on_predictions_of_an_autologged_model(sqlite_tracking, iris):
    trackline = sqlite_tracking
    X, y = iris
    trackline.sklearn.autolog(log_models=False)
    import sklearn.metrics

    X_train, X_test, y_train, y_test = X.iloc[::2], X.iloc[1::2], y.iloc[::2], y.iloc[1::2]
    model = LogisticRegression(max_iter=300).fit(X_train, y_train)
    predictions = model.predict(X_test)
    first = sklearn.metrics.accuracy_score(y_test, predictions)
    second = sklearn.metrics.accuracy_score(y_test, predictions)
    f1 = sklearn.metrics.f1_score(y_test, y_pred=predictions, average="macro")
    score = model.score(X_test, y_test)
    unrelated = sklearn.metrics.accuracy_score(y_test, y_test)  # not a model's prediction

    (run,) = _runs(trackline)
    metrics = run.data.metrics
    assert metrics["accuracy_score_X_test"] == pytest.approx(first)
    assert metrics["accuracy_score-2_X_test"] == pytest.approx(second)
    assert metrics["f1_score_X_test"] == pytest.approx(f1)
    assert metrics["LogisticRegression_score_X_test"] == pytest.approx(score)
    assert unrelated == 1.0 and not any(k.startswith("accuracy_score-3") for k in metrics)
    assert "training_accuracy_score" in metrics  # score() inside fit logged no post metric
    assert not any(k.endswith("_X_train") for k in metrics)
    info = json.loads(trackline.artifacts.load_text(run.info.artifact_uri + "/metric_info.json"))
    assert set(info) == {
        "accuracy_score_X_test",
        "accuracy_score-2_X_test",
        "f1_score_X_test",
        "LogisticRegression_score_X_test",
    }


def test_post_training_metrics_can_be_turned_off(sqlite_tracking, iris):
    trackline = sqlite_tracking
    X, y = iris
    trackline.sklearn.autolog(log_models=False, log_post_training_metrics=False)
    import sklearn.metrics

    model = LogisticRegression(max_iter=300).fit(X, y)
    sklearn.metrics.accuracy_score(y, model.predict(X))
    (run,) = _runs(trackline)
    assert not any(k.startswith("accuracy_score") for k in run.data.metrics)
