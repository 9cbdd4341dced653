"""Sweep panels: one row per run (hyperparameters and a metric) and parameter importance.

Importance is computed server-side with numpy only (scikit-learn is not a dependency):

* ``correlation``: Pearson correlation of the parameter with the metric over the runs that
  have both (categorical parameters are coded by the mean metric of each category, so the
  sign says nothing for them and the magnitude says how much the category explains).
* ``importance``: permutation importance of a small tree-based model, gradient-boosted
  decision stumps (depth-1 regression trees, 100 rounds, shrinkage 0.1): the rise in the
  model's squared error when that parameter's column is shuffled (5 shuffles, fixed seed),
  normalised so the parameters' importances sum to 1. Stumps see one parameter at a time,
  so interactions are not credited; that is the price of staying small and deterministic.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

SUMMARY_FIELDS = ("last", "min", "max")
_ROUNDS = 100
_SHRINK = 0.1
_SHUFFLES = 5


def _metric_value(run: dict[str, Any], metric: str, field: str) -> float | None:
    s = (run.get("summary") or {}).get(metric)
    v = s.get(field) if isinstance(s, dict) else None
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) else None


def varying_params(runs: list[dict[str, Any]]) -> list[str]:
    """Flattened config keys holding a number, bool or string that differ across the runs."""
    values: dict[str, set[str]] = {}
    for r in runs:
        for k, v in (r.get("config") or {}).items():
            if isinstance(v, (int, float, str, bool)) and not k.startswith("framework"):
                values.setdefault(k, set()).add(repr(v))
    return sorted(k for k, vals in values.items() if len(vals) > 1)


def _column(runs: list[dict[str, Any]], param: str, y: np.ndarray) -> tuple[np.ndarray, bool]:
    """The parameter as floats (NaN where missing) and whether it was categorical; categories
    are coded by their mean metric (target encoding), ordered so a split can separate them."""
    raw = [(r.get("config") or {}).get(param) for r in runs]
    numeric = all(v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)) for v in raw)
    if numeric:
        return np.array([np.nan if v is None else float(v) for v in raw]), False
    labels = [None if v is None else repr(v) for v in raw]
    means: dict[str, float] = {}
    for lab in {v for v in labels if v is not None}:
        picked = [y[i] for i, v in enumerate(labels) if v == lab]
        means[lab] = float(np.mean(picked))
    return np.array([np.nan if v is None else means[v] for v in labels]), True


def _best_stump(X: np.ndarray, r: np.ndarray) -> tuple[int, float, float, float] | None:
    """The (feature, threshold, left value, right value) split of the residuals ``r`` with the
    lowest squared error over all features; NaN rows go left."""
    best: tuple[float, tuple[int, float, float, float]] | None = None
    n = len(r)
    for j in range(X.shape[1]):
        col = np.where(np.isnan(X[:, j]), -np.inf, X[:, j])
        order = np.argsort(col, kind="stable")
        xs, rs = col[order], r[order]
        csum = np.cumsum(rs)
        csq = np.cumsum(rs * rs)
        k = np.flatnonzero(xs[1:] > xs[:-1]) + 1  # split before index k (left = first k rows)
        if not len(k):
            continue
        left_n, right_n = k, n - k
        left_s, right_s = csum[k - 1], csum[-1] - csum[k - 1]
        sse = (csq[-1] - left_s ** 2 / left_n - right_s ** 2 / right_n)
        i = int(np.argmin(sse))
        if best is None or sse[i] < best[0]:
            cut = k[i]
            thr = (xs[cut - 1] + xs[cut]) / 2 if np.isfinite(xs[cut - 1]) else xs[cut] - 1.0
            best = (float(sse[i]), (j, float(thr), float(left_s[i] / left_n[i]), float(right_s[i] / right_n[i])))
    return None if best is None else best[1]


class StumpBoost:
    """Gradient-boosted decision stumps for squared error (a tiny tree ensemble)."""

    def __init__(self, rounds: int = _ROUNDS, shrink: float = _SHRINK) -> None:
        self.rounds, self.shrink = rounds, shrink
        self.base = 0.0
        self.stumps: list[tuple[int, float, float, float]] = []

    def fit(self, X: np.ndarray, y: np.ndarray) -> StumpBoost:
        self.base = float(np.mean(y))
        pred = np.full(len(y), self.base)
        for _ in range(self.rounds):
            stump = _best_stump(X, y - pred)
            if stump is None:
                break
            self.stumps.append(stump)
            pred += self.shrink * self._apply(stump, X)
        return self

    @staticmethod
    def _apply(stump: tuple[int, float, float, float], X: np.ndarray) -> np.ndarray:
        j, thr, left, right = stump
        col = np.where(np.isnan(X[:, j]), -np.inf, X[:, j])
        return np.where(col <= thr, left, right)

    def predict(self, X: np.ndarray) -> np.ndarray:
        pred = np.full(X.shape[0], self.base)
        for stump in self.stumps:
            pred += self.shrink * self._apply(stump, X)
        return pred


def importance(runs: list[dict[str, Any]], metric: str, params: list[str] | None = None,
               field: str = "last") -> list[dict[str, Any]]:
    """Per parameter: ``{"param", "correlation": float|None, "importance": float|None,
    "categorical": bool, "runs": int}``, most important first. Runs without a finite metric
    value are left out; fewer than 3 such runs give None importances."""
    if field not in SUMMARY_FIELDS:
        raise ValueError(f"summary field must be one of {', '.join(SUMMARY_FIELDS)}")
    params = varying_params(runs) if params is None else params
    used = [r for r in runs if _metric_value(r, metric, field) is not None]
    y = np.array([_metric_value(r, metric, field) for r in used], dtype=np.float64)
    out: list[dict[str, Any]] = []
    if not params:
        return out
    cols, cats = zip(*[_column(used, p, y) for p in params]) if used else ((), ())
    X = np.column_stack(cols) if used else np.empty((0, len(params)))
    perm: list[float | None] = [None] * len(params)
    if len(used) >= 3 and np.ptp(y) > 0:
        model = StumpBoost().fit(X, y)
        base_err = float(np.mean((model.predict(X) - y) ** 2))
        rng = np.random.default_rng(0)
        rises = []
        for j in range(len(params)):
            errs = []
            for _ in range(_SHUFFLES):
                Xp = X.copy()
                Xp[:, j] = rng.permutation(Xp[:, j])
                errs.append(float(np.mean((model.predict(Xp) - y) ** 2)))
            rises.append(max(0.0, float(np.mean(errs)) - base_err))
        total = sum(rises)
        perm = [r / total if total > 0 else 0.0 for r in rises]
    for j, p in enumerate(params):
        col = X[:, j] if len(used) else np.empty(0)
        ok = np.isfinite(col)
        corr = None
        if ok.sum() >= 3 and np.ptp(col[ok]) > 0 and np.ptp(y[ok]) > 0:
            corr = float(np.corrcoef(col[ok], y[ok])[0, 1])
            if cats[j]:
                corr = abs(corr)
        out.append({"param": p, "correlation": corr, "importance": perm[j], "categorical": bool(cats[j]) if cats else False,
                    "runs": int(ok.sum())})
    out.sort(key=lambda d: (-(d["importance"] or 0.0), -abs(d["correlation"] or 0.0), d["param"]))
    return out


def sweep_table(runs: list[dict[str, Any]], metric: str, params: list[str] | None = None,
                field: str = "last") -> dict[str, Any]:
    """The data of the parallel-coordinates and scatter panels and the importance table:
    ``{"metric", "field", "params": [key], "runs": [{"id", "name", "status", "params": {key: value},
    "metric": float|None}], "importance": [...as importance()]}``."""
    params = varying_params(runs) if params is None else params
    rows = [{"id": r["id"], "name": r["name"], "status": r["status"],
             "params": {p: (r.get("config") or {}).get(p) for p in params},
             "metric": _metric_value(r, metric, field)} for r in runs]
    return {"metric": metric, "field": field, "params": params, "runs": rows,
            "importance": importance(runs, metric, params, field)}
