"""Training insight in one line each: system monitor, console capture, model watch, attention
monitor, the autolog helper and a comparison report. Runs on a CPU in a few seconds.

    .venv/bin/python examples/insight_torch.py --logdir /tmp/insight
    .venv/bin/seetrain ui --logdir /tmp/insight
"""

from __future__ import annotations

import argparse
import logging
import time

import torch

import seetrain
from seetrain.api import Api
from seetrain.compare_report import write_report

log = logging.getLogger("insight")


class TinyTransformer(torch.nn.Module):
    def __init__(self, vocab: int = 32, d_model: int = 32, layers: int = 2) -> None:
        super().__init__()
        self.embed = torch.nn.Embedding(vocab, d_model)
        layer = torch.nn.TransformerEncoderLayer(d_model, nhead=4, dim_feedforward=64, batch_first=True,
                                                 dropout=0.0)
        self.encoder = torch.nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.head = torch.nn.Linear(d_model, vocab)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder(self.embed(tokens)))


def batch(size: int = 16, length: int = 12, vocab: int = 32) -> tuple[torch.Tensor, torch.Tensor]:
    """Copy task: predict the token itself (learnable in a few hundred steps)."""
    tokens = torch.randint(0, vocab, (size, length))
    return tokens, tokens


def train(lr: float = 3e-3, steps: int = 200, sleep: float = 0.0) -> str:
    model = TinyTransformer()
    seetrain.watch(model, log="all", log_freq=50)             # grad/param norms + histograms, summary
    seetrain.watch_attention(model, every=50, layers=[0, -1])  # heatmaps + entropy/max/sparsity
    opt = torch.optim.AdamW(model.parameters(), lr=lr)
    for step in range(steps):
        start = time.perf_counter()
        tokens, target = batch()
        logits = model(tokens)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        if sleep:
            time.sleep(sleep)  # a slow input pipeline, for the comparison below
        acc = (logits.argmax(-1) == target).float().mean().item()
        seetrain.log({"train/loss": loss.item(), "train/acc": acc,
                      "batch_time": time.perf_counter() - start})
        if step % 50 == 0:
            print(f"step {step:4d} loss {loss.item():.3f} acc {acc:.2f}")  # stored with the run too
    log.warning("finished with loss %.3f", loss.item())
    return seetrain.get_run().id


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--logdir", default="seetrain_logs")
    parser.add_argument("--steps", type=int, default=200)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)

    # @seetrain.monitor(...) is usually written above the def; here the same function is wrapped
    # twice to name two runs. A run around each call; failed status + traceback on an exception.
    slow = seetrain.monitor(project="insight", logdir=args.logdir, experiment_name="slow-input",
                            monitor_interval=0.5)(train)
    fast = seetrain.monitor(project="insight", logdir=args.logdir, experiment_name="fast-input",
                            monitor_interval=0.5)(train)
    run_a = slow(steps=args.steps, sleep=0.002)
    run_b = fast(steps=args.steps)

    # autolog_torch: a script with no seetrain.log at all still gets loss and lr per step.
    handle = seetrain.autolog_torch(project="insight", logdir=args.logdir, experiment_name="autolog")
    try:
        model = TinyTransformer()
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        for _ in range(50):
            tokens, target = batch()
            logits = model(tokens)
            loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1))
            opt.zero_grad()
            loss.backward()
            opt.step()
    finally:
        handle.undo()
        seetrain.finish()

    api = Api(args.logdir)
    report = write_report([api.run(run_a), api.run(run_b)], f"{args.logdir}/report")
    print("speedup of fast-input over slow-input:", report["vs_baseline"][run_b]["speedup"])
    print("report files:", ", ".join(report["files"]))


if __name__ == "__main__":
    main()
