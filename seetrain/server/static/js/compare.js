// Compare view: config diff (differing keys by default), summary metrics side by side, the
// `seetrain compare` report (timing, batch time, resources, per-metric statistics), charts.
import { api } from "./api.js";
import { Workspace } from "./charts.js";
import { isSysKey, isDetailKey, unitOf, fmtUnit, metricLabel, sysOrder } from "./metrics.js";
import { el, append, card, empty, stylesFor, fmtNum, fmtDuration, fmtValue, groupKeys, statusBadge } from "./util.js";
import { mediaAcrossRuns } from "./media_compare.js";

const TRANSPOSE_AT = 7;  // from this many runs on, runs are rows (a sticky name column) instead of columns

const lowerIsBetter = (key) => /loss|err|perplexity|ppl|mse|mae|rmse|wer|cer|latency|time/i.test(key);
const higherIsBetter = (key) => /acc|score|reward|f1|map|auc|precision|recall|bleu|rouge|iou|dice/i.test(key);
// Only metrics whose name says which way is better get a "best" mark or a coloured delta.
const direction = (key) => (lowerIsBetter(key) ? "lower" : higherIsBetter(key) ? "higher" : null);

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
  const styles = stylesFor(runs.map((r) => r.id));
  const colorFor = (id) => styles.get(id).color;
  const unfinishedChip = (r) => (r.unfinished ? el("span", { class: "unfinished-chip", title: `${r.status}: its timing is not comparable` }, r.status) : null);
  const runHead = (r, i, attrs = {}) => el("th", { class: `run-col${r.unfinished ? " unfinished" : ""}`, ...attrs },
    el("i", { class: "swatch", style: { background: colorFor(r.id) } }),
    el("a", { href: `#/run/${encodeURIComponent(project)}/${encodeURIComponent(r.id)}` }, r.name),
    i === 0 && runs.length > 1 ? el("span", { class: "baseline-chip", title: "ratios are against this run" }, "baseline") : null,
    unfinishedChip(r));
  const head = () => el("tr", {}, el("th", {}, ""), runs.map((r, i) => runHead(r, i)));

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

  const sumKeys = groupKeys(data.summary.keys).flatMap(([, ks]) => ks).filter((k) => !isSysKey(k) && !isDetailKey(k));
  const sumRows = sumKeys.map((k) => {
    const vals = data.summary.values[k];
    const lasts = vals.map((v) => (v && typeof v.last === "number" ? v.last : null));
    const finite = lasts.filter((v) => v !== null);
    const dir = direction(k);
    const best = finite.length > 1 && dir ? (dir === "lower" ? Math.min(...finite) : Math.max(...finite)) : null;
    return el("tr", {}, el("th", {}, k), vals.map((v, i) => el("td", { class: `num ${lasts[i] === best ? "best" : ""}` },
      v ? fmtNum(v.last) : "–", v ? el("small", {}, `${fmtNum(v.min, 3)} – ${fmtNum(v.max, 3)}`) : null)));
  });
  const info = el("tbody", {},
    el("tr", {}, el("th", {}, "status"), runs.map((r) => el("td", {}, statusBadge(r.status)))),
    el("tr", {}, el("th", {}, "duration"), runs.map((r) => el("td", { class: "num" }, fmtDuration(r.duration)))),
    el("tr", {}, el("th", {}, "framework"), runs.map((r) => el("td", {}, r.framework || "–"))));

  const reportSlot = el("section", { class: "report-slot" });
  const keys = data.summary.keys;
  const workspace = new Workspace({ project, runs: runs.map((r) => ({ id: r.id, name: r.name, ...styles.get(r.id), status: r.status })), keys });
  // Two independent columns, so a short config diff leaves no hole beside a long summary;
  // the report's timing and resources cards join them when they arrive.
  const cfgCard = card("Config", el("div", { class: "table-wrap" }, el("table", { class: "grid compare config-diff" }, el("thead", {}, head()), info, cfgBody)), toggle);
  const sumCard = card("Summary metrics (last · min – max)", el("div", { class: "table-wrap" },
    el("table", { class: "grid compare summary-diff" }, el("thead", {}, head()), el("tbody", {}, sumRows))));
  const left = el("div", { class: "col" }, cfgCard);
  const right = el("div", { class: "col" }, sumCard);
  const sideBySide = el("div", { class: "two-col" }, left, right);
  const transposed = transposedTable(project, data, colorFor, unfinishedChip, sumKeys);
  let flipped = runs.length >= TRANSPOSE_AT;
  // Runs as rows replaces the config and summary cards; the report's cards stay where they are.
  const flip = () => { cfgCard.hidden = flipped; sumCard.hidden = flipped; transposed.hidden = !flipped; };
  const flipBox = el("label", { class: "toggle" }, el("input", { type: "checkbox", class: "transpose", checked: flipped,
    onchange: (e) => { flipped = e.target.checked; flip(); } }), "runs as rows");
  flip();
  const unfinished = runs.filter((r) => r.unfinished);
  append(root, [
    data.missing.length ? el("div", { class: "alert" }, `Not found: ${data.missing.join(", ")}`) : null,
    unfinished.length ? el("div", { class: "note unfinished-note" }, `${unfinished.length} of ${runs.length} runs did not finish `
      + `(${unfinished.map((r) => `${r.name}: ${r.status}`).join(", ")}); their timing is shown but never ranked.`) : null,
    el("div", { class: "compare-bar" }, flipBox, el("span", { class: "muted" }, `${runs.length} runs`)),
    transposed, sideBySide,
    reportSlot,
    mediaAcrossRuns(project, runs, colorFor),
    el("h2", { class: "section-title" }, "Charts"), workspace.el]);
  loadReport(reportSlot, left, right, project, runs, runHead);
  return () => workspace.destroy();
}

/** Runs as rows: a sticky name column, then status, duration, differing config, summary metrics. */
function transposedTable(project, data, colorFor, unfinishedChip, sumKeys) {
  const cfgKeys = data.config.differing.length ? data.config.differing : data.config.keys.slice(0, 12);
  const metrics = sumKeys.slice(0, 16);
  const best = Object.fromEntries(metrics.map((k) => {
    const lasts = data.summary.values[k].map((v, i) => (v && typeof v.last === "number" && !data.runs[i].unfinished ? v.last : null)).filter((v) => v !== null);
    const dir = direction(k);
    return [k, lasts.length > 1 && dir ? (dir === "lower" ? Math.min(...lasts) : Math.max(...lasts)) : null];
  }));
  const table = el("table", { class: "grid compare transposed" },
    el("thead", {}, el("tr", {}, el("th", { class: "sticky-col" }, "run"), el("th", {}, "status"), el("th", {}, "duration"),
      cfgKeys.map((k) => el("th", { class: "cfg" }, k)), metrics.map((k) => el("th", { class: "metric" }, k)))),
    el("tbody", {}, data.runs.map((r, i) => el("tr", { class: r.unfinished ? "unfinished" : "", dataset: { run: r.id } },
      el("th", { class: "sticky-col" }, el("i", { class: "swatch", style: { background: colorFor(r.id) } }),
        el("a", { href: `#/run/${encodeURIComponent(project)}/${encodeURIComponent(r.id)}` }, r.name), unfinishedChip(r)),
      el("td", {}, statusBadge(r.status)), el("td", { class: "num" }, fmtDuration(r.duration)),
      cfgKeys.map((k) => el("td", { class: "num" }, fmtValue(data.config.values[k][i]))),
      metrics.map((k) => {
        const v = data.summary.values[k][i];
        return el("td", { class: `num ${v && v.last === best[k] && !r.unfinished ? "best" : ""}` }, v ? fmtNum(v.last) : "–");
      })))));
  return el("section", { class: "card transposed-card" }, el("div", { class: "card-head" }, el("h3", {}, "Runs (config that differs · last metric values)")),
    el("div", { class: "table-wrap sticky-wrap" }, table));
}

/** The report, built off the request path: start a job, poll it (the page stays usable). */
async function fetchReport(project, ids) {
  let job;
  try { job = await api.startReport(project, ids); } catch (err) {
    if (err.status === 404 || err.status === 405) return api.report(project, ids);
    throw err;
  }
  for (let wait = 100; ; wait = Math.min(1000, wait * 1.5)) {
    const state = await api.reportJob(project, job.job);
    if (state.status === "done") return state.report;
    if (state.status === "failed") throw new Error(state.error || "the report failed");
    await new Promise((res) => setTimeout(res, wait));
  }
}

/** Timing, batch time, resources and per-metric statistics, as `seetrain compare` writes them.
 * Reading every point takes a moment on big runs, so it comes after the rest of the page. */
async function loadReport(slot, left, right, project, runs, runHead) {
  const pending = el("div", { class: "card report-pending" }, el("div", { class: "empty" }, "building the comparison report…"));
  left.appendChild(pending);
  let rep;
  try { rep = await fetchReport(project, runs.map((r) => r.id)); } catch (err) {
    // 501: the data source builds no reports; anything else is worth a line.
    if (err.status === 501) pending.remove();
    else pending.replaceChildren(el("div", { class: "empty error" }, `report: ${err.message}`));
    return;
  }
  pending.remove();
  const ids = rep.runs.map((r) => r.id);
  const shown = runs.filter((r) => ids.includes(r.id));
  const thead = (first = "") => el("thead", {}, el("tr", {}, el("th", {}, first), shown.map((r, i) => runHead(r, i))));
  const row = (label, cells, { lower = null, title = null } = {}) => {
    const nums = cells.map((c) => (typeof c?.v === "number" ? c.v : null));
    const finite = nums.filter((v) => v !== null);
    const best = lower === null || finite.length < 2 ? null : lower ? Math.min(...finite) : Math.max(...finite);
    return el("tr", {}, el("th", { title }, label), cells.map((c, i) => el("td", { class: `num ${best !== null && nums[i] === best ? "best" : ""}` },
      c ? c.text : "–", c && c.sub ? el("small", {}, c.sub) : null)));
  };
  const bt = (id) => rep.batch_time[id] || null;
  const info = Object.fromEntries(rep.runs.map((r) => [r.id, r]));
  const speed = (id) => {
    if (info[id].unfinished) return `${info[id].status}: not ranked`;
    const vs = rep.vs_baseline[id];
    if (!vs || typeof vs.speedup !== "number") return null;
    const x = vs.speedup;
    return x >= 1 ? `${fmtNum(x, 3)}× faster` : `${fmtNum(1 / x, 3)}× slower`;
  };
  const sec = (v) => (typeof v === "number" ? (v < 1 ? `${fmtNum(v * 1000, 3)} ms` : fmtDuration(v)) : "–");
  const timing = el("table", { class: "grid compare report-timing" }, thead(), el("tbody", {},
    // An unfinished run's total time is no training time: shown, never ranked (no "best").
    row("total time", ids.map((id) => ({ v: info[id].unfinished ? null : info[id].total_time_s, text: fmtDuration(info[id].total_time_s), sub: speed(id) })), { lower: true }),
    row("steps logged", ids.map((id) => ({ v: info[id].steps, text: fmtNum(info[id].steps) }))),
    row("batch time median", ids.map((id) => bt(id) && { v: bt(id).median, text: sec(bt(id).median),
      sub: `mean ${sec(bt(id).mean)} ± ${sec(bt(id).std)}` }), { lower: true,
      title: "seconds per step: a batch_time/step_time metric if logged, else the time between logged steps" }),
    row("batch time p90 / p99", ids.map((id) => bt(id) && { v: bt(id).p99, text: `${sec(bt(id).p90)} / ${sec(bt(id).p99)}`,
      sub: `min ${sec(bt(id).min)} · max ${sec(bt(id).max)}` }), { lower: true }),
    row("steps / s", ids.map((id) => bt(id) && { v: bt(id).steps_per_s, text: fmtNum(bt(id).steps_per_s, 4),
      sub: bt(id).source === "timestamps" ? "from timestamps" : `from ${bt(id).source}` }), { lower: false })));

  const resKeys = sysOrder([...new Set(ids.flatMap((id) => Object.keys(rep.resources[id] || {})))]);
  const resources = resKeys.length
    ? el("table", { class: "grid compare report-resources" }, thead("mean · max"), el("tbody", {}, resKeys.map((k) => {
      const unit = unitOf(k);
      return row(metricLabel(k), ids.map((id) => {
        const s = (rep.resources[id] || {})[k];
        return s && s.mean !== null ? { v: s.mean, text: fmtUnit(s.mean, unit, 3), sub: `max ${fmtUnit(s.max, unit, 3)} · ${s.samples} samples` } : null;
      }), { title: k });
    })))
    : empty("No system metrics in these runs (the system monitor was off).");

  let allMetrics = false;
  const statBody = el("tbody");
  const metricKeys = groupKeys(Object.keys(rep.metrics)).flatMap(([, ks]) => ks);
  const drawStats = () => {
    const keys = metricKeys.filter((k) => allMetrics || !isDetailKey(k));
    statBody.replaceChildren(...keys.map((k) => el("tr", {}, el("th", {}, k), ids.flatMap((id, i) => {
      const s = rep.metrics[k][id];
      if (!s) return [el("td", { colspan: 5, class: "num muted run-start" }, "–")];
      const delta = i > 0 ? rep.vs_baseline[id]?.final?.[k]?.delta : null;
      return [
        el("td", { class: "num run-start" }, fmtNum(s.initial)),
        el("td", { class: "num final" }, fmtNum(s.final), typeof delta === "number"
          ? el("small", { class: delta === 0 || !direction(k) ? "" : (delta < 0) === (direction(k) === "lower") ? "good" : "bad",
            title: "final value minus the baseline's" }, `${delta > 0 ? "+" : ""}${fmtNum(delta, 3)}`) : null),
        el("td", { class: "num" }, fmtNum(s.min)), el("td", { class: "num" }, fmtNum(s.max)), el("td", { class: "num" }, fmtNum(s.mean)),
      ];
    }))));
    if (!keys.length) statBody.appendChild(el("tr", {}, el("td", { colspan: 1 + 5 * ids.length, class: "empty" }, "No metrics.")));
  };
  drawStats();
  const hiddenCount = metricKeys.filter(isDetailKey).length;
  const statsTable = el("table", { class: "grid compare report-metrics" },
    el("thead", {},
      el("tr", {}, el("th", { rowspan: 2 }, "metric"), shown.map((r, i) => runHead(r, i, { colspan: 5, class: "run-col run-start" }))),
      el("tr", { class: "sub-head" }, ids.flatMap(() => ["initial", "final", "min", "max", "mean"].map((h, j) =>
        el("th", { class: `num${j === 0 ? " run-start" : ""}` }, h))))),
    statBody);
  const toggle = hiddenCount ? el("label", { class: "toggle" }, el("input", { type: "checkbox",
    onchange: (e) => { allMetrics = e.target.checked; drawStats(); } }), `per-layer / per-head (${hiddenCount})`) : null;
  left.appendChild(el("div", { class: "report-timing-card" }, card("Timing", el("div", { class: "table-wrap" }, timing),
    el("span", { class: "muted" }, "as ", el("code", {}, "seetrain compare"), " reports it"))));
  right.appendChild(el("div", { class: "report-resources-card" }, card("Resources (system monitor)", el("div", { class: "table-wrap" }, resources))));
  slot.replaceChildren(card("Metric statistics (initial · final · min · max · mean)", el("div", { class: "table-wrap" }, statsTable), toggle));
}
