"""The web UI in a real Chromium against a real server seeded with real runs."""

from __future__ import annotations

import os
from urllib.parse import parse_qs

import requests

MLFLOW = "/api/2.0/mlflow"


def _rows(page) -> list[str]:
    page.wait_for_selector(".runs-table tbody tr[data-run-id]")
    return page.eval_on_selector_all(
        ".runs-table tbody tr[data-run-id] td:nth-child(2) a", "els => els.map(e => e.textContent)"
    )


def _hash_params(page) -> dict[str, list[str]]:
    fragment = page.evaluate("location.hash")
    return parse_qs(fragment.split("?", 1)[1]) if "?" in fragment else {}


def _wait_rows(page, expected: list[str]) -> None:
    try:
        page.wait_for_function(
            """expected => JSON.stringify([...document.querySelectorAll(
                '.runs-table tbody tr[data-run-id] td:nth-child(2) a')].map(e => e.textContent))
                === JSON.stringify(expected)""",
            arg=expected,
            timeout=10_000,
        )
    except Exception as exc:
        raise AssertionError(f"rows {_rows(page)} != {expected}") from exc


# -- experiments ---------------------------------------------------------------------------------


def test_experiments_page_create_rename_delete_restore(ui, ui_server):
    page = ui.open("/experiments")
    page.wait_for_selector("text=vision")
    assert page.locator("table >> text=abandoned").count() == 0  # deleted ones are hidden
    ui.shot("experiments")

    page.fill("input[aria-label='New experiment name']", "made-in-browser")
    page.click("button:has-text('Create')")
    page.wait_for_selector("h1:has-text('made-in-browser')")  # lands on its runs page
    page.wait_for_selector("text=No runs in this experiment yet.")

    page = ui.open("/experiments")
    row = page.locator("tr", has_text="made-in-browser")
    row.locator("button:has-text('Rename')").click()
    page.fill("input[aria-label='New name']", "renamed-in-browser")
    page.click("button:has-text('Save')")
    page.wait_for_selector("a:has-text('renamed-in-browser')")
    got = requests.get(
        ui_server.url + MLFLOW + "/experiments/get-by-name",
        params={"experiment_name": "renamed-in-browser"},
    )
    assert got.status_code == 200

    # A duplicate name is refused with the server's message, inline.
    page.fill("input[aria-label='New experiment name']", "vision")
    page.click("button:has-text('Create')")
    ui.expect_errors("400")
    page.wait_for_selector("[role=alert]:has-text('already exists')")

    row = page.locator("tr", has_text="renamed-in-browser")
    row.locator("button:has-text('Delete')").click()
    page.locator("tr", has_text="renamed-in-browser").locator("button.danger").click()
    page.wait_for_selector("a:has-text('renamed-in-browser')", state="detached")
    page.check("text=Deleted")
    page.locator("tr", has_text="renamed-in-browser").locator("button:has-text('Restore')").click()
    page.wait_for_selector("tr:has-text('renamed-in-browser')", state="detached")
    assert got.json()["experiment"]["lifecycle_stage"] == "active"


def test_deleted_and_missing_experiments_say_so(ui, seeded):
    page = ui.open(f"/experiments/{seeded.deleted_experiment_id}")
    message = page.wait_for_selector(".message.error")
    assert "was deleted" in message.inner_text()
    ui.shot("experiment-deleted")
    ui.expect_errors("404")
    page = ui.open("/experiments/987654")
    assert "does not exist" in page.wait_for_selector(".message.error").inner_text()


# -- the runs table ------------------------------------------------------------------------------


def test_runs_table_groups_nested_runs(ui, seeded):
    page = ui.open(f"/experiments/{seeded.experiment_id}")
    names = _rows(page)
    assert len(names) == 7
    sweep = names.index("sweep")
    assert set(names[sweep + 1 : sweep + 3]) == {"sweep-child-1", "sweep-child-2"}
    ui.shot("runs")
    page.click("tr[data-run-id] button[aria-label='Hide nested runs']")
    _wait_rows(page, [n for n in names if not n.startswith("sweep-child")])


def test_filter_with_the_search_grammar(ui, seeded):
    page = ui.open(f"/experiments/{seeded.experiment_id}")
    _rows(page)
    page.fill("input[aria-label='Filter runs']", "params.model = 'cnn'")
    page.press("input[aria-label='Filter runs']", "Enter")
    _wait_rows(page, ["wide-lr", "baseline"])
    assert _hash_params(page)["filter"] == ["params.model = 'cnn'"]
    ui.shot("runs-filtered")


def test_bad_filter_shows_the_error_inline(ui, seeded):
    ui.expect_errors("400")
    page = ui.open(f"/experiments/{seeded.experiment_id}?filter=metrics.acc %3E%3E 1")
    error = page.wait_for_selector(".filter-error")
    assert "Invalid filter" in error.inner_text() and "'>>'" in error.inner_text()
    assert page.locator("input[aria-label='Filter runs']").input_value() == "metrics.acc >> 1"
    assert page.is_visible("h1:has-text('vision')")  # the page is still there
    ui.shot("runs-bad-filter")


def test_sort_by_attribute_and_by_a_chosen_metric_column(ui, seeded):
    page = ui.open(f"/experiments/{seeded.experiment_id}")
    _rows(page)
    page.click("th[data-col=name]")
    _wait_rows(
        page,
        ["baseline", "failed-run", "resnet", "sweep", "sweep-child-1", "sweep-child-2", "wide-lr"],
    )
    page.click("th[data-col=name]")
    assert page.get_attribute("th[data-col=name]", "aria-sort") == "descending"

    page.click("details.columns summary")
    page.check("details.columns label:has-text('accuracy') input")
    page.wait_for_selector("th[data-col='metrics.accuracy']")
    page.click("th[data-col='metrics.accuracy']")
    page.click("th[data-col='metrics.accuracy']")  # descending
    # Nested runs stay under their parent (sorted among themselves): sweep's children follow it.
    _wait_rows(
        page,
        ["resnet", "sweep", "sweep-child-2", "sweep-child-1", "baseline", "wide-lr", "failed-run"],
    )
    params = _hash_params(page)
    assert params["cols"] == ["metrics.accuracy"] and params["sort"] == ["metrics.accuracy"]
    ui.shot("runs-sorted-by-metric")


def test_state_in_the_url_comes_back(ui, seeded):
    resnet = seeded.runs["resnet"]
    page = ui.open(
        f"/experiments/{seeded.experiment_id}?filter=params.model%20%3D%20'resnet'"
        f"&sort=metrics.accuracy&desc=0&cols=metrics.accuracy,params.lr&sel={resnet}"
    )
    _wait_rows(page, ["sweep", "sweep-child-1", "sweep-child-2", "resnet"])
    assert page.get_attribute("th[data-col='metrics.accuracy']", "aria-sort") == "ascending"
    assert page.is_visible("th[data-col='params.lr']")
    assert page.is_checked(f"tr[data-run-id='{resnet}'] input[type=checkbox]")
    assert "Compare (1)" in page.inner_text(".toolbar")


def test_keyboard_moves_selects_and_opens(ui, seeded):
    page = ui.open(f"/experiments/{seeded.experiment_id}")
    names = _rows(page)
    page.focus(".table-box")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    target = page.get_attribute("tr.active", "data-run-id")
    assert target == seeded.runs[names[2]]
    page.keyboard.press("Space")
    page.wait_for_function("location.hash.includes('sel=')")
    assert _hash_params(page)["sel"] == [target]
    page.keyboard.press("End")
    assert page.get_attribute("tr.active", "data-run-id") == seeded.runs[names[-1]]
    page.keyboard.press("Home")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    page.wait_for_selector(f"h1:has-text('{names[2]}')")
    assert target in page.evaluate("location.hash")


# -- one run -------------------------------------------------------------------------------------


def test_open_run_and_edit_tags_and_description(ui, seeded, ui_server):
    page = ui.open(f"/experiments/{seeded.experiment_id}")
    _rows(page)
    page.click(".runs-table a:text-is('baseline')")
    page.wait_for_selector("h1:has-text('baseline')")
    run_id = seeded.runs["baseline"]
    assert run_id in page.inner_text("section.card")  # the overview shows the run id
    assert page.is_visible("text=perception")

    page.click("button[aria-label='Edit tag team']")
    page.fill("input[aria-label='Value of team']", "vision-team")
    page.click("tr[data-tag=team] button:has-text('Save')")
    page.wait_for_selector("tr[data-tag=team]:has-text('vision-team')")
    page.fill("input[aria-label='New tag key']", "reviewed")
    page.fill("input[aria-label='New tag value']", "yes")
    page.click("button:has-text('Add tag')")
    page.wait_for_selector("tr[data-tag=reviewed]")
    page.click("button[aria-label='Delete tag reviewed']")
    page.wait_for_selector("tr[data-tag=reviewed]", state="detached")

    page.click("section.card:has(h2:text('Description')) button:has-text('Edit')")
    page.fill("textarea[aria-label='Description']", "A first try.")
    page.click("section.card:has(h2:text('Description')) button:has-text('Save')")
    page.wait_for_selector("text=A first try.")
    ui.shot("run")

    tags = requests.get(ui_server.url + MLFLOW + "/runs/get", params={"run_id": run_id}).json()
    tags = {t["key"]: t["value"] for t in tags["run"]["data"]["tags"]}
    assert tags["team"] == "vision-team" and "reviewed" not in tags
    assert tags["mlflow.note.content"] == "A first try."


def test_run_page_shows_params_metrics_datasets(ui, seeded):
    page = ui.open(f"/runs/{seeded.runs['resnet']}")
    page.wait_for_selector("h1:has-text('resnet')")
    params = page.inner_text("section.card:has(h2:has-text('Parameters'))")
    assert "lr" in params and "0.05" in params
    metrics = page.inner_text("section.card:has(h2:has-text('Metrics'))")
    assert "accuracy" in metrics and "0.9207" in metrics  # the latest value
    datasets = page.inner_text("section.card:has(h2:has-text('Datasets'))")
    assert "cifar10" in datasets and "a1b2c3" in datasets
    assert "ResNet with cosine schedule." in page.inner_text("main")


def test_timestamps_follow_the_locale(make_page, seeded):
    ui = make_page(locale="de-DE")
    page = ui.open(f"/runs/{seeded.runs['baseline']}")
    overview = page.wait_for_selector("section.card:has(h2:has-text('Overview'))").inner_text()
    assert "29.12.2025" in overview  # German date order (the seed's fixed start time)


def test_missing_run_says_so(ui):
    ui.expect_errors("404")
    page = ui.open("/runs/0123456789abcdef0123456789abcdef")
    assert "does not exist" in page.wait_for_selector(".message.error").inner_text()
    ui.shot("run-missing")


def _preview(ui, seeded, path: str):
    page = ui.open(f"/runs/{seeded.runs['resnet']}?artifact={path}")
    page.wait_for_selector(".preview[data-status=done], .preview[data-status=too-large]")
    page.locator(".artifacts").scroll_into_view_if_needed()
    return page


def test_artifact_previews(ui, seeded):
    page = _preview(ui, seeded, "table.csv")
    assert page.get_attribute(".preview", "data-previewer") == "table"
    assert page.inner_text(".preview-table tbody tr:nth-child(2) td:first-child") == "beta, quoted"
    page.locator(".artifacts").screenshot(path=str(ui.shot("run-artifacts-csv", False)))

    page = _preview(ui, seeded, "config.json")
    assert '"layers": [' in page.inner_text(".preview pre")

    page = _preview(ui, seeded, "config.yaml")
    assert page.get_attribute(".preview", "data-previewer") == "json"
    assert "lr" in page.inner_text(".preview pre strong")

    page = _preview(ui, seeded, "notes.txt")
    assert "epoch 2: loss 1.1" in page.inner_text(".preview pre")

    page = _preview(ui, seeded, "plot.png")
    assert page.eval_on_selector(".preview img", "img => img.naturalWidth") == 48
    page.locator(".artifacts").screenshot(path=str(ui.shot("run-artifacts-image", False)))

    page = _preview(ui, seeded, "report.html")
    frame = page.wait_for_selector(".preview iframe")
    assert frame.get_attribute("sandbox") == "allow-scripts"  # opaque origin: no same-origin
    assert "id='report'" in frame.get_attribute("srcdoc")

    page = _preview(ui, seeded, "model/MLmodel")
    assert page.get_attribute(".preview", "data-previewer") == "mlmodel"
    assert "python_function, sklearn" in page.inner_text(".mlmodel-summary")
    assert page.is_visible(".tree button.node.selected:has-text('MLmodel')")
    page.locator(".artifacts").screenshot(path=str(ui.shot("run-artifacts-mlmodel", False)))

    page = _preview(ui, seeded, "huge.log")
    assert "too large to preview" in page.inner_text(".preview")
    assert page.is_visible(".preview a[download] button:has-text('Download')")


def test_artifact_download_link_serves_the_bytes(ui, seeded):
    page = _preview(ui, seeded, "notes.txt")
    href = page.get_attribute(".preview a[download]", "href")
    got = requests.get(ui.base_url.split("/#")[0] + href)
    assert got.status_code == 200 and got.text.startswith("epoch 1")


def test_missing_artifact_says_so(ui, seeded):
    page = ui.open(f"/runs/{seeded.runs['resnet']}?artifact=nope.txt")
    assert "No artifact" in page.wait_for_selector(".preview .message.error").inner_text()


# -- compare and charts --------------------------------------------------------------------------


def test_compare_from_the_table(ui, seeded):
    page = ui.open(f"/experiments/{seeded.experiment_id}")
    _rows(page)
    for name in ("baseline", "resnet"):
        page.check(f"tr[data-run-id='{seeded.runs[name]}'] input[type=checkbox]")
    page.click("button:has-text('Compare (2)')")
    page.wait_for_selector(".compare-table")
    assert page.locator(".compare-table thead th a").all_inner_texts() == ["baseline", "resnet"]
    assert "diff" in page.get_attribute(".compare-table tr[data-key='params.lr']", "class")
    assert "diff" not in (page.get_attribute("tr[data-key='params.epochs']", "class") or "")
    assert page.locator("svg.parallel path.run-line").count() == 2
    assert page.locator("svg.scatter circle.point").count() == 2
    page.select_option("select[aria-label='Scatter X']", "metrics.loss")
    page.select_option("select[aria-label='Scatter Y']", "metrics.accuracy")
    assert _hash_params(page)["x"] == ["metrics.loss"]
    page.check("text=Only differences")
    page.wait_for_selector("tr[data-key='params.epochs']", state="detached")
    ui.shot("compare")


def _chart_state(page) -> dict:
    page.wait_for_function("document.querySelector('.chart')?._uplot != null")
    return page.evaluate(
        """() => { const u = document.querySelector('.chart')._uplot;
        return { labels: u.series.map(s => s.label), lengths: u.data.map(d => d.length),
                 x: Array.from(u.data[0]), ys: u.data.slice(1).map(d => Array.from(d)),
                 distr: u.scales.y.distr, time: u.scales.x.time }; }"""
    )


def _inked_pixels(page) -> int:
    return page.evaluate(
        """() => { const c = document.querySelector('.chart canvas');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n; }"""
    )


def test_chart_draws_the_expected_series(ui, seeded):
    runs = f"{seeded.runs['baseline']},{seeded.runs['resnet']}"
    page = ui.open(f"/charts?runs={runs}&metric=loss")
    state = _chart_state(page)
    assert state["labels"] == ["Step", "baseline", "resnet"]
    assert state["lengths"] == [50, 50, 50] and state["x"][:3] == [0, 1, 2]
    assert abs(state["ys"][0][0] - 2.0) < 1e-9  # baseline's first loss, as logged
    assert _inked_pixels(page) > 2000  # lines, axes and grid were drawn on the canvas
    ui.shot("chart")

    page.check("input[aria-label='Log scale']")
    page.wait_for_function("document.querySelector('.chart')._uplot?.scales.y.distr === 3")
    page.fill("input[aria-label='Smoothing']", "0.9")
    page.wait_for_function("location.hash.includes('smooth=0.9')")
    smoothed = _chart_state(page)
    assert smoothed["ys"][0] != state["ys"][0] and smoothed["ys"][0][0] == state["ys"][0][0]

    page.select_option("select[aria-label='X axis']", "relative")
    page.wait_for_function("location.hash.includes('x=relative')")
    page.wait_for_function(
        "document.querySelector('.chart')._uplot?.series[0].label.startsWith('Relative')"
    )
    assert _chart_state(page)["x"][:2] == [0, 1]  # seconds since each run's first point
    page.select_option("select[aria-label='X axis']", "wall")
    page.wait_for_function("document.querySelector('.chart')._uplot?.scales.x.time === true")
    page.select_option("select[aria-label='Metric']", "accuracy")
    page.wait_for_function("document.querySelector('.chart')?.dataset.metric === 'accuracy'")
    ui.shot("chart-wall-log-smoothed")


def test_chart_zoom_fetches_the_range(ui, seeded):
    page = ui.open(f"/charts?runs={seeded.runs['baseline']}&metric=loss")
    _chart_state(page)
    box = page.locator(".chart .u-over").bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * 0.2, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.4, y, steps=5)
    page.mouse.up()
    page.wait_for_function("location.hash.includes('xmin=')")
    params = _hash_params(page)
    low, high = float(params["xmin"][0]), float(params["xmax"][0])
    assert 5 < low < high < 25
    page.wait_for_function("document.querySelector('.chart')._uplot?.data[0].length < 50")
    xs = _chart_state(page)["x"]
    assert xs[0] <= low and xs[-1] >= high and len(xs) <= (high - low) + 3
    page.dblclick(".chart .u-over")
    page.wait_for_function("!location.hash.includes('xmin=')")
    page.wait_for_function("document.querySelector('.chart')._uplot?.data[0].length === 50")


def test_chart_of_missing_run_says_so(ui, seeded):
    ui.expect_errors("404")
    page = ui.open("/charts?runs=0123456789abcdef0123456789abcdef")
    assert "not found" in page.wait_for_selector(".message.error").inner_text()


# -- layout, palette, navigation -----------------------------------------------------------------


def test_narrow_dark_window_stays_readable(make_page, seeded):
    ui = make_page(viewport=(400, 800), color_scheme="dark")
    page = ui.open(f"/experiments/{seeded.experiment_id}")
    _rows(page)
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(20, 23, 28)"  # the dark palette
    # Only the runs table scrolls sideways; the page itself fits the window.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    ui.shot("runs-narrow-dark")
    page = ui.open(f"/runs/{seeded.runs['resnet']}")
    page.wait_for_selector("h1:has-text('resnet')")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    ui.shot("run-narrow-dark")


def test_models_entry_in_the_navigation(ui):
    page = ui.open("/experiments")
    page.click("header nav a:has-text('Models')")
    page.wait_for_selector("h1:has-text('Models')")
    assert page.get_attribute("header nav a:has-text('Models')", "aria-current") == "page"


def test_unknown_page_says_so(ui):
    page = ui.open("/nowhere")
    assert "No page" in page.wait_for_selector(".message.error").inner_text()


def test_ui_under_a_static_prefix(make_page, server_factory):
    server = server_factory("--workers", "1", "--static-prefix", "/tl")
    requests.post(server.url + MLFLOW + "/experiments/create", json={"name": "prefixed"})
    ui = make_page(base_url=server.url)
    page = ui.open("/experiments")
    page.click("a:has-text('prefixed')")
    page.wait_for_selector("text=No runs in this experiment yet.")


# -- a third-party previewer, installed as a real plugin -----------------------------------------

PLUGIN_MODULE = """
from trackline.plugins import ArtifactPreviewerSpec, hookimpl


@hookimpl
def register_artifact_previewers(register):
    register(ArtifactPreviewerSpec(name="audio", module="audio.js",
                                   static_dir="ui_audio_plugin:static",
                                   extensions=(".wav",), mime_types=("audio/*",)))
"""

PLUGIN_JS = """
export default function render(element, artifact) {
  const audio = document.createElement("audio");
  audio.controls = true;
  audio.src = artifact.url;
  audio.dataset.path = artifact.path;
  element.replaceChildren(audio);
}
"""


def test_a_plugin_previewer_renders_in_the_browser(make_page, server_factory, tmp_path):
    # A real distribution on PYTHONPATH: the server finds it through its entry point.
    site = tmp_path / "site"
    package = site / "ui_audio_plugin"
    (package / "static").mkdir(parents=True)
    (package / "__init__.py").write_text(PLUGIN_MODULE)
    (package / "static" / "audio.js").write_text(PLUGIN_JS)
    dist = site / "ui_audio_plugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: ui-audio-plugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[trackline]\naudio = ui_audio_plugin\n")
    path = os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))
    server = server_factory("--workers", "1", env={"PYTHONPATH": path})

    from trackline.tracking.client import TracklineClient

    client = TracklineClient(tracking_uri=server.url)
    run = client.create_run("0", run_name="with-sound")
    sound = tmp_path / "beep.wav"
    sound.write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(28))
    client.log_artifact(run.info.run_id, str(sound))

    ui = make_page(base_url=server.url)
    page = ui.open(f"/runs/{run.info.run_id}?artifact=beep.wav")
    page.wait_for_selector(".preview[data-status=done]")
    assert page.get_attribute(".preview", "data-previewer") == "audio"
    assert page.get_attribute(".preview audio", "data-path") == "beep.wav"


# -- first view: data requests start with the page, once ---------------------------------------


def _api_requests(ui) -> list[tuple[str, str]]:
    seen: list[tuple[str, str]] = []
    ui.page.on(
        "request",
        lambda r: seen.append((r.method, r.url)) if "/ajax-api/" in r.url else None,
    )
    return seen


def test_first_chart_view_asks_for_the_series_once_while_the_modules_load(ui, seeded):
    seen = _api_requests(ui)
    run = seeded.runs["baseline"]
    page = ui.open(f"/charts?runs={run}&metric=loss")
    assert _chart_state(page)["labels"] == ["Step", "baseline"]
    series = [url for _, url in seen if "get-history-downsampled" in url]
    runs = [url for _, url in seen if "/runs/get" in url]
    assert len(series) == 1 and len(runs) == 1, seen
    assert page.evaluate("Object.keys(window.TRACKLINE_EARLY)") == []  # both were taken
    first_module = page.evaluate(
        """() => performance.getEntriesByType('resource')
        .filter(e => e.name.includes('/static-files/app.js'))[0].responseEnd"""
    )
    started = page.evaluate(
        """() => performance.getEntriesByType('resource')
        .filter(e => e.name.includes('get-history-downsampled'))[0].startTime"""
    )
    assert started < first_module  # requested before the application's code had arrived


def test_first_table_view_asks_for_one_small_page(ui, seeded):
    seen = _api_requests(ui)
    page = ui.open(f"/experiments/{seeded.experiment_id}")
    _rows(page)
    searches = [m for m, url in seen if url.endswith("/runs/search")]
    assert searches == ["POST"], seen
    assert page.evaluate("Object.keys(window.TRACKLINE_EARLY)") == []
