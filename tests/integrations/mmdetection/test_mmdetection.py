"""MMDetection = the MMEngine backend with the run tagged ``mmdetection`` (mmdet itself not needed)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("mmengine")

import seetrain  # noqa: E402
from integrations import main  # noqa: E402

pytestmark = pytest.mark.integration

QUIET = dict(system_monitor=False, capture_console=False)


@pytest.fixture(autouse=True)
def _clean(monkeypatch):
    for var in ("RANK", "LOCAL_RANK", "SEETRAIN_LOGDIR", "SEETRAIN_PROJECT", "SEETRAIN_MODE"):
        monkeypatch.delenv(var, raising=False)
    yield
    main.finish()


def test_init_mmdetection_tags_the_run(tmp_path):
    integration = main.init_mmdetection(project="det", logdir=str(tmp_path), **QUIET)
    backend = integration.get_backend()
    backend.add_scalars({"loss_bbox": 0.5, "loss_cls": 0.25}, step=10)
    backend.add_image("pred", np.zeros((5, 7, 3), dtype=np.uint8), step=10)
    integration.finish()
    integration.finish()

    (view,) = seetrain.Api(tmp_path).runs("det")
    assert view.status == "finished"
    assert view.config["framework"]["name"] == "mmdetection"
    assert view.config["framework"]["package"] == "mmengine"
    assert view.config["framework"]["mode"] == "visbackend"
    assert "mmdetection" in view.tags
    assert view.scalars("loss_bbox")[0][::2] == (10, 0.5)
    assert len(view.media("pred", kind="image")) == 1


def test_config_backend_with_framework_mmdetection(tmp_path):
    from mmengine.registry import VISBACKENDS

    import integrations.mmengine  # noqa: F401 - what custom_imports does in an MMDetection config

    backend = VISBACKENDS.build(dict(type="SeeTrainVisBackend", save_dir=str(tmp_path / "vis_data"),
                                     framework="mmdetection",
                                     init_kwargs=dict(project="det", logdir=str(tmp_path), **QUIET)))
    backend.add_scalar("coco/bbox_mAP", 0.125, step=1)
    backend.close()
    (view,) = seetrain.Api(tmp_path).runs("det")
    assert view.status == "finished"
    assert view.config["framework"]["name"] == "mmdetection"
    assert view.scalars("coco/bbox_mAP")[0][::2] == (1, 0.125)


def test_unknown_framework_is_refused():
    from integrations.mmengine import SeeTrainVisBackend

    with pytest.raises(ValueError, match="mmdetection"):
        SeeTrainVisBackend(framework="mmdet3d")
