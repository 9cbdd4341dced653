// Metric charts on uPlot: one panel per key (or a custom panel: several metrics, any metric as
// the x axis), every visible run overlaid or runs grouped into mean + min-max/std bands
// (computed server-side), time-weighted smoothing, server-side zoom refinement, crosshair and
// zoom synced across panels sharing an x axis, hover highlight shared with the runs table,
// NaN/inf markers, markers on isolated points, PNG and full-resolution CSV export. System
// metrics (sys/...) have their own x axis: their step is the monitor's sample index, so they are
// drawn against time by default.
import uPlot from "../vendor/uplot/uPlot.esm.js";
import { api } from "./api.js";
import { el, clear, withAlpha, fmtNum, fmtDuration, groupKeys, download, debounce, PALETTE } from "./util.js";
import { isSysKey, isDetailKey, unitOf, displayScale, fmtScaled, metricLabel, groupLabel, sysOrder } from "./metrics.js";
import { smooth, isolatedIndices, gridJoin, bandsFrom, groupNames, SMOOTH_SCALE } from "./charts_core.js";

export { smooth, isolatedIndices };

const PANEL_HEIGHT = 230;
// The axis labels' font: the generic family. Not the page's stack (Inter first): a canvas resolves
// its font list again per chart, and a family the machine lacks cost ~12 ms per chart
// (system-ui ~3 ms, sans-serif nothing).
const AXIS_FONT = "11px sans-serif";
const TALL_HEIGHT = 380;
export const MAX_LINES = 300;  // more visible runs than this: the first MAX_LINES are drawn, and it says so
// Up to this many lines, the raw values stay faint behind each smoothed line; with more, each
// run is one line (smoothed, or raw at smoothing 0): twice fewer paths, and 100 faint raw lines
// behind 100 smoothed ones are noise anyway.
const RAW_BEHIND_MAX = 20;
const MAX_PANEL_POINTS = 12000;
const groupColor = (name) => {
  let h = 2166136261;
  for (let i = 0; i < name.length; i++) { h ^= name.charCodeAt(i); h = Math.imul(h, 16777619); }
  return PALETTE[(h >>> 0) % PALETTE.length];
};

/** Settings shared by every panel of a workspace; panels subscribe to changes. */
export class ChartSettings {
  constructor(initial = {}) {
    const saved = JSON.parse(localStorage.getItem("seetrain_chart_settings") || "{}");
    this.smoothing = initial.smoothing ?? saved.smoothing ?? 0.6;
    this.xAxis = initial.xAxis ?? saved.xAxis ?? "step";
    this.sysXAxis = saved.sysXAxis ?? "relative";
    this.logY = saved.logY ?? false;
    this.groupBy = initial.groupBy ?? "";   // "", "config:KEY", "tag", "group", "job_type"
    this.band = initial.band ?? "minmax";   // "minmax" | "std"
    this.zooms = initial.zooms ?? {};  // x axis -> [min, max]: a zoom applies to every panel drawn on that axis
    this.hidden = new Set(initial.hidden || []);  // run ids / "group:NAME" toggled off in the legends
    this.highlighted = null;  // run id or "group:NAME" under the mouse (chart, legend or table)
    this.listeners = new Set();
  }
  set(changes) {
    // A new x axis starts unzoomed, and so does the one left (its zoom would be stale).
    for (const f of ["xAxis", "sysXAxis"]) if (f in changes) { delete this.zooms[this[f]]; delete this.zooms[changes[f]]; }
    Object.assign(this, changes);
    localStorage.setItem("seetrain_chart_settings", JSON.stringify(
      { smoothing: this.smoothing, xAxis: this.xAxis, sysXAxis: this.sysXAxis, logY: this.logY }));
    for (const fn of this.listeners) fn(changes);
  }
  /** Zoom every panel on x axis `axis` to [min, max] (null: reset). */
  setZoom(axis, range) {
    if (range) this.zooms[axis] = range; else delete this.zooms[axis];
    for (const fn of this.listeners) fn({ zoomAxis: axis });
  }
  highlight(id) {
    if (id === this.highlighted) return;
    this.highlighted = id;
    for (const fn of this.listeners) fn({ highlight: id });
  }
  toggleHidden(id) {
    if (this.hidden.has(id)) this.hidden.delete(id); else this.hidden.add(id);
    for (const fn of this.listeners) fn({ hidden: id });
  }
}

function xOf(series, axis) {
  if (axis === "step") return series.step;
  if (axis === "time") return series.time;
  return series.time.map((t) => t - series.start_time);
}

function nearest(xs, x) {
  let lo = 0, hi = xs.length - 1;
  if (hi < 0) return -1;
  while (lo < hi) { const mid = (lo + hi) >> 1; if (xs[mid] < x) lo = mid + 1; else hi = mid; }
  if (lo > 0 && Math.abs(xs[lo - 1] - x) <= Math.abs(xs[lo] - x)) lo--;
  return lo;
}

function axisLabel(axis, sys = false) {
  return axis === "step" ? (sys ? "sample #" : "step") : axis === "time" ? "wall time" : "relative time";
}

/** Keys a panel spec draws: its `keys`, or every known key matching its `regex`. */
export function specKeys(spec, allKeys) {
  if (spec.regex) {
    let re;
    try { re = new RegExp(spec.regex); } catch { return []; }
    return allKeys.filter((k) => re.test(k));
  }
  return spec.keys || [];
}

export class ChartPanel {
  /** spec: {id, keys: [key] | regex, x: null | "metric:KEY", title, custom}; runs: [{id, name, color, dash, status}] */
  constructor({ project, spec, runs, settings, workspace = null }) {
    Object.assign(this, { project, spec, runs, settings, workspace });
    this.key = spec.keys?.[0] ?? spec.id;
    this.keys = workspace ? specKeys(spec, workspace.keys) : spec.keys;
    this.metricX = spec.x && spec.x.startsWith("metric:") ? spec.x.slice(7) : null;
    this.sys = this.keys.length > 0 && this.keys.every(isSysKey);
    this.axisField = this.sys ? "sysXAxis" : "xAxis";
    this.unit = this.keys.length === 1 ? unitOf(this.keys[0]) : "";
    this.series = new Map();   // run id + "\0" + key -> {step, time, value, flag, start_time, last_step}
    this.spans = new Map();    // same key -> the series' whole x extent (for zoom-independent smoothing)
    this.bandData = null;      // the /bands answer when grouped
    this.zoom = settings.zooms[this.axis] || null;  // [min, max] of the x range shown, null = everything
    this.plot = null;
    this.loaded = false;
    this.info = el("span", { class: "panel-info" });
    this.nanBadge = el("span", { class: "nan-badge", hidden: true });
    this.tooltip = el("div", { class: "tooltip", hidden: true });
    this.legend = el("div", { class: "legend" });
    this.body = el("div", { class: "panel-body" }, el("div", { class: "panel-loading" }, "loading…"));
    const title = spec.title || (this.keys.length === 1 ? metricLabel(this.keys[0]) : (spec.regex ? `/${spec.regex}/` : this.keys.join(", ")));
    const btn = (label, t, fn, cls = "") => el("button", { class: `icon-btn ${cls}`, title: t, "aria-label": t, onclick: fn }, label);
    this.el = el("div", { class: `panel${spec.custom ? " custom" : ""}${spec.size === "l" ? " size-l" : ""}${spec.pinned ? " pinned" : ""}`,
      dataset: { key: spec.custom ? "" : this.key, panel: spec.id } },
      el("div", { class: "panel-head" },
        el("span", { class: `panel-title${title !== this.key ? " label" : ""}`, title: this.keys.join(", ") +
          (this.metricX ? ` vs ${this.metricX}` : "") }, title + (this.metricX ? ` vs ${this.metricX}` : "")),
        this.unitEl = this.unit ? el("span", { class: "panel-unit" }, this.unit) : null, this.nanBadge, this.info,
        el("span", { class: "spacer" }),
        workspace ? btn("◀", "Move earlier", () => workspace.move(spec.id, -1), "move") : null,
        workspace ? btn("▶", "Move later", () => workspace.move(spec.id, 1), "move") : null,
        workspace ? btn("★", spec.pinned ? "Unpin" : "Pin to top", () => workspace.togglePin(spec.id), `pin${spec.pinned ? " on" : ""}`) : null,
        workspace ? btn("⇲", "Resize", () => workspace.toggleSize(spec.id), "resize") : null,
        btn("⤡", "Fullscreen", () => this.toggleFullscreen(), "fullscreen"),
        btn("⤢", "Reset zoom", () => this.resetZoom()),
        btn("PNG", "Download PNG", () => this.exportPng()),
        btn("CSV", "Download CSV", () => this.exportCsv()),
        spec.custom && workspace ? btn("✕", "Remove panel", () => workspace.removePanel(spec.id), "remove") : null),
      this.body, this.legend, this.tooltip);
    if (this.zoom) this.el.classList.add("zoomed");
    this.onSettings = (changes) => {
      if ("zoomAxis" in changes) { if (changes.zoomAxis === this.axis) this.applyZoom(); }
      // A panel still loading asks again too (the newer request wins, see loadToken).
      else if (this.axisField in changes) { this.zoom = null; this.el.classList.remove("zoomed"); this.spans.clear(); if (this.loaded || this.loading) this.load(); }
      // Grouping: the panels in view load at once, the others when they scroll in.
      else if ("groupBy" in changes || "band" in changes) {
        if (!this.loaded && !this.loading) return;
        if (this.inView || this.loading) this.load(); else this.staleLoad = true;
      }
      else if ("logY" in changes || "hidden" in changes) { if (this.loaded) this.build(); }
      else if ("smoothing" in changes) { if (this.inView) this.redraw(); else this.stale = true; }
      else if ("highlight" in changes) this.showHighlight();
    };
    settings.listeners.add(this.onSettings);
    // The body's width is read here, where layout is fresh: reading clientWidth while panels are
    // being built forces a reflow of the whole page (runs table included) once per panel.
    this.bodyWidth = null;
    this.resizer = new ResizeObserver(() => {
      this.bodyWidth = this.body.clientWidth;
      if (this.plot) this.plot.setSize({ width: this.width(), height: this.height() });
    });
    this.resizer.observe(this.body);
  }

  get axis() { return this.settings[this.axisField]; }
  get grouped() { return !!this.settings.groupBy && this.keys.length === 1 && !this.metricX; }

  width() { return Math.max(200, this.bodyWidth ?? this.body.clientWidth); }
  height() {
    if (this.el.classList.contains("fullscreen")) return Math.max(240, window.innerHeight - 160);
    return this.spec.size === "l" ? TALL_HEIGHT : PANEL_HEIGHT;
  }

  toggleFullscreen() {
    const on = !this.el.classList.contains("fullscreen");
    this.el.classList.toggle("fullscreen", on);
    document.body.classList.toggle("has-fullscreen", on);
    if (on) {
      this.escHandler = (e) => { if (e.key === "Escape") this.toggleFullscreen(); };
      document.addEventListener("keydown", this.escHandler);
    } else if (this.escHandler) document.removeEventListener("keydown", this.escHandler);
    this.bodyWidth = null;  // changed with the class: measured again
    if (this.plot) this.plot.setSize({ width: this.width(), height: this.height() });
  }

  visibleRuns() {
    return this.runs.filter((r) => !this.settings.hidden.has(r.id)).slice(0, MAX_LINES);
  }

  async load() {
    const token = (this.loadToken = {});
    const ids = this.runs.map((r) => r.id);
    if (!ids.length || !this.keys.length) { this.loaded = true; this.build(); return; }
    const width = this.width();
    const opts = { x_axis: this.metricX ? "step" : this.axis, digits: 6,
      // against steps the wall times are not needed: half of a 100-run answer's bytes
      fields: this.metricX || this.axis === "step" ? "step,value,flag" : undefined,
      // Many runs in one panel: fewer points each (a 400 px chart shows 100 lines fine), and at
      // most MAX_PANEL_POINTS in all (every point is a path segment to build and rasterise).
      max_points: Math.round(Math.min(4000, Math.max(400, width)) / Math.max(1, Math.sqrt(ids.length / 10))) };
    opts.max_points = Math.max(60, Math.min(opts.max_points, Math.floor(MAX_PANEL_POINTS / Math.min(ids.length, MAX_LINES))));
    if (this.zoom && !this.metricX) { opts.x_min = this.zoom[0]; opts.x_max = this.zoom[1]; }
    const drawn = this.runs.slice(0, MAX_LINES).map((r) => r.id);
    const wanted = this.metricX ? [...this.keys, this.metricX] : this.keys;
    // What the series in hand were asked for: the same again needs no request (the point count,
    // which follows the panel's width, does not matter for that).
    const seriesFor = JSON.stringify([drawn, wanted, { ...opts, max_points: undefined }]);
    try {
      if (this.grouped) {
        const bins = Math.max(20, Math.min(400, Math.round(width / 3)));
        // The runs' lines are in the page already: bands from them draw now, the server's
        // answer (from more points per run) replaces them when it comes.
        const local = seriesFor === this.seriesFor && drawn.length === ids.length ? this.localBands(bins, opts) : null;
        if (local) { this.bandData = local; this.loaded = true; this.updateInfo(); this.build(); }
        const res = await api.bands(this.project, this.keys[0], ids, this.settings.groupBy,
          { x_axis: this.axis, bins, x_min: opts.x_min, x_max: opts.x_max });
        if (token !== this.loadToken) return;
        this.bandData = res;
      } else if (seriesFor === this.seriesFor && !this.runs.some((r) => r.status === "running")) {
        this.bandData = null;  // back from grouping: the lines are the ones loaded before
      } else {
        const answers = await Promise.all(wanted.map((k) => api.projectMetric(this.project, k, drawn, opts)));
        if (token !== this.loadToken) return;
        this.bandData = null;
        this.series = new Map();
        this.seriesFor = seriesFor;
        answers.forEach((res, i) => {
          for (const [rid, s] of Object.entries(res.runs)) {
            const id = `${rid}\u0000${wanted[i]}`;
            this.series.set(id, s);
            if (!this.zoom && s.step.length) {
              const xs = xOf(s, opts.x_axis);
              this.spans.set(id, xs[xs.length - 1] - xs[0]);
            }
          }
        });
      }
    } catch (err) {
      clear(this.body).appendChild(el("div", { class: "panel-loading error" }, err.message));
      return;
    }
    this.loaded = true;
    this.updateInfo();
    this.build();
  }

  /** Group bands from the loaded lines (see bandsFrom), or null when the page lacks what the
   * server knows (a run's row, its group names). */
  localBands(bins, opts) {
    const rowOf = this.workspace?.runRow;
    if (!rowOf) return null;
    const names = new Map();
    for (const r of this.runs) {
      const row = rowOf(r.id);
      const n = row ? groupNames(row, this.settings.groupBy) : null;
      if (!n) return null;
      names.set(r.id, n);
    }
    const key = this.keys[0];
    const series = this.runs.map((r) => {
      const s = this.series.get(`${r.id}\u0000${key}`);
      return s ? { id: r.id, xs: xOf(s, opts.x_axis), ys: s.value } : { id: r.id, xs: [], ys: [] };
    });
    return { key, x_axis: opts.x_axis, group_by: this.settings.groupBy, local: true,
      ...bandsFrom(series, (id) => names.get(id), bins, opts.x_min ?? null, opts.x_max ?? null) };
  }

  updateInfo() {
    if (this.bandData) {
      const n = this.bandData.groups.reduce((a, g) => a + g.runs.length, 0);
      this.info.textContent = `${this.bandData.groups.length} groups · ${n} runs`;
      return;
    }
    const all = [...this.series.values()];
    const total = Math.max(0, ...all.map((s) => s.total));
    const shown = Math.max(0, ...all.map((s) => s.step.length));
    const parts = [];
    if (this.runs.length > MAX_LINES) parts.push(`drawing ${MAX_LINES} of ${this.runs.length} runs`);
    if (total > shown) parts.push(`${fmtNum(shown)} of ${fmtNum(total)} pts`);
    this.info.textContent = parts.join(" · ");
  }

  /** Poll new points of running runs (only points after the last step already shown). */
  async poll(runningIds) {
    if (!this.loaded || this.zoom || this.grouped || this.metricX) return;
    let changed = false;
    for (const id of runningIds) {
      if (!this.runs.some((r) => r.id === id)) continue;
      for (const key of this.keys) {
        const sid = `${id}\u0000${key}`;
        const s = this.series.get(sid);
        try {
          const fresh = await api.metric(this.project, id, key,
            { after_step: s ? s.last_step ?? -1 : -1, x_axis: this.axis, max_points: 4000 });
          if (!s) { this.series.set(sid, fresh); changed = true; continue; }
          if (fresh.step.length) {
            for (const f of ["step", "time", "value", "flag"]) if (s[f]) s[f] = s[f].concat(fresh[f]);
            s.last_step = fresh.last_step;
            s.total = fresh.total;
            changed = true;
          }
        } catch (err) {
          if (err.status !== 404) console.warn(err);
        }
      }
    }
    if (changed) this.build();
  }

  /** The x values of one series: its steps/times, or the x metric's values at the same steps. */
  xsFor(runId, s) {
    if (!this.metricX) return xOf(s, this.axis);
    const xsrc = this.series.get(`${runId}\u0000${this.metricX}`);
    if (!xsrc) return null;
    const byStep = new Map();
    xsrc.step.forEach((st, i) => { if (xsrc.value[i] !== null) byStep.set(st, xsrc.value[i]); });
    return s.step.map((st) => byStep.get(st) ?? null);
  }

  /** uPlot data + series descriptions: [x, raw, smoothed, ...] per (run, key) aligned on the union
   * of x values; or [x, lo, hi, mean, ...] per group when grouped. */
  data() {
    return this.bandData ? this.bandTables() : this.runTables();
  }

  runTables() {
    const logY = this.settings.logY, w = this.settings.smoothing;
    this.rawBehind = this.visibleRuns().length * this.keys.length <= RAW_BEHIND_MAX;
    const tables = [], order = [];
    this.smoothed = new Map();
    let maxAbs = 0;
    for (const s of this.series.values()) for (const v of s.value) if (v !== null && Math.abs(v) > maxAbs) maxAbs = Math.abs(v);
    this.scale = displayScale(this.unit, maxAbs);
    const f = this.scale.factor;
    const multi = this.keys.length > 1;
    for (const run of this.visibleRuns()) {
      this.keys.forEach((key, ki) => {
        const sid = `${run.id}\u0000${key}`;
        const s = this.series.get(sid);
        if (!s || !s.step.length) return;
        let xs = this.xsFor(run.id, s);
        if (!xs) return;
        let raw = s.value.map((v) => (v === null || (logY && v <= 0) ? null : v * f));
        let flags = s.flag;
        if (this.metricX) {  // x from another metric: sorted by it, points without an x dropped
          const idx = xs.map((x, i) => i).filter((i) => xs[i] !== null).sort((a, b) => xs[a] - xs[b]);
          xs = idx.map((i) => xs[i]); raw = idx.map((i) => raw[i]); flags = idx.map((i) => s.flag[i]);
        }
        const span = this.spans.get(sid) ?? (xs.length ? xs[xs.length - 1] - xs[0] : 0);
        const sm = smooth(xs, raw, w, span / SMOOTH_SCALE);
        this.smoothed.set(sid, sm);
        tables.push(this.rawBehind ? [xs, raw, sm] : [xs, sm]);
        const lone = isolatedIndices(raw);
        order.push({ run, key, sid, xs, flags, isolatedIdx: lone, isolated: lone.map((i) => xs[i]),
          label: multi ? `${run.name} · ${key}` : run.name,
          dash: multi ? [[], [6, 4], [2, 3], [10, 3, 2, 3]][ki % 4] : run.dash || [] });
      });
    }
    this.order = order;
    if (!tables.length) return [[]];
    if (this.rawBehind) { this.slotOf = null; return uPlot.join(tables); }
    // Many lines: one shared grid of x slots instead of the union of every run's x values (see
    // gridJoin), one slot per pixel (two per point when points are denser). Every slot costs each
    // of 100 series a pass in the join, the scale and the path, and a point moved by half a pixel
    // does not show; under 4 slots per pixel also keeps uPlot off its per-pixel decimation, which
    // is for dense series (ours are mostly null slots).
    const joined = gridJoin(tables.map((t) => ({ xs: t[0], ys: t[1] })), Math.max(this.width(), 2 * Math.max(...tables.map((t) => t[0].length))));
    this.slotOf = joined.index;
    return [joined.x, ...joined.cols];
  }

  bandTables() {
    const logY = this.settings.logY, w = this.settings.smoothing;
    const res = this.bandData;
    const xs = res.x;
    this.scale = displayScale(this.unit, 0);
    const cols = [xs];
    const order = [];
    const lowKey = this.settings.band === "std" ? null : "min";
    const fix = (a) => a.map((v) => (v === null || (logY && v <= 0) ? null : v));
    const span = xs.length ? xs[xs.length - 1] - xs[0] : 0;
    for (const g of res.groups) {
      const gid = `group:${g.name}`;
      if (this.settings.hidden.has(gid)) continue;
      const mean = fix(g.mean);
      let lo, hi;
      if (lowKey) { lo = fix(g.min); hi = fix(g.max); }
      else {
        lo = fix(g.mean.map((m, i) => (m === null ? null : m - g.std[i])));
        hi = fix(g.mean.map((m, i) => (m === null ? null : m + g.std[i])));
      }
      const s = (a) => smooth(xs, a, w, span / SMOOTH_SCALE);
      cols.push(s(lo), s(hi), s(mean));
      order.push({ group: g, gid, color: groupColor(g.name), label: `${g.name} (${g.runs.length})`,
        isolated: isolatedIndices(mean).map((i) => xs[i]) });
    }
    this.order = order;
    return cols.length > 1 ? cols : [[]];
  }

  build() {
    if (this.plot) { this.plot.destroy(); this.plot = null; }
    // where the drawn bands come from: "page" (the loaded lines) until the server's answer is in
    if (this.bandData) this.el.dataset.bands = this.bandData.local ? "page" : "server";
    else delete this.el.dataset.bands;
    const data = this.data();
    if (this.unitEl) this.unitEl.textContent = this.scale.unit;
    this.hovered = false;
    clear(this.body);
    this.drawLegend();
    if (!this.order.length) { this.body.appendChild(el("div", { class: "panel-loading" }, "no data")); return; }
    const settings = this.settings;
    const series = [{}];
    const bands = [];
    this.seriesOwner = [null];  // uPlot series index -> run id / "group:NAME"
    const xIndex = new Map(data[0].map((x, i) => [x, i]));
    const isolatedFilter = (item, n) => (u, si, show) => {
      if (show) return null;
      // on the shared grid, the slots of the isolated points; else their x in the union
      const idx = this.slotOf && n !== undefined ? item.isolatedIdx.map((i) => this.slotOf[n][i])
        : item.isolated.map((x) => xIndex.get(x)).filter((i) => i !== undefined);
      return idx.length ? idx : null;
    };
    if (this.bandData) {
      for (const item of this.order) {
        const base = series.length;
        series.push({ label: `${item.label} low`, stroke: "transparent", width: 0, spanGaps: true, points: { show: false } });
        series.push({ label: `${item.label} high`, stroke: "transparent", width: 0, spanGaps: true, points: { show: false } });
        series.push({ label: item.label, stroke: item.color, width: 2, spanGaps: true,
          points: { show: false, size: 7, fill: item.color, filter: isolatedFilter(item) } });
        bands.push({ series: [base + 1, base], fill: withAlpha(item.color, 0.16) });
        this.seriesOwner.push(item.gid, item.gid, item.gid);
      }
    } else {
      for (const [n, item] of this.order.entries()) {
        const color = item.run.color;
        if (this.rawBehind) {
          series.push({ label: item.label, stroke: () => (settings.smoothing > 0 ? withAlpha(color, 0.22) : color),
            width: 1.25, spanGaps: true, dash: item.dash, points: { show: false, size: 7, fill: color, filter: isolatedFilter(item) } });
          series.push({ label: `${item.label} (smoothed)`, stroke: color, width: 2, spanGaps: true, dash: item.dash,
            points: { show: false }, show: true });
          this.seriesOwner.push(item.run.id, item.run.id);
        } else {
          series.push({ label: item.label, stroke: color, width: 1, spanGaps: true, dash: item.dash,
            points: { show: false, size: 7, fill: color, filter: isolatedFilter(item, n) } });
          this.seriesOwner.push(item.run.id);
        }
      }
    }
    const axis = this.metricX ? "step" : this.axis, unit = this.scale.unit;
    const dark = document.documentElement.dataset.theme === "dark";
    const grid = { stroke: dark ? "rgba(226,232,240,0.08)" : "rgba(15,23,42,0.06)", width: 1 };
    const ticks = { stroke: dark ? "rgba(226,232,240,0.2)" : "rgba(15,23,42,0.15)", width: 1, size: 4 };
    const axisStroke = dark ? "#94a3b8" : "#64748b";
    const opts = {
      width: this.width(), height: this.height(), legend: { show: false },
      focus: { alpha: 0.18 },
      cursor: {
        sync: { key: `seetrain-${this.metricX ? "m:" + this.metricX : axis}`, setSeries: false },
        drag: { x: true, y: false, setScale: false },
        // a dot per line at the cursor: 100 of them say nothing the tooltip does not (and cost
        // a DOM node each per build)
        points: { size: 6, show: this.order.length <= RAW_BEHIND_MAX * 2 },
        focus: { prox: 12 },
        y: false,  // a horizontal line means nothing in the other panels the cursor is synced to
        bind: { dblclick: () => (e) => { e.preventDefault(); this.resetZoom(); return null; } },
      },
      scales: { x: { time: axis === "time" && !this.metricX }, y: { distr: settings.logY ? 3 : 1,
        // Percentages start at 0, as a system monitor's charts do.
        range: unit === "%" && !settings.logY ? (u, mn, mx) => uPlot.rangeNum(0, Math.max(mx ?? 0, 1), 0.1, true) : undefined } },
      axes: [
        { stroke: axisStroke, grid, ticks, font: AXIS_FONT,
          values: axis === "relative" && !this.metricX ? (u, vals) => vals.map((v) => fmtDuration(v)) : undefined },
        { stroke: axisStroke, grid, ticks, font: AXIS_FONT,
          // Wide enough for the longest tick label ("512 KB/s"), never narrower than before.
          size: (u, vals) => Math.max(56, 16 + 6.4 * Math.max(0, ...(vals || []).map((v) => String(v).length))),
          values: (u, vals) => vals.map((v) => (v === null ? "" : fmtScaled(v, unit, 3))) },
      ],
      series,
      bands,
      hooks: {
        setSelect: [(u) => this.onSelect(u)],
        setCursor: [(u) => this.showTooltip(u)],
        setSeries: [(u, si, o) => { if (o && o.focus && !this.applyingFocus) this.settings.highlight(si == null ? null : this.seriesOwner[si]); }],
        draw: [(u) => this.drawNonFinite(u)],
      },
    };
    this.plot = new uPlot(opts, data, this.body);
    // The crosshair follows in every panel of this x axis; the tooltip only where the mouse is.
    this.plot.over.addEventListener("mouseenter", () => { this.hovered = true; });
    this.plot.over.addEventListener("mouseleave", () => { this.hovered = false; this.tooltip.hidden = true; this.settings.highlight(null); });
    if (this.zoom && !this.metricX) this.plot.setScale("x", { min: this.zoom[0], max: this.zoom[1] });
    const bad = this.bandData ? 0 : [...this.series.values()].reduce((n, s) => n + s.flag.filter((f) => f).length, 0);
    this.nanBadge.hidden = !bad;
    this.nanBadge.textContent = `${bad} NaN/inf`;
    this.showHighlight();
  }

  /** Entries for the drawn runs or groups: click toggles one, hover highlights it everywhere. */
  drawLegend() {
    const items = this.bandData
      ? (this.bandData.groups.map((g) => ({ id: `group:${g.name}`, label: `${g.name} (${g.runs.length})`, color: groupColor(g.name) })))
      : this.runs.slice(0, MAX_LINES).map((r) => ({ id: r.id, label: r.name, color: r.color, dash: r.dash }));
    const shown = items.slice(0, 40);
    this.legend.replaceChildren(...shown.map((it) => el("button", {
      class: `legend-item${this.settings.hidden.has(it.id) ? " off" : ""}${this.settings.highlighted === it.id ? " hl" : ""}`,
      dataset: { id: it.id }, title: this.settings.hidden.has(it.id) ? "show" : "hide",
      onclick: () => this.settings.toggleHidden(it.id),
      onmouseenter: () => this.settings.highlight(it.id), onmouseleave: () => this.settings.highlight(null),
    }, el("i", { class: `swatch${it.dash && it.dash.length ? " dashed" : ""}`, style: { background: it.color } }), it.label)),
    ...(items.length > shown.length ? [el("span", { class: "muted" }, `+${items.length - shown.length} more`)] : []));
  }

  showHighlight() {
    const id = this.settings.highlighted;
    for (const b of this.legend.querySelectorAll(".legend-item")) b.classList.toggle("hl", b.dataset.id === id);
    if (!this.plot) return;
    let idx = null;
    if (id !== null) {
      // the smoothed line (runs) or the mean line (groups): the last series index the owner has
      for (let i = this.seriesOwner.length - 1; i > 0; i--) if (this.seriesOwner[i] === id) { idx = i; break; }
    }
    this.applyingFocus = true;
    try { this.plot.setSeries(idx, { focus: true }, false); } finally { this.applyingFocus = false; }
  }

  /** Called by the workspace when the panel scrolls in or out of view: a smoothing change made
   * while it was away is drawn now (only panels in view redraw at once). */
  setInView(on) {
    this.inView = on;
    if (on && this.staleLoad) { this.staleLoad = false; this.stale = false; this.load(); }
    else if (on && this.stale) { this.stale = false; this.redraw(); }
  }

  redraw() {
    if (!this.plot) return;
    this.plot.setData(this.data(), !this.zoom);
    if (this.zoom && !this.metricX) this.plot.setScale("x", { min: this.zoom[0], max: this.zoom[1] });
  }

  onSelect(u) {
    const { left, width } = u.select;
    if (width < 4) return;
    const min = u.posToVal(left, "x"), max = u.posToVal(left + width, "x");
    u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
    if (this.metricX) { u.setScale("x", { min, max }); return; }
    this.settings.setZoom(this.axis, [min, max]);
  }

  resetZoom() {
    if (this.metricX && this.plot) { this.build(); return; }
    if (this.zoom) this.settings.setZoom(this.axis, null);
  }

  /** Follow the workspace's zoom of this panel's x axis: rescale at once, then ask the server
   * for the refined points of that range (panels not loaded yet pick it up when they load). */
  applyZoom() {
    if (this.metricX) return;
    const range = this.settings.zooms[this.axis] || null;
    if (!range && !this.zoom) return;
    this.zoom = range;
    this.el.classList.toggle("zoomed", !!range);
    if (!this.loaded) return;
    if (this.plot && range) this.plot.setScale("x", { min: range[0], max: range[1] });
    this.load();
  }

  showTooltip(u) {
    const { left, top } = u.cursor;
    if (!this.hovered || left === undefined || left < 0 || !this.order) { this.tooltip.hidden = true; return; }
    const x = u.posToVal(left, "x");
    const axis = this.metricX ? "step" : this.axis, unit = this.scale.unit, f = this.scale.factor;
    const rows = [];
    let xShown = null;
    if (this.bandData) {
      const xs = this.bandData.x, i = nearest(xs, x);
      if (i >= 0) {
        xShown = xs[i];
        for (const item of this.order) {
          const g = item.group;
          if (g.mean[i] === null) continue;
          rows.push(el("div", { class: "tt-row" }, el("i", { style: { background: item.color } }),
            el("span", { class: "tt-name" }, item.label), el("b", {}, fmtScaled(g.mean[i], unit)),
            el("span", { class: "tt-raw" }, this.settings.band === "std" ? `± ${fmtNum(g.std[i], 3)}`
              : `${fmtNum(g.min[i], 3)} – ${fmtNum(g.max[i], 3)}`)));
        }
      }
    } else {
      for (const item of this.order.slice(0, 30)) {
        const s = this.series.get(item.sid);
        const xs = item.xs;
        const i = nearest(xs, x);
        if (i < 0) continue;
        if (Math.abs(u.valToPos(xs[i], "x") - left) > 40) continue;
        if (xShown === null) xShown = xs[i];
        const flag = item.flags[i];
        const value = this.metricX ? null : s.value[i];
        const raw = flag ? flag : value === null || value === undefined ? null : value * f;
        const smv = this.smoothed.get(item.sid);
        const sm = this.settings.smoothing > 0 && !flag ? smv[i] ?? null : null;
        rows.push(el("div", { class: "tt-row" }, el("i", { style: { background: item.run.color } }),
          el("span", { class: "tt-name" }, item.label),
          el("b", {}, fmtScaled(sm === null ? raw : sm, unit)),
          sm === null || raw === null ? null : el("span", { class: "tt-raw" }, fmtScaled(raw, unit))));
      }
    }
    if (!rows.length) { this.tooltip.hidden = true; return; }
    const head = this.metricX ? `${this.metricX} ${fmtNum(xShown)}` : axis === "step" ? `${this.sys ? "sample" : "step"} ${fmtNum(xShown)}` : axis === "time"
      ? new Date(xShown * 1000).toLocaleTimeString() : fmtDuration(xShown);
    this.tooltip.replaceChildren(el("div", { class: "tt-head" }, head), ...rows);
    this.tooltip.hidden = false;
    const bodyLeft = this.body.offsetLeft + u.over.offsetLeft;
    const flip = left > u.over.clientWidth / 2;
    this.tooltip.style.left = `${bodyLeft + left + (flip ? -12 : 12)}px`;
    this.tooltip.style.transform = flip ? "translateX(-100%)" : "none";
    this.tooltip.style.top = `${this.body.offsetTop + u.over.offsetTop + Math.min(top, 120)}px`;
  }

  /** Mark NaN (bottom, hollow) and ±inf (top/bottom, filled) points: they have no y to draw. */
  drawNonFinite(u) {
    if (this.bandData) return;
    const ctx = u.ctx, { left, top, width, height } = u.bbox;
    const r = 5 * devicePixelRatio;
    ctx.save();
    for (const item of this.order || []) {
      const xs = item.xs;
      item.flags.forEach((f, i) => {
        if (!f) return;
        const px = u.valToPos(xs[i], "x", true);
        if (px < left || px > left + width) return;
        const atTop = f === "inf";
        const py = atTop ? top + r : top + height - r;
        ctx.strokeStyle = withAlpha("#dc2626", 0.35);
        ctx.setLineDash([3 * devicePixelRatio, 3 * devicePixelRatio]);
        ctx.beginPath(); ctx.moveTo(px, top); ctx.lineTo(px, top + height); ctx.stroke();
        ctx.setLineDash([]);
        ctx.beginPath();
        ctx.moveTo(px, atTop ? py + r : py - r);
        ctx.lineTo(px - r, atTop ? py - r * 0.6 : py + r * 0.6);
        ctx.lineTo(px + r, atTop ? py - r * 0.6 : py + r * 0.6);
        ctx.closePath();
        ctx.fillStyle = f === "nan" ? "#fff" : "#dc2626";
        ctx.strokeStyle = "#dc2626";
        ctx.lineWidth = 1.5 * devicePixelRatio;
        ctx.fill(); ctx.stroke();
      });
    }
    ctx.restore();
  }

  exportPng() {
    if (!this.plot) return;
    const src = this.plot.ctx.canvas, dpr = devicePixelRatio;
    const pad = 12 * dpr, head = 28 * dpr, foot = 22 * dpr;
    const c = document.createElement("canvas");
    c.width = src.width + 2 * pad; c.height = src.height + head + foot + pad;
    const ctx = c.getContext("2d");
    ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, c.width, c.height);
    ctx.fillStyle = "#0f172a"; ctx.font = `600 ${13 * dpr}px system-ui, sans-serif`;
    ctx.fillText(this.keys.join(", "), pad, pad + 10 * dpr);
    ctx.drawImage(src, pad, head);
    let x = pad;
    ctx.font = `${11 * dpr}px system-ui, sans-serif`;
    for (const item of this.order.slice(0, 20)) {
      const color = item.run ? item.run.color : item.color;
      ctx.fillStyle = color; ctx.fillRect(x, head + src.height + 8 * dpr, 10 * dpr, 10 * dpr);
      ctx.fillStyle = "#334155"; ctx.fillText(item.label, x + 14 * dpr, head + src.height + 17 * dpr);
      x += ctx.measureText(item.label).width + 30 * dpr;
    }
    c.toBlob((blob) => download(`${this.keys.join("_").replace(/[^\w.-]+/g, "_")}.png`, blob), "image/png");
  }

  /** Every point (never the downsampled chart data): the server streams the CSV. */
  exportCsv() {
    const ids = this.runs.filter((r) => !this.settings.hidden.has(r.id)).map((r) => r.id);
    for (const key of this.keys) download(`${key.replace(/[^\w.-]+/g, "_")}.csv`, api.csvUrl(this.project, key, ids));
  }

  destroy() {
    this.settings.listeners.delete(this.onSettings);
    this.resizer.disconnect();
    if (this.escHandler) document.removeEventListener("keydown", this.escHandler);
    if (this.plot) this.plot.destroy();
  }
}

/** The toolbar + panels for some runs and keys: custom and pinned panels first, then one panel
 * per key in prefix groups. Panels load when scrolled into view. The layout (custom panels,
 * pins, sizes, order) is saved per project when `persist` is on. */
export class Workspace {
  constructor({ project, runs, keys, settings = new ChartSettings(), groupOptions = [], layout = null, persist = false,
    onState = null, runRow = null }) {
    // runRow(id): the run's row of the runs list (config, tags, group), for grouping in the page
    Object.assign(this, { project, runs, keys, settings, groupOptions, persist, onState, runRow });
    this.layout = layout || { panels: [], order: [], pinned: [], sizes: {} };
    for (const f of ["panels", "order", "pinned"]) if (!Array.isArray(this.layout[f])) this.layout[f] = [];
    if (!this.layout.sizes || typeof this.layout.sizes !== "object") this.layout.sizes = {};
    this.panels = new Map();
    this.filter = "";
    // Panels on screen load at once; panels just outside it (200 px) load once those are done:
    // their requests would otherwise share the server and the browser's six connections with
    // the ones in view, and delay them.
    this.loadingCount = 0;
    this.nearQueue = [];
    const observe = (now) => (entries) => {
      for (const e of entries) {
        if (!e.isIntersecting) continue;
        const panel = this.panels.get(e.target.dataset.panel);
        this.observer.unobserve(e.target);
        this.nearObserver.unobserve(e.target);
        if (!panel || panel.loaded || panel.loading) continue;
        const r = e.boundingClientRect;
        if (now || !this.loadingCount || (r.bottom > 0 && r.top < innerHeight)) this.startLoad(panel);
        else this.nearQueue.push(panel);
      }
    };
    this.observer = new IntersectionObserver(observe(true), { rootMargin: "0px" });
    this.nearObserver = new IntersectionObserver(observe(false), { rootMargin: "200px" });
    // Which panels are on screen: a smoothing change redraws only those at once; the others
    // redraw when they scroll in (see ChartPanel.setInView).
    this.viewObserver = new IntersectionObserver((entries) => {
      for (const e of entries) this.panels.get(e.target.dataset.panel)?.setInView(e.isIntersecting);
    }, { rootMargin: "0px" });
    this.groupsEl = el("div", { class: "groups" });
    this.toolbarEl = this.toolbar();
    this.el = el("div", { class: "workspace" }, this.toolbarEl, this.groupsEl);
    this.saveLayout = debounce(() => {
      if (this.persist) api.saveLayout(this.project, this.layout).catch((e) => console.warn("layout not saved", e));
      if (this.onState) this.onState();
    }, 300);
    this.renderGroups();
  }

  /** Start loading the panels on screen now, without waiting for the first frame's
   * intersection callbacks: called right after the workspace is in the page (one layout, before
   * the caller fills the rest of the page), so the chart requests overlap that work. */
  loadVisibleNow() {
    if (!this.el.isConnected) return;
    for (const panel of this.panels.values()) {
      if (panel.loaded || panel.loading || panel.el.hidden) continue;
      const r = panel.el.getBoundingClientRect();
      if (r.bottom <= 0 || r.top >= innerHeight || !r.width) continue;
      this.observer.unobserve(panel.el);
      this.nearObserver.unobserve(panel.el);
      this.startLoad(panel);
    }
  }

  startLoad(panel) {
    panel.loading = true;
    this.loadingCount++;
    panel.load().finally(() => {
      this.loadingCount--;
      if (this.loadingCount) return;
      const queued = this.nearQueue.splice(0).filter((p) => !p.loaded && !p.loading && this.panels.get(p.spec.id) === p);
      for (const p of queued) this.startLoad(p);
    });
  }

  toolbar() {
    const s = this.settings;
    const value = el("span", { class: "smooth-value" }, s.smoothing.toFixed(2));
    const slider = el("input", { type: "range", min: "0", max: "0.99", step: "0.01", value: String(s.smoothing),
      class: "smooth-slider", "aria-label": "smoothing",
      oninput: debounce((e) => { value.textContent = Number(e.target.value).toFixed(2); s.set({ smoothing: Number(e.target.value) }); }, 30) });
    const axis = el("select", { class: "x-axis", "aria-label": "x axis",
      onchange: (e) => s.set({ xAxis: e.target.value }) },
      ...["step", "relative", "time"].map((a) => el("option", { value: a, selected: a === s.xAxis }, axisLabel(a))));
    const log = el("label", { class: "toggle" },
      el("input", { type: "checkbox", class: "log-y", checked: s.logY, onchange: (e) => s.set({ logY: e.target.checked }) }),
      "log y");
    const search = el("input", { type: "search", class: "key-filter", placeholder: "Filter charts (regex)…",
      oninput: debounce((e) => { this.filter = e.target.value; this.applyFilter(); }, 120) });
    this.smoothSlider = slider; this.smoothValue = value; this.axisSelect = axis;
    const parts = [search, el("label", { class: "ctl" }, "Smoothing", slider, value),
      el("label", { class: "ctl" }, "X axis", axis), log];
    if (this.groupOptions.length) {
      this.groupSelect = el("select", { class: "group-by", "aria-label": "group runs by",
        onchange: (e) => { s.set({ groupBy: e.target.value }); } },
        el("option", { value: "" }, "no grouping"),
        ...this.groupOptions.map((o) => el("option", { value: o.value, selected: o.value === s.groupBy }, o.label)));
      this.bandSelect = el("select", { class: "band", "aria-label": "band",
        onchange: (e) => s.set({ band: e.target.value }) },
        el("option", { value: "minmax", selected: s.band === "minmax" }, "min–max band"),
        el("option", { value: "std", selected: s.band === "std" }, "± std band"));
      parts.push(el("label", { class: "ctl" }, "Group", this.groupSelect, this.bandSelect));
    }
    if (this.persist) parts.push(el("button", { class: "btn add-panel", onclick: () => this.openPanelEditor() }, "+ Panel"));
    parts.push(el("span", { class: "hint" }, "drag to zoom (all charts follow) · double-click to reset"));
    return el("div", { class: "toolbar" }, ...parts);
  }

  /** Reflect settings changed from outside (URL, saved view) in the toolbar controls. */
  syncToolbar() {
    const s = this.settings;
    this.smoothSlider.value = String(s.smoothing); this.smoothValue.textContent = s.smoothing.toFixed(2);
    this.axisSelect.value = s.xAxis;
    if (this.groupSelect) { this.groupSelect.value = s.groupBy; this.bandSelect.value = s.band; }
  }

  specOf(id) {
    const custom = this.layout.panels.find((p) => p.id === id);
    const base = custom ? { ...custom, custom: true } : { id, keys: [id] };
    return { ...base, pinned: this.layout.pinned.includes(id), size: this.layout.sizes[id] || base.size || "m" };
  }

  ordered(ids) {
    const rank = new Map(this.layout.order.map((id, i) => [id, i]));
    return ids.map((id, i) => [id, i]).sort((a, b) => (rank.get(a[0]) ?? 1e6 + a[1]) - (rank.get(b[0]) ?? 1e6 + b[1])).map((p) => p[0]);
  }

  renderGroups() {
    for (const p of this.panels.values()) {
      this.observer.unobserve(p.el); this.nearObserver.unobserve(p.el); this.viewObserver.unobserve(p.el); p.destroy();
    }
    this.nearQueue = [];
    this.panels.clear();
    clear(this.groupsEl);
    const section = (name, label, ids, extraClass = "", note = null, bar = null) => {
      const grid = el("div", { class: "panel-grid" });
      for (const id of this.ordered(ids)) this.addPanel(this.specOf(id), grid);
      return el("details", { class: `group ${extraClass}`, open: true, dataset: { group: name } },
        el("summary", {}, el("span", { class: "group-name" }, label), el("span", { class: "count" }, String(ids.length)), note),
        bar, grid);
    };
    const pinned = this.layout.pinned.filter((id) => this.layout.panels.some((p) => p.id === id) || this.keys.includes(id));
    if (pinned.length) this.groupsEl.appendChild(section("pinned", "Pinned", pinned, "pinned-group"));
    const custom = this.layout.panels.map((p) => p.id).filter((id) => !pinned.includes(id));
    if (custom.length) this.groupsEl.appendChild(section("custom", "Custom panels", custom, "custom-group"));
    if (!this.keys.length && !custom.length) { this.groupsEl.appendChild(el("div", { class: "empty" }, "No metrics logged yet.")); return; }
    for (const [group, keys] of groupKeys(this.keys)) {
      const sys = group === "sys";
      const ordered = (sys ? sysOrder(keys) : keys).filter((k) => !pinned.includes(k));
      const main = ordered.filter((k) => !isDetailKey(k)), detail = ordered.filter(isDetailKey);
      const sec = section(group, groupLabel(group), main, sys ? "sys-group" : "",
        sys ? el("span", { class: "group-note" }, "system monitor · drawn against time") : null, sys ? this.sysBar() : null);
      sec.querySelector(".count").textContent = String(keys.length);
      if (detail.length) {
        // Per-layer / per-head charts: hundreds for a real model, so folded until asked for.
        const subGrid = el("div", { class: "panel-grid" });
        for (const key of detail) this.addPanel(this.specOf(key), subGrid);
        sec.appendChild(el("details", { class: "subgroup" }, el("summary", {},
          group === "attention" ? "per head" : "per layer", el("span", { class: "count" }, String(detail.length))), subGrid));
      }
      this.groupsEl.appendChild(sec);
    }
    this.applyFilter();
  }

  /** The system section's own x axis: the monitor's sample index is no training step. */
  sysBar() {
    const s = this.settings;
    const select = el("select", { class: "sys-x-axis", "aria-label": "system metrics x axis",
      onchange: (e) => s.set({ sysXAxis: e.target.value }) },
      ...["relative", "time", "step"].map((a) => el("option", { value: a, selected: a === s.sysXAxis }, axisLabel(a, true))));
    return el("div", { class: "group-bar" }, el("label", { class: "ctl" }, "X axis", select));
  }

  addPanel(spec, grid) {
    const panel = new ChartPanel({ project: this.project, spec, runs: this.runs, settings: this.settings, workspace: this });
    this.panels.set(spec.id, panel);
    grid.appendChild(panel.el);
    this.observer.observe(panel.el);
    this.nearObserver.observe(panel.el);
    this.viewObserver.observe(panel.el);
  }

  applyFilter() {
    let re = null;
    try { re = this.filter ? new RegExp(this.filter, "i") : null; } catch { re = null; }
    const f = this.filter.toLowerCase();
    const hit = (s) => (re ? re.test(s) : s.toLowerCase().includes(f));
    for (const p of this.panels.values()) {
      p.el.hidden = !!f && !p.keys.some((k) => hit(k) || hit(metricLabel(k))) && !hit(p.spec.title || "");
    }
    for (const g of this.groupsEl.querySelectorAll(".group, .subgroup")) {
      g.hidden = ![...g.querySelectorAll(".panel")].some((p) => !p.hidden);
    }
  }

  // -- layout editing (persisted per project) ------------------------------------------------
  move(id, delta) {
    const panel = this.panels.get(id);
    const grid = panel.el.parentElement;
    const ids = [...grid.children].map((c) => c.dataset.panel);
    const i = ids.indexOf(id), j = i + delta;
    if (j < 0 || j >= ids.length) return;
    [ids[i], ids[j]] = [ids[j], ids[i]];
    const others = this.layout.order.filter((x) => !ids.includes(x));
    this.layout.order = [...others, ...ids];
    const active = document.activeElement;
    if (delta < 0) grid.insertBefore(panel.el, grid.children[j]); else grid.insertBefore(grid.children[j], panel.el);
    if (active && panel.el.contains(active)) active.focus();  // keyboard users keep their place
    this.saveLayout();
  }

  togglePin(id) {
    const pins = this.layout.pinned;
    if (pins.includes(id)) pins.splice(pins.indexOf(id), 1); else pins.push(id);
    this.saveLayout();
    this.renderGroups();
  }

  toggleSize(id) {
    const next = (this.layout.sizes[id] || "m") === "m" ? "l" : "m";
    if (next === "m") delete this.layout.sizes[id]; else this.layout.sizes[id] = next;
    const p = this.panels.get(id);
    p.spec.size = next;
    p.el.classList.toggle("size-l", next === "l");
    p.bodyWidth = null;
    if (p.plot) p.plot.setSize({ width: p.width(), height: p.height() });
    this.saveLayout();
  }

  removePanel(id) {
    const gone = this.panels.get(id);
    if (gone) { this.observer.unobserve(gone.el); this.nearObserver.unobserve(gone.el); this.viewObserver.unobserve(gone.el); }
    this.layout.panels = this.layout.panels.filter((p) => p.id !== id);
    this.layout.pinned = this.layout.pinned.filter((p) => p !== id);
    this.saveLayout();
    this.renderGroups();
  }

  addCustomPanel(spec) {
    const id = `custom-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
    this.layout.panels.push({ id, ...spec });
    this.saveLayout();
    this.renderGroups();
    return id;
  }

  /** A small form: metrics (several, or a regex), x axis (step/time/any metric), title. */
  openPanelEditor() {
    const keys = this.keys.filter((k) => !isDetailKey(k));
    const picks = el("select", { class: "panel-metrics", multiple: true, size: Math.min(8, keys.length), "aria-label": "metrics" },
      ...keys.map((k) => el("option", { value: k }, k)));
    const regex = el("input", { type: "search", class: "panel-regex", placeholder: "or a regex, e.g. ^(train|val)/loss$" });
    const xSel = el("select", { class: "panel-x", "aria-label": "x axis of the panel" },
      el("option", { value: "" }, "x: the workspace x axis"), ...keys.map((k) => el("option", { value: `metric:${k}` }, `x: ${k}`)));
    const title = el("input", { type: "search", class: "panel-title-input", placeholder: "title (optional)" });
    const close = () => { dialog.remove(); document.removeEventListener("keydown", onKey); };
    const onKey = (e) => { if (e.key === "Escape") close(); };
    const add = () => {
      const chosen = [...picks.selectedOptions].map((o) => o.value);
      const spec = { title: title.value.trim() || undefined, x: xSel.value || null };
      if (regex.value.trim()) spec.regex = regex.value.trim(); else spec.keys = chosen;
      if (!spec.regex && !chosen.length) { picks.focus(); return; }
      close();
      this.addCustomPanel(spec);
    };
    const dialog = el("div", { class: "dialog-backdrop", onclick: (e) => { if (e.target === dialog) close(); } },
      el("div", { class: "dialog panel-editor", role: "dialog", "aria-label": "New panel" },
        el("h3", {}, "New panel"), el("label", {}, "Metrics (ctrl/shift for several)"), picks, regex, xSel, title,
        el("div", { class: "dialog-actions" }, el("button", { class: "btn", onclick: close }, "Cancel"),
          el("button", { class: "btn primary create-panel", onclick: add }, "Add panel"))));
    document.body.appendChild(dialog);
    document.addEventListener("keydown", onKey);
    picks.focus();
  }

  /** New runs or keys: rebuild only when the set of keys changed; else reload the series. */
  update({ runs, keys }) {
    const sameKeys = !keys || (keys.length === this.keys.length && keys.every((k, i) => k === this.keys[i]));
    const sameRuns = !runs || (runs.length === this.runs.length && runs.every((r, i) => r.id === this.runs[i].id));
    if (runs) this.runs = runs;
    if (!sameKeys) { this.keys = keys; this.renderGroups(); return; }
    if (sameRuns) return;
    for (const p of this.panels.values()) { p.runs = this.runs; if (p.loaded) p.load(); }
  }

  /** Reload every loaded panel (e.g. after the settings came from a saved view). */
  reload() {
    for (const p of this.panels.values()) {
      p.zoom = this.settings.zooms[p.axis] || null;
      p.el.classList.toggle("zoomed", !!p.zoom);
      if (p.loaded) p.load();
    }
  }

  async poll(runningIds) {
    await Promise.all([...this.panels.values()].map((p) => p.poll(runningIds)));
  }

  destroy() {
    this.observer.disconnect();
    this.nearObserver.disconnect();
    this.viewObserver.disconnect();
    for (const p of this.panels.values()) p.destroy();
  }
}
