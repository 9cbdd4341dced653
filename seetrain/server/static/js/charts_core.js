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

