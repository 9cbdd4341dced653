"""A real uvicorn server on 127.0.0.1 and Debian's chromium driven by Playwright."""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.sdk_env import local_sdk_env
from tests.servers import LiveServer

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"


def fill_store(logdir: Path) -> dict[str, Any]:
    """The demo's real training runs, plus one run with NaN/inf, HTML text and LLM calls."""
    import numpy as np

    import seetrain
    from seetrain.demo import run_demo

    ids = [run_demo(project="demo", logdir=str(logdir), epochs=120, lr=lr, seed=i).id
           for i, lr in enumerate([0.5, 0.1, 1.0])]
    run = seetrain.init(project="demo", experiment_name="unstable-lr3", logdir=str(logdir), reinit="create_new",
                        config={"epochs": 120, "lr": 3.0, "hidden": 32, "seed": 7, "optimizer": "sgd+momentum",
                                "dataset": "spiral-1024"}, tags=["demo", "diverged"])
    for step in range(120):
        loss = 0.7 * math.exp(-step / 40) + 0.05 * math.sin(step)
        run.log({"train/loss": math.nan if step in (60, 61) else (math.inf if step == 90 else loss),
                 "train/acc": 0.5 + step / 300}, step=step)
    run.log({"notes": seetrain.Text("<b>not bold</b> <img src=x onerror=alert(1)>")}, step=119)
    run.log_event("llm_call", {"provider": "openai", "model": "gpt-4o-mini",
                               "input_messages": [{"role": "user", "content": "Summarize the run"}],
                               "output_text": "Loss went NaN at step 60.", "prompt_tokens": 12,
                               "completion_tokens": 9, "total_tokens": 21, "latency_s": 0.42, "ttft_s": 0.12,
                               "finish_reason": "stop"})
    run.log({"weights": seetrain.Histogram(np.random.default_rng(0).normal(size=500))}, step=119)
    run.finish(status="failed")
    return {"demo": ids, "unstable": run.id}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    logdir = tmp_path_factory.mktemp("dash") / "logs"
    with local_sdk_env():
        ids = fill_store(logdir)
    yield {"logdir": logdir, **ids}


def train_insight(logdir: Path, name: str, input_sleep: float, steps: int = 60) -> str:
    """A small transformer trained for real on the CPU with everything issue 8 adds switched on:
    the system monitor at a short interval, console capture (prints, stderr, logging),
    ``seetrain.watch`` (norms, histograms, model summary) and ``seetrain.watch_attention``."""
    import logging
    import sys

    import torch

    import seetrain

    torch.manual_seed(0)
    vocab, d_model = 16, 32

    class TinyTransformer(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = torch.nn.Embedding(vocab, d_model)
            layer = torch.nn.TransformerEncoderLayer(d_model, nhead=4, dim_feedforward=64, batch_first=True,
                                                     dropout=0.0)
            self.encoder = torch.nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
            self.head = torch.nn.Linear(d_model, vocab)

        def forward(self, tokens: torch.Tensor) -> torch.Tensor:
            return self.head(self.encoder(self.embed(tokens)))

    run = seetrain.init(project="insight", experiment_name=name, logdir=str(logdir), tags=["torch"],
                        config={"lr": 3e-3, "steps": steps, "input_sleep_s": input_sleep, "d_model": d_model},
                        system_monitor=True, monitor_interval=0.1, capture_console=True)
    model = TinyTransformer()
    seetrain.watch(model, log="all", log_freq=15)
    seetrain.watch_attention(model, every=20, layers=[0, -1])
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    print(f"training {name}: {sum(p.numel() for p in model.parameters())} parameters")
    for step in range(steps):
        start = time.perf_counter()
        tokens = torch.randint(0, vocab, (16, 12))
        logits = model(tokens)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, vocab), tokens.reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        time.sleep(input_sleep)  # a slow input pipeline, for the comparison report
        acc = (logits.argmax(-1) == tokens).float().mean().item()
        run.log({"train/loss": loss.item(), "train/acc": acc, "batch_time": time.perf_counter() - start})
        if step % 5 == 0:
            print(f"step {step:3d}  loss {loss.item():.4f}  acc {acc:.2f}  lr {opt.param_groups[0]['lr']:.1e}")
        if step == 30:
            print("warning: <b>learning rate</b> schedule not set, using a constant lr", file=sys.stderr)
    logging.getLogger("tests.insight").warning("finished %s with loss %.3f", name, loss.item())
    run.finish()
    return run.id


@pytest.fixture(scope="module")
def insight(store: dict[str, Any]) -> dict[str, Any]:
    """Two real torch runs in project "insight" of the same logdir: a slow-input baseline and a
    faster one (for the compare report)."""
    pytest.importorskip("torch")
    with pytest.MonkeyPatch.context() as mp:
        for var in ("SEETRAIN_SYSTEM_MONITOR", "SEETRAIN_CAPTURE_CONSOLE", "SEETRAIN_MONITOR_INTERVAL",
                    "SEETRAIN_MODE", "SEETRAIN_LOGDIR", "SEETRAIN_PROJECT", "SEETRAIN_HOST"):
            mp.delenv(var, raising=False)
        slow = train_insight(store["logdir"], "slow-input", input_sleep=0.02)
        fast = train_insight(store["logdir"], "fast-input", input_sleep=0.004)
    return {"logdir": store["logdir"], "slow": slow, "fast": fast}


@pytest.fixture(scope="module")
def server(store: dict[str, Any]) -> Iterator[LiveServer]:
    from seetrain.server.app import create_app
    from seetrain.server.local_source import LocalSource

    live = LiveServer(create_app(LocalSource(store["logdir"]))).start()
    yield live
    live.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is missing (apt-get install -y chromium); browser tests need it")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1440, "height": 960}, device_scale_factor=1)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.js_errors = errors
    yield pg
    context.close()
    assert not errors, f"JavaScript errors: {errors}"


def screenshot(page: Any, name: str, tmp_path: Path, full_page: bool = True) -> Path:
    """A PNG of the page; with SEETRAIN_UPDATE_SCREENSHOTS=1 it refreshes docs/images/<name>.png."""
    folder = IMAGES if os.environ.get("SEETRAIN_UPDATE_SCREENSHOTS") == "1" else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path
