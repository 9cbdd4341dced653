"""Per-call overhead of the new adapters' callbacks against one tiny training step of their
framework (issue 14's budget: at most 5 % of a step).

    .venv/bin/python -m benchmarks.adapter_overhead            # every framework installed here
    .venv/bin/python -m benchmarks.adapter_overhead --json out.json

For each framework two numbers, both medians over many repetitions on the same machine:

- ``step_us``: one training step of a tiny real model without SeeTrain (a boosting round on
  1,000 x 10 rows, one PPO environment step on CartPole, one HF Trainer optimisation step of a
  tiny BERT, one SGD step of a tiny Keras model is not included: see docs/performance.md);
- ``call_us``: one call of the SeeTrain hook the framework makes per step (``after_iteration``,
  the LightGBM callback, SB3's ``_on_step`` plus its share of the logger dump, the HF ``on_log``),
  with the same data a real step hands it, writing into a real local run.

``ratio`` = call / step. The hook is timed directly because on a shared 2-core machine the
difference of two end-to-end timings is mostly noise; ``e2e_ratio`` reports that difference
anyway (median of interleaved runs with and without the callback, the callback bound to one hub
integration so that no run is created per training; it includes the flush at each training's
end) as a sanity check.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from typing import Any

os.environ.setdefault("SEETRAIN_SYSTEM_MONITOR", "0")
os.environ.setdefault("SEETRAIN_CAPTURE_CONSOLE", "0")
os.environ.setdefault("KERAS_BACKEND", "torch")

from integrations import main as hub  # noqa: E402 - after the environment above


def _median_us(fn: Callable[[], Any], repeat: int, warmup: int = 5) -> float:
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter_ns()
        fn()
        samples.append(time.perf_counter_ns() - t0)
    return statistics.median(samples) / 1000


def _e2e(train: Callable[[bool], float], repeat: int = 5) -> float:
    """Median relative difference of interleaved runs with/without the callback."""
    ratios = []
    for _ in range(repeat):
        base = train(False)
        with_cb = train(True)
        ratios.append((with_cb - base) / base)
    return statistics.median(ratios)


def bench_xgboost(logdir: str) -> dict[str, float]:
    import numpy as np
    import xgboost as xgb

    from integrations.xgboost import SeeTrainCallback

    rng = np.random.default_rng(0)
    x = rng.normal(size=(1000, 10))
    d = xgb.DMatrix(x, label=(x[:, 0] > 0).astype(int))
    params = {"objective": "binary:logistic", "max_depth": 3, "nthread": 1}
    rounds = 200
    bound = hub.init_xgboost(project="bench-e2e", logdir=logdir)

    def train(with_cb: bool) -> float:
        callbacks = [SeeTrainCallback(integration=bound, log_feature_importance=False)] if with_cb else []
        t0 = time.perf_counter()
        xgb.train(params, d, rounds, evals=[(d, "train")], verbose_eval=False, callbacks=callbacks)
        return (time.perf_counter() - t0) / rounds

    step = statistics.median(train(False) for _ in range(5)) * 1e6
    callback = SeeTrainCallback(project="bench", logdir=logdir)
    evals = {"train": {"logloss": [0.5] * 10}, "valid": {"logloss": [0.6] * 10}}
    epoch = iter(range(10**9))
    call = _median_us(lambda: callback.after_iteration(None, next(epoch), evals), 2000)
    callback.integration.finish()
    return {"step_us": step, "call_us": call, "e2e_ratio": _e2e(train)}


def bench_lightgbm(logdir: str) -> dict[str, float]:
    import lightgbm as lgb
    import numpy as np
    from lightgbm.callback import CallbackEnv

    from integrations.lightgbm import SeeTrainCallback

    rng = np.random.default_rng(0)
    x = rng.normal(size=(1000, 10))
    y = (x[:, 0] > 0).astype(int)
    params = {"objective": "binary", "num_leaves": 8, "verbose": -1, "num_threads": 1}
    rounds = 200
    bound = hub.init_lightgbm(project="bench-e2e", logdir=logdir)

    def train(with_cb: bool) -> float:
        data = lgb.Dataset(x, label=y)
        callbacks = [SeeTrainCallback(integration=bound, log_feature_importance=False)] if with_cb else []
        t0 = time.perf_counter()
        lgb.train(params, data, rounds, valid_sets=[data], valid_names=["train"], callbacks=callbacks)
        return (time.perf_counter() - t0) / rounds

    step = statistics.median(train(False) for _ in range(5)) * 1e6
    callback = SeeTrainCallback(project="bench", logdir=logdir)
    counter = iter(range(10**9))
    results = [("train", "binary_logloss", 0.5, False), ("valid", "binary_logloss", 0.6, False)]
    call = _median_us(lambda: callback(CallbackEnv(None, params, next(counter), 0, 10**9, results)), 2000)
    callback.finish()
    return {"step_us": step, "call_us": call, "e2e_ratio": _e2e(train)}


def bench_catboost(logdir: str) -> dict[str, float]:
    from types import SimpleNamespace

    import numpy as np
    from catboost import CatBoostClassifier

    from integrations.catboost import SeeTrainCallback

    rng = np.random.default_rng(0)
    x = rng.normal(size=(1000, 10))
    y = (x[:, 0] > 0).astype(int)
    rounds = 200
    bound = hub.init_catboost(project="bench-e2e", logdir=logdir)

    def train(with_cb: bool) -> float:
        callbacks = [SeeTrainCallback(integration=bound)] if with_cb else None
        model = CatBoostClassifier(iterations=rounds, depth=3, verbose=False, thread_count=1, allow_writing_files=False)
        t0 = time.perf_counter()
        model.fit(x, y, eval_set=(x, y), callbacks=callbacks)
        return (time.perf_counter() - t0) / rounds

    step = statistics.median(train(False) for _ in range(5)) * 1e6
    callback = SeeTrainCallback(project="bench", logdir=logdir)
    counter = iter(range(1, 10**9))
    metrics = {"learn": {"Logloss": [0.5] * 10}, "validation": {"Logloss": [0.6] * 10}}
    call = _median_us(lambda: callback.after_iteration(SimpleNamespace(iteration=next(counter), metrics=metrics)), 2000)
    callback.finish()
    return {"step_us": step, "call_us": call, "e2e_ratio": _e2e(train)}


def bench_sb3(logdir: str) -> dict[str, float]:
    import torch
    from stable_baselines3 import PPO

    from integrations.stable_baselines3 import SeeTrainCallback

    torch.set_num_threads(1)
    steps = 1024
    bound = hub.init_stable_baselines3(project="bench-e2e", logdir=logdir)

    def train(with_cb: bool) -> float:
        model = PPO("MlpPolicy", "CartPole-v1", n_steps=256, batch_size=64, n_epochs=1, seed=0, device="cpu")
        callback = SeeTrainCallback(integration=bound) if with_cb else None
        t0 = time.perf_counter()
        model.learn(steps, callback=callback)
        return (time.perf_counter() - t0) / steps

    step = statistics.median(train(False) for _ in range(3)) * 1e6
    # The per-step hook: _on_step with CartPole's infos (an episode ends about every 20 steps).
    from stable_baselines3.common.logger import Logger

    model = PPO("MlpPolicy", "CartPole-v1", n_steps=256, seed=0, device="cpu")
    model.set_logger(Logger(folder=None, output_formats=[]))
    callback = SeeTrainCallback(project="bench", logdir=logdir)
    callback.init_callback(model)
    callback.on_training_start({}, {})
    infos_plain = {"infos": [{}]}
    infos_episode = {"infos": [{"episode": {"r": 20.0, "l": 20, "t": 0.1}}]}
    counter = iter(range(10**9))

    def hook() -> None:
        n = next(counter)
        callback.update_locals(infos_episode if n % 20 == 0 else infos_plain)
        callback.on_step()

    call = _median_us(hook, 5000)
    # SB3 dumps its logger once per rollout (256 steps): that share per step.
    writer = callback._writer
    dump = {"rollout/ep_rew_mean": 20.0, "rollout/ep_len_mean": 20.0, "time/fps": 900, "train/loss": 0.1,
            "train/entropy_loss": -0.6, "train/value_loss": 5.0, "train/approx_kl": 0.01}
    per_dump = _median_us(lambda: writer.write(dump, {}, next(counter)), 500)
    callback.on_training_end()
    return {"step_us": step, "call_us": call + per_dump / 256, "e2e_ratio": _e2e(train, 3)}


def bench_hf(logdir: str) -> dict[str, float]:
    import torch
    from transformers import (
        BertConfig,
        BertForSequenceClassification,
        Trainer,
        TrainerControl,
        TrainerState,
        TrainingArguments,
    )

    from integrations.transformers import SeeTrainCallback

    torch.set_num_threads(1)

    class Data(torch.utils.data.Dataset):
        ids = torch.randint(1, 100, (256, 16), generator=torch.Generator().manual_seed(0))

        def __len__(self) -> int:
            return 256

        def __getitem__(self, i: int) -> dict:
            return {"input_ids": self.ids[i], "labels": (self.ids[i, 0] > 50).long()}

    steps = 20
    out = tempfile.mkdtemp()
    bound = hub.init_transformers(project="bench-e2e", logdir=logdir)

    def train(with_cb: bool) -> float:
        torch.manual_seed(0)
        model = BertForSequenceClassification(BertConfig(vocab_size=100, hidden_size=32, num_hidden_layers=2,
                                                         num_attention_heads=2, intermediate_size=64, num_labels=2))
        args = TrainingArguments(output_dir=out, report_to=[], max_steps=steps, logging_steps=1, use_cpu=True,
                                 per_device_train_batch_size=8, save_strategy="no", disable_tqdm=True)
        callbacks = [SeeTrainCallback(integration=bound)] if with_cb else []
        trainer = Trainer(model=model, args=args, train_dataset=Data(), callbacks=callbacks)
        t0 = time.perf_counter()
        trainer.train()
        return (time.perf_counter() - t0) / steps

    step = statistics.median(train(False) for _ in range(3)) * 1e6
    callback = SeeTrainCallback(project="bench", logdir=logdir)
    args = TrainingArguments(output_dir=out, report_to=[], use_cpu=True)
    state, control = TrainerState(), TrainerControl()
    callback.on_train_begin(args, state, control)
    logs = {"loss": 0.5, "grad_norm": 1.2, "learning_rate": 5e-5, "epoch": 0.1}

    def hook() -> None:
        state.global_step += 1
        callback.on_log(args, state, control, logs=logs)

    call = _median_us(hook, 2000)
    callback.on_train_end(args, state, control)
    return {"step_us": step, "call_us": call, "e2e_ratio": _e2e(train, 3)}


BENCHES = {"xgboost": bench_xgboost, "lightgbm": bench_lightgbm, "catboost": bench_catboost,
           "stable_baselines3": bench_sb3, "transformers (also TRL, PEFT, Sentence Transformers)": bench_hf}


Bench = Callable[[str], dict[str, float]]


def run_benches(doc: str, benches: dict[str, Bench], line: Callable[[str, dict[str, float]], str]) -> None:
    """The command line of the adapter-overhead benchmarks: ``--only NAME ...`` (name prefixes),
    ``--json PATH``; a framework that is not installed is skipped. ``line`` prints one result."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--json", help="also write the results here")
    parser.add_argument("--only", nargs="*", help="run only these frameworks")
    args = parser.parse_args()
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as logdir:
        for name, bench in benches.items():
            if args.only and not any(name.startswith(o) for o in args.only):
                continue
            try:
                numbers = bench(logdir)
            except ImportError as exc:
                print(f"{name}: skipped ({exc})")
                continue
            numbers["ratio"] = numbers["call_us"] / numbers["step_us"]
            results[name] = numbers
            print(line(name, numbers), flush=True)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=2)


def main() -> None:
    run_benches(__doc__ or "", BENCHES, lambda name, n: (
        f"{name:55s} step {n['step_us']:10.1f} us   hook {n['call_us']:7.1f} us   "
        f"ratio {100 * n['ratio']:5.2f} %   end-to-end {100 * n['e2e_ratio']:+6.1f} %"))


if __name__ == "__main__":
    main()
