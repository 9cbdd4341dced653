// Media panels of a run: images with a step slider, audio players, text tables, histograms.
// Keys are grouped by their first segment (attention/, gradients/, ...); image keys sharing a
// parent (attention/layer0/head0, head1, ...) form one gallery with one step slider.
import { api } from "./api.js";
import { groupLabel } from "./metrics.js";
import { el, card, empty, fmtNum } from "./util.js";

const OPEN_LIMIT = 12;  // sections with more panels start folded (e.g. 200 gradient histograms)

function byKey(records) {
  const m = new Map();
  for (const r of records) { if (!m.has(r.key)) m.set(r.key, []); m.get(r.key).push(r); }
  return m;
}

function imagePanel(project, runId, key, records) {
  const img = el("img", { class: "media-img", alt: key });
  const caption = el("div", { class: "caption" });
  const stepLabel = el("span", { class: "step-label" });
  const slider = el("input", { type: "range", class: "step-slider", min: "0", max: String(records.length - 1),
    value: String(records.length - 1), "aria-label": `${key} step`, oninput: () => show(Number(slider.value)) });
  function show(i) {
    const r = records[i];
    img.src = api.fileUrl(project, runId, r.file);
    caption.textContent = r.caption || "";
    stepLabel.textContent = `step ${fmtNum(r.step)} · ${i + 1}/${records.length}`;
  }
  show(records.length - 1);
  return card(key, el("div", { class: "image-panel" }, el("div", { class: "img-frame" }, img), caption,
    el("div", { class: "slider-row" }, slider, stepLabel)));
}

/** Several image keys under one parent, side by side, moved together by one step slider. */
function galleryPanel(project, runId, parent, keyed) {
  const steps = [...new Set(keyed.flatMap(([, recs]) => recs.map((r) => r.step)))].sort((a, b) => a - b);
  const cells = keyed.map(([key, recs]) => {
    const img = el("img", { class: "media-img", alt: key });
    const caption = el("div", { class: "caption" });
    return { key, recs, img, caption,
      node: el("figure", { class: "gallery-cell" }, el("div", { class: "img-frame" }, img),
        el("figcaption", {}, el("b", {}, key.slice(parent.length + 1)), caption)) };
  });
  const stepLabel = el("span", { class: "step-label" });
  const slider = el("input", { type: "range", class: "step-slider", min: "0", max: String(steps.length - 1),
    value: String(steps.length - 1), "aria-label": `${parent} step`, oninput: () => show(Number(slider.value)) });
  function show(i) {
    const step = steps[i];
    for (const c of cells) {
      // The record at this step, else the newest one before it.
      let rec = null;
      for (const r of c.recs) if (r.step <= step) rec = r;
      c.node.classList.toggle("stale", !rec || rec.step !== step);
      if (!rec) { c.img.removeAttribute("src"); c.caption.textContent = "not logged yet"; continue; }
      c.img.src = api.fileUrl(project, runId, rec.file);
      c.caption.textContent = rec.caption || "";
      c.caption.title = rec.caption || "";
    }
    stepLabel.textContent = `step ${fmtNum(step)} · ${i + 1}/${steps.length}`;
  }
  show(steps.length - 1);
  return card(parent, el("div", { class: "image-gallery" }, el("div", { class: "gallery-grid" }, cells.map((c) => c.node)),
    el("div", { class: "slider-row" }, slider, stepLabel)), el("span", { class: "muted" }, `${cells.length} images`));
}

function audioPanel(project, runId, key, records) {
  return card(key, el("div", { class: "audio-list" }, records.slice(-20).reverse().map((r) =>
    el("div", { class: "audio-row" }, el("span", { class: "muted" }, `step ${fmtNum(r.step)}`),
      el("audio", { controls: true, preload: "none", src: api.fileUrl(project, runId, r.file) }),
      el("span", { class: "caption" }, r.caption || "")))));
}

function textTable(records) {
  return card("Text", el("div", { class: "table-wrap" }, el("table", { class: "grid text-table" },
    el("thead", {}, el("tr", {}, el("th", {}, "step"), el("th", {}, "key"), el("th", {}, "text"), el("th", {}, "caption"))),
    el("tbody", {}, records.map((r) => el("tr", {},
      el("td", { class: "num" }, fmtNum(r.step)), el("td", {}, r.key),
      el("td", { class: "text-cell" }, String(r.payload.text ?? "")), el("td", {}, r.caption || "")))))));
}

/** TensorBoard-like ridge plot: one outline per step, newer steps darker and lower. */
function histogramPanel(key, records) {
  const canvas = el("canvas", { class: "hist-canvas" });
  let drawnWidth = 0;
  const draw = () => {
    const dpr = devicePixelRatio || 1;
    const w = canvas.clientWidth, h = 260;
    if (!w || w === drawnWidth) return;  // folded away, or already drawn at this size
    drawnWidth = w;
    canvas.width = w * dpr; canvas.height = h * dpr;
    const ctx = canvas.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    const recs = records.filter((r) => r.payload.counts && r.payload.edges);
    if (!recs.length) return;
    const lo = Math.min(...recs.map((r) => r.payload.edges[0]));
    const hi = Math.max(...recs.map((r) => r.payload.edges[r.payload.edges.length - 1]));
    const pad = { l: 56, r: 14, t: 10, b: 22 };
    const n = recs.length, ridge = Math.min(60, (h - pad.t - pad.b) * 0.45);
    const gap = n > 1 ? (h - pad.t - pad.b - ridge) / (n - 1) : 0;
    const xPos = (v) => pad.l + ((v - lo) / (hi - lo || 1)) * (w - pad.l - pad.r);
    const maxCount = Math.max(...recs.map((r) => Math.max(...r.payload.counts)));
    ctx.font = "11px system-ui, sans-serif";
    recs.forEach((r, i) => {
      const base = pad.t + ridge + i * gap;
      const { counts, edges } = r.payload;
      const t = n > 1 ? i / (n - 1) : 1;
      ctx.beginPath();
      ctx.moveTo(xPos(edges[0]), base);
      counts.forEach((c, j) => ctx.lineTo(xPos((edges[j] + edges[j + 1]) / 2), base - (c / maxCount) * ridge));
      ctx.lineTo(xPos(edges[edges.length - 1]), base);
      ctx.closePath();
      ctx.fillStyle = `rgba(79, 70, 229, ${0.08 + 0.25 * t})`;
      ctx.strokeStyle = `rgba(55, 48, 163, ${0.35 + 0.65 * t})`;
      ctx.fill(); ctx.stroke();
      if (i === 0 || i === n - 1 || n < 8) { ctx.fillStyle = "#64748b"; ctx.fillText(`step ${r.step}`, 4, base); }
    });
    ctx.fillStyle = "#64748b";
    ctx.fillText(fmtNum(lo, 3), pad.l, h - 6);
    const hiText = fmtNum(hi, 3);
    ctx.fillText(hiText, w - pad.r - ctx.measureText(hiText).width, h - 6);
  };
  canvas.style.height = "260px";
  new ResizeObserver(draw).observe(canvas);  // also draws when a folded section opens
  // Hover: the step whose ridge is nearest the mouse, and the bin under it (range and count).
  const tip = el("div", { class: "hist-tip", hidden: true });
  canvas.addEventListener("mousemove", (e) => {
    const recs = records.filter((r) => r.payload.counts && r.payload.edges);
    if (!recs.length) return;
    const box = canvas.getBoundingClientRect();
    const x = e.clientX - box.left, y = e.clientY - box.top, w = box.width, h = 260;
    const pad = { l: 56, r: 14, t: 10, b: 22 };
    const lo = Math.min(...recs.map((r) => r.payload.edges[0]));
    const hi = Math.max(...recs.map((r) => r.payload.edges[r.payload.edges.length - 1]));
    const n = recs.length, ridge = Math.min(60, (h - pad.t - pad.b) * 0.45);
    const gap = n > 1 ? (h - pad.t - pad.b - ridge) / (n - 1) : 0;
    const i = Math.max(0, Math.min(n - 1, gap ? Math.round((y - pad.t - ridge / 2) / gap) : 0));
    const v = lo + ((x - pad.l) / (w - pad.l - pad.r)) * (hi - lo);
    const { counts, edges } = recs[i].payload;
    let j = edges.findIndex((edge, k) => k < counts.length && v >= edge && v <= edges[k + 1]);
    if (j < 0) { tip.hidden = true; return; }
    tip.textContent = `step ${fmtNum(recs[i].step)} · [${fmtNum(edges[j], 4)}, ${fmtNum(edges[j + 1], 4)}) · count ${fmtNum(counts[j])}`;
    tip.style.left = `${Math.min(x + 12, w - 220)}px`;
    tip.style.top = `${Math.max(0, y - 28)}px`;
    tip.hidden = false;
  });
  canvas.addEventListener("mouseleave", () => { tip.hidden = true; });
  return card(key, el("div", { class: "hist-panel" }, canvas, tip), el("span", { class: "muted" }, `${records.length} steps`));
}

function topGroup(key) {
  const i = key.indexOf("/");
  return i > 0 ? key.slice(0, i) : "";
}

export async function renderMedia(container, project, run) {
  const records = await api.media(project, run.id);
  if (!records.length) { container.appendChild(empty("No media logged in this run.")); return; }
  const kinds = { image: [], audio: [], text: [], histogram: [] };
  for (const r of records) kinds[r.kind]?.push(r);
  const sections = new Map();  // group -> [panel]
  const put = (key, panel) => {
    const g = topGroup(key);
    if (!sections.has(g)) sections.set(g, []);
    sections.get(g).push(panel);
  };
  const images = byKey(kinds.image), parents = new Map();
  for (const [key, recs] of images) {
    const i = key.lastIndexOf("/");
    const parent = i > 0 ? key.slice(0, i) : null;
    if (parent && [...images.keys()].filter((k) => k.startsWith(parent + "/") && !k.slice(parent.length + 1).includes("/")).length > 1) {
      if (!parents.has(parent)) parents.set(parent, []);
      parents.get(parent).push([key, recs]);
    } else {
      put(key, imagePanel(project, run.id, key, recs));
    }
  }
  for (const [parent, keyed] of parents) put(parent, galleryPanel(project, run.id, parent, keyed));
  const hists = [...byKey(kinds.histogram)].sort((a, b) => a[0].localeCompare(b[0]));
  for (const [key, recs] of hists) put(key, histogramPanel(key, recs));
  for (const [key, recs] of byKey(kinds.audio)) put(key, audioPanel(project, run.id, key, recs));
  // A prefix with several panels gets a section of its own; single panels share one grid.
  const loose = [];
  for (const [g, panels] of [...sections]) if (g === "" || panels.length < 2) { loose.push(...panels); sections.delete(g); }
  if (loose.length) container.appendChild(el("div", { class: "media-grid loose" }, loose));
  for (const g of [...sections.keys()].sort()) {
    const panels = sections.get(g);
    const grid = el("div", { class: "media-grid" }, panels);
    container.appendChild(el("details", { class: "group media-group", open: panels.length <= OPEN_LIMIT, dataset: { group: g } },
      el("summary", {}, el("span", { class: "group-name" }, groupLabel(g)), el("span", { class: "count" }, String(panels.length))),
      grid));
  }
  if (kinds.text.length) container.appendChild(textTable(kinds.text));
}
