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
 * point is lost and the order is kept (with slots a pixel apart or finer, the shift is hardly
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

/** Python's str() of a JSON config value, so group names made here are the server's
 * (seetrain/server/aggregate.py group_of): True/False/None, exponents as Python writes them.
 * (A float that JSON turned into a whole number, 3.0, prints "3" here and "3.0" there: the
 * server's answer, which follows, has the last word.) */
export function pyStr(v) {
  if (v === true) return "True";
  if (v === false) return "False";
  if (v === null || v === undefined) return "None";
  if (typeof v !== "number") return typeof v === "string" ? v : JSON.stringify(v);
  if (!Number.isFinite(v)) return Number.isNaN(v) ? "nan" : v > 0 ? "inf" : "-inf";
  const a = Math.abs(v);
  if (v !== 0 && (a < 1e-4 || a >= 1e16)) {
    const [m, e] = v.toExponential().split("e");
    const exp = Number(e);
    return `${m}e${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
  }
  return String(v);
}

export const NO_VALUE = "(none)";

/** The group names of a run row for `groupBy` (config:KEY, tag, group, job_type), as the
 * server names them. */
export function groupNames(run, groupBy) {
  const i = groupBy.indexOf(":");
  const kind = i < 0 ? groupBy : groupBy.slice(0, i), key = i < 0 ? "" : groupBy.slice(i + 1);
  const config = run.config || {};
  if (kind === "config") { const v = config[key]; return [v === null || v === undefined ? NO_VALUE : pyStr(v)]; }
  if (kind === "tag") return run.tags && run.tags.length ? [...run.tags] : [NO_VALUE];
  if (kind === "group") return [run.group || NO_VALUE];
  if (kind === "job_type") { const v = config.job_type || run.job_type || run.group; return [v ? pyStr(v) : NO_VALUE]; }
  return null;
}

/** One value per bin: the mean of the run's finite points in it, else the straight line between
 * its neighbouring points; NaN outside the run's x range (aggregate._on_grid). */
function onGrid(xs, ys, lo, width, bins) {
  const out = new Float64Array(bins).fill(NaN);
  const px = [], py = [];
  for (let i = 0; i < xs.length; i++) if (ys[i] !== null && ys[i] !== undefined && Number.isFinite(ys[i])) { px.push(xs[i]); py.push(ys[i]); }
  if (!px.length) return out;
  const sums = new Float64Array(bins), counts = new Int32Array(bins);
  for (let i = 0; i < px.length; i++) {
    const k = Math.min(bins - 1, Math.max(0, Math.floor((px[i] - lo) / width)));
    sums[k] += py[i]; counts[k]++;
  }
  let j = 0;
  for (let k = 0; k < bins; k++) {
    if (counts[k]) { out[k] = sums[k] / counts[k]; continue; }
    const c = lo + (k + 0.5) * width;
    if (c < px[0] || c > px[px.length - 1]) continue;
    while (j + 1 < px.length && px[j + 1] < c) j++;
    const x0 = px[j], x1 = px[Math.min(j + 1, px.length - 1)];
    out[k] = x1 > x0 ? py[j] + (py[j + 1] - py[j]) * (c - x0) / (x1 - x0) : py[j];
  }
  return out;
}

/** Group bands from series already in the page, the way the server computes them (aggregate.py):
 * the same shape as a /bands answer. `series`: [{id, xs, ys}] (ys null where not finite);
 * `namesOf(id)`: the run's group names. Lets a grouping change draw at once; the server's
 * answer replaces it when it arrives. */
export function bandsFrom(series, namesOf, bins, xMin = null, xMax = null) {
  const live = series.filter((s) => s.xs.length);
  const out = { x: [], groups: [], runs_without_key: series.filter((s) => !s.xs.length).map((s) => s.id) };
  if (!live.length) return out;
  let lo = xMin ?? Math.min(...live.map((s) => s.xs[0]));
  let hi = xMax ?? Math.max(...live.map((s) => s.xs[s.xs.length - 1]));
  if (!(hi > lo)) hi = lo + 1;
  const width = (hi - lo) / bins;
  for (let k = 0; k < bins; k++) out.x.push(lo + (k + 0.5) * width);
  const members = new Map();
  const grid = new Map();
  for (const s of live) {
    grid.set(s.id, onGrid(s.xs, s.ys, lo, width, bins));
    for (const name of namesOf(s.id)) { if (!members.has(name)) members.set(name, []); members.get(name).push(s.id); }
  }
  for (const name of [...members.keys()].sort()) {
    const rows = members.get(name).map((id) => grid.get(id));
    const g = { name, runs: members.get(name), mean: [], min: [], max: [], std: [], count: [] };
    for (let k = 0; k < bins; k++) {
      let n = 0, sum = 0, mn = Infinity, mx = -Infinity;
      for (const r of rows) { const v = r[k]; if (Number.isFinite(v)) { n++; sum += v; if (v < mn) mn = v; if (v > mx) mx = v; } }
      g.count.push(n);
      if (!n) { g.mean.push(null); g.min.push(null); g.max.push(null); g.std.push(null); continue; }
      const mean = sum / n;
      let sq = 0;
      for (const r of rows) { const v = r[k]; if (Number.isFinite(v)) sq += (v - mean) ** 2; }
      g.mean.push(mean); g.min.push(mn); g.max.push(mx); g.std.push(Math.sqrt(sq / n));
    }
    out.groups.push(g);
  }
  return out;
}
