// The project page: the runs panel (search, sort, columns, select, show/hide) beside the charts
// of the selected runs, sweep panels, saved views. Its whole state lives in the URL, so Back,
// Forward, reload and a shared link give the same workspace.
import { api } from "./api.js";
import { ChartSettings, Workspace } from "./charts.js";
import { matchesQuery } from "./query.js";
import { SweepPanels } from "./sweep_panels.js";
import { el, stylesFor, fmtNum, fmtDuration, fmtAgo, fmtTime, fmtValue, statusBadge, tagChip, debounce } from "./util.js";
import { navigate, parse } from "./router.js";

const POLL_MS = 3000;
const STATUSES = ["running", "finished", "failed", "crashed"];
const DEFAULT_SELECTED = 300;

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

/** The options of the "Group" control: run group, tags, job type, every config key. */
function groupOptions(runs) {
  const keys = [...new Set(runs.flatMap((r) => Object.keys(r.config)))].filter((k) => !k.startsWith("framework")).sort();
  return [{ value: "group", label: "run group" }, { value: "tag", label: "tag" }, { value: "job_type", label: "job type" },
    ...keys.map((k) => ({ value: `config:${k}`, label: k }))];
}

/** The page state <-> the URL query (#/project/NAME?q=...&sort=...). */
export function stateToQuery(st) {
  const q = new URLSearchParams();
  if (st.text) q.set("q", st.text);
  if (st.status) q.set("status", st.status);
  if (st.tag) q.set("tag", st.tag);
  if (st.archived) q.set("archived", "1");
  if (st.sort) q.set("sort", `${st.sort.col}:${st.sort.dir > 0 ? "asc" : "desc"}`);
  if (st.cols) q.set("cols", st.cols.join(","));
  if (st.selected) q.set("sel", st.selected.join(","));
  if (st.hidden && st.hidden.length) q.set("hide", st.hidden.join(","));
  if (st.groupBy) q.set("group", st.groupBy);
  if (st.band && st.band !== "minmax") q.set("band", st.band);
  if (st.smoothing !== undefined) q.set("smooth", String(st.smoothing));
  if (st.xAxis) q.set("x", st.xAxis);
  if (st.zoom) q.set("zoom", st.zoom.map((v) => +v.toPrecision(8)).join(","));
  if (st.panels) q.set("panels", st.panels);
  return q;
}

export function queryToState(q) {
  const st = {};
  const get = (k) => q.get(k);
  if (get("q") !== null) st.text = get("q");
  if (get("status")) st.status = get("status");
  if (get("tag")) st.tag = get("tag");
  if (get("archived") === "1") st.archived = true;
  if (get("sort")) { const [col, dir] = get("sort").split(/:(?=[^:]*$)/); st.sort = { col, dir: dir === "asc" ? 1 : -1 }; }
  if (get("cols") !== null) st.cols = get("cols").split(",").filter(Boolean);
  if (get("sel") !== null) st.selected = get("sel").split(",").filter(Boolean);
  if (get("hide")) st.hidden = get("hide").split(",").filter(Boolean);
  if (get("group")) st.groupBy = get("group");
  if (get("band")) st.band = get("band");
  if (get("smooth") !== null && Number.isFinite(Number(get("smooth")))) st.smoothing = Number(get("smooth"));
  if (get("x")) st.xAxis = get("x");
  if (get("zoom")) { const z = get("zoom").split(",").map(Number); if (z.length === 2 && z.every(Number.isFinite)) st.zoom = z; }
  if (get("panels")) st.panels = get("panels");
  return st;
}

export async function renderProject(root, { project }, query) {
  let runs;
  // The saved layout is asked for at once (not after the runs): the charts wait for both.
  const layoutReq = api.layout(project).then((r) => r.layout, () => null);
  try { runs = await api.runs(project); } catch (err) {
    root.appendChild(el("div", { class: "empty error" }, err.message));
    return null;
  }
  let styles = stylesFor(runs.map((r) => r.id));
  const styleOf = (id) => styles.get(id) || { color: "#64748b", dash: [] };
  const fromUrl = queryToState(query || new URLSearchParams());
  const cols0 = fromUrl.cols;
  // Defaults stay out of the URL: every run selected (up to 300, archived ones aside), the
  // columns whose config differs, newest first.
  const defaultSel = () => runs.filter((r) => !r.archived).slice(-DEFAULT_SELECTED).map((r) => r.id);
  const defaultCols = [...configColumns(runs).map((k) => `c:${k}`), ...metricColumns(runs).map((k) => `m:${k}`)];
  const state = {
    sort: fromUrl.sort || { col: "created_at", dir: -1 }, text: fromUrl.text || "", status: fromUrl.status || "",
    tag: fromUrl.tag || "", archived: !!fromUrl.archived,
    selected: new Set(fromUrl.selected || defaultSel()),
    configCols: (cols0 || defaultCols).filter((c) => c.startsWith("c:")).map((c) => c.slice(2)),
    metricCols: (cols0 || defaultCols).filter((c) => c.startsWith("m:")).map((c) => c.slice(2)),
  };
  let selTouched = !!fromUrl.selected;
  const settings = new ChartSettings({ smoothing: fromUrl.smoothing, xAxis: fromUrl.xAxis, groupBy: fromUrl.groupBy,
    band: fromUrl.band, hidden: fromUrl.hidden, zooms: fromUrl.zoom ? { [fromUrl.xAxis || "step"]: fromUrl.zoom } : undefined });

  // -- the URL: pushed for discrete changes (Back/Forward step through them), replaced for
  // continuous ones (smoothing, zoom) so history is not flooded.
  const same = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);
  const currentQuery = () => {
    const cols = [...state.configCols.map((k) => `c:${k}`), ...state.metricCols.map((k) => `m:${k}`)];
    const sel = [...state.selected];
    const dsel = defaultSel();
    const isDefaultSel = sel.length === dsel.length && dsel.every((id) => state.selected.has(id));
    return stateToQuery({
      text: state.text, status: state.status, tag: state.tag, archived: state.archived,
      sort: state.sort.col === "created_at" && state.sort.dir === -1 ? null : state.sort,
      cols: same(cols, defaultCols) ? null : cols, selected: selTouched && !isDefaultSel ? sel : null,
      hidden: [...settings.hidden], groupBy: settings.groupBy, band: settings.band,
      smoothing: settings.smoothing, xAxis: settings.xAxis, zoom: settings.zooms[settings.xAxis] || null,
    });
  };
  const writeUrl = (push) => {
    const hash = `#/project/${encodeURIComponent(project)}?${currentQuery()}`;
    if (hash === location.hash) return;
    if (push) history.pushState(null, "", hash); else history.replaceState(null, "", hash);
  };
  const pushUrl = debounce(() => writeUrl(true), 250);
  const replaceUrl = debounce(() => writeUrl(false), 250);
  settings.listeners.add((changes) => {
    if ("highlight" in changes) { highlightRow(changes.highlight); return; }
    if ("smoothing" in changes || "zoomAxis" in changes) replaceUrl(); else pushUrl();
    if ("hidden" in changes) drawBody();
  });
  const saveSel = () => { selTouched = true; pushUrl(); };

  const tbody = el("tbody");
  const thead = el("thead");
  const countEl = el("span", { class: "muted run-count" });
  const compareBtn = el("button", { class: "btn primary", onclick: () =>
    navigate(`#/compare/${encodeURIComponent(project)}?runs=${[...state.selected].map(encodeURIComponent).join(",")}`) }, "Compare selected");
  const tags = () => [...new Set(runs.flatMap((r) => r.tags))].sort();

  const filterInput = el("input", { type: "search", class: "run-filter", value: state.text, "aria-label": "search runs",
    placeholder: "lr>=1e-3 and optimizer=adam, tag=x or name~y …",
    title: "name, tag, status, group, notes, any config key or metric: = != > >= < <= ~(contains); and / or; -term negates",
    oninput: debounce((e) => { state.text = e.target.value; drawBody(); updateCharts(); pushUrl(); }, 150) });
  const statusSel = el("select", { class: "status-filter", "aria-label": "status", onchange: (e) => { state.status = e.target.value; drawBody(); updateCharts(); pushUrl(); } },
    el("option", { value: "" }, "All statuses"), ...STATUSES.map((s) => el("option", { value: s, selected: s === state.status }, s)));
  const tagSel = el("select", { class: "tag-filter", "aria-label": "tag", onchange: (e) => { state.tag = e.target.value; drawBody(); updateCharts(); pushUrl(); } },
    el("option", { value: "" }, "All tags"), ...tags().map((t) => el("option", { value: t, selected: t === state.tag }, t)));
  const archivedBox = el("label", { class: "toggle" }, el("input", { type: "checkbox", class: "show-archived", checked: state.archived,
    onchange: (e) => { state.archived = e.target.checked; drawBody(); updateCharts(); pushUrl(); } }), "archived");
  const viewsCtl = savedViews();
  const filters = el("div", { class: "filters" }, filterInput, statusSel, tagSel, archivedBox, columnPicker(),
    el("span", { class: "spacer" }), countEl,
    el("a", { class: "btn artifacts-link", href: `#/artifacts/${encodeURIComponent(project)}` }, "Artifacts"), compareBtn);

  function columnPicker() {
    const configKeys = [...new Set(runs.flatMap((r) => Object.keys(r.config)))].sort();
    const metricKeys = [...new Set(runs.flatMap((r) => Object.keys(r.summary)))].sort();
    const box = (list, key) => el("label", { class: "check" },
      el("input", { type: "checkbox", checked: list.includes(key), onchange: (e) => {
        if (e.target.checked) list.push(key); else list.splice(list.indexOf(key), 1);
        drawHead(); drawBody(); pushUrl();
      } }), key);
    return el("details", { class: "picker" }, el("summary", { class: "btn" }, "Columns"),
      el("div", { class: "picker-menu" },
        el("h4", {}, "Config"), ...configKeys.map((k) => box(state.configCols, k)),
        el("h4", {}, "Metrics"), ...metricKeys.map((k) => box(state.metricCols, k))));
  }

  /** Named views of this project (the URL state, saved with the project). */
  function savedViews() {
    const sel = el("select", { class: "view-select", "aria-label": "saved views" }, el("option", { value: "" }, "Saved views…"));
    let views = [];
    const refresh = async () => {
      try { views = await api.views(project); } catch { views = []; }
      sel.replaceChildren(el("option", { value: "" }, views.length ? "Saved views…" : "No saved views"),
        ...views.map((v) => el("option", { value: v.name }, v.name)));
      // The view this page shows, if it is one.
      const now = currentQuery().toString();
      const shown = views.find((v) => v.state.query === now);
      if (shown) sel.value = shown.name;
    };
    sel.addEventListener("change", () => {
      const v = views.find((x) => x.name === sel.value);
      if (v && typeof v.state.query === "string") navigate(`#/project/${encodeURIComponent(project)}?${v.state.query}`);
    });
    const save = el("button", { class: "btn save-view", onclick: async () => {
      const name = (window.prompt("Name this view", sel.value || "") || "").trim();
      if (!name) return;
      await api.saveView(project, name, { query: currentQuery().toString() });
      await refresh();
      sel.value = name;
    } }, "Save view");
    const del = el("button", { class: "btn delete-view", title: "Delete the chosen view", onclick: async () => {
      if (!sel.value || !window.confirm(`Delete the view "${sel.value}"?`)) return;
      await api.deleteView(project, sel.value);
      await refresh();
    } }, "Delete");
    refresh();
    return el("div", { class: "views-ctl" }, sel, save, del);
  }

  const columns = () => [
    { id: "sel", label: "", sortable: false, frozen: true },
    { id: "name", label: "Name", get: (r) => r.name, frozen: true },
    { id: "status", label: "Status", get: (r) => r.status },
    { id: "created_at", label: "Started", get: (r) => r.created_at },
    { id: "duration", label: "Duration", get: (r) => r.duration },
    { id: "tags", label: "Tags", get: (r) => r.tags.join(",") },
    { id: "group", label: "Group", get: (r) => r.group || "" },
    { id: "framework", label: "Framework", get: (r) => r.framework || "" },
    ...state.configCols.map((k) => ({ id: `c:${k}`, label: k, kind: "config", get: (r) => r.config[k] })),
    ...state.metricCols.map((k) => ({ id: `m:${k}`, label: k, kind: "metric", get: (r) => {
      const v = r.summary[k]?.last; return typeof v === "number" ? v : null; } })),
  ];

  function sortBy(col) {
    state.sort = { col, dir: state.sort.col === col ? -state.sort.dir : 1 };
    drawHead(); drawBody(); updateCharts(); pushUrl();
    thead.querySelector(`th[data-col="${CSS.escape(col)}"]`)?.focus();
  }

  function drawHead() {
    const allBox = el("input", { type: "checkbox", "aria-label": "select all shown", onchange: (e) => {
      for (const r of visible()) e.target.checked ? state.selected.add(r.id) : state.selected.delete(r.id);
      saveSel(); drawBody(); updateCharts();
    } });
    thead.replaceChildren(el("tr", {}, columns().map((c) => el("th", {
      class: [c.kind || "", state.sort.col === c.id ? "sorted" : "", c.frozen ? `frozen frozen-${c.id}` : ""].join(" "),
      title: c.label, dataset: { col: c.id },
      tabindex: c.sortable === false ? null : "0",
      "aria-sort": state.sort.col === c.id ? (state.sort.dir > 0 ? "ascending" : "descending") : null,
      onclick: c.sortable === false ? null : () => sortBy(c.id),
      onkeydown: c.sortable === false ? null : (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sortBy(c.id); } },
    }, c.id === "sel" ? allBox : c.label,
      state.sort.col === c.id ? el("span", { class: "arrow" }, state.sort.dir > 0 ? " ▲" : " ▼") : null))));
  }

  const visible = () => {
    const col = columns().find((c) => c.id === state.sort.col) || columns()[3];
    return runs.filter((r) => (state.archived || !r.archived) && (!state.status || r.status === state.status)
      && (!state.tag || r.tags.includes(state.tag)) && (!state.text || matchesQuery(r, state.text)))
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

  function highlightRow(id) {
    for (const tr of tbody.querySelectorAll("tr.hl")) tr.classList.remove("hl");
    if (id) tbody.querySelector(`tr[data-run="${CSS.escape(id)}"]`)?.classList.add("hl");
  }

  function drawBody() {
    const rows = visible();
    const drawn = rows.filter((r) => state.selected.has(r.id) && !settings.hidden.has(r.id)).length;
    countEl.textContent = `${rows.length} of ${runs.length} runs · ${state.selected.size} selected · ${drawn} drawn`;
    compareBtn.disabled = state.selected.size < 2;
    tbody.replaceChildren(...rows.map((r) => {
      const st = styleOf(r.id), hidden = settings.hidden.has(r.id);
      return el("tr", { class: `${state.selected.has(r.id) ? "selected" : ""}${r.archived ? " archived" : ""}`, dataset: { run: r.id },
        onmouseenter: () => settings.highlight(r.id), onmouseleave: () => settings.highlight(null) },
        el("td", { class: "frozen frozen-sel" }, el("input", { type: "checkbox", class: "sel", checked: state.selected.has(r.id), "aria-label": `select ${r.name}`,
          onchange: (e) => { e.target.checked ? state.selected.add(r.id) : state.selected.delete(r.id); saveSel(); drawBody(); updateCharts(); } })),
        el("td", { class: "name frozen frozen-name" },
          el("button", { class: `eye${hidden ? " off" : ""}`, title: hidden ? "show in charts" : "hide from charts",
            "aria-label": `${hidden ? "show" : "hide"} ${r.name} in charts`, "aria-pressed": String(!hidden),
            onclick: () => settings.toggleHidden(r.id) }, hidden ? "◌" : "●"),
          el("i", { class: `swatch${st.dash.length ? " dashed" : ""}`, style: { background: st.color } }),
          el("a", { href: `#/run/${encodeURIComponent(project)}/${encodeURIComponent(r.id)}` }, r.name),
          el("div", { class: "sub" }, r.id), r.notes ? el("div", { class: "notes" }, r.notes) : null),
        el("td", {}, statusBadge(r.status), r.archived ? el("span", { class: "chip" }, "archived") : null),
        el("td", { title: fmtTime(r.created_at) }, fmtAgo(r.created_at)),
        el("td", { class: "num" }, fmtDuration(r.duration)),
        el("td", {}, r.tags.map(tagChip)),
        el("td", {}, r.group || "–"),
        el("td", {}, r.framework ? el("span", { class: "chip fw" }, r.framework) : "–"),
        ...state.configCols.map((k) => el("td", { class: "num config" }, fmtValue(r.config[k]))),
        ...state.metricCols.map((k) => metricCell(r, k)));
    }));
    if (!rows.length) tbody.appendChild(el("tr", {}, el("td", { colspan: columns().length, class: "empty" }, "No runs match.")));
  }

  // Charts draw the selected runs that pass the search, in table order.
  const chartRuns = () => visible().filter((r) => state.selected.has(r.id))
    .map((r) => ({ id: r.id, name: r.name, ...styleOf(r.id), status: r.status }));
  const chartKeys = () => [...new Set(runs.filter((r) => state.selected.has(r.id)).flatMap((r) => Object.keys(r.summary)))].sort();
  const layout = await layoutReq;
  const workspace = new Workspace({ project, runs: chartRuns(), keys: chartKeys(), settings, groupOptions: groupOptions(runs),
    layout, persist: true, runRow: (id) => runs.find((r) => r.id === id) });
  const updateCharts = debounce(() => { workspace.update({ runs: chartRuns(), keys: chartKeys() }); sweep.update(chartRuns().map((r) => r.id)); }, 150);
  const sweep = new SweepPanels({ project, runs, settings, ids: chartRuns().map((r) => r.id) });

  drawHead();
  root.append(
    el("div", { class: "page-head" }, el("h1", {}, project),
      el("span", { class: "muted" }, `${runs.length} runs`), el("span", { class: "spacer" }), viewsCtl),
    el("div", { class: "project-layout" },
      el("section", { class: "card runs-card runs-pane" }, filters,
        el("div", { class: "table-wrap runs-scroll" }, el("table", { class: "runs" }, thead, tbody))),
      el("div", { class: "charts-pane" }, sweep.el,
        el("h2", { class: "section-title" }, "Charts", el("span", { class: "muted" }, " · selected runs")),
        workspace.el)));
  // The charts on screen ask for their data first; the table rows are made while it comes.
  workspace.loadVisibleNow();
  drawBody();

  // Live: the runs list is polled always (an ETag makes an unchanged list a 304): new runs appear,
  // statuses and summaries refresh; charts fetch only points after their last step.
  let lastJson = JSON.stringify(runs);
  const timer = setInterval(async () => {
    const running = runs.filter((r) => r.status === "running").map((r) => r.id);
    let fresh;
    try { fresh = await api.runs(project); } catch { return; }
    const json = JSON.stringify(fresh);
    if (json !== lastJson) {
      const known = new Set(runs.map((r) => r.id));
      lastJson = json;
      runs = fresh;
      sweep.runs = runs;
      styles = stylesFor(runs.map((r) => r.id));
      // New runs join the selection unless the user picked runs by hand in this URL.
      if (!selTouched) for (const r of runs) if (!known.has(r.id) && !r.archived) state.selected.add(r.id);
      tagSel.replaceChildren(el("option", { value: "" }, "All tags"), ...tags().map((t) => el("option", { value: t, selected: t === state.tag }, t)));
      drawBody();
      workspace.update({ runs: chartRuns(), keys: chartKeys() });
    }
    if (running.length) await workspace.poll(running);
  }, POLL_MS);
  return () => { clearInterval(timer); workspace.destroy(); sweep.destroy(); };
}

export async function renderProjects(root) {
  const projects = await api.projects();
  const head = el("div", { class: "page-head" }, el("h1", {}, "Projects"));
  const body = el("div", {});
  root.append(head, body);
  const draw = (list) => {
    if (!list.length) {
      body.replaceChildren(el("div", { class: "empty big" }, el("h3", {}, "No runs yet"),
        el("p", {}, "Log a run with seetrain.init() / seetrain.log(), or try "), el("code", {}, "seetrain demo")));
      return;
    }
    body.replaceChildren(el("div", { class: "project-grid" }, list.map((p) =>
      el("a", { class: "project-card", href: `#/project/${encodeURIComponent(p.name)}` },
        el("h3", {}, p.name),
        el("div", { class: "stats" }, el("span", {}, el("b", {}, String(p.runs)), " runs"),
          p.running ? el("span", { class: "badge status-running" }, el("i"), `${p.running} running`) : null),
        el("div", { class: "muted" }, `last activity ${fmtAgo(p.last_activity)}`)))));
  };
  draw(projects);
  // New projects appear without a reload (the list has an ETag: unchanged polls are 304s).
  let last = JSON.stringify(projects);
  const timer = setInterval(async () => {
    let fresh;
    try { fresh = await api.projects(); } catch { return; }
    const json = JSON.stringify(fresh);
    if (json !== last) { last = json; draw(fresh); }
  }, POLL_MS);
  return () => clearInterval(timer);
}

// Re-exported for the tests of the URL state (and the sweep page).
export { parse };
