// Metric charts on uPlot: one panel per key, every selected run overlaid, TensorBoard-style
// smoothing, server-side zoom refinement, crosshair and zoom synced across panels sharing an x
// axis, NaN/inf markers, PNG/CSV export. System metrics (sys/...) have their own x axis: their
// step is the monitor's sample index, so they are drawn against time by default.
import uPlot from "../vendor/uplot/uPlot.esm.js";
import { api } from "./api.js";
import { el, clear, withAlpha, fmtNum, fmtDuration, groupKeys, download, debounce } from "./util.js";
import { isSysKey, isDetailKey, unitOf, displayScale, fmtScaled, metricLabel, groupLabel, sysOrder } from "./metrics.js";

const PANEL_HEIGHT = 230;

/** Debiased exponential moving average, as TensorBoard's smoothing slider computes it. */
export function smooth(values, weight) {
  if (!(weight > 0)) return values;
  const out = new Array(values.length);
  let last = 0, n = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null || v === undefined || !Number.isFinite(v)) { out[i] = v; continue; }
    last = last * weight + (1 - weight) * v;
    n++;
    out[i] = last / (1 - Math.pow(weight, n));
  }
  return out;
}

/** Settings shared by every panel of a workspace; panels subscribe to changes. */
export class ChartSettings {
  constructor() {
    const saved = JSON.parse(localStorage.getItem("seetrain_chart_settings") || "{}");
    this.smoothing = saved.smoothing ?? 0.6;
    this.xAxis = saved.xAxis ?? "step";
    this.sysXAxis = saved.sysXAxis ?? "relative";
    this.logY = saved.logY ?? false;
    this.zooms = {};  // x axis -> [min, max]: a zoom applies to every panel drawn on that axis
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

export class ChartPanel {
  /** runs: [{id, name, color, status}] */
  constructor({ project, key, runs, settings }) {
    Object.assign(this, { project, key, runs, settings });
    this.sys = isSysKey(key);
    this.axisField = this.sys ? "sysXAxis" : "xAxis";
    this.unit = unitOf(key);
    this.series = new Map();   // run id -> {step, time, value, flag, start_time, last_step}
    this.zoom = settings.zooms[this.axis] || null;  // [min, max] of the x range shown, null = everything
    this.plot = null;
    this.loaded = false;
    this.info = el("span", { class: "panel-info" });
    this.nanBadge = el("span", { class: "nan-badge", hidden: true });
    this.tooltip = el("div", { class: "tooltip", hidden: true });
    this.body = el("div", { class: "panel-body" }, el("div", { class: "panel-loading" }, "loading…"));
    this.el = el("div", { class: "panel", dataset: { key } },
      el("div", { class: "panel-head" },
        el("span", { class: `panel-title${metricLabel(key) !== key ? " label" : ""}`, title: key }, metricLabel(key)),
        this.unitEl = this.unit ? el("span", { class: "panel-unit" }, this.unit) : null, this.nanBadge, this.info,
        el("span", { class: "spacer" }),
        el("button", { class: "icon-btn", title: "Reset zoom", onclick: () => this.resetZoom() }, "⤢"),
        el("button", { class: "icon-btn", title: "Download PNG", onclick: () => this.exportPng() }, "PNG"),
        el("button", { class: "icon-btn", title: "Download CSV", onclick: () => this.exportCsv() }, "CSV")),
      this.body, this.tooltip);
    if (this.zoom) this.el.classList.add("zoomed");
    this.onSettings = (changes) => {
      if ("zoomAxis" in changes) { if (changes.zoomAxis === this.axis) this.applyZoom(); }
      else if (this.axisField in changes) { this.zoom = null; this.el.classList.remove("zoomed"); if (this.loaded) this.load(); }
      else if ("logY" in changes) this.build();
      else if ("smoothing" in changes) this.redraw();
    };
    settings.listeners.add(this.onSettings);
    this.resizer = new ResizeObserver(() => {
      if (this.plot) this.plot.setSize({ width: this.width(), height: PANEL_HEIGHT });
    });
    this.resizer.observe(this.body);
  }

  get axis() { return this.settings[this.axisField]; }

  width() { return Math.max(200, this.body.clientWidth); }

  async load() {
    const opts = { x_axis: this.axis, max_points: Math.min(4000, Math.max(400, this.width())) };
    if (this.zoom) { opts.x_min = this.zoom[0]; opts.x_max = this.zoom[1]; }
    const ids = this.runs.map((r) => r.id);
    if (!ids.length) return;
    const token = (this.loadToken = {});
    let res;
    try {
      res = await api.projectMetric(this.project, this.key, ids, opts);
    } catch (err) {
      clear(this.body).appendChild(el("div", { class: "panel-loading error" }, err.message));
      return;
    }
    if (token !== this.loadToken) return;  // a newer request (zoom, axis change) won
    this.series = new Map(Object.entries(res.runs));
    this.loaded = true;
    const total = Math.max(0, ...[...this.series.values()].map((s) => s.total));
    const shown = Math.max(0, ...[...this.series.values()].map((s) => s.step.length));
    this.info.textContent = total > shown ? `${fmtNum(shown)} of ${fmtNum(total)} pts` : "";
    this.build();
  }

  /** Poll new points of running runs (only points after the last step already shown). */
  async poll(runningIds) {
    if (!this.loaded || this.zoom) return;
    let changed = false;
    for (const id of runningIds) {
      const s = this.series.get(id);
      if (!this.runs.some((r) => r.id === id)) continue;
      try {
        const fresh = await api.metric(this.project, id, this.key,
          { after_step: s ? s.last_step ?? -1 : -1, x_axis: this.axis, max_points: 4000 });
        if (!s) { this.series.set(id, fresh); changed = true; continue; }
        if (fresh.step.length) {
          for (const f of ["step", "time", "value", "flag"]) s[f] = s[f].concat(fresh[f]);
          s.last_step = fresh.last_step;
          s.total = fresh.total;
          changed = true;
        }
      } catch (err) {
        if (err.status !== 404) console.warn(err);
      }
    }
    if (changed) this.build();
  }

  /** [x, raw run 1, smoothed run 1, raw run 2, ...] aligned on the union of x values. */
  data() {
    const logY = this.settings.logY, w = this.settings.smoothing;
    const tables = [], order = [];
    this.smoothed = new Map();
    let maxAbs = 0;
    for (const s of this.series.values()) for (const v of s.value) if (v !== null && Math.abs(v) > maxAbs) maxAbs = Math.abs(v);
    this.scale = displayScale(this.unit, maxAbs);
    const f = this.scale.factor;
    for (const run of this.runs) {
      const s = this.series.get(run.id);
      if (!s || !s.step.length) continue;
      const xs = xOf(s, this.axis);
      const raw = s.value.map((v) => (v === null || (logY && v <= 0) ? null : v * f));
      const sm = smooth(raw, w);
      this.smoothed.set(run.id, sm);
      tables.push([xs, raw, sm]);
      order.push(run);
    }
    this.order = order;
    return tables.length ? uPlot.join(tables) : [[]];
  }

  build() {
    if (this.plot) { this.plot.destroy(); this.plot = null; }
    const data = this.data();
    if (this.unitEl) this.unitEl.textContent = this.scale.unit;
    this.hovered = false;
    clear(this.body);
    if (!this.order.length) { this.body.appendChild(el("div", { class: "panel-loading" }, "no data")); return; }
    const settings = this.settings;
    const series = [{}];
    for (const run of this.order) {
      series.push({ label: run.name, stroke: () => (settings.smoothing > 0 ? withAlpha(run.color, 0.22) : run.color),
        width: 1.25, spanGaps: true, points: { show: false } });
      series.push({ label: `${run.name} (smoothed)`, stroke: run.color, width: 2, spanGaps: true,
        points: { show: false }, show: true });
    }
    const axis = this.axis, unit = this.scale.unit;
    const grid = { stroke: "rgba(15,23,42,0.06)", width: 1 };
    const ticks = { stroke: "rgba(15,23,42,0.15)", width: 1, size: 4 };
    const opts = {
      width: this.width(), height: PANEL_HEIGHT, legend: { show: false },
      cursor: {
        sync: { key: `seetrain-${axis}`, setSeries: false },
        drag: { x: true, y: false, setScale: false },
        points: { size: 6 },
        y: false,  // a horizontal line means nothing in the other panels the cursor is synced to
        bind: { dblclick: () => (e) => { e.preventDefault(); this.resetZoom(); return null; } },
      },
      scales: { x: { time: axis === "time" }, y: { distr: settings.logY ? 3 : 1,
        // Percentages start at 0, as a system monitor's charts do.
        range: unit === "%" && !settings.logY ? (u, mn, mx) => uPlot.rangeNum(0, Math.max(mx ?? 0, 1), 0.1, true) : undefined } },
      axes: [
        { stroke: "#64748b", grid, ticks, font: "11px Inter, system-ui, sans-serif",
          values: axis === "relative" ? (u, vals) => vals.map((v) => fmtDuration(v)) : undefined },
        { stroke: "#64748b", grid, ticks, font: "11px Inter, system-ui, sans-serif",
          // Wide enough for the longest tick label ("512 KB/s"), never narrower than before.
          size: (u, vals) => Math.max(56, 16 + 6.4 * Math.max(0, ...(vals || []).map((v) => String(v).length))),
          values: (u, vals) => vals.map((v) => (v === null ? "" : fmtScaled(v, unit, 3))) },
      ],
      series,
      hooks: {
        setSelect: [(u) => this.onSelect(u)],
        setCursor: [(u) => this.showTooltip(u)],
        draw: [(u) => this.drawNonFinite(u)],
      },
    };
    this.plot = new uPlot(opts, data, this.body);
    // The crosshair follows in every panel of this x axis; the tooltip only where the mouse is.
    this.plot.over.addEventListener("mouseenter", () => { this.hovered = true; });
    this.plot.over.addEventListener("mouseleave", () => { this.hovered = false; this.tooltip.hidden = true; });
    if (this.zoom) this.plot.setScale("x", { min: this.zoom[0], max: this.zoom[1] });
    const bad = [...this.series.values()].reduce((n, s) => n + s.flag.filter((f) => f).length, 0);
    this.nanBadge.hidden = !bad;
    this.nanBadge.textContent = `${bad} NaN/inf`;
  }

  redraw() {
    if (!this.plot) return;
    this.plot.setData(this.data(), !this.zoom);
    if (this.zoom) this.plot.setScale("x", { min: this.zoom[0], max: this.zoom[1] });
  }

  onSelect(u) {
    const { left, width } = u.select;
    if (width < 4) return;
    const min = u.posToVal(left, "x"), max = u.posToVal(left + width, "x");
    u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
    this.settings.setZoom(this.axis, [min, max]);
  }

  resetZoom() {
    if (this.zoom) this.settings.setZoom(this.axis, null);
  }

  /** Follow the workspace's zoom of this panel's x axis: rescale at once, then ask the server
   * for the refined points of that range (panels not loaded yet pick it up when they load). */
  applyZoom() {
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
    const axis = this.axis, unit = this.scale.unit, f = this.scale.factor;
    const rows = [];
    let xShown = null;
    for (const run of this.order) {
      const s = this.series.get(run.id);
      const xs = xOf(s, axis);
      const i = nearest(xs, x);
      if (i < 0) continue;
      if (Math.abs(u.valToPos(xs[i], "x") - left) > 40) continue;
      if (xShown === null) xShown = xs[i];
      const raw = s.flag[i] ? s.flag[i] : s.value[i] === null ? null : s.value[i] * f;
      const sm = this.settings.smoothing > 0 && !s.flag[i] ? this.smoothed.get(run.id)[i] ?? null : null;
      rows.push(el("div", { class: "tt-row" }, el("i", { style: { background: run.color } }),
        el("span", { class: "tt-name" }, run.name),
        el("b", {}, fmtScaled(sm === null ? raw : sm, unit)),
        sm === null ? null : el("span", { class: "tt-raw" }, fmtScaled(raw, unit))));
    }
    if (!rows.length) { this.tooltip.hidden = true; return; }
    const head = axis === "step" ? `${this.sys ? "sample" : "step"} ${fmtNum(xShown)}` : axis === "time"
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
    const ctx = u.ctx, { left, top, width, height } = u.bbox;
    const r = 5 * devicePixelRatio;
    ctx.save();
    for (const run of this.order || []) {
      const s = this.series.get(run.id);
      const xs = xOf(s, this.axis);
      s.flag.forEach((f, i) => {
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
    ctx.fillText(this.key, pad, pad + 10 * dpr);
    ctx.drawImage(src, pad, head);
    let x = pad;
    ctx.font = `${11 * dpr}px system-ui, sans-serif`;
    for (const run of this.order) {
      ctx.fillStyle = run.color; ctx.fillRect(x, head + src.height + 8 * dpr, 10 * dpr, 10 * dpr);
      ctx.fillStyle = "#334155"; ctx.fillText(run.name, x + 14 * dpr, head + src.height + 17 * dpr);
      x += ctx.measureText(run.name).width + 30 * dpr;
    }
    c.toBlob((blob) => download(`${this.key.replace(/[^\w.-]+/g, "_")}.png`, blob), "image/png");
  }

  csv() {
    const axis = this.axis;
    const lines = [["run_id", "run_name", axis === "step" ? "step" : "x_" + axis, "step", "wall_time", "value"].join(",")];
    const q = (s) => `"${String(s).replace(/"/g, '""')}"`;
    for (const run of this.order || []) {
      const s = this.series.get(run.id);
      const xs = xOf(s, axis);
      s.step.forEach((st, i) => {
        const v = s.flag[i] ? s.flag[i] : s.value[i];
        lines.push([q(run.id), q(run.name), xs[i], st, s.time[i], v].join(","));
      });
    }
    return lines.join("\n") + "\n";
  }

  exportCsv() {
    download(`${this.key.replace(/[^\w.-]+/g, "_")}.csv`, new Blob([this.csv()], { type: "text/csv" }));
  }

  destroy() {
    this.settings.listeners.delete(this.onSettings);
    this.resizer.disconnect();
    if (this.plot) this.plot.destroy();
  }
}

/** The toolbar + grouped panels for some runs and keys. Panels load when scrolled into view. */
export class Workspace {
  constructor({ project, runs, keys, settings = new ChartSettings() }) {
    Object.assign(this, { project, runs, keys, settings });
    this.panels = new Map();
    this.filter = "";
    this.observer = new IntersectionObserver((entries) => {
      for (const e of entries) {
        if (!e.isIntersecting) continue;
        const panel = this.panels.get(e.target.dataset.key);
        if (panel && !panel.loaded && !panel.loading) { panel.loading = true; panel.load(); }
        this.observer.unobserve(e.target);
      }
    }, { rootMargin: "200px" });
    this.groupsEl = el("div", { class: "groups" });
    this.el = el("div", { class: "workspace" }, this.toolbar(), this.groupsEl);
    this.renderGroups();
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
    const search = el("input", { type: "search", class: "key-filter", placeholder: "Filter charts…",
      oninput: debounce((e) => { this.filter = e.target.value.toLowerCase(); this.applyFilter(); }, 120) });
    return el("div", { class: "toolbar" }, search,
      el("label", { class: "ctl" }, "Smoothing", slider, value),
      el("label", { class: "ctl" }, "X axis", axis), log,
      el("span", { class: "hint" }, "drag to zoom (all charts follow) · double-click to reset"));
  }

  renderGroups() {
    for (const p of this.panels.values()) p.destroy();
    this.panels.clear();
    clear(this.groupsEl);
    if (!this.keys.length) { this.groupsEl.appendChild(el("div", { class: "empty" }, "No metrics logged yet.")); return; }
    for (const [group, keys] of groupKeys(this.keys)) {
      const sys = group === "sys";
      const ordered = sys ? sysOrder(keys) : keys;
      const main = ordered.filter((k) => !isDetailKey(k)), detail = ordered.filter(isDetailKey);
      const grid = el("div", { class: "panel-grid" });
      for (const key of main) this.addPanel(key, grid);
      let sub = null;
      if (detail.length) {
        // Per-layer / per-head charts: hundreds for a real model, so folded until asked for.
        const subGrid = el("div", { class: "panel-grid" });
        for (const key of detail) this.addPanel(key, subGrid);
        sub = el("details", { class: "subgroup" }, el("summary", {},
          group === "attention" ? "per head" : "per layer", el("span", { class: "count" }, String(detail.length))), subGrid);
      }
      const section = el("details", { class: `group${sys ? " sys-group" : ""}`, open: true, dataset: { group } },
        el("summary", {}, el("span", { class: "group-name" }, groupLabel(group)), el("span", { class: "count" }, String(keys.length)),
          sys ? el("span", { class: "group-note" }, "system monitor · drawn against time") : null),
        sys ? this.sysBar() : null, grid, sub);
      this.groupsEl.appendChild(section);
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

  addPanel(key, grid) {
    const panel = new ChartPanel({ project: this.project, key, runs: this.runs, settings: this.settings });
    this.panels.set(key, panel);
    grid.appendChild(panel.el);
    this.observer.observe(panel.el);
  }

  applyFilter() {
    const f = this.filter;
    for (const [key, p] of this.panels) {
      p.el.hidden = f && !key.toLowerCase().includes(f) && !metricLabel(key).toLowerCase().includes(f);
    }
    for (const g of this.groupsEl.querySelectorAll(".group, .subgroup")) {
      g.hidden = ![...g.querySelectorAll(".panel")].some((p) => !p.hidden);
    }
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

  async poll(runningIds) {
    await Promise.all([...this.panels.values()].map((p) => p.poll(runningIds)));
  }

  destroy() {
    this.observer.disconnect();
    for (const p of this.panels.values()) p.destroy();
  }
}
