"""One contract over every adapter in the registry whose framework is installed: the same log
sequence, the same expected keys and steps, the framework tag, the final status, and a harmless
second finish(). Each adapter's own tests drive its framework for real; this checks they agree.

Where feasible the shared loop (three steps, losses 1, 1/2, 1/3) goes through the adapter's
framework-native object, called the way its framework calls it, with the framework's own types
(a Lightning logger's ``log_metrics``, an HF callback's ``on_log`` with a real ``TrainerState``,
a real ``SummaryWriter``, a real Optuna study ...): ``DRIVERS`` below. Adapters without a driver
(LLM autologs, mirrors of whole APIs, trackers that need a running framework session) run the
loop through ``Integration.log``."""

from __future__ import annotations

import importlib.util

import pytest

import seetrain
from integrations import main, registry

GETTERS = {"callback": "get_callback", "tracker": "get_tracker", "visbackend": "get_backend"}
LOSSES = [1.0, 0.5, 1.0 / 3]


# ---- drivers: the shared loop through each framework-native object; each returns the key -------
def _lightning(integration, tmp_path):
    logger = integration.get_callback()
    logger.log_hyperparams({"lr": 0.1})
    for step, loss in enumerate(LOSSES):
        logger.log_metrics(metrics={"loss": loss}, step=step)
    logger.finalize("success")
    return "loss"


def _hf(integration, tmp_path):
    from transformers import TrainerControl, TrainerState, TrainingArguments

    callback = integration.get_callback()
    args = TrainingArguments(output_dir=str(tmp_path / "hf"), report_to=[], use_cpu=True)
    state, control = TrainerState(), TrainerControl()
    callback.on_train_begin(args, state, control)
    for step, loss in enumerate(LOSSES):
        state.global_step = step
        callback.on_log(args, state, control, logs={"loss": loss})
    callback.on_train_end(args, state, control)
    return "train/loss"


def _accelerate(integration, tmp_path):
    tracker = integration.get_tracker()
    tracker.start()
    for step, loss in enumerate(LOSSES):
        tracker.log({"loss": loss}, step=step)
    tracker.finish()
    return "loss"


def _optuna(integration, tmp_path):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    callback = integration.get_callback(metric_name="loss")
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(lambda trial: LOSSES[trial.number], n_trials=3, callbacks=[callback])
    callback.finish()
    return "loss"


def _xgboost(integration, tmp_path):
    callback = integration.get_callback()
    history: list[float] = []
    for step, loss in enumerate(LOSSES):
        history.append(loss)
        callback.after_iteration(None, step, {"valid": {"loss": list(history)}})
    return "valid/loss"


def _lightgbm(integration, tmp_path):
    from lightgbm.callback import CallbackEnv

    callback = integration.get_callback()
    for step, loss in enumerate(LOSSES):
        callback(CallbackEnv(model=None, params={"num_leaves": 4}, iteration=step, begin_iteration=0,
                             end_iteration=100, evaluation_result_list=[("valid", "loss", loss, False)]))
    return "valid/loss"


def _catboost(integration, tmp_path):
    from types import SimpleNamespace

    callback = integration.get_callback()
    history: list[float] = []
    for step, loss in enumerate(LOSSES):
        history.append(loss)  # CatBoost's info: iteration counts from 1, metrics hold the history
        assert callback.after_iteration(SimpleNamespace(iteration=step + 1, metrics={"learn": {"loss": history}}))
    return "learn/loss"


def _tensorboard(integration, tmp_path):
    from torch.utils.tensorboard import SummaryWriter

    integration.get_backend()
    writer = SummaryWriter(str(tmp_path / "tb"))
    for step, loss in enumerate(LOSSES):
        writer.add_scalar("loss", loss, step)
    writer.close()
    return "loss"


def _mmengine(integration, tmp_path):
    backend = integration.get_backend(save_dir=str(tmp_path / "mm"))
    for step, loss in enumerate(LOSSES):
        backend.add_scalars({"loss": loss}, step=step)
    backend.close()
    return "loss"


DRIVERS = {"pytorch_lightning": _lightning, "transformers": _hf, "peft": _hf, "trl": _hf,
           "sentence_transformers": _hf, "accelerate": _accelerate, "optuna": _optuna, "xgboost": _xgboost,
           "lightgbm": _lightgbm, "catboost": _catboost, "tensorboard": _tensorboard, "mmengine": _mmengine,
           "mmdetection": _mmengine}


def _installed(name: str) -> bool:
    spec = registry.get_spec(name)
    try:
        registry.find_framework(spec)
    except ImportError:
        return False
    module = spec.target.partition(":")[0]
    return importlib.util.find_spec(module) is not None


ADAPTERS = [
    pytest.param(name, marks=pytest.mark.skipif(not _installed(name), reason=f"{name} or its adapter not installed"))
    for name in sorted(n for n in registry.names() if n in {s.name for s in registry.builtin()})
]


@pytest.mark.integration
@pytest.mark.parametrize("name", ADAPTERS)
def test_adapter_contract(name, logdir, tmp_path):
    spec = registry.get_spec(name)
    integration = main.init(name, project="contract", experiment_name=name, logdir=str(logdir),
                            system_monitor=False, capture_console=False)
    try:
        if name in DRIVERS:
            key = DRIVERS[name](integration, tmp_path)
        else:
            if spec.mode in GETTERS:
                assert getattr(integration, GETTERS[spec.mode])() is not None
            else:
                assert callable(integration.disable)
            key = "contract/loss"
            for step, loss in enumerate(LOSSES):
                integration.log({key: loss, "contract/acc": step / 3}, step=step)
        assert integration.get_stats()["degraded_calls"] == 0, integration.get_stats()
    finally:
        integration.finish()
    integration.finish()  # twice is harmless
    (view,) = seetrain.Api(logdir).runs("contract")
    assert view.status == "finished"
    assert [(s, v) for s, _, v in view.scalars(key)] == [(0, 1.0), (1, 0.5), (2, 1.0 / 3)]
    tag = view.config["framework"]
    assert tag["name"] == name and tag["mode"] == spec.mode and tag["version"]
    assert name in view.tags
    assert main.active_integrations() == []
