// The dashboard's only way to the server: the JSON API under /api/v1.

const params = new URLSearchParams(location.search);
const TOKEN = params.get("token") || localStorage.getItem("seetrain_token") || "";
if (params.get("token")) localStorage.setItem("seetrain_token", TOKEN);

const enc = encodeURIComponent;

async function get(path, query = {}) {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null) qs.set(k, String(v));
  const url = `/api/v1${path}${qs.toString() ? "?" + qs : ""}`;
  const resp = await fetch(url, { headers: TOKEN ? { Authorization: `Bearer ${TOKEN}` } : {} });
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
  fileUrl: (project, id, rel) =>
    `/api/v1/runs/${enc(project)}/${enc(id)}/file/${rel.split("/").map(enc).join("/")}` +
    (TOKEN ? `?token=${enc(TOKEN)}` : ""),
};
