// Sweep panels: parallel coordinates (one line per run through its hyperparameters to a metric),
// a hyperparameter-vs-metric scatter and the parameter importance computed by the server
// (correlation + permutation importance of boosted decision stumps). Plain SVG, no library.
import { api } from "./api.js";
import { el, fmtNum } from "./util.js";

const SVG = "http://www.w3.org/2000/svg";
const svg = (tag, attrs = {}, ...children) => {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) node.setAttribute(k, String(v));
  for (const c of children) if (c) node.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
  return node;
};

/** A [0, 1] position for every value of one axis: numbers linear (log when positive and spread
 * over more than two decades), anything else as evenly spaced categories in sorted order. */
export function axisScale(values) {
  const present = values.filter((v) => v !== null && v !== undefined);
  const numeric = present.length > 0 && present.every((v) => typeof v === "number" && Number.isFinite(v));
  if (numeric) {
    const lo = Math.min(...present), hi = Math.max(...present);
    const log = lo > 0 && hi / lo > 100;
    const f = log ? Math.log10 : (v) => v;
    const a = f(lo), b = f(hi);
    return { kind: log ? "log" : "linear", pos: (v) => (v === null || v === undefined ? null : b === a ? 0.5 : (f(v) - a) / (b - a)),
      ticks: [lo, hi], label: (v) => fmtNum(v, 3) };
  }
  const cats = [...new Set(present.map(String))].sort();
  return { kind: "category", pos: (v) => (v === null || v === undefined ? null : cats.length === 1 ? 0.5 : cats.indexOf(String(v)) / (cats.length - 1)),
    ticks: cats, label: (v) => String(v) };
}

/** Blue (low) to red (high), for a metric value at position t in [0, 1]. */
function heat(t) {
  if (t === null || !Number.isFinite(t)) return "#94a3b8";
  const hue = 230 - 230 * t;
  return `hsl(${hue}, 70%, 48%)`;
}

export class SweepPanels {
  constructor({ project, runs, settings, ids }) {
    Object.assign(this, { project, runs, settings, ids });
    const metrics = [...new Set(runs.flatMap((r) => Object.keys(r.summary)))].filter((k) => !k.startsWith("sys/")).sort();
    const pref = metrics.find((k) => /loss/i.test(k)) || metrics.find((k) => /acc|score/i.test(k)) || metrics[0];
    this.metric = pref;
    this.field = "last";
    this.metricSel = el("select", { class: "sweep-metric", "aria-label": "sweep metric",
      onchange: (e) => { this.metric = e.target.value; this.load(); } },
      ...metrics.map((k) => el("option", { value: k, selected: k === pref }, k)));
    this.fieldSel = el("select", { class: "sweep-field", "aria-label": "summary of the metric",
      onchange: (e) => { this.field = e.target.value; this.load(); } },
      ...["last", "min", "max"].map((f) => el("option", { value: f }, f)));
    this.paramSel = el("select", { class: "sweep-param", "aria-label": "parameter of the scatter plot",
      onchange: () => this.drawScatter() });
    this.parallel = el("div", { class: "sweep-parallel" });
    this.scatter = el("div", { class: "sweep-scatter" });
    this.importance = el("div", { class: "sweep-importance" });
    this.note = el("span", { class: "muted sweep-note" });
    // Folded until asked for (one line above the charts): the charts are what a workspace opens on.
    this.el = el("details", { class: "card sweep-card", open: false,
      ontoggle: () => { if (this.el.open && !this.data) this.load(); } },
      el("summary", { class: "card-head" }, el("h3", {}, "Sweep"), this.note),
      el("div", { class: "card-body" },
        el("div", { class: "sweep-controls" }, el("label", { class: "ctl" }, "Metric", this.metricSel, this.fieldSel),
          el("label", { class: "ctl" }, "Scatter x", this.paramSel)),
        el("div", { class: "sweep-grid" },
          el("div", { class: "sweep-block wide" }, el("h4", {}, "Parallel coordinates"), this.parallel),
          el("div", { class: "sweep-block" }, el("h4", {}, "Parameter vs metric"), this.scatter),
          el("div", { class: "sweep-block" }, el("h4", {}, "Parameter importance"), this.importance))));
    this.onSettings = (changes) => { if ("highlight" in changes) this.showHighlight(changes.highlight); };
    settings.listeners.add(this.onSettings);
    if (this.el.open) this.load();
  }

  update(ids) {
    this.ids = ids;
    if (this.el.open) this.load(); else this.data = null;
  }

  async load() {
    if (!this.metric) { this.parallel.replaceChildren(el("div", { class: "empty" }, "No metrics yet.")); return; }
    const token = (this.token = {});
    let data;
    try {
      data = await api.sweep(this.project, this.metric, { summary: this.field, runs: this.ids.length ? this.ids.join(",") : undefined });
    } catch (err) {
      this.parallel.replaceChildren(el("div", { class: "empty error" }, err.message));
      return;
    }
    if (token !== this.token) return;
    this.data = data;
    this.note.textContent = ` · ${data.runs.length} runs · ${data.params.length} varying parameters`;
    const keep = this.paramSel.value;
    const order = data.importance.map((d) => d.param);
    this.paramSel.replaceChildren(...order.map((p) => el("option", { value: p, selected: p === keep }, p)));
    this.drawParallel();
    this.drawScatter();
    this.drawImportance();
  }

  drawParallel() {
    const d = this.data;
    const axes = [...d.importance.map((x) => x.param).slice(0, 8), "__metric"];
    if (axes.length < 2 || !d.runs.length) { this.parallel.replaceChildren(el("div", { class: "empty" }, "No varying parameters.")); return; }
    const W = Math.max(360, this.parallel.clientWidth || 720), H = 260, padX = 46, top = 26, bottom = 34;
    const valueOf = (r, a) => (a === "__metric" ? r.metric : r.params[a]);
    const scales = axes.map((a) => axisScale(d.runs.map((r) => valueOf(r, a))));
    const xAt = (i) => padX + (i * (W - 2 * padX)) / (axes.length - 1);
    const yAt = (t) => top + (1 - t) * (H - top - bottom);
    const mScale = scales[scales.length - 1];
    const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, width: "100%", height: H, class: "pc", role: "img",
      "aria-label": `parallel coordinates of ${axes.length - 1} parameters and ${d.metric}` });
    const lines = svg("g", { class: "pc-lines" });
    this.pcPaths = new Map();
    for (const r of d.runs) {
      const pts = axes.map((a, i) => { const t = scales[i].pos(valueOf(r, a)); return t === null ? null : [xAt(i), yAt(t)]; });
      const segs = pts.filter(Boolean);
      if (segs.length < 2) continue;
      const path = svg("path", { d: "M" + segs.map((p) => p.map((v) => v.toFixed(1)).join(",")).join("L"),
        stroke: heat(mScale.pos(r.metric)), fill: "none", "stroke-width": 1.4, "stroke-opacity": 0.7, "data-run": r.id },
      svg("title", {}, `${r.name}: ${d.metric} ${fmtNum(r.metric)}`));
      path.addEventListener("mouseenter", () => this.settings.highlight(r.id));
      path.addEventListener("mouseleave", () => this.settings.highlight(null));
      lines.appendChild(path);
      this.pcPaths.set(r.id, path);
    }
    root.appendChild(lines);
    axes.forEach((a, i) => {
      const s = scales[i];
      const g = svg("g", { class: "pc-axis" }, svg("line", { x1: xAt(i), x2: xAt(i), y1: yAt(0), y2: yAt(1) }),
        svg("text", { x: xAt(i), y: 14, "text-anchor": "middle", class: "pc-name" }, a === "__metric" ? `${d.metric} (${d.field})` : a));
      const ticks = s.kind === "category" ? s.ticks.slice(0, 8) : s.ticks;
      for (const t of ticks) {
        g.appendChild(svg("text", { x: xAt(i) + 4, y: yAt(s.pos(t)) + 3, class: "pc-tick" }, s.label(t)));
      }
      root.appendChild(g);
    });
    this.parallel.replaceChildren(root);
  }

  drawScatter() {
    const d = this.data;
    if (!d) return;
    const param = this.paramSel.value || d.params[0];
    if (!param) { this.scatter.replaceChildren(el("div", { class: "empty" }, "No parameters.")); return; }
    const W = 360, H = 240, pad = 40;
    const xs = axisScale(d.runs.map((r) => r.params[param]));
    const ys = axisScale(d.runs.map((r) => r.metric));
    const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, width: "100%", height: H, class: "scatter", role: "img",
      "aria-label": `${param} against ${d.metric}` });
    root.appendChild(svg("line", { x1: pad, x2: W - 10, y1: H - pad, y2: H - pad, class: "axis" }));
    root.appendChild(svg("line", { x1: pad, x2: pad, y1: 10, y2: H - pad, class: "axis" }));
    root.appendChild(svg("text", { x: (W + pad) / 2, y: H - 8, "text-anchor": "middle", class: "pc-name" }, `${param}${xs.kind === "log" ? " (log)" : ""}`));
    root.appendChild(svg("text", { x: 12, y: (H - pad) / 2, transform: `rotate(-90 12 ${(H - pad) / 2})`, "text-anchor": "middle", class: "pc-name" }, d.metric));
    for (const t of xs.ticks.slice(0, 8)) root.appendChild(svg("text", { x: pad + xs.pos(t) * (W - pad - 20), y: H - pad + 14, "text-anchor": "middle", class: "pc-tick" }, xs.label(t)));
    for (const t of ys.ticks) root.appendChild(svg("text", { x: pad - 4, y: 10 + (1 - ys.pos(t)) * (H - pad - 20) + 3, "text-anchor": "end", class: "pc-tick" }, ys.label(t)));
    this.dots = new Map();
    for (const r of d.runs) {
      const tx = xs.pos(r.params[param]), ty = ys.pos(r.metric);
      if (tx === null || ty === null) continue;
      const jitter = xs.kind === "category" ? ((r.id.charCodeAt(r.id.length - 1) % 9) - 4) * 2 : 0;
      const dot = svg("circle", { cx: pad + tx * (W - pad - 20) + jitter, cy: 10 + (1 - ty) * (H - pad - 20), r: 4,
        fill: heat(ty), "fill-opacity": 0.8, "data-run": r.id }, svg("title", {}, `${r.name}: ${param}=${r.params[param]}, ${d.metric} ${fmtNum(r.metric)}`));
      dot.addEventListener("mouseenter", () => this.settings.highlight(r.id));
      dot.addEventListener("mouseleave", () => this.settings.highlight(null));
      root.appendChild(dot);
      this.dots.set(r.id, dot);
    }
    this.scatter.replaceChildren(root);
  }

  drawImportance() {
    const rows = this.data.importance;
    if (!rows.length) { this.importance.replaceChildren(el("div", { class: "empty" }, "No varying parameters.")); return; }
    this.importance.replaceChildren(el("table", { class: "grid importance" },
      el("thead", {}, el("tr", {}, el("th", {}, "parameter"), el("th", { title: "permutation importance of boosted decision stumps (sums to 1)" }, "importance"),
        el("th", { title: "Pearson correlation with the metric (categories: strength only)" }, "correlation"))),
      el("tbody", {}, rows.map((r) => el("tr", { dataset: { param: r.param } },
        el("th", {}, r.param, r.categorical ? el("small", {}, " category") : null),
        el("td", { class: "num" }, el("span", { class: "imp-bar", style: { width: `${Math.round(60 * (r.importance || 0))}px` } }), fmtNum(r.importance, 3)),
        el("td", { class: `num ${r.correlation > 0 ? "pos" : r.correlation < 0 ? "neg" : ""}` }, r.correlation === null ? "–" : fmtNum(r.correlation, 3)))))));
  }

  showHighlight(id) {
    for (const map of [this.pcPaths, this.dots]) {
      if (!map) continue;
      for (const [rid, node] of map) node.classList.toggle("hl", rid === id);
      if (id && map.has(id)) map.get(id).parentNode.appendChild(map.get(id));  // on top
    }
  }

  destroy() { this.settings.listeners.delete(this.onSettings); }
}
