"""The dashboard's pure front-end functions, run in node (ES modules, no browser needed):
time-weighted smoothing, isolated-point markers, run styles, the runs query language."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

JS = Path(__file__).resolve().parents[2] / "seetrain" / "server" / "static" / "js"
NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed")


def run_js(body: str) -> object:
    """Run an ES module body in node; it must print one JSON value."""
    code = (f'import {{ smooth, isolatedIndices, gridJoin }} from "{JS}/charts_core.js";\n'
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
