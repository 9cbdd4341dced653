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
    page.locator("input.only-diff").check()
    assert "optimizer" not in page.locator("table.config-diff").inner_text()
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
    run = seetrain.init(project="demo", experiment_name="live-run", logdir=str(store["logdir"]), reinit="create_new",
                        system_monitor=False, capture_console=False)
    try:
        for step in range(5):
            run.log({"train/loss": 1.0 / (step + 1)}, step=step)
            run.log_console("stdout", f"epoch {step}", None)
        run.flush()
        page.goto(f"{server.url}/#/run/demo/{run.id}?tab=console")
        page.wait_for_function("document.querySelectorAll('.console .cl').length === 5")
        assert page.locator("input.console-follow").is_checked()
        page.click(".tab[data-tab='charts']")
        page.locator(".panel[data-key='train/loss'] canvas").wait_for()
        assert page.locator(".run-head .status-running").count() == 1
        polled: list[Any] = []
        page.on("response", lambda r: polled.append(r) if "after_step=4" in r.url else None)

        def train() -> None:
            for step in range(5, 40):
                run.log({"train/loss": 1.0 / (step + 1)}, step=step)
            run.log_console("stderr", "late warning", None)
            run.flush()

        worker = threading.Thread(target=train)
        worker.start()
        worker.join()
        page.wait_for_function(
            "performance.getEntriesByType('resource').some(e => e.name.includes('after_step=4'))", timeout=15_000)
        assert any(r.json()["step"][-1] == 39 for r in polled if r.ok)
        # The console tab, open in the background, fetched only the lines after the 5th.
        page.wait_for_function("performance.getEntriesByType('resource').some(e => e.name.includes('/console?after=5'))",
                               timeout=15_000)
        page.click(".tab[data-tab='console']")
        page.wait_for_function("document.querySelectorAll('.console .cl').length === 6")
        assert page.locator(".console .cl").last.get_attribute("class") == "cl stderr"
        assert page.locator(".console .cl .cl-text").last.inner_text() == "late warning"
        run.finish()
        page.locator(".run-head .status-finished").wait_for(timeout=15_000)
    finally:
        run.finish()
    assert len(seetrain.Api(store["logdir"]).run(f"demo/{run.id}").scalars("train/loss")) == 40


def _requests(page: Any, fragment: str) -> list[str]:
    return page.evaluate("(f) => performance.getEntriesByType('resource').map(e => e.name).filter(n => n.includes(f))",
                         fragment)


def test_system_metrics_have_their_own_time_axis(page: Any, server: Any, insight: dict, tmp_path: Path) -> None:
    run = seetrain.Api(insight["logdir"]).run(f"insight/{insight['slow']}")
    sys_keys = [k for k in run.keys() if k.startswith("sys/")]
    assert "sys/cpu_percent" in sys_keys and "sys/proc/memory_rss_mb" in sys_keys
    page.goto(f"{server.url}/#/run/insight/{run.id}?tab=charts")
    page.locator(".panel[data-key='train/loss'] canvas").wait_for()
    groups = page.locator(".group").evaluate_all("gs => gs.map(g => g.dataset.group)")
    assert groups[0] == "train" and groups[-1] == "sys"  # the system section comes last, on its own
    sys_group = page.locator(".group[data-group='sys']")
    assert sys_group.locator(".panel").count() == len(sys_keys)
    assert page.locator(".x-axis").input_value() == "step" and sys_group.locator(".sys-x-axis").input_value() == "relative"
    cpu = sys_group.locator(".panel[data-key='sys/cpu_percent']")
    # The section's heading just under the sticky toolbar (also the screenshot's frame).
    sys_group.evaluate("g => window.scrollTo(0, g.getBoundingClientRect().top + window.scrollY - 112)")
    cpu.locator("canvas").wait_for()
    assert cpu.locator(".panel-title").inner_text() == "CPU utilisation" and cpu.locator(".panel-unit").inner_text() == "%"
    assert sys_group.locator(".panel[data-key='sys/proc/memory_rss_mb'] .panel-unit").inner_text() in ("MB", "GB")
    cpu_urls = _requests(page, "key=sys%2Fcpu_percent")
    assert cpu_urls and all("x_axis=relative" in u for u in cpu_urls)
    assert all("x_axis=step" in u for u in _requests(page, "key=train%2Floss"))
    # The tooltip speaks seconds since start and percent.
    over = cpu.locator(".u-over").bounding_box()
    page.mouse.move(over["x"] + over["width"] * 0.5, over["y"] + over["height"] * 0.5)
    page.mouse.move(over["x"] + over["width"] * 0.55, over["y"] + over["height"] * 0.5)
    cpu.locator(".tooltip .tt-row").wait_for()
    assert cpu.locator(".tooltip .tt-head").inner_text().endswith((" ms", " s"))
    assert cpu.locator(".tooltip .tt-row b").inner_text().endswith("%")
    assert page.locator(".panel .tooltip:not([hidden])").count() == 1  # only the hovered panel
    screenshot(page, "dashboard-run-insight", tmp_path, full_page=False)
    # Wall time, the sample index and log scale all draw.
    for axis in ("time", "step"):
        with page.expect_response(lambda r, a=axis: "key=sys%2Fcpu_percent" in r.url and f"x_axis={a}" in r.url) as resp:
            sys_group.locator(".sys-x-axis").select_option(axis)
        assert resp.value.json()["runs"][run.id]["total"] == len(run.scalars("sys/cpu_percent"))
        cpu.locator("canvas").wait_for()
    page.locator(".log-y").check()
    cpu.locator("canvas").wait_for()
    page.locator(".log-y").uncheck()
    sys_group.locator(".sys-x-axis").select_option("relative")
    # Zoom is shared by the panels of one x axis: training charts follow, the system ones do not.
    loss = page.locator(".panel[data-key='train/loss']")
    loss.scroll_into_view_if_needed()
    # a panel scrolled back into view is laid out again (content-visibility): drag once it is
    page.evaluate("() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")
    box = loss.locator(".u-over").bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * 0.1, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.4, y, steps=6)
    page.mouse.up()
    page.wait_for_function("document.querySelector(\".panel[data-key='train/acc']\").classList.contains('zoomed')")
    assert "zoomed" not in cpu.get_attribute("class")
    page.mouse.dblclick(box["x"] + box["width"] * 0.3, y)
    page.wait_for_function("!document.querySelector(\".panel[data-key='train/acc']\").classList.contains('zoomed')")


def test_console_tab_shows_what_a_real_run_printed(page: Any, server: Any, insight: dict, tmp_path: Path) -> None:
    lines = seetrain.Api(insight["logdir"]).run(f"insight/{insight['slow']}").console()
    assert any(ln["line"].startswith("step  50") for ln in lines)
    page.goto(f"{server.url}/#/run/insight/{insight['slow']}?tab=console")
    page.wait_for_function(f"document.querySelectorAll('.console .cl').length === {len(lines)}")
    assert page.locator(".console .cl .cl-text").all_inner_texts() == [ln["line"] for ln in lines]
    stderr = [ln["line"] for ln in lines if ln["stream"] == "stderr"]
    assert "warning: <b>learning rate</b> schedule not set, using a constant lr" in stderr
    assert page.locator(".console .cl.stderr .cl-text").all_inner_texts() == stderr
    # The logging record: its own line, shown with its stream (stderr, or "logging" when pytest's
    # handler, not the terminal, took the record).
    (record,) = [ln for ln in lines if "finished slow-input with loss" in ln["line"]]
    row = page.locator(".console .cl", has_text="finished slow-input with loss")
    assert row.get_attribute("class") == f"cl {record['stream']}" and record["stream"] in ("stderr", "logging")
    assert page.locator(".console b").count() == 0  # printed markup stays text
    assert page.locator(".console-count").inner_text().startswith(f"{len(lines)} lines")
    page.fill(".console-filter", "loss")
    expected = [ln["line"] for ln in lines if "loss" in ln["line"].lower()]
    page.wait_for_function(f"document.querySelectorAll('.console .cl').length === {len(expected)}")
    assert page.locator(".console mark").first.inner_text() == "loss"
    page.select_option(".console-stream", "stderr")
    page.wait_for_function("[...document.querySelectorAll('.console .cl')].every(e => e.classList.contains('stderr'))")
    page.select_option(".console-stream", "")
    page.fill(".console-filter", "")
    page.wait_for_function(f"document.querySelectorAll('.console .cl').length === {len(lines)}")
    screenshot(page, "dashboard-run-console", tmp_path, full_page=False)


def test_model_summary_gradients_and_attention(page: Any, server: Any, insight: dict, tmp_path: Path) -> None:
    run = seetrain.Api(insight["logdir"]).run(f"insight/{insight['slow']}")
    summary = run.media(kind="model_summary")[-1].payload
    page.goto(f"{server.url}/#/run/insight/{run.id}?tab=overview")
    page.locator(".model-link").wait_for()
    assert page.locator(".model-link").inner_text() == "TinyTransformer"
    assert "Intel" in page.locator(".card:has(h3:text('Hardware'))").inner_text() or \
        run.metadata["hardware"]["cpu_model"] in page.locator(".card:has(h3:text('Hardware'))").inner_text()
    page.click(".model-link")
    page.locator("table.model tbody tr").first.wait_for()
    rows = page.locator("table.model tbody tr")
    assert rows.count() == len(summary["rows"])
    assert rows.first.locator("td").first.inner_text() == summary["rows"][0]["name"] == "embed"
    assert rows.first.locator("td").nth(4).inner_text() == " × ".join(map(str, summary["rows"][0]["input_shape"]))
    stats = page.locator(".stat-row").inner_text()
    assert "TinyTransformer" in stats and str(len(summary["rows"])) in stats
    screenshot(page, "dashboard-run-model", tmp_path, full_page=False)
    # Norms from seetrain.watch: a group of their own, the total first, per-layer charts folded.
    page.click(".tab[data-tab='charts']")
    grads = page.locator(".group[data-group='gradients']")
    grads.locator(".panel[data-key='gradients/norm/total']").wait_for()
    per_layer = [k for k in run.keys() if k.startswith("gradients/norm/") and k != "gradients/norm/total"]
    assert grads.locator(".subgroup .panel").count() == len(per_layer) > 0
    assert not grads.locator(".subgroup").evaluate("d => d.open")
    # Attention heatmaps: one gallery per layer, one step slider for its heads.
    page.click(".tab[data-tab='media']")
    gallery = page.locator(".card:has(.image-gallery)").first
    gallery.wait_for()
    heads = [m for m in run.media(kind="image") if m.key.startswith("attention/layer0/")]
    steps = sorted({m.step for m in heads})
    assert page.locator(".image-gallery").count() == 2 and gallery.locator("img").count() == 4
    gallery.locator(".step-slider").fill("0")
    assert gallery.locator(".step-label").inner_text().startswith(f"step {steps[0]} ")
    page.wait_for_function("[...document.querySelectorAll('.image-gallery')[0].querySelectorAll('img')]"
                           ".every(i => i.complete && i.naturalWidth > 0)")
    first = gallery.locator("img").first.get_attribute("src")
    head0 = next(m for m in heads if m.key == "attention/layer0/head0" and m.step == steps[0])
    assert first.endswith("/" + "/".join(head0.path.split("/")[-2:]))
    gallery.locator(".step-slider").fill(str(len(steps) - 1))
    page.locator(".media-group[data-group='gradients'] > summary").click()  # folded: 2 x 13 histograms
    page.locator(".media-group[data-group='gradients'] .hist-canvas").first.wait_for()
    screenshot(page, "dashboard-run-attention", tmp_path, full_page=False)


def test_compare_view_shows_the_report(page: Any, server: Any, insight: dict, tmp_path: Path) -> None:
    from seetrain.compare_report import build_report

    api = seetrain.Api(insight["logdir"])
    report = build_report([api.run(f"insight/{insight['slow']}"), api.run(f"insight/{insight['fast']}")])
    page.goto(f"{server.url}/#/compare/insight?runs={insight['slow']},{insight['fast']}")
    page.locator("table.config-diff tbody tr").first.wait_for()
    assert page.locator("input.only-diff").is_checked()
    assert page.locator("table.config-diff tbody tr.differs th").all_inner_texts() == ["input_sleep_s"]
    timing = page.locator("table.report-timing")
    timing.wait_for()
    speedup = report["vs_baseline"][insight["fast"]]["speedup"]
    assert ("faster" if speedup >= 1 else "slower") in timing.inner_text()
    assert "from batch_time" in timing.inner_text()
    resources = page.locator("table.report-resources").inner_text()
    assert "CPU utilisation" in resources and "Process memory (RSS)" in resources
    stats = page.locator("table.report-metrics")
    keys = stats.locator("tbody th").all_inner_texts()
    assert keys[:2] == ["train/acc", "train/loss"] and "gradients/norm/total" in keys
    assert not any(k.startswith("gradients/norm/encoder") for k in keys)
    loss_row = stats.locator("tbody tr:has(th:text-is('train/loss')) td")
    assert loss_row.count() == 10  # initial, final, min, max, mean per run
    stats.scroll_into_view_if_needed()
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "dashboard-compare-report", tmp_path, full_page=False)
