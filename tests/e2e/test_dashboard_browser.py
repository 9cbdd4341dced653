"""The dashboard in a real chromium against a real uvicorn server over real runs."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

import seetrain
from tests.e2e.conftest import screenshot

pytestmark = pytest.mark.e2e


def open_project(page: Any, server: Any) -> None:
    page.goto(f"{server.url}/#/project/demo")
    page.wait_for_selector("table.runs tbody tr[data-run]")


def test_projects_and_runs_table(page: Any, server: Any, store: dict, tmp_path: Path) -> None:
    page.goto(f"{server.url}/#/projects")
    page.click(".project-card >> text=demo")
    page.wait_for_selector("table.runs tbody tr[data-run]")
    runs = seetrain.Api(store["logdir"]).runs("demo")
    assert page.locator("table.runs tbody tr[data-run]").count() == len(runs) == 4
    assert page.locator("tr[data-run] .status-failed").count() == 1
    page.fill(".run-filter", "lr=0.1")
    page.wait_for_function("document.querySelectorAll('table.runs tbody tr[data-run]').length === 1")
    assert page.locator("tr[data-run] td.name a").inner_text() == "spiral-h32-lr0.1"
    page.fill(".run-filter", "")
    page.select_option(".status-filter", "failed")
    page.wait_for_function("document.querySelectorAll('table.runs tbody tr[data-run]').length === 1")
    page.select_option(".status-filter", "")
    page.click("table.runs th >> text=Name")
    names = page.locator("tr[data-run] td.name a").all_inner_texts()
    assert names == sorted(r.name for r in runs)
    page.wait_for_selector(".panel[data-key='train/loss'] canvas")
    screenshot(page, "dashboard-runs", tmp_path)


def test_chart_smoothing_zoom_and_reset(page: Any, server: Any, tmp_path: Path) -> None:
    open_project(page, server)
    panel = page.locator(".panel[data-key='train/loss']")
    panel.locator("canvas").wait_for()
    page.locator(".smooth-slider").fill("0.9")
    page.wait_for_function("(JSON.parse(localStorage.getItem('seetrain_chart_settings')) || {}).smoothing === 0.9")
    assert page.locator(".smooth-value").inner_text() == "0.90"
    panel.scroll_into_view_if_needed()
    over = panel.locator(".u-over").bounding_box()
    y = over["y"] + over["height"] / 2
    with page.expect_response(lambda r: "/metric?" in r.url and "x_min=" in r.url and "train%2Floss" in r.url) as resp:
        page.mouse.move(over["x"] + over["width"] * 0.2, y)
        page.mouse.down()
        page.mouse.move(over["x"] + over["width"] * 0.5, y, steps=8)
        page.mouse.up()
    assert resp.value.ok
    assert "zoomed" in panel.get_attribute("class")
    # The crosshair tooltip lists every run's value at the cursor.
    page.mouse.move(over["x"] + over["width"] * 0.4, y)
    panel.locator(".tooltip .tt-row").first.wait_for()
    assert panel.locator(".tooltip .tt-row").count() >= 2
    page.mouse.dblclick(over["x"] + over["width"] * 0.4, y)
    page.wait_for_function("!document.querySelector(\".panel[data-key='train/loss']\").classList.contains('zoomed')")
    page.select_option(".x-axis", "relative")
    panel.locator("canvas").wait_for()
    page.select_option(".x-axis", "step")
    with page.expect_download() as dl:
        panel.locator("button[title='Download CSV']").click()
    csv = Path(dl.value.path()).read_text()
    assert csv.startswith("run_id,run_name,step")
    assert ",nan\n" in csv and ",inf\n" in csv and csv.count("\n") > 4 * 100
    page.locator(".smooth-slider").fill("0.6")
    page.locator(".group[data-group='train']").scroll_into_view_if_needed()
    screenshot(page, "dashboard-charts", tmp_path, full_page=False)


def test_compare_two_runs(page: Any, server: Any, store: dict, tmp_path: Path) -> None:
    open_project(page, server)
    for box in page.locator("tr[data-run] input.sel").all():
        if box.is_checked():
            box.uncheck()
    page.locator(f"tr[data-run='{store['demo'][0]}'] input.sel").check()
    page.locator(f"tr[data-run='{store['demo'][1]}'] input.sel").check()
    page.click("text=Compare selected")
    page.wait_for_selector("table.config-diff tbody tr")
    rows = page.locator("table.config-diff tbody tr.differs th").all_inner_texts()
    assert rows == ["lr", "seed"]
    page.locator("input.only-diff").uncheck()
    assert "optimizer" in page.locator("table.config-diff").inner_text()
    page.locator(".panel[data-key='train/loss']").scroll_into_view_if_needed()
    page.locator(".panel[data-key='train/loss'] canvas").wait_for()
    page.evaluate("window.scrollTo(0, 0)")
    assert "null" not in page.locator("main").inner_text().split()
    screenshot(page, "dashboard-compare", tmp_path, full_page=False)


def test_run_page_media_slider_and_safe_text(page: Any, server: Any, store: dict, tmp_path: Path) -> None:
    run_id = store["demo"][2]
    page.goto(f"{server.url}/#/run/demo/{run_id}?tab=media")
    img = page.locator(".image-panel img")
    img.wait_for()
    images = seetrain.Api(store["logdir"]).run(f"demo/{run_id}").media(kind="image")
    assert page.locator(".image-panel .caption").inner_text() == images[-1].caption
    page.locator(".image-panel .step-slider").fill("0")
    assert page.locator(".image-panel .caption").inner_text() == images[0].caption
    page.wait_for_function("document.querySelector('.image-panel img').complete && "
                           "document.querySelector('.image-panel img').naturalWidth > 0")
    assert page.locator(".hist-canvas").count() == 1 and page.locator("audio").count() == 1
    screenshot(page, "dashboard-run-media", tmp_path)
    page.click(".tab[data-tab='overview']")
    assert "spiral-1024" in page.locator(".kv.config").inner_text()


def test_run_page_text_llm_calls_and_nan(page: Any, server: Any, store: dict) -> None:
    page.goto(f"{server.url}/#/run/demo/{store['unstable']}?tab=media")
    cell = page.locator(".text-table .text-cell").first
    cell.wait_for()
    assert cell.inner_text() == "<b>not bold</b> <img src=x onerror=alert(1)>"
    assert page.locator(".text-table b, .text-table img").count() == 0
    page.click(".tab[data-tab='llm']")
    page.locator("table.llm tbody tr").first.wait_for()
    assert "gpt-4o-mini" in page.locator("table.llm").inner_text()
    page.click(".tab[data-tab='charts']")
    page.locator(".panel[data-key='train/loss'] .nan-badge").wait_for()
    assert page.locator(".panel[data-key='train/loss'] .nan-badge").inner_text() == "3 NaN/inf"


def test_running_run_updates_live(page: Any, server: Any, store: dict) -> None:
    run = seetrain.init(project="demo", experiment_name="live-run", logdir=str(store["logdir"]), reinit="create_new")
    try:
        for step in range(5):
            run.log({"train/loss": 1.0 / (step + 1)}, step=step)
        run.flush()
        page.goto(f"{server.url}/#/run/demo/{run.id}?tab=charts")
        page.locator(".panel[data-key='train/loss'] canvas").wait_for()
        assert page.locator(".run-head .status-running").count() == 1
        polled: list[Any] = []
        page.on("response", lambda r: polled.append(r) if "after_step=4" in r.url else None)

        def train() -> None:
            for step in range(5, 40):
                run.log({"train/loss": 1.0 / (step + 1)}, step=step)
            run.flush()

        worker = threading.Thread(target=train)
        worker.start()
        worker.join()
        page.wait_for_function(
            "performance.getEntriesByType('resource').some(e => e.name.includes('after_step=4'))", timeout=15_000)
        assert any(r.json()["step"][-1] == 39 for r in polled if r.ok)
        run.finish()
        page.locator(".run-head .status-finished").wait_for(timeout=15_000)
    finally:
        run.finish()
    assert len(seetrain.Api(store["logdir"]).run(f"demo/{run.id}").scalars("train/loss")) == 40
