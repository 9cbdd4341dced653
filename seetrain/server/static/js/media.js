// Media panels of a run: images with a step slider, audio players, text tables, histograms.
import { api } from "./api.js";
import { el, card, empty, fmtNum } from "./util.js";

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
  const draw = () => {
    const dpr = devicePixelRatio || 1;
    const w = canvas.clientWidth || 480, h = 260;
    canvas.width = w * dpr; canvas.height = h * dpr;
    canvas.style.height = `${h}px`;
    const ctx = canvas.getContext("2d");
    ctx.scale(dpr, dpr);
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
  requestAnimationFrame(draw);
  return card(key, el("div", { class: "hist-panel" }, canvas), el("span", { class: "muted" }, `${records.length} steps`));
}

export async function renderMedia(container, project, run) {
  const records = await api.media(project, run.id);
  if (!records.length) { container.appendChild(empty("No media logged in this run.")); return; }
  const kinds = { image: [], audio: [], text: [], histogram: [] };
  for (const r of records) kinds[r.kind]?.push(r);
  const grid = el("div", { class: "media-grid" });
  for (const [key, recs] of byKey(kinds.image)) grid.appendChild(imagePanel(project, run.id, key, recs));
  for (const [key, recs] of byKey(kinds.histogram)) grid.appendChild(histogramPanel(key, recs));
  for (const [key, recs] of byKey(kinds.audio)) grid.appendChild(audioPanel(project, run.id, key, recs));
  container.appendChild(grid);
  if (kinds.text.length) container.appendChild(textTable(kinds.text));
}
