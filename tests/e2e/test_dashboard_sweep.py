"""Issue 13 in a real chromium: a generated 100-run sweep (3 metrics x 200 steps, written through
seetrain.init/log once per module) served by a real uvicorn, and every sweep-scale workflow."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import seetrain
from tests.e2e.conftest import screenshot
from tests.sdk_env import local_sdk_env
from tests.servers import LiveServer
from tests.sweep_data import OPTIMIZERS, make_sweep

pytestmark = pytest.mark.e2e


def _crashed(logdir: Path) -> str:
    """A run whose process died without finishing (os._exit): the store says running, the pid is gone."""
    code = ("import os, seetrain\n"
            f"r = seetrain.init(project='mixed', experiment_name='crashed', logdir={str(logdir)!r}, "
            "system_monitor=False, capture_console=False)\n"
            "[r.log({'loss': 2.0 / (s + 1)}, step=s) for s in range(5)]\n"
            "import time; time.sleep(0.5)\n"
            "print(r.id, flush=True)\n"
            "os._exit(0)\n")
    env = {**os.environ, "SEETRAIN_SYSTEM_MONITOR": "0", "SEETRAIN_CAPTURE_CONSOLE": "0",
           "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    return out.stdout.split()[-1]


def _mixed(logdir: Path) -> dict[str, str]:
    """Project "mixed": two finished runs with images and a histogram, a crashed run, a run with a
    metric logged once, a 5,000-point run, and a run to rename, archive and delete."""
    ids: dict[str, str] = {}
    rng = np.random.default_rng(0)
    for name, shade in (("base", 40), ("fast", 200)):
        run = seetrain.init(project="mixed", experiment_name=name, logdir=str(logdir), reinit="create_new",
                            system_monitor=False, capture_console=False, config={"name": name})
        for step in range(20):
            run.log({"loss": 1.0 / (step + 1) + (0.5 if name == "base" else 0.0)}, step=step)
        for step in (0, 10):
            img = np.full((16, 16, 3), shade + step, dtype=np.uint8)
            run.log({"samples": seetrain.Image(img, caption=f"{name} at {step}")}, step=step)
        run.log({"weights": seetrain.Histogram(rng.normal(size=300))}, step=19)
        run.finish()
        ids[name] = run.id
    ids["crashed"] = _crashed(logdir)
    once = seetrain.init(project="mixed", experiment_name="once", logdir=str(logdir), reinit="create_new",
                         system_monitor=False, capture_console=False)
    once.log({"final_score": 0.87}, step=100)
    once.finish()
    ids["once"] = once.id
    long = seetrain.init(project="mixed", experiment_name="long", logdir=str(logdir), reinit="create_new",
                         system_monitor=False, capture_console=False)
    for step in range(5000):
        long.log({"loss": 1.0 / (step + 1)}, step=step)
    long.finish()
    ids["long"] = long.id
    victim = seetrain.init(project="mixed", experiment_name="victim", logdir=str(logdir), reinit="create_new",
                           system_monitor=False, capture_console=False, tags=["old"])
    victim.log({"loss": 1.0}, step=0)
    victim.finish()
    ids["victim"] = victim.id
    return ids


@pytest.fixture(scope="module")
def sweep_store(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    logdir = tmp_path_factory.mktemp("sweep") / "logs"
    with local_sdk_env():
        sweep = make_sweep(logdir, runs=100, metrics=3, steps=200)
        mixed = _mixed(logdir)
    return {"logdir": logdir, "sweep": sweep, **mixed}


@pytest.fixture(scope="module")
def sweep_server(sweep_store: dict[str, Any]) -> Iterator[LiveServer]:
    from seetrain.server.app import create_app
    from seetrain.server.local_source import LocalSource

    live = LiveServer(create_app(LocalSource(sweep_store["logdir"]))).start()
    yield live
    live.stop()


def open_sweep(page: Any, server: Any, query: str = "") -> None:
    page.goto(f"{server.url}/#/project/sweep{query}")
    page.wait_for_selector("table.runs tbody tr[data-run]")


def rows(page: Any) -> int:
    return page.locator("table.runs tbody tr[data-run]").count()


def test_100_runs_drawn_then_grouped_into_bands(page: Any, sweep_server: Any, sweep_store: dict,
                                                tmp_path: Path) -> None:
    with page.expect_response(lambda r: "/projects/sweep/metric?" in r.url and "train%2Floss" in r.url) as resp:
        open_sweep(page, sweep_server)
    assert resp.value.ok and resp.value.headers.get("content-encoding") == "gzip"
    assert len(resp.value.json()["runs"]) == 100  # more than 50 runs: every one drawn
    panel = page.locator(".panel[data-key='train/loss']")
    panel.locator("canvas").wait_for()
    assert "error" not in panel.inner_text().lower()
    assert panel.locator(".legend-item").count() == 40 and "+60 more" in panel.locator(".legend").inner_text()
    assert "100 selected · 100 drawn" in page.locator(".run-count").inner_text()
    with page.expect_response(lambda r: "/projects/sweep/bands?" in r.url and "train%2Floss" in r.url) as bands:
        page.select_option(".group-by", "config:optimizer")
    body = bands.value.json()
    assert sorted(g["name"] for g in body["groups"]) == sorted(OPTIMIZERS)
    panel.locator(".legend-item >> text=adam (20)").wait_for()
    assert panel.locator(".legend-item").count() == 5
    # The URL follows the state after a 250 ms debounce: the bands may be drawn before it.
    page.wait_for_function("location.hash.includes('group=config%3Aoptimizer')")
    # Hover a group in the legend: it is highlighted; a click hides it (per-group toggle).
    item = panel.locator(".legend-item", has_text="sgd (20)")
    item.hover()
    assert "hl" in item.get_attribute("class")
    item.click()
    page.wait_for_function("document.querySelector(\".panel[data-key='train/loss'] .legend-item.off\") !== null")
    item.click()
    page.select_option(".band", "std")
    panel.locator("canvas").wait_for()
    page.select_option(".band", "minmax")
    page.locator(".panel[data-key='val/acc'] canvas").wait_for()
    page.locator(".workspace").evaluate("w => window.scrollTo(0, w.getBoundingClientRect().top + window.scrollY - 60)")
    page.wait_for_timeout(300)
    screenshot(page, "dashboard-sweep-grouped", tmp_path, full_page=False)


def test_grouping_draws_bands_at_once_then_the_servers(page: Any, sweep_server: Any, sweep_store: dict) -> None:
    """A grouping change draws bands from the lines the page holds while the server's /bands
    answer is on its way (held back here), then draws the server's; ungrouping draws the lines
    again without asking for them."""
    open_sweep(page, sweep_server)
    panel = page.locator(".panel[data-key='train/loss']")
    panel.locator("canvas").wait_for()
    held: list[Any] = []
    released = False

    def hold(route: Any) -> None:
        if released:
            route.continue_()
        else:
            held.append(route)

    page.route("**/projects/sweep/bands?*", hold)
    page.select_option(".group-by", "config:optimizer")
    page.wait_for_function("document.querySelector(\".panel[data-key='train/loss']\").dataset.bands === 'page'")
    page_legend = sorted(panel.locator(".legend-item").all_inner_texts())
    assert page_legend == sorted(f"{name} (20)" for name in OPTIMIZERS)
    page.wait_for_function("document.querySelectorAll('.panel[data-bands]').length > 0")
    assert held, "the server was asked for the bands too"
    released = True
    for route in held:
        route.continue_()
    page.wait_for_function("document.querySelector(\".panel[data-key='train/loss']\").dataset.bands === 'server'")
    assert sorted(panel.locator(".legend-item").all_inner_texts()) == page_legend
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "/projects/sweep/metric?" in r.url else None)
    page.select_option(".group-by", "")
    page.wait_for_function("document.querySelector(\".panel[data-key='train/loss']\").dataset.bands === undefined")
    panel.locator(".legend-item").nth(39).wait_for()
    assert not [u for u in asked if "train%2Floss" in u]


def test_runs_panel_query_sort_keyboard_and_url_state(page: Any, sweep_server: Any, sweep_store: dict) -> None:
    runs = seetrain.Api(sweep_store["logdir"]).runs("sweep")
    open_sweep(page, sweep_server)
    want = [r for r in runs if r.config["lr"] >= 1e-3 and r.config["optimizer"] == "adam"]
    page.fill(".run-filter", "lr>=1e-3 and optimizer=adam")
    page.wait_for_function(f"document.querySelectorAll('table.runs tbody tr[data-run]').length === {len(want)}")
    either = [r for r in runs if r.config["optimizer"] in ("adam", "sgd")]
    page.fill(".run-filter", "optimizer=adam or optimizer=sgd")
    page.wait_for_function(f"document.querySelectorAll('table.runs tbody tr[data-run]').length === {len(either)}")
    page.wait_for_function("location.hash.includes('q=optimizer')")
    first_url = page.url
    # Sort by a config column from the keyboard.
    th = page.locator("table.runs th[data-col='c:lr']")
    th.focus()
    page.keyboard.press("Enter")
    page.wait_for_function("document.querySelector(\"th[data-col='c:lr']\").getAttribute('aria-sort') === 'ascending'")
    lrs = [float(t) for t in page.locator("table.runs tbody tr[data-run] td.config").evaluate_all(
        "tds => tds.filter((td, i) => i % 4 === 0).map(td => td.textContent)")]
    assert lrs == sorted(lrs)
    page.wait_for_function("location.hash.includes('sort=c%3Alr%3Aasc')")
    # The URL is the state: a reload gives the same table, Back the previous state.
    page.reload()
    page.wait_for_selector("table.runs tbody tr[data-run]")
    assert page.locator(".run-filter").input_value() == "optimizer=adam or optimizer=sgd"
    assert rows(page) == len(either)
    assert page.locator("th[data-col='c:lr']").get_attribute("aria-sort") == "ascending"
    page.go_back()
    page.wait_for_function("!location.hash.includes('sort=c%3Alr')")
    page.wait_for_selector("table.runs tbody tr[data-run]")
    assert page.url == first_url and page.locator("th[data-col='c:lr']").get_attribute("aria-sort") is None
    # Frozen name column and sticky header; Esc closes the columns picker.
    assert page.locator("table.runs td.frozen-name").first.evaluate("td => getComputedStyle(td).position") == "sticky"
    assert page.locator("table.runs th").first.evaluate("th => getComputedStyle(th).position") == "sticky"
    page.click(".runs-pane details.picker > summary")
    assert page.locator(".runs-pane details.picker").get_attribute("open") is not None
    page.keyboard.press("Escape")
    assert page.locator(".runs-pane details.picker").get_attribute("open") is None
    # Hovering a row highlights it and its line; the eye hides a selected run from the charts.
    row = page.locator("table.runs tbody tr[data-run]").first
    rid = row.get_attribute("data-run")
    page.locator(".panel[data-key='train/loss'] canvas").wait_for()
    row.hover()
    assert "hl" in row.get_attribute("class")
    row.locator("button.eye").click()
    page.wait_for_function(f"document.querySelector(\".panel[data-key='train/loss'] .legend-item[data-id='{rid}']\")"
                           "?.classList.contains('off')")
    assert "40 of 100 runs · 100 selected · 39 drawn" in page.locator(".run-count").inner_text()
    page.wait_for_function(f"location.hash.includes('hide={rid}')")


def test_saved_views_restore_the_workspace(page: Any, sweep_server: Any, sweep_store: dict) -> None:
    open_sweep(page, sweep_server, "?q=optimizer%3Dlion&group=tag")
    page.wait_for_function("document.querySelectorAll('table.runs tbody tr[data-run]').length === 20")
    page.once("dialog", lambda d: d.accept("lion by tag"))
    page.click("button.save-view")
    page.wait_for_function("[...document.querySelectorAll('.view-select option')].some(o => o.value === 'lion by tag')")
    views = json.loads((sweep_store["logdir"] / "sweep" / "_views.json").read_text())["views"]
    assert "q=optimizer%3Dlion" in views["lion by tag"]["state"]["query"]
    open_sweep(page, sweep_server)
    assert rows(page) == 100
    page.wait_for_function("[...document.querySelectorAll('.view-select option')].some(o => o.value === 'lion by tag')")
    page.select_option(".view-select", "lion by tag")
    page.wait_for_function("document.querySelectorAll('table.runs tbody tr[data-run]').length === 20")
    assert page.locator(".group-by").input_value() == "tag"
    page.wait_for_function("document.querySelector('.view-select').value === 'lion by tag'")  # the view shown
    page.once("dialog", lambda d: d.accept())  # "Delete the view?"
    page.click("button.delete-view")
    page.wait_for_function("![...document.querySelectorAll('.view-select option')].some(o => o.value === 'lion by tag')")


def test_custom_panels_pin_resize_reorder_fullscreen_persist(page: Any, sweep_server: Any, tmp_path: Path) -> None:
    open_sweep(page, sweep_server)
    page.click("button.add-panel")
    page.select_option(".panel-metrics", ["train/loss", "val/acc"])
    page.fill(".panel-title-input", "train loss vs val acc")
    page.click("button.create-panel")
    custom = page.locator(".group[data-group='custom'] .panel.custom")
    custom.first.locator("canvas").wait_for()
    assert custom.first.locator(".legend-item").count() == 40  # one colour per run, a dash per metric
    # A second panel: accuracy against the loss (any metric as the x axis).
    page.click("button.add-panel")
    page.select_option(".panel-metrics", ["val/acc"])
    page.select_option(".panel-x", "metric:train/loss")
    page.click("button.create-panel")
    custom.nth(1).scroll_into_view_if_needed()  # panels load when scrolled into view
    custom.nth(1).locator("canvas").wait_for()
    assert "vs train/loss" in custom.nth(1).locator(".panel-title").inner_text()
    # Regex panel: every extra/ metric in one chart.
    page.click("button.add-panel")
    page.fill(".panel-regex", "^extra/")
    page.click("button.create-panel")
    custom.nth(2).scroll_into_view_if_needed()
    custom.nth(2).locator("canvas").wait_for()
    assert custom.nth(2).locator(".legend-item").count() == 40
    titles = custom.locator(".panel-title").all_inner_texts()
    custom.nth(2).locator("button[title='Move earlier']").click()
    assert custom.locator(".panel-title").all_inner_texts() == [titles[0], titles[2], titles[1]]
    custom.first.locator("button[title='Resize']").click()
    assert "size-l" in custom.first.get_attribute("class")
    custom.first.locator("button[title='Fullscreen']").click()
    page.wait_for_selector(".panel.fullscreen")
    page.keyboard.press("Escape")
    page.wait_for_selector(".panel.fullscreen", state="detached")
    page.locator(".panel[data-key='val/acc'] button[title='Pin to top']").click()
    page.locator(".group[data-group='pinned'] .panel[data-key='val/acc'] canvas").wait_for()
    page.wait_for_timeout(600)  # the layout is saved 300 ms after the last change
    # The layout lives with the project: a fresh page (or another browser) gets it back.
    page.reload()
    page.locator(".group[data-group='pinned'] .panel[data-key='val/acc'] canvas").wait_for()
    custom.first.locator("canvas").wait_for()
    assert custom.locator(".panel-title").all_inner_texts() == [titles[0], titles[2], titles[1]]
    assert "size-l" in custom.first.get_attribute("class")
    page.locator(".group[data-group='custom']").evaluate("g => window.scrollTo(0, g.getBoundingClientRect().top + window.scrollY - 120)")
    page.wait_for_timeout(300)
    screenshot(page, "dashboard-custom-panel", tmp_path, full_page=False)
    for _ in range(3):
        page.locator(".group[data-group='custom'] .panel.custom button[title='Remove panel']").first.click()
    page.locator(".group[data-group='pinned'] .panel[data-key='val/acc'] button[title='Unpin']").click()
    page.wait_for_selector(".group[data-group='pinned']", state="detached")
    page.wait_for_timeout(600)


def test_sweep_panels_parallel_coordinates_scatter_importance(page: Any, sweep_server: Any, tmp_path: Path) -> None:
    open_sweep(page, sweep_server)
    card = page.locator(".sweep-card")
    assert card.get_attribute("open") is None  # folded: the charts come first
    card.locator("summary").click()
    page.wait_for_function("document.querySelectorAll('.sweep-parallel svg path[data-run]').length === 100")
    assert card.locator(".sweep-scatter circle").count() == 100
    params = card.locator(".importance tbody th").all_inner_texts()
    assert params[0] == "lr" and any(p.startswith("optimizer") for p in params[:2])
    line = card.locator(".sweep-parallel path[data-run]").first
    rid = line.get_attribute("data-run")
    line.dispatch_event("mouseenter")  # a line's bounding-box centre is rarely on the line itself
    page.wait_for_function(f"document.querySelector(\"table.runs tr[data-run='{rid}']\").classList.contains('hl')")
    page.select_option(".sweep-param", "optimizer")
    assert card.locator(".sweep-scatter .pc-name").first.text_content() == "optimizer"
    card.screenshot(path=str(_image_path("dashboard-parallel-coordinates", tmp_path)))


def _image_path(name: str, tmp_path: Path) -> Path:
    from tests.e2e.conftest import IMAGES

    folder = IMAGES if os.environ.get("SEETRAIN_UPDATE_SCREENSHOTS") == "1" else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{name}.png"


def test_compare_at_n_runs_is_transposed(page: Any, sweep_server: Any, sweep_store: dict) -> None:
    ids = sweep_store["sweep"][:60]
    page.goto(f"{sweep_server.url}/#/compare/sweep?runs={','.join(ids)}")
    table = page.locator("table.transposed")
    table.wait_for()
    assert table.locator("tbody tr").count() == 60
    assert table.locator("tbody th.sticky-col").first.evaluate("th => getComputedStyle(th).position") == "sticky"
    page.locator("table.report-timing").wait_for(timeout=60_000)  # built as a background job
    page.locator("input.transpose").uncheck()
    assert page.locator("table.config-diff").is_visible() and not table.is_visible()


def test_unfinished_runs_are_flagged_and_never_ranked(page: Any, sweep_server: Any, sweep_store: dict) -> None:
    base, fast, crashed = sweep_store["base"], sweep_store["fast"], sweep_store["crashed"]
    page.goto(f"{sweep_server.url}/#/compare/mixed?runs={base},{crashed},{fast}")
    page.locator(".unfinished-note").wait_for()
    assert "crashed" in page.locator(".unfinished-note").inner_text()
    timing = page.locator("table.report-timing")
    timing.wait_for(timeout=60_000)
    cells = timing.locator("tbody tr").first.locator("td")
    assert "not ranked" in cells.nth(1).inner_text()
    assert "faster" not in cells.nth(1).inner_text() and "best" not in (cells.nth(1).get_attribute("class") or "")


def test_media_across_runs_and_histogram_hover(page: Any, sweep_server: Any, sweep_store: dict) -> None:
    base, fast, crashed = sweep_store["base"], sweep_store["fast"], sweep_store["crashed"]
    page.goto(f"{sweep_server.url}/#/compare/mixed?runs={base},{fast},{crashed}")
    page.click(".media-compare > summary")
    page.wait_for_function("document.querySelectorAll('.media-runs-grid img').length === 2")
    assert page.locator(".media-run-cell", has_text="not logged").count() == 1
    assert "step 10" in page.locator(".media-compare .step-label").inner_text()
    page.locator(".media-compare .media-step").fill("0")
    page.wait_for_function("[...document.querySelectorAll('.media-run-cell .caption')].some(c => c.textContent === 'base at 0')")
    page.locator(".media-runs-grid img").first.click()
    page.wait_for_selector(".lightbox img")
    page.keyboard.press("Escape")
    page.wait_for_selector(".lightbox", state="detached")
    page.goto(f"{sweep_server.url}/#/run/mixed/{base}?tab=media")
    canvas = page.locator(".hist-canvas")
    canvas.wait_for()
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + 60)
    page.wait_for_selector(".hist-tip:not([hidden])")
    assert "count" in page.locator(".hist-tip").inner_text() and "step 19" in page.locator(".hist-tip").inner_text()


def test_a_metric_logged_once_is_drawn_as_a_marker(page: Any, sweep_server: Any, sweep_store: dict) -> None:
    page.goto(f"{sweep_server.url}/#/run/mixed/{sweep_store['once']}?tab=charts")
    canvas = page.locator(".panel[data-key='final_score'] canvas")
    canvas.wait_for()
    # Coloured pixels: the point's marker (axes and grid are grey). Waited for, not slept for: on
    # a busy machine the panel may still be drawing (or redrawing after a poll) 200 ms on.
    count = """c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let n = 0; for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 200 && Math.max(d[i], d[i + 1], d[i + 2]) - Math.min(d[i], d[i + 1], d[i + 2]) > 60) n++;
      return n; }"""
    page.wait_for_function(f"(({count})(document.querySelector(\".panel[data-key='final_score'] canvas\"))) > 20",
                           timeout=10_000)
    assert canvas.evaluate(count) > 20


def test_chart_csv_export_has_every_point(page: Any, sweep_server: Any, sweep_store: dict) -> None:
    page.goto(f"{sweep_server.url}/#/run/mixed/{sweep_store['long']}?tab=charts")
    panel = page.locator(".panel[data-key='loss']")
    panel.locator("canvas").wait_for()
    assert "of 5,000 pts" in panel.locator(".panel-info").inner_text()  # the chart is downsampled...
    with page.expect_download() as dl:
        panel.locator("button[title='Download CSV']").click()
    lines = Path(dl.value.path()).read_text().splitlines()
    assert lines[0] == "run_id,run_name,step,wall_time,relative_time,value"
    assert len(lines) == 5001 and lines[1].split(",")[2] == "0" and lines[-1].split(",")[2] == "4999"  # ...its CSV is not


def test_run_management_rename_notes_archive_delete(page: Any, sweep_server: Any, sweep_store: dict) -> None:
    rid = sweep_store["victim"]
    page.goto(f"{sweep_server.url}/#/run/mixed/{rid}")
    page.locator(".run-head h1").wait_for()
    page.once("dialog", lambda d: d.accept("renamed-victim"))
    page.click(".manage > summary")
    page.click(".manage .rename")
    page.wait_for_function("document.querySelector('.run-head h1')?.textContent === 'renamed-victim'")
    page.once("dialog", lambda d: d.accept("lr was too high"))
    page.click(".manage > summary")
    page.click(".manage .edit-notes")
    page.locator(".run-notes", has_text="lr was too high").wait_for()
    page.once("dialog", lambda d: d.accept("old, keep"))
    page.click(".manage > summary")
    page.click(".manage .edit-tags")
    page.locator(".run-head .chip", has_text="keep").wait_for()
    page.click(".manage > summary")
    page.click(".manage .archive")
    page.locator(".run-head .archived-chip").wait_for()
    page.goto(f"{sweep_server.url}/#/project/mixed")
    page.wait_for_selector("table.runs tbody tr[data-run]")
    assert page.locator(f"tr[data-run='{rid}']").count() == 0  # archived runs are hidden...
    page.check(".show-archived")
    page.locator(f"tr[data-run='{rid}'] td.name a", has_text="renamed-victim").wait_for()  # ...unless asked for
    view = seetrain.Api(sweep_store["logdir"]).run(f"mixed/{rid}")  # the reader sees the edits too
    assert (view.name, view.archived) == ("renamed-victim", True)
    page.goto(f"{sweep_server.url}/#/run/mixed/{rid}")
    page.locator(".run-head h1").wait_for()
    page.once("dialog", lambda d: d.accept("not-the-id"))
    page.click(".manage > summary")
    page.click(".manage .delete-run")
    page.wait_for_timeout(300)
    assert (sweep_store["logdir"] / "mixed" / rid).is_dir()  # a wrong confirmation deletes nothing
    page.once("dialog", lambda d: d.accept(rid))
    page.click(".manage > summary")
    page.click(".manage .delete-run")
    page.wait_for_function("location.hash === '#/project/mixed'")
    assert not (sweep_store["logdir"] / "mixed" / rid).exists()
    assert list((sweep_store["logdir"] / ".trash" / "mixed").iterdir())


def test_new_runs_and_projects_appear_without_reload(page: Any, sweep_server: Any, sweep_store: dict) -> None:
    page.goto(f"{sweep_server.url}/#/projects")
    page.wait_for_selector(".project-card >> text=sweep")
    fresh = seetrain.init(project="brand-new", experiment_name="first", logdir=str(sweep_store["logdir"]),
                          reinit="create_new", system_monitor=False, capture_console=False)
    fresh.log({"loss": 1.0}, step=0)
    fresh.finish()
    page.wait_for_selector(".project-card >> text=brand-new", timeout=15_000)
    page.goto(f"{sweep_server.url}/#/project/brand-new")
    page.wait_for_selector("table.runs tbody tr[data-run]")
    second = seetrain.init(project="brand-new", experiment_name="second", logdir=str(sweep_store["logdir"]),
                           reinit="create_new", system_monitor=False, capture_console=False)
    second.log({"loss": 0.5}, step=0)
    second.finish()
    page.locator(f"tr[data-run='{second.id}']").wait_for(timeout=15_000)
    assert rows(page) == 2


@pytest.mark.parametrize("route", ["#/project/sweep", "#/run/mixed/{base}?tab=media", "#/compare/mixed?runs={base},{fast}"])
def test_no_horizontal_scroll_at_390px(browser: Any, sweep_server: Any, sweep_store: dict, route: str) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=1)
    pg = context.new_page()
    try:
        pg.goto(f"{sweep_server.url}/{route.format(base=sweep_store['base'], fast=sweep_store['fast'])}")
        pg.wait_for_selector(".page-head h1")
        pg.wait_for_timeout(800)
        assert pg.evaluate("document.documentElement.scrollWidth") <= 390
    finally:
        context.close()


def test_dark_mode_toggle(page: Any, sweep_server: Any) -> None:
    open_sweep(page, sweep_server)
    page.click("#theme")
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    bg = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert bg == "rgb(11, 16, 32)"
    page.locator(".panel[data-key='train/loss'] canvas").wait_for()
    page.click("#theme")
    assert page.evaluate("document.documentElement.dataset.theme") == "light"
    page.evaluate("localStorage.removeItem('seetrain_theme')")
