// The project page: the runs table (sort, filter, select) above the charts of the selected runs.
import { api } from "./api.js";
import { Workspace } from "./charts.js";
import { el, colorsFor, fmtNum, fmtDuration, fmtAgo, fmtTime, fmtValue, statusBadge, tagChip, debounce } from "./util.js";
import { navigate } from "./router.js";

const POLL_MS = 3000;
const STATUSES = ["running", "finished", "failed", "crashed"];

function configColumns(runs) {
  // Default columns: config keys whose value differs across runs (the ones worth a column).
  const keys = new Map();
  for (const r of runs) for (const [k, v] of Object.entries(r.config)) {
    if (k.startsWith("framework")) continue;
    if (!keys.has(k)) keys.set(k, new Set());
    keys.get(k).add(JSON.stringify(v));
  }
  const differing = [...keys].filter(([, vals]) => vals.size > 1).map(([k]) => k);
  return (differing.length ? differing : [...keys.keys()]).slice(0, 6);
}

function metricColumns(runs) {
  const keys = new Set();
  for (const r of runs) for (const k of Object.keys(r.summary)) if (!k.startsWith("sys/")) keys.add(k);
  const all = [...keys].sort();
  const pref = all.filter((k) => /loss|acc|score|reward|f1|map/i.test(k));
  return (pref.length ? pref : all).slice(0, 4);
}

/** filter text: words match name/id/tags/config values; "key=value", "key>3", "key<3" match config. */
function matches(run, text) {
  for (const term of text.trim().split(/\s+/).filter(Boolean)) {
    const m = /^([\w./-]+)(=|>|<)(.+)$/.exec(term);
    if (m) {
      const v = run.config[m[1]] ?? run.summary[m[1]]?.last;
      if (v === undefined) return false;
      if (m[2] === "=" && String(v) !== m[3]) return false;
      if (m[2] === ">" && !(Number(v) > Number(m[3]))) return false;
      if (m[2] === "<" && !(Number(v) < Number(m[3]))) return false;
      continue;
    }
    const hay = [run.name, run.id, run.description, run.framework, ...run.tags,
      ...Object.values(run.config).map(String)].join(" ").toLowerCase();
    if (!hay.includes(term.toLowerCase())) return false;
  }
  return true;
}

export async function renderProject(root, { project }) {
  let runs;
  try { runs = await api.runs(project); } catch (err) {
    root.appendChild(el("div", { class: "empty error" }, err.message));
    return null;
  }
  let colors = colorsFor(runs.map((r) => r.id));
  const colorFor = (id) => colors.get(id) || "#64748b";
  const storeKey = `seetrain_sel_${project}`;
  const saved = JSON.parse(sessionStorage.getItem(storeKey) || "null");
  const state = {
    sort: { col: "created_at", dir: -1 }, text: "", status: "", tag: "",
    selected: new Set(saved || runs.slice(-5).map((r) => r.id)),
    configCols: configColumns(runs), metricCols: metricColumns(runs),
  };
  const saveSel = () => sessionStorage.setItem(storeKey, JSON.stringify([...state.selected]));

  const tbody = el("tbody");
  const thead = el("thead");
  const countEl = el("span", { class: "muted" });
  const compareBtn = el("button", { class: "btn primary", onclick: () =>
    navigate(`#/compare/${encodeURIComponent(project)}?runs=${[...state.selected].map(encodeURIComponent).join(",")}`) }, "Compare selected");
  const tags = [...new Set(runs.flatMap((r) => r.tags))].sort();

  const filters = el("div", { class: "filters" },
    el("input", { type: "search", class: "run-filter", placeholder: "Filter runs: text, tag, lr=0.1, loss<0.3…",
      oninput: debounce((e) => { state.text = e.target.value; drawBody(); }, 100) }),
    el("select", { class: "status-filter", "aria-label": "status", onchange: (e) => { state.status = e.target.value; drawBody(); } },
      el("option", { value: "" }, "All statuses"), ...STATUSES.map((s) => el("option", { value: s }, s))),
    el("select", { class: "tag-filter", "aria-label": "tag", onchange: (e) => { state.tag = e.target.value; drawBody(); } },
      el("option", { value: "" }, "All tags"), ...tags.map((t) => el("option", { value: t }, t))),
    columnPicker(), el("span", { class: "spacer" }), countEl,
    el("a", { class: "btn artifacts-link", href: `#/artifacts/${encodeURIComponent(project)}` }, "Artifacts"), compareBtn);

  function columnPicker() {
    const configKeys = [...new Set(runs.flatMap((r) => Object.keys(r.config)))].sort();
    const metricKeys = [...new Set(runs.flatMap((r) => Object.keys(r.summary)))].sort();
    const box = (list, key) => el("label", { class: "check" },
      el("input", { type: "checkbox", checked: list.includes(key), onchange: (e) => {
        if (e.target.checked) list.push(key); else list.splice(list.indexOf(key), 1);
        drawHead(); drawBody();
      } }), key);
    return el("details", { class: "picker" }, el("summary", { class: "btn" }, "Columns"),
      el("div", { class: "picker-menu" },
        el("h4", {}, "Config"), ...configKeys.map((k) => box(state.configCols, k)),
        el("h4", {}, "Metrics"), ...metricKeys.map((k) => box(state.metricCols, k))));
  }

  const columns = () => [
    { id: "sel", label: "", sortable: false },
    { id: "name", label: "Name", get: (r) => r.name },
    { id: "status", label: "Status", get: (r) => r.status },
    { id: "created_at", label: "Started", get: (r) => r.created_at },
    { id: "duration", label: "Duration", get: (r) => r.duration },
    { id: "tags", label: "Tags", get: (r) => r.tags.join(",") },
    { id: "framework", label: "Framework", get: (r) => r.framework || "" },
    ...state.configCols.map((k) => ({ id: `c:${k}`, label: k, kind: "config", get: (r) => r.config[k] })),
    ...state.metricCols.map((k) => ({ id: `m:${k}`, label: k, kind: "metric", get: (r) => {
      const v = r.summary[k]?.last; return typeof v === "number" ? v : null; } })),
  ];

  function drawHead() {
    const allBox = el("input", { type: "checkbox", "aria-label": "select all", onchange: (e) => {
      for (const r of visible()) e.target.checked ? state.selected.add(r.id) : state.selected.delete(r.id);
      saveSel(); drawBody(); updateCharts();
    } });
    thead.replaceChildren(el("tr", {}, columns().map((c) => el("th", {
      class: [c.kind || "", state.sort.col === c.id ? "sorted" : ""].join(" "),
      title: c.label,
      onclick: c.sortable === false ? null : () => {
        state.sort = { col: c.id, dir: state.sort.col === c.id ? -state.sort.dir : 1 };
        drawHead(); drawBody();
      } }, c.id === "sel" ? allBox : c.label,
      state.sort.col === c.id ? el("span", { class: "arrow" }, state.sort.dir > 0 ? " ▲" : " ▼") : null))));
  }

  const visible = () => {
    const col = columns().find((c) => c.id === state.sort.col) || columns()[3];
    return runs.filter((r) => (!state.status || r.status === state.status) && (!state.tag || r.tags.includes(state.tag))
      && (!state.text || matches(r, state.text)))
      .sort((a, b) => {
        const va = col.get(a), vb = col.get(b);
        if (va === vb) return 0;
        if (va === null || va === undefined) return 1;
        if (vb === null || vb === undefined) return -1;
        return (va < vb ? -1 : 1) * state.sort.dir;
      });
  };

  function metricCell(r, k) {
    const s = r.summary[k];
    if (!s) return el("td", { class: "num metric" }, "–");
    return el("td", { class: "num metric", title: `min ${fmtNum(s.min)} · max ${fmtNum(s.max)} · ${s.count} points` },
      el("span", {}, fmtNum(s.last)), el("small", {}, `${fmtNum(s.min, 3)} – ${fmtNum(s.max, 3)}`));
  }

  function drawBody() {
    const rows = visible();
    countEl.textContent = `${rows.length} of ${runs.length} runs · ${state.selected.size} selected`;
    compareBtn.disabled = state.selected.size < 2;
    tbody.replaceChildren(...rows.map((r) => el("tr", { class: state.selected.has(r.id) ? "selected" : "", dataset: { run: r.id } },
      el("td", {}, el("input", { type: "checkbox", class: "sel", checked: state.selected.has(r.id), "aria-label": `select ${r.name}`,
        onchange: (e) => { e.target.checked ? state.selected.add(r.id) : state.selected.delete(r.id); saveSel(); drawBody(); updateCharts(); } })),
      el("td", { class: "name" }, el("i", { class: "swatch", style: { background: colorFor(r.id) } }),
        el("a", { href: `#/run/${encodeURIComponent(project)}/${encodeURIComponent(r.id)}` }, r.name),
        el("div", { class: "sub" }, r.id)),
      el("td", {}, statusBadge(r.status)),
      el("td", { title: fmtTime(r.created_at) }, fmtAgo(r.created_at)),
      el("td", { class: "num" }, fmtDuration(r.duration)),
      el("td", {}, r.tags.map(tagChip)),
      el("td", {}, r.framework ? el("span", { class: "chip fw" }, r.framework) : "–"),
      ...state.configCols.map((k) => el("td", { class: "num config" }, fmtValue(r.config[k]))),
      ...state.metricCols.map((k) => metricCell(r, k)))));
    if (!rows.length) tbody.appendChild(el("tr", {}, el("td", { colspan: columns().length, class: "empty" }, "No runs match.")));
  }

  const chartRuns = () => runs.filter((r) => state.selected.has(r.id))
    .map((r) => ({ id: r.id, name: r.name, color: colorFor(r.id), status: r.status }));
  const chartKeys = () => [...new Set(chartRuns().flatMap((cr) => Object.keys(runs.find((r) => r.id === cr.id).summary)))].sort();
  const workspace = new Workspace({ project, runs: chartRuns(), keys: chartKeys() });
  const updateCharts = debounce(() => workspace.update({ runs: chartRuns(), keys: chartKeys() }), 150);

  drawHead();
  drawBody();
  root.append(
    el("div", { class: "page-head" }, el("h1", {}, project),
      el("span", { class: "muted" }, `${runs.length} runs`)),
    el("section", { class: "card runs-card" }, filters, el("div", { class: "table-wrap" }, el("table", { class: "runs" }, thead, tbody))),
    el("h2", { class: "section-title" }, "Charts", el("span", { class: "muted" }, " · selected runs")),
    workspace.el);

  // Live: refresh statuses and summaries; charts fetch only points after their last step.
  const timer = setInterval(async () => {
    if (!runs.some((r) => r.status === "running")) return;
    const running = runs.filter((r) => r.status === "running").map((r) => r.id);
    try {
      runs = await api.runs(project);
    } catch { return; }
    colors = colorsFor(runs.map((r) => r.id));
    drawBody();
    const keys = chartKeys();
    if (keys.length !== workspace.keys.length) workspace.update({ runs: chartRuns(), keys });
    await workspace.poll(running);
  }, POLL_MS);
  return () => { clearInterval(timer); workspace.destroy(); };
}

export async function renderProjects(root) {
  const projects = await api.projects();
  root.append(el("div", { class: "page-head" }, el("h1", {}, "Projects")));
  if (!projects.length) {
    root.append(el("div", { class: "empty big" }, el("h3", {}, "No runs yet"),
      el("p", {}, "Log a run with seetrain.init() / seetrain.log(), or try "), el("code", {}, "seetrain demo")));
    return null;
  }
  root.append(el("div", { class: "project-grid" }, projects.map((p) =>
    el("a", { class: "project-card", href: `#/project/${encodeURIComponent(p.name)}` },
      el("h3", {}, p.name),
      el("div", { class: "stats" }, el("span", {}, el("b", {}, String(p.runs)), " runs"),
        p.running ? el("span", { class: "badge status-running" }, el("i"), `${p.running} running`) : null),
      el("div", { class: "muted" }, `last activity ${fmtAgo(p.last_activity)}`)))));
  return null;
}
