"""Overhead of the attention monitor and of ``seetrain.watch`` on a small transformer (CPU).

Every configuration has its own model and run and logs the loss every step; the baseline does
exactly that and nothing more. They train in interleaved blocks of ``--every`` steps (one
sampled step per block), so a slow spell of a shared machine hits all of them alike. A block's
cost includes draining the watcher's background work and the run's writer, and is measured as
process CPU time (all threads: the background heatmap/statistics work counts) and wall time.

    .venv/bin/python benchmarks/attention_overhead.py [--blocks 30] [--every 100]

It then measures the attention monitor's direct cost: the extra CPU time of a sampled step plus
its background work (heatmaps, statistics, PNG encoding), divided by ``every``.

Goal from the issue: under 2% with ``mode="full"``, under 0.5% with ``mode="light"``, at
``every=100``. The spread column (half the inter-quartile range of the paired ratios) says how
far the machine's noise lets you trust the median.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import torch

import seetrain

CONFIGS = ["baseline", "attention-full", "attention-light", "watch-gradients", "watch-all"]


def make_model(d_model: int, layers: int) -> torch.nn.Module:
    torch.manual_seed(0)
    layer = torch.nn.TransformerEncoderLayer(d_model=d_model, nhead=4, dim_feedforward=4 * d_model,
                                             batch_first=True, dropout=0.0)
    return torch.nn.Sequential(torch.nn.TransformerEncoder(layer, num_layers=layers,
                                                           enable_nested_tensor=False),
                               torch.nn.Linear(d_model, 1))


class Setup:
    def __init__(self, config: str, logdir: str, args: argparse.Namespace) -> None:
        self.model = make_model(args.d_model, args.layers)
        self.opt = torch.optim.AdamW(self.model.parameters(), lr=1e-3)
        self.x = torch.randn(args.batch, args.seq, args.d_model)
        self.y = torch.randn(args.batch, args.seq, 1)
        self.run = seetrain.init(project="bench", experiment_name=config, logdir=logdir,
                                 system_monitor=False, capture_console=False, reinit="create_new")
        self.watcher = None
        if config.startswith("attention"):
            self.watcher = seetrain.watch_attention(self.model, every=args.every, layers=[0, -1],
                                                    mode=config.split("-")[1], run=self.run)
        elif config.startswith("watch"):
            seetrain.watch(self.model, log=config.split("-")[1], log_freq=args.every, run=self.run)
        self.steps(5)  # warm-up, includes the first sampled step and the model summary
        self.drain()

    def steps(self, n: int) -> None:
        model, opt, run = self.model, self.opt, self.run
        for _ in range(n):
            opt.zero_grad()
            loss = torch.nn.functional.mse_loss(model(self.x), self.y)
            loss.backward()
            opt.step()
            run.log({"loss": loss.item()})

    def drain(self) -> None:
        if self.watcher is not None:
            self.watcher.flush()
        self.run.flush()

    def block(self, n: int) -> tuple[float, float]:
        cpu, wall = time.process_time(), time.perf_counter()
        self.steps(n)
        self.drain()
        return time.process_time() - cpu, time.perf_counter() - wall


def direct_cost(args: argparse.Namespace, logdir: str, pairs: int = 30) -> None:
    """The extra CPU of one sampled step and of its background work, amortised over ``every``
    steps: resolves far below the whole-loop comparison's noise on a shared machine."""
    for mode in ("full", "light"):
        s = Setup("baseline", logdir, args)
        watcher = seetrain.watch_attention(s.model, every=2, layers=[0, -1], mode=mode, run=s.run)
        sampled, normal, background = [], [], []
        for i in range(2 * pairs):
            c = time.process_time()
            s.steps(1)
            (sampled if i % 2 == 0 else normal).append(time.process_time() - c)
            c = time.process_time()
            watcher.flush()
            s.run.flush()
            if i % 2 == 0:
                background.append(time.process_time() - c)
        step = statistics.median(normal)
        extra = statistics.median(sampled) - step
        bg = statistics.median(background)
        print(f"attention-{mode:5s} sampled step +{extra * 1000:.2f} ms, background {bg * 1000:.2f} ms CPU "
              f"on a {step * 1000:.2f} ms step -> {100 * (extra + bg) / step / args.every:.3f}% at every={args.every}")
        s.run.finish()


def _spread(ratios: list[float]) -> float:
    if len(ratios) < 4:
        return float("nan")
    q = statistics.quantiles(ratios, n=4)
    return (q[2] - q[0]) / 2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--blocks", type=int, default=30)
    parser.add_argument("--every", type=int, default=100)
    parser.add_argument("--d-model", type=int, default=64)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--seq", type=int, default=64)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads (1 keeps timings stable on a small shared CPU)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cpu: dict[str, list[float]] = {c: [] for c in CONFIGS}
    wall: dict[str, list[float]] = {c: [] for c in CONFIGS}
    with tempfile.TemporaryDirectory() as logdir:
        setups = {c: Setup(c, logdir, args) for c in CONFIGS}
        for _ in range(args.blocks):
            for config in CONFIGS:
                c, w = setups[config].block(args.every)
                cpu[config].append(c)
                wall[config].append(w)
        for s in setups.values():
            s.run.finish()
        print("direct cost of the sampled step:")
        direct_cost(args, logdir)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s); d_model={args.d_model} "
          f"layers={args.layers} heads=4 seq={args.seq} batch={args.batch}; {args.blocks} blocks of "
          f"{args.every} steps (one sampled step per block)")
    base_ms = statistics.median(cpu["baseline"]) / args.every * 1000
    print(f"baseline: {base_ms:.2f} ms CPU per step")
    print("whole training loop, paired blocks (median and spread of per-block ratios):")
    print(f"{'config':18s} {'CPU overhead':>13s} {'spread':>8s} {'wall overhead':>14s} {'spread':>8s}")
    for config in CONFIGS[1:]:
        rc = [a / b for a, b in zip(cpu[config], cpu["baseline"])]
        rw = [a / b for a, b in zip(wall[config], wall["baseline"])]
        print(f"{config:18s} {100 * (statistics.median(rc) - 1):+12.2f}% {100 * _spread(rc):7.2f}% "
              f"{100 * (statistics.median(rw) - 1):+13.2f}% {100 * _spread(rw):7.2f}%")


if __name__ == "__main__":
    main()
