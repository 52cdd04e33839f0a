"""The model-registry pages in a real Chromium against a real server with a real registry.

One server per module (the ``ui_server`` fixture is module-scoped): runs come from ``seed``,
registered models and versions are created through the REST API by ``trackline.MlflowClient``.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import requests
import trackline

MLFLOW = "/api/2.0/mlflow"


@dataclass
class Registry:
    run_id: str  # the run that versions 1 and 2 of fraud-detector come from


@pytest.fixture(scope="module")
def registry(ui_server, seeded) -> Registry:
    client = trackline.MlflowClient(tracking_uri=ui_server.url, registry_uri=ui_server.url)
    run_id = seeded.runs["resnet"]
    client.create_registered_model("fraud-detector", description="Scores card payments.")
    client.set_registered_model_tag("fraud-detector", "team", "risk")
    for _ in range(2):
        client.create_model_version("fraud-detector", f"runs:/{run_id}/model", run_id=run_id)
    client.set_registered_model_alias("fraud-detector", "champion", "1")
    client.create_registered_model("fraud-rules")
    # As register_model records it: the source is a folder of the run's artifact location.
    artifact_uri = client.get_run(run_id).info.artifact_uri
    client.create_registered_model("vision-classifier")
    client.create_model_version("vision-classifier", f"{artifact_uri}/model", run_id=run_id)
    client.create_registered_model("churn-model")
    return Registry(run_id)


def _model_names(page) -> list[str]:
    return page.eval_on_selector_all(
        "table.models tbody tr[data-model]", "rows => rows.map(r => r.dataset.model)"
    )


def test_models_list_and_search(ui, registry):
    page = ui.open("/models")
    page.wait_for_selector("tr[data-model='fraud-detector']")
    assert _model_names(page) == [
        "churn-model",
        "fraud-detector",
        "fraud-rules",
        "vision-classifier",
    ]
    row = page.locator("tr[data-model='fraud-detector']")
    assert "Version 2" in row.inner_text()
    assert "@champion: v1" in row.inner_text()
    ui.shot("models")

    page.fill("input[aria-label='Filter models']", "name LIKE '%fraud%'")
    page.press("input[aria-label='Filter models']", "Enter")
    page.wait_for_function("() => document.querySelectorAll('table.models tbody tr').length === 2")
    assert _model_names(page) == ["fraud-detector", "fraud-rules"]
    assert "filter=" in page.evaluate("location.hash")


def test_bad_filter_is_shown_inline(ui, registry):
    ui.expect_errors("400")
    page = ui.open("/models?filter=name %3E%3E 'x'")
    error = page.wait_for_selector(".filter-error")
    assert error.inner_text().strip()
    assert page.is_visible("h1:has-text('Models')")


def test_create_model_lands_on_its_page(ui, ui_server, registry):
    page = ui.open("/models")
    page.fill("input[aria-label='New model name']", "made-in-browser")
    page.click("button:has-text('Create model')")
    page.wait_for_selector("h1:has-text('made-in-browser')")
    page.wait_for_selector("text=No versions yet.")
    got = requests.get(
        ui_server.url + MLFLOW + "/registered-models/get", params={"name": "made-in-browser"}
    )
    assert got.status_code == 200

    ui.expect_errors("400")  # a duplicate name: the server's message, inline
    page = ui.open("/models")
    page.fill("input[aria-label='New model name']", "fraud-detector")
    page.click("button:has-text('Create model')")
    page.wait_for_selector("[role=alert]:has-text('already exists')")


def test_model_page_versions_and_run_link(ui, registry):
    page = ui.open("/models/fraud-detector")
    page.wait_for_selector("table.versions tr[data-version='2']")
    versions = page.eval_on_selector_all(
        "table.versions tbody tr", "rows => rows.map(r => r.dataset.version)"
    )
    assert versions == ["2", "1"]
    assert "@champion" in page.locator("tr[data-version='1']").inner_text()
    assert "Scores card payments." in page.locator(".description").inner_text()
    assert page.locator(".tags tr[data-tag='team']").inner_text().count("risk") == 1
    ui.shot("model")

    page.click("tr[data-version='1'] a.run-link")
    page.wait_for_selector("h1:has-text('resnet')")
    assert page.evaluate("location.hash") == f"#/runs/{registry.run_id}"
    # The run page lists the versions registered from it.
    section = page.wait_for_selector(".registered-versions")
    assert "fraud-detector" in section.inner_text()
    assert len(page.query_selector_all(".registered-versions tbody tr")) == 3  # + vision-classifier
    page.locator(".registered-versions").screenshot(
        path=str(ui.shot("run-registered-versions", False))
    )


def test_set_and_delete_alias_and_edit_description(ui, ui_server, registry):
    page = ui.open("/models/fraud-detector")
    page.wait_for_selector(".aliases")
    page.fill("input[aria-label='Alias']", "challenger")
    page.fill("input[aria-label='Alias version']", "2")
    page.click("button:has-text('Set alias')")
    page.wait_for_selector(".aliases tr[data-alias='challenger']")
    got = requests.get(
        ui_server.url + MLFLOW + "/registered-models/alias",
        params={"name": "fraud-detector", "alias": "challenger"},
    )
    assert got.json()["model_version"]["version"] == "2"

    # An alias that looks like a version is refused, with the server's message.
    ui.expect_errors("400")
    page.fill("input[aria-label='Alias']", "v3")
    page.click("button:has-text('Set alias')")
    page.wait_for_selector(".aliases [role=alert]")

    page.click("button[aria-label='Delete alias challenger']")
    page.wait_for_selector(".aliases tr[data-alias='challenger']", state="detached")

    page.click(".description button:has-text('Edit')")
    page.fill(".description textarea", "Scores card payments, v2.")
    page.click(".description button:has-text('Save')")
    page.wait_for_selector(".description-text:has-text('Scores card payments, v2.')")
    model = requests.get(
        ui_server.url + MLFLOW + "/registered-models/get", params={"name": "fraud-detector"}
    ).json()["registered_model"]
    assert model["description"] == "Scores card payments, v2."


def test_version_page_stage_tags_and_download(ui, ui_server, registry):
    page = ui.open("/models/fraud-detector/versions/2")
    page.wait_for_selector("h1:has-text('version 2')")
    # The source run shows its id until its name arrives (a second request).
    page.wait_for_selector(".overview a.run-link:has-text('resnet')")
    overview = page.locator(".overview").inner_text()
    assert "READY" in overview and "resnet" in overview

    page.select_option("select[aria-label='New stage']", "Staging")
    page.click("button:has-text('Transition')")
    page.wait_for_selector(".current-stage:has-text('Staging')")

    page.fill(".tags input[aria-label='New tag key']", "validated")
    page.fill(".tags input[aria-label='New tag value']", "yes")
    page.click(".tags button:has-text('Add tag')")
    page.wait_for_selector(".tags tr[data-tag='validated']")
    version = requests.get(
        ui_server.url + MLFLOW + "/model-versions/get",
        params={"name": "fraud-detector", "version": "2"},
    ).json()["model_version"]
    assert version["current_stage"] == "Staging"
    assert {"key": "validated", "value": "yes"} in version["tags"]
    ui.shot("model-version")

    href = page.get_attribute("a.download-link", "href")
    body = requests.get(ui_server.url + href if href.startswith("/") else href)
    assert body.status_code == 200 and b"flavors:" in body.content

    # The source links into the run's artifact browser, at the model's MLmodel file.
    page.click("a.source-link")
    page.wait_for_selector("h1:has-text('resnet')")
    page.wait_for_selector(".preview[data-previewer='mlmodel']")
    assert page.evaluate("location.hash").endswith("?artifact=model%2FMLmodel")


def test_missing_model_and_version_say_so(ui, registry):
    ui.expect_errors("404")
    page = ui.open("/models/no-such-model")
    assert "does not exist" in page.wait_for_selector(".message.error").inner_text()
    ui.shot("model-missing")
    page = ui.open("/models/fraud-detector/versions/99")
    assert "does not exist" in page.wait_for_selector(".message.error").inner_text()


def test_delete_model_asks_first(ui, ui_server, registry):
    requests.post(ui_server.url + MLFLOW + "/registered-models/create", json={"name": "doomed"})
    page = ui.open("/models/doomed")
    page.click("button:has-text('Delete model')")
    page.wait_for_selector("text=Delete “doomed” and all its versions?")
    page.click("button:has-text('Delete for good')")
    page.wait_for_selector("h1:has-text('Models')")
    got = requests.get(ui_server.url + MLFLOW + "/registered-models/get", params={"name": "doomed"})
    assert got.status_code == 404


def test_paging_through_many_models(ui, ui_server, registry):
    # Last in the module: these models would change the unfiltered list of the tests above.
    for i in range(30):
        requests.post(
            ui_server.url + MLFLOW + "/registered-models/create", json={"name": f"zz-bulk-{i:02}"}
        ).raise_for_status()
    page = ui.open("/models?filter=name LIKE 'zz-bulk-%25'")
    page.wait_for_selector("tr[data-model='zz-bulk-00']")
    assert _model_names(page) == [f"zz-bulk-{i:02}" for i in range(25)]
    page.click(".pager button:has-text('Next')")
    page.wait_for_selector("tr[data-model='zz-bulk-29']")
    assert _model_names(page) == [f"zz-bulk-{i:02}" for i in range(25, 30)]
    assert page.is_disabled(".pager button:has-text('Next')")
    page.click(".pager button:has-text('Previous')")
    page.wait_for_selector("tr[data-model='zz-bulk-00']")
    assert page.is_disabled(".pager button:has-text('Previous')")


def test_delete_version_asks_first(ui, ui_server, registry):
    client = trackline.MlflowClient(tracking_uri=ui_server.url, registry_uri=ui_server.url)
    client.create_registered_model("short-lived")
    client.create_model_version("short-lived", f"runs:/{registry.run_id}/model", registry.run_id)
    page = ui.open("/models/short-lived/versions/1")
    page.click("button:has-text('Delete version')")
    page.click("button:has-text('Delete for good')")
    page.wait_for_selector("h1:has-text('short-lived')")  # back on the model page
    page.wait_for_selector("text=No versions yet.")
    got = requests.get(
        ui_server.url + MLFLOW + "/model-versions/get",
        params={"name": "short-lived", "version": "1"},
    )
    assert got.status_code == 404


def test_source_inside_the_run_artifacts_links_to_the_browser(ui, registry):
    page = ui.open("/models/vision-classifier/versions/1")
    page.click("a.source-link")
    page.wait_for_selector("h1:has-text('resnet')")
    page.wait_for_selector(".preview[data-previewer='mlmodel']")
    assert page.evaluate("location.hash") == f"#/runs/{registry.run_id}?artifact=model%2FMLmodel"


def test_rename_model(ui, ui_server, registry):
    requests.post(ui_server.url + MLFLOW + "/registered-models/create", json={"name": "old-name"})
    page = ui.open("/models/old-name")
    page.click(".rename-model button:has-text('Rename')")
    page.fill(".rename-model input", "new-name")
    page.click(".rename-model button[type=submit]")
    page.wait_for_selector("h1:has-text('new-name')")
    assert page.evaluate("location.hash") == "#/models/new-name"
    got = requests.get(
        ui_server.url + MLFLOW + "/registered-models/get", params={"name": "old-name"}
    )
    assert got.status_code == 404


def test_transition_can_archive_the_version_in_that_stage(ui, ui_server, registry):
    client = trackline.MlflowClient(tracking_uri=ui_server.url, registry_uri=ui_server.url)
    client.create_registered_model("staged")
    for _ in range(2):
        client.create_model_version("staged", f"runs:/{registry.run_id}/model", registry.run_id)
    client.transition_model_version_stage("staged", "2", "Staging")
    page = ui.open("/models/staged/versions/1")
    page.select_option("select[aria-label='New stage']", "Staging")
    page.check(".stage input[type=checkbox]")
    page.click("button:has-text('Transition')")
    page.wait_for_selector(".current-stage:has-text('Staging')")
    assert client.get_model_version("staged", "2").current_stage == "Archived"

    page = ui.open("/models/staged")  # the versions table shows the stages
    page.wait_for_selector("tr[data-version='2']:has-text('Archived')")
