"""Running projects on the local backend, through the Python API and the CLI, for real."""

from __future__ import annotations

import json
import shlex

import pytest
from click.testing import CliRunner
from trackline.cli.main import cli
from trackline.projects import ExecutionException, run


def _only_run(tracking):
    runs = tracking.search_runs(search_all_experiments=True, output_format="list")
    assert len(runs) == 1, runs
    return runs[0]


def test_mlproject_run_tags_params_and_continues_in_the_command(tracking, typed_project, tmp_path):
    submitted = run(
        str(typed_project),
        parameters={"alpha": 0.5, "label": "a b", "data": str(tmp_path / "inputs" / "data.csv")},
        env_manager="local",
        run_name="typed-run",
    )
    assert submitted.get_status() == "FINISHED"
    result = tracking.get_run(submitted.run_id)
    assert result.info.status == "FINISHED"
    assert result.info.run_name == "typed-run"
    tags = result.data.tags
    assert tags["mlflow.source.type"] == "PROJECT"
    assert tags["mlflow.source.name"] == str(typed_project)
    assert tags["mlflow.project.entryPoint"] == "main"
    assert "mlflow.project.env" not in tags  # as MLflow: only a built environment is tagged
    assert tags["mlflow.project.backend"] == "local"
    assert tags["mlflow.user"]
    # The command continued the project's run (MLFLOW_RUN_ID): its metric and tags are here.
    assert result.data.metrics == {"called": 1.0}
    assert json.loads(tags["argv"]) == [
        "--alpha",
        "0.5",
        "--data",
        str(tmp_path / "inputs" / "data.csv"),
        "--label",
        "a b",
        "--source",
        "s3://bucket/key",
    ]
    assert tags["cwd"] == str(typed_project)
    assert result.data.params == {
        "alpha": "0.5",
        "data": str(tmp_path / "inputs" / "data.csv"),
        "label": "'a b'",
        "source": "s3://bucket/key",
    }
    assert list(submitted.logs()) == ["project output line\n"]


def test_extra_parameters_reach_the_command_as_options(tracking, typed_project):
    submitted = run(
        str(typed_project),
        parameters={"label": "x", "epochs": 3, "note": "two words"},
        env_manager="local",
    )
    result = tracking.get_run(submitted.run_id)
    argv = json.loads(result.data.tags["argv"])
    assert argv[-4:] == ["--epochs", "3", "--note", "two words"]
    assert result.data.params["epochs"] == "3"
    assert result.data.params["note"] == "'two words'"


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ({}, "No value given for missing parameters: 'label'"),
        ({"label": "x", "alpha": "one"}, "has type float, but the value 'one' is not a number"),
    ],
)
def test_bad_parameters_fail_before_any_run_is_created(
    tracking, typed_project, parameters, message
):
    with pytest.raises(ExecutionException, match=message):
        run(str(typed_project), parameters=parameters, env_manager="local")
    assert tracking.search_runs(search_all_experiments=True, output_format="list") == []


def test_a_missing_entry_point_fails_before_any_run_is_created(tracking, typed_project):
    with pytest.raises(ExecutionException, match="Entry point 'train' is not defined"):
        run(str(typed_project), entry_point="train", env_manager="local")
    assert tracking.search_runs(search_all_experiments=True, output_format="list") == []


def test_a_failing_command_ends_the_run_failed_with_the_reason(tracking, typed_project):
    with pytest.raises(ExecutionException, match=r"failed: the command failed with exit code 3"):
        run(str(typed_project), entry_point="fail", env_manager="local")
    failed = _only_run(tracking)
    assert failed.info.status == "FAILED"
    assert "exit code 3" in failed.data.tags["trackline.project.error"]
    assert failed.info.end_time is not None


def test_asynchronous_failure_is_reported_by_wait(tracking, typed_project):
    submitted = run(str(typed_project), entry_point="fail", env_manager="local", synchronous=False)
    assert submitted.wait() is False
    assert submitted.get_status() == "FAILED"


def test_python_and_shell_files_run_without_mlproject(
    tracking, tmp_path, write_files, recording_script
):
    project = write_files(
        tmp_path / "bare",
        {
            "record.py": recording_script,
            "hello.sh": 'echo "shell got: $*"\nexit 0\n',
        },
    )
    submitted = run(
        str(project), entry_point="record.py", parameters={"lr": "0.01"}, env_manager="local"
    )
    result = tracking.get_run(submitted.run_id)
    assert result.info.status == "FINISHED"
    assert json.loads(result.data.tags["argv"]) == ["--lr", "0.01"]
    assert result.data.tags["mlflow.project.entryPoint"] == "record.py"

    shell_run = run(str(project), entry_point="hello.sh", parameters={"n": 2}, env_manager="local")
    assert shell_run.get_status() == "FINISHED"
    assert list(shell_run.logs()) == ["shell got: --n 2\n"]


def test_experiment_by_name_is_created_and_by_id_must_exist(tracking, typed_project):
    submitted = run(
        str(typed_project),
        parameters={"label": "x"},
        env_manager="local",
        experiment_name="projects-exp",
    )
    experiment = tracking.get_experiment_by_name("projects-exp")
    assert tracking.get_run(submitted.run_id).info.experiment_id == experiment.experiment_id
    with pytest.raises(Exception, match="999"):
        run(str(typed_project), parameters={"label": "x"}, env_manager="local", experiment_id="999")


def test_a_project_run_inside_an_active_run_is_its_child(tracking, typed_project):
    with tracking.start_run() as parent:
        submitted = run(str(typed_project), parameters={"label": "x"}, env_manager="local")
    child = tracking.get_run(submitted.run_id)
    assert child.data.tags["mlflow.parentRunId"] == parent.info.run_id


def test_docker_projects_and_unknown_managers_are_refused_clearly(tracking, tmp_path, write_files):
    project = write_files(
        tmp_path / "docker",
        {
            "MLproject": "docker_env: {image: 'python:3.11'}\nentry_points:\n  main:\n    command: 'echo hi'\n"
        },
    )
    with pytest.raises(ExecutionException, match="does not run docker projects yet"):
        run(str(project))
    with pytest.raises(ExecutionException, match="Unknown environment manager 'pipenv'"):
        run(str(project), env_manager="pipenv")
    with pytest.raises(ExecutionException, match="build_image applies to docker_env"):
        run(str(project), build_image=True)
    # The escape hatch the message names: the command runs in the current environment.
    assert run(str(project), env_manager="local").get_status() == "FINISHED"


def test_cli_runs_the_project_and_describe_prints_how_to_rerun_it(
    tracking, typed_project, tmp_path
):
    runner = CliRunner()
    result = runner.invoke(
        cli,
        [
            "run",
            str(typed_project),
            "-P",
            "label=first label",
            "-P",
            "alpha=0.25",
            "-P",
            "epochs=2",
            "--env-manager",
            "local",
            "--experiment-name",
            "cli-exp",
        ],
    )
    assert result.exit_code == 0, result.output
    first = _only_run(tracking)
    assert first.info.status == "FINISHED"

    described = runner.invoke(cli, ["runs", "describe", "--run-id", first.info.run_id])
    assert described.exit_code == 0
    assert json.loads(described.stdout)["info"]["run_id"] == first.info.run_id
    hint = described.stderr.strip().splitlines()[-1].strip()
    experiment_id = first.info.experiment_id
    assert hint == (
        f"trackline run {typed_project} -e main -P alpha=0.25 -P data={typed_project}/data/default.csv "
        f"-P 'label=first label' -P source=s3://bucket/key -P epochs=2 --env-manager local "
        f"--experiment-id {experiment_id}"
    )
    # The printed command really reproduces the run: same params, tags and command line.
    again = runner.invoke(cli, shlex.split(hint)[1:])
    assert again.exit_code == 0, again.output
    runs = tracking.search_runs(search_all_experiments=True, output_format="list")
    second = next(r for r in runs if r.info.run_id != first.info.run_id)
    assert second.data.params == first.data.params
    assert second.data.tags["argv"] == first.data.tags["argv"]


def test_cli_reports_bad_input_without_a_traceback(tracking, typed_project):
    runner = CliRunner()
    result = runner.invoke(
        cli, ["run", str(typed_project), "-P", "alpha=x", "-P", "label=l", "--env-manager", "local"]
    )
    assert result.exit_code == 1
    assert "Error: Parameter 'alpha' has type float" in result.output
    result = runner.invoke(cli, ["run", str(typed_project), "-P", "label"])
    assert result.exit_code == 2
    assert "expected NAME=VALUE" in result.output
    result = runner.invoke(cli, ["run", str(typed_project), "-P", "a=1", "-P", "a=2"])
    assert "parameter 'a' is given twice" in result.output
    result = runner.invoke(cli, ["run", "./no-such-project"])
    assert result.exit_code == 1
    assert "is neither an existing folder nor a URL git can fetch" in result.output


def test_remote_path_parameters_are_downloaded_and_logged_as_given(tracking, typed_project):
    with tracking.start_run() as source_run:
        tracking.log_text("a,b\n3,4\n", "inputs/remote.csv")
    uri = f"runs:/{source_run.info.run_id}/inputs/remote.csv"
    submitted = run(str(typed_project), parameters={"label": "x", "data": uri}, env_manager="local")
    result = tracking.get_run(submitted.run_id)
    argv = json.loads(result.data.tags["argv"])
    downloaded = argv[argv.index("--data") + 1]
    assert downloaded.endswith("/param_1/remote.csv")  # data is the second declared parameter
    with open(downloaded) as handle:
        assert handle.read() == "a,b\n3,4\n"
    assert result.data.params["data"] == uri


def test_a_project_can_run_in_an_existing_run(tracking, typed_project):
    existing = tracking.start_run(run_name="made-before")
    tracking.end_run()
    submitted = run(
        str(typed_project),
        parameters={"label": "x"},
        env_manager="local",
        run_id=existing.info.run_id,
    )
    assert submitted.run_id == existing.info.run_id
    result = tracking.get_run(existing.info.run_id)
    assert result.info.status == "FINISHED"
    assert result.info.run_name == "made-before"
    assert result.data.tags["mlflow.source.type"] == "PROJECT"
    assert result.data.params["label"] == "x"


def test_relative_sqlite_tracking_uri_reaches_the_command(tracking, typed_project, tmp_path):
    from trackline.projects.tracking import absolute_tracking_uri

    tracking.set_tracking_uri("sqlite:///relative.db")
    submitted = run(str(typed_project), parameters={"label": "x"}, env_manager="local")
    # The command ran in the project folder, yet logged into ./relative.db of the caller.
    assert tracking.get_run(submitted.run_id).data.metrics == {"called": 1.0}
    assert not (typed_project / "relative.db").exists()
    assert absolute_tracking_uri("sqlite:///relative.db") == f"sqlite:///{tmp_path}/cwd/relative.db"
    assert absolute_tracking_uri("http://server:5000") == "http://server:5000"
    assert absolute_tracking_uri("./mlruns") == f"{tmp_path}/cwd/mlruns"


def test_a_parameter_too_long_to_log_fails_before_any_run(tracking, typed_project, monkeypatch):
    # By default long values are truncated with a warning, as MLflow does; refused when asked.
    monkeypatch.setenv("MLFLOW_TRUNCATE_LONG_VALUES", "false")
    with pytest.raises(ExecutionException, match="Parameter cannot be logged on the run"):
        run(str(typed_project), parameters={"label": "x" * 7000}, env_manager="local")
    assert tracking.search_runs(search_all_experiments=True, output_format="list") == []


def test_cli_refuses_docker_options(tracking, typed_project):
    runner = CliRunner()
    result = runner.invoke(cli, ["run", str(typed_project), "-P", "label=x", "-A", "gpus=all"])
    assert result.exit_code == 2
    assert "--docker-args applies to docker_env projects" in result.output
    result = runner.invoke(cli, ["run", str(typed_project), "-P", "label=x", "--build-image"])
    assert result.exit_code == 1
    assert "build_image applies to docker_env projects" in result.output
    assert tracking.search_runs(search_all_experiments=True, output_format="list") == []
