// The run page's Graph tab: a `seetrain.log_graph` record (format seetrain.graph/1) drawn as
// an SVG: a layered top-to-bottom layout, module groups that collapse into one box, search,
// zoom (wheel, buttons) and pan (drag) through the viewBox. Plain JS: the layout is a longest-
// path layering, enough for the chain-like graphs of neural networks.
import { api } from "./api.js";
import { el, empty, fmtNum } from "./util.js";

const SVG = "http://www.w3.org/2000/svg";
const NODE_W = 168, NODE_H = 54, GAP_X = 28, GAP_Y = 46, PAD = 10, HEAD = 18;
// Above this many nodes the top-level modules start collapsed: thousands of boxes are unreadable.
const COLLAPSE_ABOVE = 150;

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) node.setAttribute(k, String(v));
  for (const c of children.flat()) if (c !== null && c !== undefined) node.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

function fmtCount(n) {
  if (typeof n !== "number") return "";
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(1)}K`;
  return String(n);
}

/** "2×8" for one output, "2×8, 2×8" for several, "" without shapes. */
export function fmtOutput(out) {
  if (!out) return "";
  const one = (o) => (o && Array.isArray(o.shape) ? (o.shape.length ? o.shape.join("×") : "scalar") : "");
  return Array.isArray(out) ? out.map(one).filter(Boolean).join(", ") : one(out);
}

const clip = (s, n) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

/** The module groups a node sits in, outermost first. A called module is the node itself, so
 * its own path is not a group of it; a function called inside a module belongs to that module. */
function chainOf(node) {
  if (!node.module) return [];
  const parts = node.module.split(".");
  const n = node.op === "call_module" ? parts.length - 1 : parts.length;
  return Array.from({ length: n }, (_, i) => parts.slice(0, i + 1).join("."));
}

function leafModules(tree, out = []) {
  const kids = tree.children || [];
  if (!kids.length && tree.path) {
    out.push({ name: tree.path, op: "call_module", target: tree.path, type: tree.type, module: tree.path, params: tree.params, inputs: [] });
  }
  for (const c of kids) leafModules(c, out);
  return out;
}

function moduleIndex(tree, out = new Map()) {
  if (!tree) return out;
  out.set(tree.path || "", tree);
  for (const c of tree.children || []) moduleIndex(c, out);
  return out;
}

export class GraphView {
  constructor(payload) {
    this.p = payload;
    // Untraceable model (method "modules"): its leaf modules in definition order, without edges.
    this.treeOnly = !(payload.nodes || []).length && !!payload.modules;
    const raw = this.treeOnly ? leafModules(payload.modules) : payload.nodes || [];
    this.nodes = raw.map((n, i) => ({ ...n, index: i, chain: chainOf(n) }));
    this.byName = new Map(this.nodes.map((n) => [n.name, n]));
    this.modules = moduleIndex(payload.modules);
    // Groups with at least two nodes, or one node and a sub-group: a box around a single node says nothing.
    const members = new Map();
    for (const n of this.nodes) for (const g of n.chain) members.set(g, (members.get(g) || 0) + 1);
    this.groups = new Set([...members].filter(([g, c]) => c > 1 || [...members.keys()].some((h) => h.startsWith(`${g}.`))).map(([g]) => g));
    for (const n of this.nodes) n.chain = n.chain.filter((g) => this.groups.has(g));
    this.collapsed = new Set(this.nodes.length > COLLAPSE_ABOVE ? this.groupsAt(this.startDepth()) : []);
    this.query = "";
    this.build();
    this.render();
  }

  groupsAt(depth) { return [...this.groups].filter((g) => g.split(".").length === depth); }

  /** The deepest module level that, collapsed, leaves at most COLLAPSE_ABOVE boxes (else level 1). */
  startDepth() {
    let best = 1;
    for (let d = 1; d <= 8; d++) {
      const groups = new Set(), loose = this.nodes.filter((n) => {
        if (n.chain.length < d) return true;
        groups.add(n.chain[d - 1]);
        return false;
      }).length;
      if (loose + groups.size <= COLLAPSE_ABOVE) best = d;
      else break;
    }
    return best;
  }

  build() {
    const p = this.p;
    this.svg = svg("svg", { class: "graph-svg", role: "img", "aria-label": `graph of ${p.model || "the model"}` });
    this.svg.appendChild(svg("defs", {}, svg("marker", { id: "graph-arrow", viewBox: "0 0 10 10", refX: 10, refY: 5,
      markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" }, svg("path", { d: "M0,0 L10,5 L0,10 z", class: "graph-arrow" }))));
    this.layer = svg("g", {});
    this.svg.appendChild(this.layer);
    this.search = el("input", { type: "search", class: "graph-search", placeholder: "Search nodes (name, type, module)…",
      oninput: () => { this.query = this.search.value.trim().toLowerCase(); this.highlight(); },
      onkeydown: (e) => { if (e.key === "Enter") this.focusFirstHit(); } });
    this.hitCount = el("span", { class: "muted graph-hits" });
    this.detail = el("div", { class: "graph-detail", hidden: true });
    const btn = (label, title, fn, cls = "") => el("button", { class: `btn ${cls}`, title, onclick: fn }, label);
    const toolbar = el("div", { class: "graph-toolbar" }, this.search, this.hitCount, el("span", { class: "spacer" }),
      btn("−", "zoom out", () => this.zoomBy(1.25), "graph-zoom-out"), btn("+", "zoom in", () => this.zoomBy(0.8), "graph-zoom-in"),
      btn("Fit", "fit the graph in the view", () => this.fit(), "graph-fit"),
      btn("Collapse all", "collapse every top-level module", () => { this.collapsed = new Set(this.groupsAt(1)); this.render(); }, "graph-collapse-all"),
      btn("Expand all", "expand every module", () => { this.collapsed.clear(); this.render(); }, "graph-expand-all"),
      btn("Full screen", "full screen (Esc closes)", () => this.el.classList.toggle("full"), "graph-full"));
    const counts = Object.entries(p.op_counts || {}).sort((a, b) => b[1] - a[1]).slice(0, 8).map(([t, c]) => `${t} ×${c}`).join(" · ");
    const info = el("div", { class: "graph-info muted" },
      `${p.model || "model"} · ${fmtCount(p.total_params)} parameters · ${this.nodes.length} nodes · traced with ${p.method || "?"}`,
      p.truncated ? ` · cut from ${p.truncated} nodes` : "", counts ? ` · ${counts}` : "");
    const errors = p.errors && (Array.isArray(p.errors) ? p.errors.length : Object.keys(p.errors).length)
      ? el("div", { class: "note graph-errors" }, `Tracing fell back: ${Array.isArray(p.errors) ? p.errors.join("; ") : Object.entries(p.errors).map(([k, v]) => `${k}: ${v}`).join("; ")}`) : null;
    const treeNote = this.treeOnly
      ? el("div", { class: "note graph-tree-only" }, "Module tree only: the model could not be traced, so there is no data flow; the boxes are its leaf modules in definition order.") : null;
    this.canvas = el("div", { class: "graph-canvas", tabindex: "0" }, this.svg, this.detail);
    this.el = el("div", { class: "graph-view" }, toolbar, info, errors, treeNote, this.canvas);
    this.el.addEventListener("keydown", (e) => {
      if (e.key !== "Escape") return;
      // Esc closes the innermost thing open: the node details, the search, then full screen.
      if (!this.detail.hidden) this.closeDetail();
      else if (this.search.value) { this.search.value = ""; this.query = ""; this.highlight(); }
      else this.el.classList.remove("full");
    });
    this.wirePanZoom();
  }

  /** The visible graph: collapsed groups stand for all their nodes (the outermost one wins). */
  visible() {
    const boxOf = new Map(), items = new Map();
    for (const n of this.nodes) {
      const g = n.chain.find((c) => this.collapsed.has(c));
      const id = g ? `group:${g}` : n.name;
      boxOf.set(n.name, id);
      if (!items.has(id)) items.set(id, g ? { id, group: g, index: n.index, members: [], chain: n.chain.slice(0, n.chain.indexOf(g)) } : { id, node: n, index: n.index, chain: n.chain });
      if (g) items.get(id).members.push(n);
    }
    const edges = new Map();
    for (const [a, b] of this.p.edges || []) {
      const x = boxOf.get(a), y = boxOf.get(b);
      if (x && y && x !== y) edges.set(`${x}\u0000${y}`, [x, y]);
    }
    return { items: [...items.values()], edges: [...edges.values()] };
  }

  layout(items, edges) {
    const byId = new Map(items.map((it) => [it.id, it]));
    const preds = new Map(items.map((it) => [it.id, []]));
    for (const [a, b] of edges) if (byId.get(a).index < byId.get(b).index) preds.get(b).push(a);
    // Items are in execution order, so every (forward) predecessor is placed first.
    const order = [...items].sort((a, b) => a.index - b.index);
    order.forEach((it, i) => {
      it.rank = this.treeOnly ? i : Math.max(-1, ...preds.get(it.id).map((p) => byId.get(p).rank)) + 1;
    });
    const ranks = [];
    for (const it of order) (ranks[it.rank] ||= []).push(it);
    // Vertical room for group headers: a rank where groups start gets one header band per group
    // starting there; a rank where groups end gets one padding band per group ending there.
    const span = new Map();
    for (const it of order) for (const g of it.chain) {
      const s = span.get(g);
      span.set(g, s ? [Math.min(s[0], it.rank), Math.max(s[1], it.rank)] : [it.rank, it.rank]);
    }
    const above = ranks.map((row) => Math.max(0, ...row.map((it) => it.chain.filter((g) => span.get(g)[0] === it.rank).length)));
    const below = ranks.map((row) => Math.max(0, ...row.map((it) => it.chain.filter((g) => span.get(g)[1] === it.rank).length)));
    const widest = Math.max(1, ...ranks.map((r) => r.length));
    let y = 0;
    ranks.forEach((row, r) => {
      if (r > 0) y += NODE_H + GAP_Y + below[r - 1] * PAD + above[r] * (PAD + HEAD);
      row.forEach((it, i) => {
        it.x = (i - (row.length - 1) / 2) * (NODE_W + GAP_X) + ((widest - 1) / 2) * (NODE_W + GAP_X) - NODE_W / 2;
        it.y = y;
      });
    });
    return byId;
  }

  render() {
    const { items, edges } = this.visible();
    const byId = this.layout(items, edges);
    this.layer.replaceChildren();
    // Expanded groups: boxes around their nodes, innermost drawn last (on top).
    const rects = new Map(), parent = new Map();
    const grow = (g, [x0, y0, x1, y1]) => {
      const r = rects.get(g);
      rects.set(g, r ? [Math.min(r[0], x0), Math.min(r[1], y0), Math.max(r[2], x1), Math.max(r[3], y1)] : [x0, y0, x1, y1]);
    };
    for (const it of items) {
      it.chain.forEach((g, i) => { if (i) parent.set(g, it.chain[i - 1]); });
      if (it.chain.length) grow(it.chain[it.chain.length - 1], [it.x, it.y, it.x + NODE_W, it.y + NODE_H]);
    }
    // Innermost first: each group's box wraps its nodes and its sub-groups' boxes.
    const depth = (g) => g.split(".").length;
    // (A group with only sub-groups has no rect yet: walk every group in a visible chain.)
    for (const g of [...new Set(items.flatMap((it) => it.chain))].sort((a, b) => depth(b) - depth(a))) {
      const [x0, y0, x1, y1] = rects.get(g);
      const padded = [x0 - PAD, y0 - PAD - HEAD, x1 + PAD, y1 + PAD];
      rects.set(g, padded);
      if (parent.has(g)) grow(parent.get(g), padded);
    }
    const groupsG = svg("g", { class: "graph-groups" });
    const sorted = [...rects].sort((a, b) => a[0].split(".").length - b[0].split(".").length);
    for (const [g, [x0, y0, x1, y1]] of sorted) {
      const mod = this.modules.get(g);
      const label = `▾ ${g}${mod && mod.type ? ` (${mod.type})` : ""}`;
      groupsG.appendChild(svg("g", { class: "graph-group", "data-group": g },
        svg("rect", { x: x0, y: y0, width: x1 - x0, height: y1 - y0, rx: 8 }),
        svg("text", { x: x0 + 8, y: y0 + 13, class: "graph-group-label" }, clip(label, Math.max(8, Math.floor((x1 - x0) / 6.5)))),
        svg("title", {}, `${g}: click the label to collapse`)));
    }
    groupsG.addEventListener("click", (e) => {
      // Only the header label toggles: the box itself is room to drag the view.
      if (e.target.closest(".graph-group-label")) this.toggle(e.target.closest(".graph-group").dataset.group);
    });
    const edgesG = svg("g", { class: "graph-edges" });
    // The right edge of each rank's rightmost box: an edge that skips ranks bends out past them
    // (a straight line would run under the nodes in between, as residual connections do).
    const right = [];
    for (const it of items) right[it.rank] = Math.max(right[it.rank] ?? -Infinity, it.x + NODE_W + PAD * it.chain.length);
    let skips = 0;
    for (const [a, b] of edges) {
      const s = byId.get(a), t = byId.get(b);
      let d;
      if (t.rank - s.rank > 1) {
        const xr = Math.max(...right.slice(s.rank + 1, t.rank)) + 24 + 10 * (skips++ % 4);
        const x1 = s.x + NODE_W, y1 = s.y + NODE_H / 2, x2 = t.x + NODE_W, y2 = t.y + NODE_H / 2;
        d = `M${x1},${y1} C${xr},${y1} ${xr},${y1} ${xr},${Math.min(y2, y1 + NODE_H)} L${xr},${Math.max(y1, y2 - NODE_H)} C${xr},${y2} ${xr},${y2} ${x2},${y2}`;
      } else {
        const x1 = s.x + NODE_W / 2, y1 = s.y + NODE_H, x2 = t.x + NODE_W / 2, y2 = t.y;
        const dy = Math.max(20, Math.abs(y2 - y1) / 2);
        d = `M${x1},${y1} C${x1},${y1 + dy} ${x2},${y2 - dy} ${x2},${y2}`;
      }
      // A back edge (not expected in a trace) is drawn dashed.
      edgesG.appendChild(svg("path", { class: `graph-edge${t.rank <= s.rank ? " back" : ""}`, "data-from": a, "data-to": b,
        d, "marker-end": "url(#graph-arrow)" }));
    }
    const nodesG = svg("g", { class: "graph-nodes" });
    for (const it of items) nodesG.appendChild(it.node ? this.nodeBox(it) : this.groupBox(it));
    nodesG.addEventListener("click", (e) => {
      const box = e.target.closest(".graph-node");
      if (!box) return;
      if (box.dataset.group) this.toggle(box.dataset.group);
      else this.showDetail(this.byName.get(box.dataset.name));
    });
    this.layer.append(groupsG, edgesG, nodesG);
    const boxes = [...items.map((it) => [it.x, it.y, it.x + NODE_W, it.y + NODE_H]), ...rects.values()];
    const m = 16;
    const [ex0, ey0] = [Math.min(...boxes.map((b) => b[0])) - m, Math.min(...boxes.map((b) => b[1])) - m];
    this.extent = boxes.length
      ? [ex0, ey0, Math.max(...boxes.map((b) => b[2])) + m - ex0, Math.max(...boxes.map((b) => b[3])) + m - ey0]
      : [0, 0, 100, 100];
    this.svg.dataset.nodes = String(items.length);
    this.svg.dataset.edges = String(edges.length);
    this.highlight();
    if (!this.view) this.home();
  }

  nodeBox(it) {
    const n = it.node;
    const kind = ["placeholder", "output"].includes(n.op) ? "io" : n.op === "call_module" ? "module" : (n.type === "parameter" || n.type === "buffer" || n.op === "get_attr") ? "attr" : "fn";
    const shape = fmtOutput(n.output);
    return svg("g", { class: `graph-node kind-${kind}`, "data-name": n.name, "data-type": n.type || "", transform: `translate(${it.x},${it.y})` },
      svg("rect", { width: NODE_W, height: NODE_H, rx: 6 }),
      svg("text", { x: 10, y: 17, class: "graph-node-type" }, clip(n.type || n.op, 18)),
      n.params ? svg("text", { x: NODE_W - 8, y: 17, class: "graph-node-params", "text-anchor": "end" }, fmtCount(n.params)) : null,
      svg("text", { x: 10, y: 32, class: "graph-node-name" }, clip(n.module && n.op === "call_module" ? n.module : n.name, 26)),
      svg("text", { x: 10, y: 47, class: "graph-node-shape" }, clip(shape || "–", 26)),
      svg("title", {}, `${n.name} (${n.op} ${n.target || ""})${shape ? `\noutput ${shape}` : ""}${n.params ? `\n${fmtNum(n.params)} parameters` : ""}`));
  }

  groupBox(it) {
    const g = it.group, mod = this.modules.get(g);
    const params = mod && typeof mod.params === "number" ? mod.params : it.members.reduce((s, n) => s + (n.params || 0), 0);
    const last = it.members[it.members.length - 1];
    const shape = fmtOutput(last && last.output);
    return svg("g", { class: "graph-node collapsed", "data-group": g, transform: `translate(${it.x},${it.y})` },
      svg("rect", { width: NODE_W, height: NODE_H, rx: 6 }),
      svg("text", { x: 10, y: 17, class: "graph-node-type" }, clip(`▸ ${mod && mod.type ? mod.type : "module"}`, 18)),
      params ? svg("text", { x: NODE_W - 8, y: 17, class: "graph-node-params", "text-anchor": "end" }, fmtCount(params)) : null,
      svg("text", { x: 10, y: 32, class: "graph-node-name" }, clip(`${g} · ${it.members.length} nodes`, 26)),
      svg("text", { x: 10, y: 47, class: "graph-node-shape" }, clip(shape || "–", 26)),
      svg("title", {}, `${g}: ${it.members.length} nodes, ${fmtNum(params)} parameters; click to expand`));
  }

  toggle(group) {
    if (this.collapsed.has(group)) this.collapsed.delete(group);
    else this.collapsed.add(group);
    this.closeDetail();
    this.render();
  }

  matches(n) {
    const q = this.query;
    return [n.name, n.type, n.target, n.module].some((s) => typeof s === "string" && s.toLowerCase().includes(q));
  }

  highlight() {
    const hits = this.query ? this.nodes.filter((n) => this.matches(n)) : [];
    const names = new Set(hits.map((n) => n.name));
    const groups = new Set(hits.flatMap((n) => n.chain.filter((g) => this.collapsed.has(g))));
    this.svg.classList.toggle("searching", !!this.query);
    for (const box of this.layer.querySelectorAll(".graph-node")) {
      box.classList.toggle("hit", box.dataset.group ? groups.has(box.dataset.group) : names.has(box.dataset.name));
    }
    this.hitCount.textContent = this.query ? `${hits.length} match${hits.length === 1 ? "" : "es"}` : "";
  }

  focusFirstHit() {
    const box = this.layer.querySelector(".graph-node.hit");
    if (!box) return;
    const m = /translate\(([-\d.e]+),([-\d.e]+)\)/.exec(box.getAttribute("transform"));
    const [w, h] = [this.view[2], this.view[3]];
    this.setView([+m[1] + NODE_W / 2 - w / 2, +m[2] + NODE_H / 2 - h / 2, w, h]);
  }

  showDetail(n) {
    if (!n) return;
    const row = (k, v) => (v === undefined || v === null || v === "" ? null : el("tr", {}, el("th", {}, k), el("td", { class: "mono" }, String(v))));
    this.detail.replaceChildren(
      el("div", { class: "graph-detail-head" }, el("b", {}, n.name), el("button", { class: "link-btn graph-detail-close", title: "close (Esc)", onclick: () => this.closeDetail() }, "×")),
      el("table", { class: "grid kv" }, el("tbody", {},
        row("op", n.op), row("target", n.target), row("type", n.type), row("module", n.module),
        row("parameters", n.params ? fmtNum(n.params) : null), row("output", fmtOutput(n.output)),
        row("dtype", n.output && !Array.isArray(n.output) ? n.output.dtype : null),
        row("inputs", (n.inputs || []).join(", ")))));
    this.detail.hidden = false;
    for (const b of this.layer.querySelectorAll(".graph-node.selected")) b.classList.remove("selected");
    const box = this.layer.querySelector(`.graph-node[data-name="${CSS.escape(n.name)}"]`);
    if (box) box.classList.add("selected");
    this.canvas.focus({ preventScroll: true });
  }

  closeDetail() {
    this.detail.hidden = true;
    for (const b of this.layer.querySelectorAll(".graph-node.selected")) b.classList.remove("selected");
  }

  // -- zoom and pan: all through the viewBox, so text stays crisp at every scale --------------
  setView(v) {
    this.view = v;
    this.svg.setAttribute("viewBox", v.map((x) => x.toFixed(2)).join(" "));
    // data-zoom: screen pixels per layout unit (1 = boxes at their natural size).
    const width = this.svg.getBoundingClientRect().width || v[2];
    this.svg.dataset.zoom = (width / v[2]).toFixed(4);
  }

  aspect() {
    const rect = this.svg.getBoundingClientRect();
    return rect.width && rect.height ? [rect.width, rect.height] : [1280, 640];
  }

  /** The whole graph in view, centred. */
  fit() {
    const [x, y, w, h] = this.extent;
    const [pw, ph] = this.aspect();
    const vw = Math.max(w, (h * pw) / ph), vh = (vw * ph) / pw;
    this.setView([x - (vw - w) / 2, y - (vh - h) / 2, vw, vh]);
  }

  /** The first view: the whole graph if it fits at a readable size, else its top at natural size. */
  home() {
    const [x, y, w] = this.extent;
    const [pw, ph] = this.aspect();
    this.fit();
    const scale = pw / this.view[2];
    if (scale > 1) this.setView([x + w / 2 - pw / 2, y + this.extent[3] / 2 - ph / 2, pw, ph]);  // small: natural size, centred
    else if (scale < 0.8) this.setView([x + w / 2 - pw / 2, y, pw, ph]);  // big: its top at natural size
  }

  zoomBy(factor, cx = 0.5, cy = 0.5) {
    const [x, y, w, h] = this.view;
    const [pw] = this.aspect();
    // Between 4x magnified and the whole graph at a quarter of the view.
    const nw = Math.min(Math.max(w * factor, pw / 4), Math.max(pw, this.extent[2], (this.extent[3] * pw) / this.aspect()[1]) * 4), f = nw / w;
    this.setView([x + cx * w * (1 - f), y + cy * h * (1 - f), w * f, h * f]);
  }

  wirePanZoom() {
    this.svg.addEventListener("wheel", (e) => {
      e.preventDefault();
      const r = this.svg.getBoundingClientRect();
      this.zoomBy(e.deltaY > 0 ? 1.15 : 1 / 1.15, (e.clientX - r.left) / r.width, (e.clientY - r.top) / r.height);
    }, { passive: false });
    let drag = null;
    this.svg.addEventListener("pointerdown", (e) => {
      if (e.button !== 0 || e.target.closest(".graph-node, .graph-group-label")) return;
      drag = { x: e.clientX, y: e.clientY, view: this.view };
      this.svg.setPointerCapture(e.pointerId);
      this.svg.classList.add("panning");
    });
    this.svg.addEventListener("pointermove", (e) => {
      if (!drag) return;
      const r = this.svg.getBoundingClientRect();
      const [x, y, w, h] = drag.view;
      this.setView([x - ((e.clientX - drag.x) * w) / r.width, y - ((e.clientY - drag.y) * h) / r.height, w, h]);
    });
    const end = () => { drag = null; this.svg.classList.remove("panning"); };
    this.svg.addEventListener("pointerup", end);
    this.svg.addEventListener("pointercancel", end);
  }
}

/** The Graph tab's content: the latest graph record per key (a picker when there are several). */
export function graphPane(project, runId) {
  const pane = el("div", { class: "graph-pane" }, el("div", { class: "muted" }, "Loading graph…"));
  api.events(project, runId, "graph").then((events) => {
    const latest = new Map();
    for (const ev of events) latest.set(ev.key, ev);
    if (!latest.size) { pane.replaceChildren(empty("No graph logged (seetrain.log_graph).")); return; }
    const show = (key) => {
      const ev = latest.get(key);
      const view = new GraphView(ev.payload || {});
      holder.replaceChildren(view.el);
      // Fit once the element has its size (it was built detached).
      requestAnimationFrame(() => view.home());
    };
    const holder = el("div", {});
    const keys = [...latest.keys()];
    const picker = keys.length > 1
      ? el("select", { class: "graph-key", onchange: (e) => show(e.target.value) }, keys.map((k) => el("option", { value: k }, k)))
      : null;
    pane.replaceChildren(...[picker, holder].filter(Boolean));
    show(keys[0]);
  }).catch((err) => pane.replaceChildren(el("div", { class: "empty error" }, err.message)));
  return pane;
}
