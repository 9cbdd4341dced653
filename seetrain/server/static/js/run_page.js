// One run: overview (summary, config, hardware, metadata), charts, media, console, LLM calls, model.
import { runArtifactsPane } from "./artifacts.js";
import { api } from "./api.js";
import { Workspace } from "./charts.js";
import { ConsoleView } from "./console.js";
import { graphPane } from "./graph_view.js";
import { renderMedia } from "./media.js";
import { isSysKey, isDetailKey } from "./metrics.js";
import { el, card, empty, colorFor, fmtNum, fmtDuration, fmtTime, fmtValue, groupKeys, statusBadge, tagChip } from "./util.js";

const POLL_MS = 2500;

function kvTable(rows, cls = "") {
  return el("table", { class: `grid kv ${cls}` }, el("tbody", {}, rows.filter(Boolean).map(([k, v]) =>
    el("tr", {}, el("th", {}, k), el("td", {}, v instanceof Node ? v : fmtValue(v))))));
}

function flatten(obj, prefix = "", out = {}) {
  for (const [k, v] of Object.entries(obj || {})) {
    if (v && typeof v === "object" && !Array.isArray(v) && Object.keys(v).length) flatten(v, `${prefix}${k}.`, out);
    else out[`${prefix}${k}`] = v;
  }
  return out;
}

function summaryTable(summary) {
  // Training metrics first (in chart group order); per-layer, per-head and system metrics are
  // folded behind one row: a watched model adds hundreds of them.
  const ordered = groupKeys(Object.keys(summary)).flatMap(([, keys]) => keys);
  if (!ordered.length) return empty("No scalars yet.");
  const folded = (k) => isSysKey(k) || isDetailKey(k);
  const row = (k) => { const s = summary[k]; return el("tr", { class: folded(k) ? "extra" : "" }, el("td", { class: "metric-key" }, k),
    el("td", { class: "num" }, fmtNum(s.last)), el("td", { class: "num" }, fmtNum(s.min)),
    el("td", { class: "num" }, fmtNum(s.max)),
    el("td", { class: "num" }, fmtNum(s.count), s.nonfinite ? el("span", { class: "nan-badge" }, `${s.nonfinite} NaN/inf`) : null)); };
  const main = ordered.filter((k) => !folded(k)), extra = ordered.filter(folded);
  const body = el("tbody", {}, main.map(row));
  if (extra.length) {
    const more = el("tr", { class: "more-row" }, el("td", { colspan: 5 }, el("button", { class: "link-btn", onclick: () => {
      more.replaceWith(...extra.map(row));
    } }, `+ ${extra.length} more: per-layer, per-head and system metrics`)));
    body.appendChild(more);
  }
  return el("div", { class: "table-wrap" }, el("table", { class: "grid summary" },
    el("thead", {}, el("tr", {}, ["metric", "last", "min", "max", "points"].map((h) => el("th", {}, h)))), body));
}

function overview(run) {
  const md = run.metadata || {};
  const git = md.git || {};
  const command = Array.isArray(md.command) ? md.command.join(" ") : md.command;
  const frameworks = Object.entries(md.frameworks || {}).map(([k, v]) => `${k} ${v}`).join(", ");
  const info = kvTable([
    ["id", run.id], ["status", statusBadge(run.status)], ["started", fmtTime(run.created_at)],
    ["duration", fmtDuration(run.duration)], run.framework ? ["framework", el("span", { class: "chip fw" }, run.framework)] : null,
    ["host", run.hostname], command ? ["command", el("code", { class: "cmd" }, command)] : null,
    md.cwd ? ["directory", md.cwd] : null,
    git.commit ? ["git commit", el("code", {}, `${git.commit.slice(0, 12)}${git.dirty ? " (dirty)" : ""}`)] : null,
    git.branch ? ["git branch", git.branch] : null, md.python ? ["python", md.python] : null,
    frameworks ? ["libraries", frameworks] : null, run.group ? ["group", run.group] : null,
  ]);
  const cfg = flatten(run.config);
  const cfgTable = Object.keys(cfg).length ? kvTable(Object.keys(cfg).sort().map((k) => [k, cfg[k]]), "config") : empty("No config.");
  const extra = flatten(Object.fromEntries(Object.entries(md).filter(([k]) => !["git", "command", "frameworks", "cwd", "python", "hostname", "hardware"].includes(k))));
  if (run.event_kinds.includes("model_summary")) {
    // One small request: the model's name and size belong in the run's identity card.
    const row = el("tr", {}, el("th", {}, "model"), el("td", {}, "…"));
    info.querySelector("tbody").appendChild(row);
    api.events(run.project, run.id, "model_summary").then((ev) => {
      const p = ev.length ? ev[ev.length - 1].payload : {};
      row.lastChild.replaceChildren(el("a", { href: `#/run/${encodeURIComponent(run.project)}/${encodeURIComponent(run.id)}?tab=model`,
        class: "model-link" }, p.model || "model"), el("span", { class: "muted" }, ` · ${fmtCount(p.total_params)} parameters`));
    }).catch(() => row.remove());
  }
  return el("div", { class: "overview" },
    run.error ? el("div", { class: "alert" }, el("b", {}, "Error: "), run.error) : null,
    run.description ? el("p", { class: "description" }, run.description) : null,
    el("div", { class: "two-col" },
      el("div", {}, card("Run", info), card("Config", cfgTable), md.hardware ? card("Hardware", hardwareTable(md.hardware)) : null),
      el("div", {}, card("Summary", summaryTable(run.summary)),
        card("Metadata", kvTable(Object.keys(extra).sort().map((k) => [k, extra[k]]))))));
}

/** 19168 -> "19.2K", 7_000_000_000 -> "7B": how parameter counts are usually quoted. */
export function fmtCount(n) {
  if (typeof n !== "number" || !Number.isFinite(n)) return "–";
  const a = Math.abs(n);
  for (const [div, suffix] of [[1e12, "T"], [1e9, "B"], [1e6, "M"], [1e3, "K"]]) {
    if (a >= div) return `${Number((n / div).toPrecision(3))}${suffix}`;
  }
  return String(n);
}

const gb = (mb) => (typeof mb === "number" ? `${Number((mb / 1024).toPrecision(3))} GB` : null);

function hardwareTable(hw) {
  const cores = [hw.cpu_cores_physical && `${hw.cpu_cores_physical} physical`, hw.cpu_cores_logical && `${hw.cpu_cores_logical} logical`]
    .filter(Boolean).join(" / ");
  const avail = hw.cpus_available && hw.cpus_available !== hw.cpu_cores_logical ? `, ${fmtNum(hw.cpus_available)} usable` : "";
  const gpus = Array.isArray(hw.gpus) && hw.gpus.length
    ? el("div", {}, hw.gpus.map((g) => el("div", {}, `${g.index ?? ""}: ${g.name || "GPU"}`,
      g.memory_total_mb ? el("span", { class: "muted" }, ` · ${gb(g.memory_total_mb)}`) : null)))
    : el("span", { class: "muted" }, hw.gpu_note ? `none (${hw.gpu_note})` : "none");
  return kvTable([
    hw.cpu_model ? ["CPU", hw.cpu_model] : null,
    cores ? ["cores", cores + avail] : null,
    hw.memory_total_mb ? ["memory", `${gb(hw.memory_total_mb)}${hw.memory_limit_mb ? ` (limit ${gb(hw.memory_limit_mb)})` : ""}`] : null,
    ["GPUs", gpus],
    hw.cgroup_version ? ["cgroup", `v${hw.cgroup_version}${hw.cgroup_cpu_quota ? ` · ${fmtNum(hw.cgroup_cpu_quota)} CPU quota` : ""}`] : null,
  ]);
}

function llmTable(calls) {
  const trunc = (s, n = 160) => { s = String(s ?? ""); return s.length > n ? s.slice(0, n) + "…" : s; };
  const lastUser = (msgs) => {
    if (!Array.isArray(msgs)) return msgs ?? "";
    const m = [...msgs].reverse().find((x) => x && x.role === "user") || msgs[msgs.length - 1] || {};
    return typeof m.content === "string" ? m.content : JSON.stringify(m.content ?? m);
  };
  const total = calls.reduce((n, c) => n + (c.payload.total_tokens || 0), 0);
  const rows = calls.map((c) => {
    const p = c.payload;
    const detail = el("tr", { class: "detail", hidden: true }, el("td", { colspan: 8 },
      el("div", { class: "llm-detail" }, el("h4", {}, "Input messages"),
        el("pre", {}, JSON.stringify(p.input_messages ?? null, null, 2)),
        el("h4", {}, "Output"), el("pre", {}, String(p.output_text ?? "")),
        p.error ? el("div", { class: "alert" }, String(p.error)) : null)));
    const row = el("tr", { class: "clickable", onclick: () => { detail.hidden = !detail.hidden; } },
      el("td", {}, el("div", {}, p.model || "–"), el("div", { class: "sub" }, p.provider || "")),
      el("td", { class: "text-cell" }, trunc(lastUser(p.input_messages))),
      el("td", { class: "text-cell" }, p.error ? el("span", { class: "err" }, trunc(p.error)) : trunc(p.output_text)),
      el("td", { class: "num" }, fmtNum(p.prompt_tokens)), el("td", { class: "num" }, fmtNum(p.completion_tokens)),
      el("td", { class: "num" }, fmtNum(p.total_tokens)),
      el("td", { class: "num" }, p.latency_s != null ? `${fmtNum(p.latency_s, 3)} s` : "–",
        p.ttft_s != null ? el("div", { class: "sub" }, `ttft ${fmtNum(p.ttft_s, 3)} s`) : null),
      el("td", {}, p.finish_reason || (p.error ? "error" : "–")));
    return [row, detail];
  });
  return card(`LLM calls (${calls.length})`, el("div", { class: "table-wrap" }, el("table", { class: "grid llm" },
    el("thead", {}, el("tr", {}, ["model", "prompt", "response", "prompt tok", "completion tok", "total tok", "latency", "finish"].map((h) => el("th", {}, h)))),
    el("tbody", {}, rows))), el("span", { class: "muted" }, `${fmtNum(total)} tokens`));
}

const fmtShape = (shape) => {
  if (shape === null || shape === undefined) return "–";
  if (Array.isArray(shape) && shape.length && Array.isArray(shape[0])) return shape.map(fmtShape).join(", ");
  return Array.isArray(shape) ? shape.join(" × ") : String(shape);
};

function modelTable(event) {
  const p = event.payload;
  const rows = p.rows || [];
  const maxParams = Math.max(1, ...rows.map((r) => r.params || 0));
  const total = p.total_params || rows.reduce((n, r) => n + (r.params || 0), 0);
  const frozen = typeof p.trainable_params === "number" ? total - p.trainable_params : null;
  const stats = el("div", { class: "stat-row" },
    [["model", p.model || "–"], ["parameters", fmtCount(total)],
      ["trainable", typeof p.trainable_params === "number" ? fmtCount(p.trainable_params) : "–"],
      frozen ? ["frozen", fmtCount(frozen)] : null, ["layers", String(rows.length)]]
      .filter(Boolean).map(([k, v]) => el("div", { class: "stat" }, el("div", { class: "stat-value" }, v), el("div", { class: "stat-label" }, k))));
  const body = rows.map((r) => {
    const dot = r.name.lastIndexOf(".");
    const share = total ? (100 * (r.params || 0)) / total : 0;
    return el("tr", {},
      el("td", { class: "mono layer-name", title: r.name },
        dot > 0 ? el("span", { class: "muted" }, r.name.slice(0, dot + 1)) : null, dot > 0 ? r.name.slice(dot + 1) : r.name),
      el("td", {}, el("span", { class: "chip" }, r.type)),
      el("td", { class: "num params" }, el("span", {}, fmtNum(r.params)),
        el("span", { class: "bar", title: `${share.toFixed(1)}% of all parameters` },
          el("i", { style: { width: `${(100 * (r.params || 0)) / maxParams}%` } }))),
      el("td", { class: "num muted" }, r.params ? `${share.toFixed(1)}%` : ""),
      el("td", { class: "mono shape", title: r.input_shape ? "" : "not called as a module in the first pass" }, fmtShape(r.input_shape)),
      el("td", { class: "mono shape" }, fmtShape(r.output_shape)));
  });
  return el("div", { class: "model-view" }, stats,
    card("Layers", el("div", { class: "table-wrap" }, el("table", { class: "grid model" },
      el("thead", {}, el("tr", {}, ["layer", "type", "parameters", "share", "input shape", "output shape"].map((h) => el("th", {}, h)))),
      el("tbody", {}, body))), el("span", { class: "muted" }, `from the first forward pass · step ${fmtNum(event.step)}`)));
}

/** Rename, notes, tags, archive, delete: saved beside the run (edits.json), never in its store. */
function manageMenu(project, run) {
  const reload = () => window.dispatchEvent(new HashChangeEvent("hashchange"));
  const fail = (err) => window.alert(`Not saved: ${err.message}`);
  const menu = el("details", { class: "picker manage" }, el("summary", { class: "btn" }, "Manage"),
    el("div", { class: "picker-menu right" },
      el("button", { class: "link-btn rename", onclick: async () => {
        const name = window.prompt("New name", run.name);
        if (name && name.trim() && name !== run.name) { try { await api.editRun(project, run.id, { name }); reload(); } catch (e) { fail(e); } }
      } }, "Rename…"),
      el("button", { class: "link-btn edit-notes", onclick: async () => {
        const notes = window.prompt("Notes", run.notes || "");
        if (notes !== null) { try { await api.editRun(project, run.id, { notes }); reload(); } catch (e) { fail(e); } }
      } }, "Notes…"),
      el("button", { class: "link-btn edit-tags", onclick: async () => {
        const text = window.prompt("Tags (comma separated)", run.tags.join(", "));
        if (text !== null) {
          const tags = text.split(",").map((t) => t.trim()).filter(Boolean);
          try { await api.editRun(project, run.id, { tags }); reload(); } catch (e) { fail(e); }
        }
      } }, "Tags…"),
      el("button", { class: "link-btn archive", onclick: async () => {
        try { await api.editRun(project, run.id, { archived: !run.archived }); reload(); } catch (e) { fail(e); }
      } }, run.archived ? "Unarchive" : "Archive"),
      el("button", { class: "link-btn danger delete-run", disabled: run.status === "running",
        title: run.status === "running" ? "a running run cannot be deleted" : "moves the run to the logdir's .trash",
        onclick: async () => {
          const typed = window.prompt(`Delete run "${run.name}"? It moves to the logdir's .trash folder.\nType the run id (${run.id}) to confirm.`);
          if (typed !== run.id) return;
          try { await api.deleteRun(project, run.id); location.hash = `#/project/${encodeURIComponent(project)}`; } catch (e) { fail(e); }
        } }, "Delete…")));
  // A chosen action closes the menu (the prompt or the reload follows).
  menu.querySelector(".picker-menu").addEventListener("click", (e) => { if (e.target.closest("button")) menu.open = false; });
  return menu;
}

export async function renderRun(root, { project, id }, query) {
  let run;
  try { run = await api.run(project, id); } catch (err) {
    root.appendChild(el("div", { class: "empty error" }, err.message));
    return null;
  }
  const color = colorFor(run.id);
  const statusSlot = el("span", {}, statusBadge(run.status));
  const durationSlot = el("span", { class: "muted" }, fmtDuration(run.duration));
  root.appendChild(el("div", { class: "page-head run-head" },
    el("i", { class: "swatch big", style: { background: color } }),
    el("h1", {}, run.name), statusSlot, run.framework ? el("span", { class: "chip fw" }, run.framework) : null,
    run.tags.map(tagChip), run.archived ? el("span", { class: "chip archived-chip" }, "archived") : null,
    el("span", { class: "spacer" }), durationSlot, manageMenu(project, run)));
  if (run.notes) root.appendChild(el("p", { class: "run-notes" }, el("b", {}, "Notes: "), run.notes));

  const chartRuns = () => [{ id: run.id, name: run.name, color, status: run.status }];
  const workspace = new Workspace({ project, runs: chartRuns(), keys: run.keys });
  const consoleView = new ConsoleView(project, run);
  const tabs = [
    ["overview", "Overview", () => overview(run)],
    ["charts", `Charts (${run.keys.length})`, () => workspace.el],
    ["media", "Media", () => { const c = el("div", {}); renderMedia(c, project, run); return c; }],
    ["console", "Console", () => { consoleView.start(); return consoleView.el; }],
  ];
  if (run.event_kinds.includes("llm_call")) tabs.push(["llm", "LLM calls", () => {
    const c = el("div", {}); api.events(project, run.id, "llm_call").then((ev) => c.appendChild(llmTable(ev))); return c; }]);
  tabs.push(["artifacts", "Artifacts", () => runArtifactsPane(project, run.id)]);
  if (run.event_kinds.includes("model_summary")) tabs.push(["model", "Model", () => {
    const c = el("div", {}); api.events(project, run.id, "model_summary").then((ev) => { if (ev.length) c.appendChild(modelTable(ev[ev.length - 1])); }); return c; }]);
  if (run.event_kinds.includes("graph")) tabs.push(["graph", "Graph", () => graphPane(project, run.id)]);

  const bodies = new Map();
  const content = el("div", { class: "tab-content" });
  const bar = el("nav", { class: "tabs" });
  function select(name) {
    for (const b of bar.children) b.classList.toggle("active", b.dataset.tab === name);
    for (const [n, node] of bodies) node.hidden = n !== name;
    if (!bodies.has(name)) {
      const node = el("div", { class: "tab-pane" }, tabs.find((t) => t[0] === name)[2]());
      bodies.set(name, node);
      content.appendChild(node);
    }
    const url = new URL(location.href);
    url.hash = `#/run/${encodeURIComponent(project)}/${encodeURIComponent(run.id)}?tab=${name}`;
    history.replaceState(null, "", url);
  }
  for (const [name, label] of tabs) bar.appendChild(el("button", { class: "tab", dataset: { tab: name }, onclick: () => select(name) }, label));
  root.append(bar, content);
  const wanted = query.get("tab");
  select(tabs.some((t) => t[0] === wanted) ? wanted : "overview");

  const timer = setInterval(async () => {
    if (run.status !== "running") return;
    try { run = await api.run(project, run.id); } catch { return; }
    statusSlot.replaceChildren(statusBadge(run.status));
    durationSlot.textContent = fmtDuration(run.duration);
    workspace.update({ runs: chartRuns(), keys: run.keys });
    await workspace.poll([run.id]);
    if (bodies.has("console")) await consoleView.poll();
  }, POLL_MS);
  return () => { clearInterval(timer); workspace.destroy(); consoleView.destroy(); };
}
