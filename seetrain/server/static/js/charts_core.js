// Pure chart maths (no DOM): time-weighted smoothing and isolated-point detection.
// Imported by charts.js and run by the unit tests in node.

// Smoothing acts over x distances: `weight` is the fraction of a point's influence left after
// 1/SMOOTH_SCALE of the run's x extent (W&B's time-weighted EMA does the same), so it does not
// change with zoom, panel width or how densely the server sampled the points.
export const SMOOTH_SCALE = 1000;

/** Time-weighted EMA: each point's weight decays with the x distance (not the point count), and
 * counts for the x gap it stands for, so a downsampled series smooths like the raw one.
 * `unit` is the x distance over which one `weight` factor applies (the run's x extent / 1000).
 * Nulls (non-finite points) pass through. weight 0 returns the values unchanged. */
export function smooth(xs, values, weight, unit) {
  if (!(weight > 0)) return values;
  const out = new Array(values.length);
  const u = unit > 0 ? unit : 1;
  let acc = 0, norm = 0, lastX = null;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null || v === undefined || !Number.isFinite(v)) { out[i] = v; continue; }
    const x = xs[i];
    if (lastX === null) { acc = v; norm = 1; }
    else {
      const dx = Math.max(0, x - lastX);
      const decay = Math.pow(weight, dx / u);
      const w = Math.max(dx / u, 1e-9);  // the stretch of x this point stands for
      acc = acc * decay + w * v;
      norm = norm * decay + w;
    }
    lastX = x;
    out[i] = acc / norm;
  }
  return out;
}

/** Indices of points with no finite neighbour in their own series: drawn as markers (a metric
 * logged once, or a value between NaNs, has no line to show it). */
export function isolatedIndices(values) {
  const out = [];
  const ok = (v) => v !== null && v !== undefined && Number.isFinite(v);
  for (let i = 0; i < values.length; i++) {
    if (ok(values[i]) && !(i > 0 && ok(values[i - 1])) && !(i + 1 < values.length && ok(values[i + 1]))) out.push(i);
  }
  return out;
}


/** Put many series with different x values on one shared grid of `slots` x positions, for
 * uPlot (which wants one x array): a union of every run's x makes each of 100 series mostly
 * nulls, 100 times longer than its points. Each point goes to the nearest slot; a point whose
 * slot is taken (by the previous point of the same series) moves to the next free slot, so no
 * point is lost and the order is kept (with slots at a quarter pixel or finer, the shift is not
 * visible). Returns {x: [slot x], cols: [[y or null per slot] per series], index: [[slot per
 * point] per series]}. `series`: [{xs, ys}] with xs ascending. */
export function gridJoin(series, slots) {
  let lo = Infinity, hi = -Infinity;
  for (const s of series) {
    if (!s.xs.length) continue;
    lo = Math.min(lo, s.xs[0]);
    hi = Math.max(hi, s.xs[s.xs.length - 1]);
  }
  if (!Number.isFinite(lo)) return { x: [], cols: series.map(() => []), index: series.map(() => []) };
  const n = hi > lo ? Math.max(2, slots) : 1;
  const step = n > 1 ? (hi - lo) / (n - 1) : 1;
  // Room past the last slot for points pushed right by a crowded end (trimmed below).
  const room = n + Math.max(0, ...series.map((s) => s.xs.length));
  const cols = [], index = [];
  let used = n - 1;
  for (const s of series) {
    const col = new Array(room).fill(null), idx = new Array(s.xs.length);
    let last = -1;
    for (let i = 0; i < s.xs.length; i++) {
      let k = hi > lo ? Math.round((s.xs[i] - lo) / step) : 0;
      if (k <= last) k = last + 1;
      col[k] = s.ys[i];
      idx[i] = k;
      last = k;
    }
    if (last > used) used = last;
    cols.push(col);
    index.push(idx);
  }
  const x = new Array(used + 1);
  for (let k = 0; k <= used; k++) x[k] = lo + k * step;
  for (const col of cols) col.length = used + 1;
  return { x, cols, index };
}
