"""The same training under MLflow 3.17's sklearn autolog and trackline's: same names, values.

MLflow runs from benchmarks/.venv-mlflow in a subprocess (with scikit-learn there).
"""

from __future__ import annotations

import pytest
from trackline.testing.mlflow_reference import logged_by, requires_mlflow

pytestmark = requires_mlflow()

# One script for both: ``lib`` is ``mlflow`` or ``trackline``; it prints what was logged.
SCRIPT = """
import json, sys, warnings
warnings.filterwarnings("ignore")
import {lib} as tracking
tracking.set_tracking_uri("sqlite:///{db}")
client = tracking.MlflowClient()
tracking.sklearn.autolog(log_models=False, log_datasets=False)
import sklearn.metrics
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.tree import DecisionTreeClassifier

def describe(run_id):
    run = client.get_run(run_id)
    return {{
        "params": run.data.params,
        "metrics": run.data.metrics,
        "tags": {{k: v for k, v in run.data.tags.items()
                 if k in ("mlflow.autologging", "estimator_name", "estimator_class")}},
        "artifacts": sorted(f.path for f in client.list_artifacts(run_id)),
    }}

X, y = load_iris(return_X_y=True, as_frame=True)
out = {{}}
model = LogisticRegression(max_iter=300).fit(X, y)
multiclass = tracking.last_active_run().info.run_id
X_eval, y_eval = X.iloc[1::2], y.iloc[1::2]
predicted = model.predict(X_eval)
sklearn.metrics.accuracy_score(y_eval, predicted)
sklearn.metrics.accuracy_score(y_eval, predicted)
sklearn.metrics.f1_score(y_eval, predicted, average="macro")
model.score(X_eval, y_eval)
out["multiclass"] = describe(multiclass)
mask = y < 2
LogisticRegression().fit(X[mask], y[mask])
out["binary"] = describe(tracking.last_active_run().info.run_id)
GridSearchCV(DecisionTreeClassifier(random_state=0), {{"max_depth": [1, 2, 3]}}, cv=3).fit(X, y)
parent = tracking.last_active_run().info.run_id
out["search"] = describe(parent)
children = client.search_runs(
    [client.get_run(parent).info.experiment_id],
    filter_string="tags.mlflow.parentRunId = '" + parent + "'",
)
out["children"] = sorted(
    (describe(c.info.run_id) for c in children), key=lambda d: d["params"]["max_depth"]
)
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("parity")
    return logged_by("mlflow", tmp_path, SCRIPT), logged_by("trackline", tmp_path, SCRIPT)


@pytest.mark.parametrize("case", ["multiclass", "binary", "search"])
def test_same_params_tags_metrics_and_artifacts_as_mlflow(both, case):
    mlflow_logged, trackline_logged = both
    expected, actual = mlflow_logged[case], trackline_logged[case]
    assert actual["params"] == expected["params"]
    assert actual["tags"] == expected["tags"]
    assert actual["metrics"] == pytest.approx(expected["metrics"])
    # metric_info.json is ours as well; MLflow writes it too when post-training metrics exist.
    assert actual["artifacts"] == expected["artifacts"]


def test_same_child_runs_as_mlflow(both):
    mlflow_logged, trackline_logged = both
    assert len(trackline_logged["children"]) == len(mlflow_logged["children"]) == 3
    for ours, theirs in zip(trackline_logged["children"], mlflow_logged["children"], strict=True):
        assert ours["params"] == theirs["params"]
        assert ours["tags"] == theirs["tags"]
        timing = {"mean_fit_time", "std_fit_time", "mean_score_time", "std_score_time"}
        assert set(ours["metrics"]) == set(theirs["metrics"])
        assert {k: v for k, v in ours["metrics"].items() if k not in timing} == pytest.approx(
            {k: v for k, v in theirs["metrics"].items() if k not in timing}
        )
