// One media key side by side for the compared runs at one step: images (click to enlarge),
// audio players, text. Loaded when the section is opened (one media request per run).
import { api } from "./api.js";
import { el, fmtNum } from "./util.js";

const MAX_RUNS = 48;

function lightbox(src, caption) {
  const close = () => { box.remove(); document.removeEventListener("keydown", onKey); };
  const onKey = (e) => { if (e.key === "Escape") close(); };
  const box = el("div", { class: "dialog-backdrop lightbox", role: "dialog", "aria-label": caption, onclick: close },
    el("figure", {}, el("img", { src, alt: caption }), el("figcaption", {}, caption)));
  document.body.appendChild(box);
  document.addEventListener("keydown", onKey);
}

export function mediaAcrossRuns(project, runs, colorFor) {
  const body = el("div", { class: "card-body" }, el("div", { class: "empty" }, "loading media…"));
  const section = el("details", { class: "card media-compare", ontoggle: () => { if (section.open && !loaded) load(); } },
    el("summary", { class: "card-head" }, el("h3", {}, "Media across runs")), body);
  let loaded = false;
  async function load() {
    loaded = true;
    const shown = runs.slice(0, MAX_RUNS);
    const lists = await Promise.all(shown.map((r) => api.media(project, r.id).catch(() => [])));
    const byKey = new Map();  // key -> kind
    lists.forEach((recs) => recs.forEach((m) => { if (m.kind !== "histogram") byKey.set(m.key, m.kind); }));
    if (!byKey.size) { body.replaceChildren(el("div", { class: "empty" }, "These runs logged no images, audio or text.")); return; }
    const keys = [...byKey.keys()].sort();
    const keySel = el("select", { class: "media-key", "aria-label": "media key", onchange: () => draw() },
      ...keys.map((k) => el("option", { value: k }, `${k} (${byKey.get(k)})`)));
    const slider = el("input", { type: "range", class: "media-step", min: "0", value: "0", "aria-label": "step", oninput: () => drawCells() });
    const stepLabel = el("span", { class: "step-label" });
    const grid = el("div", { class: "media-runs-grid" });
    let steps = [];
    const draw = () => {
      const key = keySel.value;
      steps = [...new Set(lists.flatMap((recs) => recs.filter((m) => m.key === key).map((m) => m.step)))].sort((a, b) => a - b);
      slider.max = String(Math.max(0, steps.length - 1));
      slider.value = slider.max;
      drawCells();
    };
    const drawCells = () => {
      const key = keySel.value, step = steps[Number(slider.value)];
      stepLabel.textContent = steps.length ? `step ${fmtNum(step)} · ${Number(slider.value) + 1}/${steps.length}` : "";
      grid.replaceChildren(...shown.map((r, i) => {
        let rec = null;  // the record at this step, else the newest one before it
        for (const m of lists[i]) if (m.key === key && m.step <= step) rec = m;
        let content;
        if (!rec) content = el("div", { class: "muted cell-empty" }, "not logged");
        else if (rec.kind === "image") {
          const src = api.fileUrl(project, r.id, rec.file);
          content = el("button", { class: "img-btn", title: "enlarge", onclick: () => lightbox(src, `${r.name} · ${key} · step ${rec.step}`) },
            el("img", { class: "media-img", src, alt: `${key} of ${r.name}` }));
        } else if (rec.kind === "audio") content = el("audio", { controls: true, preload: "none", src: api.fileUrl(project, r.id, rec.file) });
        else content = el("div", { class: "text-cell" }, String(rec.payload.text ?? ""));
        return el("figure", { class: `media-run-cell${rec && rec.step !== step ? " stale" : ""}`, dataset: { run: r.id } }, content,
          el("figcaption", {}, el("i", { class: "swatch", style: { background: colorFor(r.id) } }), r.name,
            rec ? el("span", { class: "muted" }, ` · step ${fmtNum(rec.step)}`) : null, rec && rec.caption ? el("div", { class: "caption" }, rec.caption) : null));
      }));
    };
    body.replaceChildren(el("div", { class: "slider-row" }, keySel, slider, stepLabel), grid,
      runs.length > MAX_RUNS ? el("div", { class: "muted" }, `showing ${MAX_RUNS} of ${runs.length} runs`) : null);
    draw();
  }
  return section;
}
