"""MLflow's model and registry documentation, run as written, against a ``trackline server``.

The sklearn quickstart (``log_model`` with a signature, an input example and
``registered_model_name``, then loading through every documented URI form), the registry
workflow (aliases, tags, stages, ``copy_model_version``, searches), a custom pyfunc with
artifacts and dataset-scoped model metrics, and MLflow 3's prompt registry
(``mlflow.genai.register_prompt`` / ``load_prompt``), all with the real ``mlflow`` client.
Every expectation was also checked against a real ``mlflow server`` 3.17.2 (set
``TRACKLINE_DOCS_E2E_URL`` to repeat that). test_mlflow_registry.py and
test_mlflow_logged_models.py cover the registry and logged-model APIs call by call; this
module follows the docs' workflows instead.
"""

from __future__ import annotations

import warnings

import pytest
import requests
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException


@pytest.fixture
def mlflow(docs_server, mlflow_at):
    return mlflow_at(docs_server.url)


@pytest.fixture
def client(docs_server, mlflow):
    return MlflowClient(tracking_uri=docs_server.url, registry_uri=docs_server.url)


@pytest.fixture(autouse=True)
def _quiet():
    # Stage APIs are deprecated (FutureWarning); pickled sklearn models warn about skops.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def test_sklearn_quickstart_log_register_and_load_by_every_uri(mlflow, client, unique, tmp_path):
    pytest.importorskip("sklearn")
    from mlflow.models import infer_signature
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    X, y = load_iris(return_X_y=True, as_frame=True)
    model = LogisticRegression(max_iter=300).fit(X, y)
    expected = list(model.predict(X.iloc[:5]))
    name = unique("iris")
    experiment = mlflow.set_experiment(unique("sklearn-quickstart"))
    with mlflow.start_run() as run:
        mlflow.log_params({"max_iter": 300})
        info = mlflow.sklearn.log_model(
            model,
            name="iris_model",
            signature=infer_signature(X, model.predict(X)),
            input_example=X.iloc[:3],
            registered_model_name=name,
            pip_requirements=["scikit-learn"],  # inference runs a slow subprocess
        )
        mlflow.log_metric("accuracy", 0.97, model_id=info.model_id)
    run_id = run.info.run_id
    assert info.model_uri == f"models:/{info.model_id}" and info.run_id == run_id
    assert str(info.registered_model_version) == "1"
    assert {"python_function", "sklearn"} <= set(info.flavors)

    client.set_registered_model_alias(name, "champion", "1")
    client.transition_model_version_stage(name, "1", "Production")
    for uri in (
        f"runs:/{run_id}/iris_model",
        info.model_uri,
        f"models:/{name}/1",
        f"models:/{name}/latest",
        f"models:/{name}@champion",
        f"models:/{name}/Production",
        f"models:/{name}/production",
    ):
        loaded = mlflow.pyfunc.load_model(uri)
        assert list(loaded.predict(X.iloc[:5])) == expected, uri
    native = mlflow.sklearn.load_model(f"models:/{name}@champion")
    assert type(native).__name__ == "LogisticRegression"
    schema = mlflow.pyfunc.load_model(info.model_uri).metadata.get_input_schema()
    assert schema.input_names() == list(X.columns)
    model_info = mlflow.models.get_model_info(f"models:/{name}/1")
    assert model_info.run_id == run_id and model_info.model_id == info.model_id

    logged = mlflow.get_logged_model(info.model_id)
    assert (logged.name, str(logged.status)) == ("iris_model", "READY")
    assert logged.params == {"max_iter": "300"}  # the run's params at log time
    assert [(m.key, m.value, m.run_id) for m in logged.metrics] == [("accuracy", 0.97, run_id)]
    assert logged.experiment_id == experiment.experiment_id
    assert mlflow.last_logged_model().model_id == info.model_id
    assert {"MLmodel", "input_example.json", "serving_input_example.json"} <= {
        f.path for f in client.list_logged_model_artifacts(info.model_id)
    }
    version = client.get_model_version(name, "1")
    assert version.source == info.model_uri and version.run_id == run_id
    assert (version.status, version.current_stage, version.aliases) == (
        "READY",
        "Production",
        ["champion"],
    )
    assert client.get_registered_model(name).aliases == {"champion": "1"}
    downloaded = mlflow.artifacts.download_artifacts(f"models:/{name}/1", dst_path=str(tmp_path))
    assert (tmp_path / "MLmodel").exists() and downloaded.rstrip("/") == str(tmp_path)

    # register_model again from the run: a second version of the same model.
    second = mlflow.register_model(f"runs:/{run_id}/iris_model", name)
    assert str(second.version) == "2"
    assert client.get_model_version_by_alias(name, "latest").version == "2"
    assert list(mlflow.pyfunc.load_model(f"models:/{name}/2").predict(X.iloc[:5])) == expected


def test_registry_workflow_tags_stages_search_copy_and_delete(mlflow, client, unique):
    pyfunc = pytest.importorskip("mlflow.pyfunc")

    class Double(pyfunc.PythonModel):
        def predict(self, context, model_input, params=None):
            return [2 * x for x in model_input]

    name = unique("registry-docs")
    mlflow.set_experiment(unique("registry-workflow"))
    with mlflow.start_run() as run:
        info = pyfunc.log_model(name="double", python_model=Double(), pip_requirements=["mlflow"])
    for _ in range(3):
        mlflow.register_model(info.model_uri, name)
    client.update_registered_model(name, description="Doubles numbers")
    client.set_registered_model_tag(name, "task", "arithmetic")
    client.update_model_version(name, "1", description="first")
    client.set_model_version_tag(name, "1", "validation_status", "approved")
    client.transition_model_version_stage(name, "1", "Staging")
    client.transition_model_version_stage(name, "2", "Production")
    client.transition_model_version_stage(name, "3", "Production", archive_existing_versions=True)

    assert client.get_model_version(name, "2").current_stage == "Archived"
    latest = client.get_latest_versions(name)
    assert sorted((v.version, v.current_stage) for v in latest) == [
        ("1", "Staging"),
        ("2", "Archived"),
        ("3", "Production"),
    ]
    assert [v.version for v in client.get_latest_versions(name, stages=["Production"])] == ["3"]
    model = client.get_registered_model(name)
    assert model.description == "Doubles numbers" and model.tags == {"task": "arithmetic"}

    assert [m.name for m in client.search_registered_models(f"name = '{name}'")] == [name]
    assert [
        m.name for m in mlflow.search_registered_models(filter_string="tags.task = 'arithmetic'")
    ]
    assert name in [
        m.name
        for m in client.search_registered_models(filter_string=f"name ILIKE '{name.upper()}'")
    ]
    by_tag = client.search_model_versions(
        f"name = '{name}' AND tags.validation_status = 'approved'"
    )
    assert [v.version for v in by_tag] == ["1"]
    by_run = mlflow.search_model_versions(filter_string=f"run_id = '{run.info.run_id}'")
    assert sorted(v.version for v in by_run if v.name == name) == ["1", "2", "3"]
    newest_first = client.search_model_versions(
        f"name = '{name}'", order_by=["version_number DESC"], max_results=2
    )
    assert [v.version for v in newest_first] == ["3", "2"] and newest_first.token

    # Promotion to another registered model, as the docs' "copy_model_version" shows.
    copy = client.copy_model_version(f"models:/{name}/3", f"{name}-prod")
    assert (copy.name, str(copy.version)) == (f"{name}-prod", "1")
    assert mlflow.pyfunc.load_model(f"models:/{name}-prod/1").predict([4]) == [8]

    client.set_registered_model_alias(name, "champion", "3")
    client.set_registered_model_alias(name, "challenger", "3")
    assert sorted(client.get_model_version(name, "3").aliases) == ["challenger", "champion"]
    client.delete_registered_model_alias(name, "challenger")
    assert client.get_registered_model(name).aliases == {"champion": "3"}
    client.delete_model_version(name, "3")  # its alias goes with it
    assert client.get_registered_model(name).aliases == {}
    with pytest.raises(MlflowException) as excinfo:
        client.get_model_version(name, "3")
    assert excinfo.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(MlflowException) as excinfo:
        client.get_model_version_by_alias(name, "champion")
    assert excinfo.value.error_code == "INVALID_PARAMETER_VALUE"
    client.delete_registered_model(name)
    with pytest.raises(MlflowException) as excinfo:
        client.get_registered_model(name)
    assert excinfo.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(MlflowException) as excinfo:
        client.search_registered_models(max_results=1001)
    assert excinfo.value.error_code == "INVALID_PARAMETER_VALUE"


def test_pyfunc_with_artifacts_and_dataset_scoped_model_metrics(mlflow, client, unique, tmp_path):
    pd = pytest.importorskip("pandas")
    import mlflow.data
    import mlflow.pyfunc

    class Greeter(mlflow.pyfunc.PythonModel):
        def load_context(self, context):
            with open(context.artifacts["greeting"]) as handle:
                self.greeting = handle.read()

        def predict(self, context, model_input, params=None):
            return [f"{self.greeting} {name}" for name in model_input["name"]]

    greeting = tmp_path / "greeting.txt"
    greeting.write_text("Hello")
    evaluation = mlflow.data.from_pandas(pd.DataFrame({"name": ["a", "b"]}), name="eval_set")
    experiment = mlflow.set_experiment(unique("pyfunc-artifacts"))
    with mlflow.start_run() as run:
        info = mlflow.pyfunc.log_model(
            name="greeter",
            python_model=Greeter(),
            artifacts={"greeting": str(greeting)},
            input_example=pd.DataFrame({"name": ["x"]}),
            pip_requirements=["mlflow"],
        )
        mlflow.log_metric("quality", 0.8, dataset=evaluation, model_id=info.model_id)
        other = mlflow.initialize_logged_model(name="undatasetted")
        mlflow.log_metric("quality", 0.9, model_id=other.model_id)
    loaded = mlflow.pyfunc.load_model(info.model_uri)
    assert list(loaded.predict(pd.DataFrame({"name": ["Ana"]}))) == ["Hello Ana"]
    metrics = mlflow.get_logged_model(info.model_id).metrics
    assert [(m.key, m.dataset_name, m.dataset_digest) for m in metrics] == [
        ("quality", "eval_set", evaluation.digest)
    ]
    # The metric's dataset is recorded as an input of the run.
    inputs = client.get_run(run.info.run_id).inputs.dataset_inputs
    assert [d.dataset.name for d in inputs] == ["eval_set"]
    found = mlflow.search_logged_models(
        experiment_ids=[experiment.experiment_id],
        filter_string="metrics.quality > 0.5",
        order_by=[{"field_name": "metrics.quality", "ascending": False}],
        output_format="list",
    )
    assert [m.model_id for m in found] == [other.model_id, info.model_id]
    # datasets= keeps the models with metrics computed on those datasets.
    on_eval = mlflow.search_logged_models(
        experiment_ids=[experiment.experiment_id],
        datasets=[{"dataset_name": "eval_set", "dataset_digest": evaluation.digest}],
        output_format="list",
    )
    assert [m.model_id for m in on_eval] == [info.model_id]
    scoped = mlflow.search_logged_models(
        experiment_ids=[experiment.experiment_id],
        filter_string="metrics.quality > 0.5",
        datasets=[{"dataset_name": "eval_set", "dataset_digest": evaluation.digest}],
        output_format="list",
    )
    assert [m.model_id for m in scoped] == [info.model_id]


def test_prompt_registry_register_load_alias_and_search(mlflow, client, unique):
    """MLflow 3's prompt registry stores prompts as registered models tagged
    ``mlflow.prompt.is_prompt``; ordinary registry searches do not list them."""
    genai = pytest.importorskip("mlflow.genai")
    name = unique("qa-prompt")
    first = genai.register_prompt(
        name=name,
        template="Answer {{question}} in a {{style}} style.",
        commit_message="initial",
        tags={"team": "qa"},
    )
    assert (first.name, first.version, first.commit_message) == (name, 1, "initial")
    second = genai.register_prompt(name=name, template="Answer {{question}} briefly.")
    assert second.version == 2

    one = genai.load_prompt(f"prompts:/{name}/1")
    assert one.format(question="Why?", style="formal") == "Answer Why? in a formal style."
    assert sorted(one.variables) == ["question", "style"]
    assert genai.load_prompt(name, version=2).template == "Answer {{question}} briefly."
    assert genai.load_prompt(f"prompts:/{name}@latest").version == 2
    genai.set_prompt_alias(name, alias="production", version=1)
    assert genai.load_prompt(f"prompts:/{name}@production").version == 1
    genai.delete_prompt_alias(name, "production")
    with pytest.raises(MlflowException):
        genai.load_prompt(f"prompts:/{name}@production")
    with pytest.raises(MlflowException) as excinfo:
        genai.load_prompt(f"prompts:/{name}/9")
    assert excinfo.value.error_code == "RESOURCE_DOES_NOT_EXIST"

    assert [p.name for p in genai.search_prompts(filter_string=f"name = '{name}'")] == [name]
    assert client.search_registered_models(f"name = '{name}'") == []
    chat = genai.register_prompt(
        name=f"{name}-chat", template=[{"role": "user", "content": "Hi {{who}}"}]
    )
    assert chat.format(who="Bo") == [{"role": "user", "content": "Hi Bo"}]
    # Loading a prompt inside a run links it to the run.
    mlflow.set_experiment(unique("prompts"))
    with mlflow.start_run() as run:
        genai.load_prompt(f"prompts:/{name}/1")
    linked = client.get_run(run.info.run_id).data.tags["mlflow.linkedPrompts"]
    assert f'"name": "{name}"' in linked and '"version": "1"' in linked


def test_prompt_versions_need_an_mlflow_placeholder_source(docs_server, client, unique):
    """A prompt version skips the model source checks, but only with MLflow's placeholder."""
    genai = pytest.importorskip("mlflow.genai")
    name = unique("placeholder")
    genai.register_prompt(name=name, template="x")
    prompt_tags = [
        {"key": "mlflow.prompt.is_prompt", "value": "true"},
        {"key": "mlflow.prompt.text", "value": "y"},
    ]
    response = requests.post(
        f"{docs_server.url}/api/2.0/mlflow/model-versions/create",
        json={"name": name, "source": "/etc", "tags": prompt_tags},
        timeout=30,
    )
    assert response.status_code == 400
    assert response.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert "Invalid prompt source" in response.json()["message"]
    accepted = requests.post(
        f"{docs_server.url}/api/2.0/mlflow/model-versions/create",
        json={"name": name, "source": "prompt-template", "tags": prompt_tags},
        timeout=30,
    )
    assert accepted.status_code == 200 and accepted.json()["model_version"]["version"] == "2"


def test_registry_and_logged_model_edge_answers_match_mlflow(docs_server, mlflow, client, unique):
    api = f"{docs_server.url}/api/2.0/mlflow"
    name = unique("edges")
    client.create_registered_model(name)
    client.create_model_version(name, "s3://bucket/model")
    # A version number no version can have is not found (404), not invalid.
    for version in ("0", "-1"):
        with pytest.raises(MlflowException) as excinfo:
            client.get_model_version(name, version)
        assert excinfo.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    # archive_existing_versions is optional over REST (false when absent).
    moved = requests.post(
        f"{api}/model-versions/transition-stage",
        json={"name": name, "version": "1", "stage": "Staging"},
        timeout=30,
    )
    assert moved.status_code == 200 and moved.json()["model_version"]["current_stage"] == "Staging"

    experiment = mlflow.set_experiment(unique("edges"))
    with pytest.raises(MlflowException) as excinfo:
        client.create_logged_model(experiment.experiment_id, name="a/b")
    assert excinfo.value.error_code == "INVALID_PARAMETER_VALUE"
    model = client.create_logged_model(experiment.experiment_id, name="fine")
    client.delete_logged_model(model.model_id)
    client.delete_logged_model(model.model_id)  # deleting twice is not an error
    with pytest.raises(MlflowException) as excinfo:
        client.get_logged_model(model.model_id)
    assert excinfo.value.error_code == "RESOURCE_DOES_NOT_EXIST"
