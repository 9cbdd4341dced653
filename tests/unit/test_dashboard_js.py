"""The dashboard's pure front-end functions, run in node (ES modules, no browser needed):
time-weighted smoothing, isolated-point markers, run styles, the runs query language, group bands
made in the page (checked against the server's aggregation on the same series)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seetrain.server.aggregate import _on_grid, _stats, group_of

JS = Path(__file__).resolve().parents[2] / "seetrain" / "server" / "static" / "js"
NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed")


def run_js(body: str) -> object:
    """Run an ES module body in node; it must print one JSON value."""
    code = (f'import {{ smooth, isolatedIndices, gridJoin, bandsFrom, groupNames, pyStr }} from "{JS}/charts_core.js";\n'
            f'import {{ stylesFor, PALETTE }} from "{JS}/util.js";\n'
            f'import {{ matchesQuery, parseQuery }} from "{JS}/query.js";\n' + body)
    out = subprocess.run([NODE, "--input-type=module", "-e", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_smoothing_does_not_change_with_sampling_density_or_zoom() -> None:
    res = run_js("""
      const xs = Array.from({length: 2001}, (_, i) => i);
      const ys = xs.map((x) => Math.sin(x / 50) + (x % 7) / 10);
      const unit = 2000 / 1000;
      const full = smooth(xs, ys, 0.97, unit);
      // every 4th point (what a narrower panel gets) and a zoomed window starting at 1000
      const idx = xs.filter((x) => x % 4 === 0);
      const sparse = smooth(idx, idx.map((i) => ys[i]), 0.97, unit);
      const zx = xs.slice(1000), zoom = smooth(zx, zx.map((i) => ys[i]), 0.97, unit);
      const diffSparse = Math.max(...idx.map((i, k) => Math.abs(sparse[k] - full[i])).slice(100));
      const diffZoom = Math.max(...zx.map((i, k) => Math.abs(zoom[k] - full[i])).slice(400));
      // the old per-point EMA (unit = one point) on the same two samplings, for contrast
      const oldFull = smooth(xs, ys, 0.97, 1), oldSparse = smooth(idx.map((_, k) => k), idx.map((i) => ys[i]), 0.97, 1);
      const diffOld = Math.max(...idx.map((i, k) => Math.abs(oldSparse[k] - oldFull[i])).slice(100));
      console.log(JSON.stringify({diffSparse, diffZoom, diffOld, nullKept: smooth([0, 1, 2], [1, null, 3], 0.5, 1)[1],
        off: smooth([0, 1], [1, 2], 0, 1), first: full[0]}));
    """)
    assert res["diffSparse"] < 0.05  # same curve from a quarter of the points...
    assert res["diffOld"] > 0.3      # ...where smoothing per point changed it a lot
    assert res["diffZoom"] < 5e-3    # a zoomed window converges to the same values
    assert res["nullKept"] is None and res["off"] == [1, 2] and res["first"] == pytest.approx(0.0)


def test_isolated_points_get_markers() -> None:
    res = run_js("console.log(JSON.stringify([isolatedIndices([5]), isolatedIndices([1, 2, null, 4, null, 6, 7]),"
                 " isolatedIndices([null, 3, null])]))")
    assert res == [[0], [3], [1]]


def test_run_styles_twenty_colours_then_dashes_stable() -> None:
    res = run_js("""
      const ids = Array.from({length: 80}, (_, i) => `run-${i}`);
      const a = stylesFor(ids), b = stylesFor([...ids].reverse());
      const pairs = new Set(ids.map((id) => a.get(id).color + JSON.stringify(a.get(id).dash)));
      const colors = new Set(ids.slice(0, 20).map((id) => a.get(id).color));
      console.log(JSON.stringify({palette: PALETTE.length, distinct: pairs.size,
        stable: ids.every((id) => a.get(id).color === b.get(id).color && JSON.stringify(a.get(id).dash) === JSON.stringify(b.get(id).dash))}));
    """)
    assert res == {"palette": 20, "distinct": 80, "stable": True}


@pytest.mark.parametrize("query,expected", [
    ("lr>=1e-3 and optimizer=adam", True), ("lr>1e-3", False), ("lr=0.001", True),
    ("optimizer=sgd or lr=0.001", True), ("optimizer=sgd or lr>0.01", False),
    ("train/loss<0.3", True), ("train/loss>=0.3", False), ("tag=adam", True), ("-tag=adam", False),
    ("not optimizer=adam", False), ("status=finished", True), ("name~lr1e", True), ("cosine", False),
    ("ADAM", True), ('name~"adam-lr"', True), ("", True), ("missing>1", False), ("missing!=1", True),
])
def test_query_language(query: str, expected: bool) -> None:
    run = {"name": "adam-lr1e-03", "id": "x1", "tags": ["adam", "sweep"], "status": "finished",
           "config": {"lr": 0.001, "optimizer": "adam"}, "summary": {"train/loss": {"last": 0.25}}}
    assert run_js(f"console.log(JSON.stringify(matchesQuery({json.dumps(run)}, {json.dumps(query)})))") is expected


def test_grid_join_keeps_every_point_in_order_on_few_slots() -> None:
    res = run_js("""
      // 100 runs, each with its own x values (what per-run downsampling returns)
      const series = Array.from({length: 100}, (_, r) => {
        const xs = Array.from({length: 140}, (_, i) => Math.min(5000, Math.round(i * 5000 / 139 + ((r * 13) % 37))));
        return { xs, ys: xs.map((x) => r + x / 5000) };
      });
      const j = gridJoin(series, 1800);
      const kept = j.cols.map((c) => c.filter((v) => v !== null).length);
      const ordered = j.index.every((idx) => idx.every((k, i) => i === 0 || k > idx[i - 1]));
      const maxShift = Math.max(...series.map((s, n) => Math.max(...s.xs.map((x, i) => Math.abs(j.x[j.index[n][i]] - x)))));
      const same = series.every((s, n) => s.ys.every((y, i) => j.cols[n][j.index[n][i]] === y));
      console.log(JSON.stringify({slots: j.x.length, kept: Math.min(...kept), ordered, maxShift, same,
        union: new Set(series.flatMap((s) => s.xs)).size}));
    """)
    assert res["slots"] in (1800, 1801) and res["kept"] == 140 and res["ordered"] and res["same"]  # +1: two points at x=5000
    assert res["maxShift"] <= 3 * 5006 / 1799  # within a few slots (a fraction of a pixel)
    assert res["union"] > 1800  # the union of the runs' x values would have been longer


_values = st.one_of(st.floats(-1e6, 1e6, allow_nan=False), st.just(float("nan")), st.just(float("inf")))
_series = st.lists(st.lists(st.tuples(st.integers(0, 500), _values), min_size=0, max_size=40), min_size=1, max_size=6)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=_series, bins=st.integers(2, 60), groups=st.lists(st.sampled_from(["a", "b", "(none)"]), min_size=6, max_size=6))
def test_bands_made_in_the_page_equal_the_servers(raw: list, bins: int, groups: list) -> None:
    """A grouping change draws bands from the lines already loaded (bandsFrom); the server's
    answer replaces them. Both must be the same numbers for the same points."""
    series = []
    for i, pts in enumerate(raw):
        steps = sorted({s for s, _ in pts})
        vals = dict(pts)
        series.append({"id": f"r{i}", "xs": steps, "ys": [vals[s] for s in steps]})
    live = [s for s in series if s["xs"]]
    js_in = [{**s, "ys": [v if np.isfinite(v) else None for v in s["ys"]]} for s in series]
    out = run_js(f"""
      const series = {json.dumps(js_in)}, names = {json.dumps(groups)};
      console.log(JSON.stringify(bandsFrom(series, (id) => [names[Number(id.slice(1))]], {bins})));
    """)
    if not live:
        assert out["groups"] == [] and out["x"] == []
        return
    lo = min(s["xs"][0] for s in live)
    hi = max(s["xs"][-1] for s in live)
    hi = hi if hi > lo else lo + 1.0
    edges = np.linspace(lo, hi, bins + 1)
    assert out["x"] == pytest.approx(((edges[:-1] + edges[1:]) / 2).tolist())
    grid = {s["id"]: _on_grid(np.asarray(s["xs"], float), np.asarray(s["ys"], float), edges) for s in live}
    members: dict[str, list[str]] = {}
    for s in live:
        members.setdefault(groups[int(s["id"][1:])], []).append(s["id"])
    assert [g["name"] for g in out["groups"]] == sorted(members)
    for g in out["groups"]:
        want = _stats(np.vstack([grid[r] for r in members[g["name"]]]))
        assert g["runs"] == members[g["name"]] and g["count"] == want["count"]
        for f in ("mean", "min", "max", "std"):
            assert [v is None for v in g[f]] == [v is None for v in want[f]]
            assert [v for v in g[f] if v is not None] == pytest.approx([v for v in want[f] if v is not None],
                                                                       rel=1e-9, abs=1e-6)


def test_group_names_in_the_page_are_the_servers() -> None:
    runs = [{"config": {"lr": 1e-05, "opt": "adam", "flag": True, "n": 3, "big": 1e20, "x": 0.001},
             "tags": ["a", "b"], "group": "g1"},
            {"config": {"job_type": "eval"}, "tags": [], "group": None}]
    by = ["config:lr", "config:opt", "config:flag", "config:n", "config:big", "config:x", "config:missing",
          "tag", "group", "job_type"]
    out = run_js(f"const runs = {json.dumps(runs)}, by = {json.dumps(by)};"
                 "console.log(JSON.stringify(runs.map((r) => by.map((b) => groupNames(r, b)))));")
    assert out == [[group_of(r, b) for b in by] for r in runs]
