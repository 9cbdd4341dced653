// The dashboard's only way to the server: the JSON API under /api/v1.

const params = new URLSearchParams(location.search);
const TOKEN = params.get("token") || localStorage.getItem("seetrain_token") || "";
if (params.get("token")) localStorage.setItem("seetrain_token", TOKEN);

const enc = encodeURIComponent;

function url(path, query = {}) {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null) qs.set(k, String(v));
  return `/api/v1${path}${qs.toString() ? "?" + qs : ""}`;
}

async function get(path, query = {}, method = "GET", body = undefined) {
  const headers = TOKEN ? { Authorization: `Bearer ${TOKEN}` } : {};
  if (body !== undefined) headers["Content-Type"] = "application/json";
  // The runs and projects lists carry an ETag: the browser revalidates (304) instead of
  // downloading an unchanged list on every poll.
  const resp = await fetch(url(path, query), { method, headers, cache: "no-cache",
    body: body === undefined ? undefined : JSON.stringify(body) });
  if (!resp.ok) {
    let message = `${resp.status} ${resp.statusText}`;
    try { message = (await resp.json()).error || message; } catch { /* not JSON */ }
    const err = new Error(message);
    err.status = resp.status;
    throw err;
  }
  return resp.json();
}

export const api = {
  projects: () => get("/projects"),
  runs: (project) => get(`/projects/${enc(project)}/runs`),
  run: (project, id) => get(`/runs/${enc(project)}/${enc(id)}`),
  compare: (project, ids) => get(`/projects/${enc(project)}/compare`, { runs: ids.join(",") }),
  report: (project, ids) => get(`/projects/${enc(project)}/compare/report`, { runs: ids.join(",") }),
  projectMetric: (project, key, ids, opts = {}) =>
    get(`/projects/${enc(project)}/metric`, { key, runs: ids.join(","), ...opts }),
  metric: (project, id, key, opts = {}) => get(`/runs/${enc(project)}/${enc(id)}/metric`, { key, ...opts }),
  media: (project, id, opts = {}) => get(`/runs/${enc(project)}/${enc(id)}/media`, opts),
  console: (project, id, after = 0, limit = 2000) => get(`/runs/${enc(project)}/${enc(id)}/console`, { after, limit }),
  events: (project, id, kind) => get(`/runs/${enc(project)}/${enc(id)}/events`, { kind }),
  bands: (project, key, ids, groupBy, opts = {}) =>
    get(`/projects/${enc(project)}/bands`, { key, group_by: groupBy, runs: ids ? ids.join(",") : undefined, ...opts }),
  sweep: (project, metric, opts = {}) => get(`/projects/${enc(project)}/sweep`, { metric, ...opts }),
  views: (project) => get(`/projects/${enc(project)}/views`),
  saveView: (project, name, state) => get(`/projects/${enc(project)}/views/${enc(name)}`, {}, "PUT", state),
  deleteView: (project, name) => get(`/projects/${enc(project)}/views/${enc(name)}`, {}, "DELETE"),
  layout: (project) => get(`/projects/${enc(project)}/layout`),
  saveLayout: (project, layout) => get(`/projects/${enc(project)}/layout`, {}, "PUT", layout),
  editRun: (project, id, changes) => get(`/runs/${enc(project)}/${enc(id)}`, {}, "PATCH", changes),
  deleteRun: (project, id) => get(`/runs/${enc(project)}/${enc(id)}`, { confirm: id }, "DELETE"),
  startReport: (project, ids) => get(`/projects/${enc(project)}/compare/report/jobs`, { runs: ids.join(",") }, "POST"),
  reportJob: (project, job) => get(`/projects/${enc(project)}/compare/report/jobs/${enc(job)}`),
  csvUrl: (project, key, ids) => url(`/projects/${enc(project)}/metric.csv`, { key, runs: ids.join(","), token: TOKEN || undefined }),
  fileUrl: (project, id, rel) =>
    `/api/v1/runs/${enc(project)}/${enc(id)}/file/${rel.split("/").map(enc).join("/")}` +
    (TOKEN ? `?token=${enc(TOKEN)}` : ""),
};
