// Small DOM and formatting helpers. Every piece of run data goes through textContent:
// nothing a training script logged is ever parsed as HTML.

/** el("div", {class: "x", onclick: fn}, "text", child) -> HTMLElement */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "style" && typeof v === "object") Object.assign(node.style, v);
    else if (k.startsWith("on") && typeof v === "function") node.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(node.dataset, v);
    else if (k in node && typeof v !== "string") node[k] = v;
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  append(node, children);
  return node;
}

export function append(node, children) {
  // walked, not flattened: a 100-row table makes thousands of nodes, and flat(Infinity) copies
  // every child list first
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(node, c);
    else node.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
}

// 20 hues far enough apart to tell overlaid runs apart (Tableau-20 order: strong, then light),
// times 4 line styles: 80 distinguishable (colour, dash) pairs before anything repeats.
export const PALETTE = ["#4f46e5", "#e11d48", "#059669", "#d97706", "#0891b2", "#9333ea", "#65a30d",
  "#db2777", "#7c2d12", "#475569", "#2563eb", "#dc2626", "#16a34a", "#ca8a04", "#0d9488", "#c026d3",
  "#ea580c", "#4338ca", "#be123c", "#15803d"];
export const DASHES = [[], [6, 4], [2, 3], [10, 3, 2, 3]];

function hash(id) {
  let h = 2166136261;
  for (let i = 0; i < id.length; i++) { h ^= id.charCodeAt(i); h = Math.imul(h, 16777619); }
  return h >>> 0;
}

/** A stable colour for a run id (its hash picks one of the 20 colours). */
export function colorFor(id) { return PALETTE[hash(id) % PALETTE.length]; }

/** Colours for a set of runs: each run's hash colour, moved to the next free one on a clash
 * (probing in id order, so the same set of runs always gets the same colours). */
export function colorsFor(ids) {
  return new Map([...stylesFor(ids)].map(([id, s]) => [id, s.color]));
}

/** {color, dash} per run: the 20 colours first, then the same colours dashed, dotted, dash-dotted.
 * Stable: the same set of run ids always gets the same styles (assigned in id order). */
export function stylesFor(ids) {
  const taken = new Set(), out = new Map();
  const n = PALETTE.length * DASHES.length;
  for (const id of [...ids].sort()) {
    let slot = hash(id) % PALETTE.length;  // the colour the run would have alone, solid
    for (let k = 0; k < n && taken.has(slot); k++) slot = (slot + 1) % n;
    taken.add(slot);
    if (taken.size >= n) taken.clear();
    out.set(id, { color: PALETTE[slot % PALETTE.length], dash: DASHES[Math.floor(slot / PALETTE.length)] });
  }
  return out;
}

export function withAlpha(color, alpha) {
  if (color.startsWith("#")) {
    const n = parseInt(color.slice(1), 16);
    return `rgba(${n >> 16}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
  }
  return color.replace("hsl(", "hsla(").replace(")", `, ${alpha})`);
}

// One formatter each: toLocaleString() with options builds a new Intl formatter per call, which
// cost ~10 ms per chart (axis ticks) and ~20 ms per 100-row runs table.
const INT_FMT = new Intl.NumberFormat("en-US");
const TIME_FMT = new Intl.DateTimeFormat(undefined, { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });

export function fmtNum(v, digits = 4) {
  if (v === null || v === undefined) return "–";
  if (typeof v === "string") return v;  // "nan", "inf"
  if (typeof v !== "number") return String(v);
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v) && Math.abs(v) < 1e9) return INT_FMT.format(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e6)) return v.toExponential(2);
  return Number(v.toPrecision(digits)).toString();
}

export function fmtDuration(s) {
  if (s === null || s === undefined || !Number.isFinite(s)) return "–";
  if (s < 1) return `${Math.round(s * 1000)} ms`;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60), sec = Math.round(s % 60);
  if (m < 60) return `${m}m ${sec}s`;
  const h = Math.floor(m / 60);
  return h < 48 ? `${h}h ${m % 60}m` : `${Math.floor(h / 24)}d ${h % 24}h`;
}

export function fmtTime(ts) {
  if (!ts) return "–";
  return TIME_FMT.format(new Date(ts * 1000));
}

export function fmtAgo(ts) {
  if (!ts) return "–";
  const s = Date.now() / 1000 - ts;
  if (s < 60) return "just now";
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

export function fmtValue(v) {
  if (v === null || v === undefined) return "–";
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : fmtNum(v, 6);
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

export function statusBadge(status) {
  return el("span", { class: `badge status-${status}`, title: status }, el("i"), status);
}

export function tagChip(tag) { return el("span", { class: "chip" }, tag); }

export function download(name, blobOrUrl) {
  const url = typeof blobOrUrl === "string" ? blobOrUrl : URL.createObjectURL(blobOrUrl);
  const a = el("a", { href: url, download: name });
  document.body.appendChild(a);
  a.click();
  a.remove();
  if (typeof blobOrUrl !== "string") setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** A card with a title row (title + optional actions) and a body. */
export function card(title, body, ...actions) {
  return el("section", { class: "card" },
    el("div", { class: "card-head" }, el("h3", {}, title), el("div", { class: "card-actions" }, actions)),
    el("div", { class: "card-body" }, body));
}

export function empty(text) { return el("div", { class: "empty" }, text); }

/** Group metric keys by prefix: "train/loss" -> "train"; keys without "/" go to "charts". */
export function groupKeys(keys) {
  const groups = new Map();
  for (const k of keys) {
    const i = k.indexOf("/");
    const g = i > 0 ? k.slice(0, i) : "charts";
    if (!groups.has(g)) groups.set(g, []);
    groups.get(g).push(k);
  }
  const order = ["train", "val", "valid", "eval", "test", "charts"];
  return [...groups.entries()].sort((a, b) => {
    const ia = order.indexOf(a[0]), ib = order.indexOf(b[0]);
    // Then the user's own groups, the model insight groups, and the system section last.
    const late = { gradients: 90, parameters: 91, attention: 92, sys: 99 };
    const ra = late[a[0]] ?? (ia < 0 ? 50 : ia), rb = late[b[0]] ?? (ib < 0 ? 50 : ib);
    return ra - rb || a[0].localeCompare(b[0]);
  });
}

export function debounce(fn, ms) {
  let t = null;
  return (...args) => { clearTimeout(t); t = setTimeout(() => fn(...args), ms); };
}
