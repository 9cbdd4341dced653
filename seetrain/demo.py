"""A small but real training run, used by ``seetrain demo``: a two-layer numpy network learns
a noisy spiral classification task by gradient descent and logs scalars and every media type."""

from __future__ import annotations

from typing import Any

import seetrain


def _spiral(n: int, rng: Any) -> tuple[Any, Any]:
    import numpy as np

    t = rng.uniform(0.25, 1.0, size=n) * 3 * np.pi
    labels = rng.integers(0, 2, size=n)
    r = t / (3 * np.pi)
    angle = t + labels * np.pi
    x = np.stack([r * np.cos(angle), r * np.sin(angle)], axis=1) + rng.normal(0, 0.02, (n, 2))
    return x.astype(np.float64), labels


def _decision_image(w1: Any, b1: Any, w2: Any, b2: Any, x: Any, y: Any) -> Any:
    import numpy as np

    grid = np.linspace(-1.1, 1.1, 96)
    gx, gy = np.meshgrid(grid, grid)
    pts = np.stack([gx.ravel(), gy.ravel()], axis=1)
    prob = _forward(pts, w1, b1, w2, b2)[1].reshape(96, 96)
    img = np.zeros((96, 96, 3))
    img[..., 0] = prob
    img[..., 2] = 1 - prob
    img[..., 1] = 0.25
    cols = np.clip(((x + 1.1) / 2.2 * 95).round().astype(int), 0, 95)
    img[cols[:, 1], cols[:, 0]] = np.where(y[:, None] == 1, [1.0, 1.0, 0.2], [0.2, 1.0, 1.0])
    return img


def _forward(x: Any, w1: Any, b1: Any, w2: Any, b2: Any) -> tuple[Any, Any]:
    import numpy as np

    h = np.tanh(x @ w1 + b1)
    logits = (h @ w2 + b2).ravel()
    return h, 1.0 / (1.0 + np.exp(-logits))


def run_demo(project: str = "demo", logdir: str | None = None, epochs: int = 300, lr: float = 0.5,
             hidden: int = 32, seed: int = 0, experiment_name: str | None = None) -> Any:
    """Train the spiral classifier; returns the finished run."""
    import numpy as np

    rng = np.random.default_rng(seed)
    x, y = _spiral(1024, rng)
    x_val, y_val = _spiral(256, rng)
    config = {"epochs": epochs, "lr": lr, "hidden": hidden, "seed": seed, "optimizer": "sgd+momentum",
              "dataset": "spiral-1024"}
    run = seetrain.init(project=project, experiment_name=experiment_name or f"spiral-h{hidden}-lr{lr}",
                        description="two-layer numpy MLP on a noisy two-arm spiral", config=config,
                        tags=["demo", "numpy"], logdir=logdir)
    w1 = rng.normal(0, 1.0, (2, hidden))
    b1 = np.zeros(hidden)
    w2 = rng.normal(0, 1.0 / np.sqrt(hidden), (hidden, 1))
    b2 = np.zeros(1)
    params = (w1, b1, w2, b2)
    velocity = [np.zeros_like(p) for p in params]
    for epoch in range(epochs):
        h, p = _forward(x, *params)
        eps = 1e-7
        loss = float(-np.mean(y * np.log(p + eps) + (1 - y) * np.log(1 - p + eps)))
        grad_logits = (p - y)[:, None] / len(y)
        grads = [None, None, h.T @ grad_logits, grad_logits.sum(axis=0)]
        grad_h = grad_logits @ params[2].T * (1 - h ** 2)
        grads[0] = x.T @ grad_h
        grads[1] = grad_h.sum(axis=0)
        step_lr = lr * (0.5 * (1 + np.cos(np.pi * epoch / epochs)))  # cosine schedule
        for i, (param, grad) in enumerate(zip(params, grads)):
            velocity[i] = 0.9 * velocity[i] - step_lr * grad
            param += velocity[i]
        acc = float(np.mean((p > 0.5) == y))
        _, p_val = _forward(x_val, *params)
        val_loss = float(-np.mean(y_val * np.log(p_val + 1e-7) + (1 - y_val) * np.log(1 - p_val + 1e-7)))
        grad_norm = float(np.sqrt(sum(float((g ** 2).sum()) for g in grads)))
        metrics: dict[str, Any] = {"train/loss": loss, "train/acc": acc, "val/loss": val_loss,
                                   "val/acc": float(np.mean((p_val > 0.5) == y_val)),
                                   "train/lr": step_lr, "train/grad_norm": grad_norm}
        if epoch % 50 == 0 or epoch == epochs - 1:
            metrics["predictions"] = seetrain.Image(_decision_image(*params, x_val, y_val),
                                                    caption=f"decision surface, epoch {epoch}")
            metrics["weights/w1"] = seetrain.Histogram(params[0])
            metrics["notes"] = seetrain.Text(f"epoch {epoch}: loss {loss:.4f}, val acc {metrics['val/acc']:.3f}")
        run.log(metrics, step=epoch)
    tone = np.sin(2 * np.pi * 440 * np.arange(8000) / 8000) * np.linspace(1, 0, 8000)
    run.log({"sound/done": seetrain.Audio(tone * 0.5, sample_rate=8000, caption="a 440 Hz chime")}, step=epochs - 1)
    run.finish()
    return run
