"""The dashboard's Artifacts pages in a real chromium against a real uvicorn over real runs."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import seetrain
from tests.e2e.conftest import screenshot

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Project "zoo": a trainer logging two model versions and a dataset, an evaluator using one."""
    base = tmp_path_factory.mktemp("artifacts-dash")
    logdir = base / "logs"
    model = base / "model"
    (model / "tokenizer").mkdir(parents=True)
    (model / "weights.bin").write_bytes(os.urandom(300_000))
    (model / "tokenizer" / "vocab.txt").write_text("<unk>\nhello\n<script>alert(1)</script>\n")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SEETRAIN_SYSTEM_MONITOR", "0")
        mp.setenv("SEETRAIN_CAPTURE_CONSOLE", "0")
        trainer = seetrain.init(project="zoo", experiment_name="trainer", logdir=str(logdir), reinit="create_new")
        data = base / "train.csv"
        data.write_text("x,y\n1,2\n")
        trainer.log_artifact(data, name="train-set", type="dataset")
        for step in range(3):
            trainer.log({"loss": 1 / (step + 1)}, step=step)
        trainer.log_artifact(model, name="model", type="model", aliases=["best"], metadata={"val_loss": 0.25})
        (model / "weights.bin").write_bytes(os.urandom(300_000))
        trainer.log_artifact(model, name="model", type="model", metadata={"val_loss": 0.31})
        trainer.finish()
        evaluator = seetrain.init(project="zoo", experiment_name="evaluator", logdir=str(logdir),
                                  reinit="create_new")
        evaluator.use_artifact("model:best")
        evaluator.log({"eval/acc": 0.9}, step=0)
        evaluator.finish()
    yield {"logdir": logdir, "trainer": trainer.id, "evaluator": evaluator.id,
           "weights_v0": seetrain.Api(logdir).artifact("zoo/model:v0").blob_path("weights.bin")}


def test_artifacts_page_versions_files_lineage(page: Any, server: Any, store: dict, tmp_path: Path) -> None:
    page.goto(f"{server.url}/#/project/zoo")
    page.click("a.artifacts-link")
    page.wait_for_selector("table.artifacts tr[data-artifact]")
    assert page.locator("table.artifacts tr[data-artifact]").count() == 2
    model_row = page.locator("table.artifacts tr[data-artifact='model']")
    assert "best→v0" in model_row.inner_text() and "latest→v1" in model_row.inner_text()
    model_row.click()
    page.wait_for_selector(".artifact-versions table.versions tr[data-version='v0']")
    # The newest version is shown first.
    page.wait_for_selector(".artifact-detail .artifact-version[data-version='v1']")
    page.click("table.versions tr[data-version='v0']")
    detail = page.locator(".artifact-detail .artifact-version[data-version='v0']")
    detail.wait_for()
    assert detail.locator(".created-by a").inner_text() == store["trainer"]
    assert detail.locator(".used-by a").inner_text() == store["evaluator"]
    assert "best" in detail.locator(".chip.alias").all_inner_texts()
    assert detail.locator("table.artifact-metadata").inner_text().count("0.25") == 1
    paths = detail.locator("table.artifact-files td.path").all_inner_texts()
    assert paths == ["tokenizer/vocab.txt", "weights.bin"]
    assert page.evaluate("document.querySelectorAll('.artifact-detail script').length") == 0
    with page.expect_download() as dl:
        detail.locator("tr[data-file='weights.bin'] a").click()
    assert Path(dl.value.path()).read_bytes() == Path(store["weights_v0"]).read_bytes()
    assert "v=v0" in page.url
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "dashboard-artifacts", tmp_path)


def test_run_page_artifacts_tab(page: Any, server: Any, store: dict) -> None:
    page.goto(f"{server.url}/#/run/zoo/{store['evaluator']}")
    page.click("nav.tabs button[data-tab='artifacts']")
    page.wait_for_selector("table.run-used tr[data-artifact='model']")
    assert page.locator("table.run-used tr").count() == 2  # header + one version
    assert "This run logged no artifacts" in page.locator(".run-artifacts").inner_text()
    page.click("table.run-used a")
    page.wait_for_selector(".artifact-detail .artifact-version[data-version='v0']")
    page.goto(f"{server.url}/#/run/zoo/{store['trainer']}?tab=artifacts")
    page.wait_for_selector("table.run-created tr[data-artifact]")
    created = page.locator("table.run-created tr[data-artifact]").evaluate_all(
        "rows => rows.map(r => r.dataset.artifact + ':' + r.dataset.version)")
    assert sorted(created) == ["model:v0", "model:v1", "train-set:v0"]
