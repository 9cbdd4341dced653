// Compare view: config diff (differing keys by default), summary metrics side by side, charts.
import { api } from "./api.js";
import { Workspace } from "./charts.js";
import { el, append, card, empty, colorsFor, fmtNum, fmtDuration, fmtValue, statusBadge } from "./util.js";

const lowerIsBetter = (key) => /loss|err|perplexity|ppl|mse|mae|rmse|wer|cer|latency|time/i.test(key);

export async function renderCompare(root, { project }, query) {
  const ids = (query.get("runs") || "").split(",").map((s) => s.trim()).filter(Boolean);
  root.appendChild(el("div", { class: "page-head" }, el("h1", {}, "Compare runs"),
    el("a", { class: "muted", href: `#/project/${encodeURIComponent(project)}` }, `in ${project}`)));
  if (ids.length < 1) { root.appendChild(empty("Select runs in the project table, then press Compare.")); return null; }
  let data;
  try { data = await api.compare(project, ids); } catch (err) {
    root.appendChild(el("div", { class: "empty error" }, err.message));
    return null;
  }
  const runs = data.runs;
  const colors = colorsFor(runs.map((r) => r.id));
  const colorFor = (id) => colors.get(id);
  const head = () => el("tr", {}, el("th", {}, ""), runs.map((r) => el("th", { class: "run-col" },
    el("i", { class: "swatch", style: { background: colorFor(r.id) } }),
    el("a", { href: `#/run/${encodeURIComponent(project)}/${encodeURIComponent(r.id)}` }, r.name))));

  let onlyDiff = true;
  const cfgBody = el("tbody");
  const drawConfig = () => {
    const keys = onlyDiff ? data.config.differing : data.config.keys;
    cfgBody.replaceChildren(...keys.map((k) => {
      const differs = data.config.differing.includes(k);
      return el("tr", { class: differs ? "differs" : "" }, el("th", {}, k),
        data.config.values[k].map((v) => el("td", { class: "num" }, v === null || v === undefined ? "–" : fmtValue(v))));
    }));
    if (!keys.length) cfgBody.appendChild(el("tr", {}, el("td", { colspan: runs.length + 1, class: "empty" },
      onlyDiff ? "All config values are identical." : "No config.")));
  };
  drawConfig();
  const toggle = el("label", { class: "toggle" }, el("input", { type: "checkbox", class: "only-diff", checked: true,
    onchange: (e) => { onlyDiff = e.target.checked; drawConfig(); } }), "only differing keys");

  const sumRows = data.summary.keys.map((k) => {
    const vals = data.summary.values[k];
    const lasts = vals.map((v) => (v && typeof v.last === "number" ? v.last : null));
    const finite = lasts.filter((v) => v !== null);
    const best = finite.length > 1 ? (lowerIsBetter(k) ? Math.min(...finite) : Math.max(...finite)) : null;
    return el("tr", {}, el("th", {}, k), vals.map((v, i) => el("td", { class: `num ${lasts[i] === best ? "best" : ""}` },
      v ? fmtNum(v.last) : "–", v ? el("small", {}, `${fmtNum(v.min, 3)} – ${fmtNum(v.max, 3)}`) : null)));
  });
  const info = el("tbody", {},
    el("tr", {}, el("th", {}, "status"), runs.map((r) => el("td", {}, statusBadge(r.status)))),
    el("tr", {}, el("th", {}, "duration"), runs.map((r) => el("td", { class: "num" }, fmtDuration(r.duration)))),
    el("tr", {}, el("th", {}, "framework"), runs.map((r) => el("td", {}, r.framework || "–"))));

  const keys = data.summary.keys;
  const workspace = new Workspace({ project, runs: runs.map((r) => ({ id: r.id, name: r.name, color: colorFor(r.id), status: r.status })), keys });
  append(root, [
    data.missing.length ? el("div", { class: "alert" }, `Not found: ${data.missing.join(", ")}`) : null,
    el("div", { class: "two-col" },
      card("Config", el("div", { class: "table-wrap" }, el("table", { class: "grid compare config-diff" }, el("thead", {}, head()), info, cfgBody)), toggle),
      card("Summary metrics (last · min – max)", el("div", { class: "table-wrap" },
        el("table", { class: "grid compare summary-diff" }, el("thead", {}, head()), el("tbody", {}, sumRows))))),
    el("h2", { class: "section-title" }, "Charts"), workspace.el]);
  return () => workspace.destroy();
}
