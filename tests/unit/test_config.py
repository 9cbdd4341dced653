from __future__ import annotations

import argparse
import dataclasses
import json

import pytest

import seetrain


@dataclasses.dataclass
class TrainCfg:
    lr: float = 0.01
    layers: tuple = (64, 32)


@pytest.mark.parametrize(
    "config, expected",
    [
        ({"lr": 1e-3, "batch_size": 32}, {"lr": 1e-3, "batch_size": 32}),
        (argparse.Namespace(lr=0.1, name="x"), {"lr": 0.1, "name": "x"}),
        (TrainCfg(), {"lr": 0.01, "layers": [64, 32]}),
        ({"nested": {"a": 1, "b": [1, 2]}, "nan": float("nan")}, {"nested": {"a": 1, "b": [1, 2]}, "nan": "nan"}),
    ],
)
def test_config_forms_round_trip(logdir, config, expected):
    run = seetrain.init(project="cfg", config=config, logdir=str(logdir))
    run.finish()
    assert seetrain.Api(logdir).run(run.id).config == expected


def test_config_from_json_and_yaml_files(logdir, tmp_path):
    js = tmp_path / "c.json"
    js.write_text(json.dumps({"lr": 0.5, "opt": {"name": "adam"}}))
    ym = tmp_path / "c.yaml"
    ym.write_text("lr: 0.25\nlayers: [1, 2]\n")
    run = seetrain.init(project="cfg", config=str(js), logdir=str(logdir))
    assert seetrain.config.opt == {"name": "adam"}
    run = seetrain.init(project="cfg", config=ym, logdir=str(logdir))
    assert seetrain.config["layers"] == [1, 2]
    seetrain.finish()
    assert seetrain.Api(logdir).run(run.id).config == {"lr": 0.25, "layers": [1, 2]}


def test_config_access_and_updates_are_persisted(logdir):
    seetrain.init(project="cfg", config={"lr": 1e-3, "batch_size": 32}, logdir=str(logdir))
    assert seetrain.config.lr == 1e-3
    assert seetrain.config["batch_size"] == 32
    seetrain.update_config({"dropout": 0.1})
    seetrain.config.epochs = 3
    seetrain.config["warmup"] = 10
    assert "dropout" in seetrain.config
    with pytest.raises(AttributeError):
        _ = seetrain.config.missing
    run = seetrain.get_run()
    seetrain.finish()
    assert seetrain.Api(logdir).run(run.id).config == {
        "lr": 1e-3, "batch_size": 32, "dropout": 0.1, "epochs": 3, "warmup": 10}


def test_bad_config_type_is_a_clear_error(logdir):
    with pytest.raises(TypeError, match="config must be"):
        seetrain.init(project="cfg", config=42, logdir=str(logdir))
    with pytest.raises(FileNotFoundError):
        seetrain.init(project="cfg", config=str(logdir / "missing.yaml"), logdir=str(logdir))
