// Artifacts: the project page #/artifacts/PROJECT?name=NAME&v=vN (names, versions, files,
// lineage) and the run page's "Artifacts" tab (versions the run created and used).
// Read-only, from /api/v1/projects/{project}/artifacts... (seetrain/server/artifacts_routes.py).
import { el, card, empty, fmtTime, fmtValue, tagChip } from "./util.js";

const enc = encodeURIComponent;
const TOKEN = new URLSearchParams(location.search).get("token") || localStorage.getItem("seetrain_token") || "";

async function get(path) {
  const resp = await fetch(`/api/v1${path}`, { headers: TOKEN ? { Authorization: `Bearer ${TOKEN}` } : {} });
  if (!resp.ok) {
    let message = `${resp.status} ${resp.statusText}`;
    try { message = (await resp.json()).error || message; } catch { /* not JSON */ }
    throw new Error(message);
  }
  return resp.json();
}

export function fmtBytes(n) {
  if (n < 1024) return `${n} B`;
  const units = ["KB", "MB", "GB", "TB"];
  let v = n / 1024, i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return `${v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`;
}

const aliasChips = (aliases) => aliases.map((a) => el("span", { class: `chip alias${a === "best" ? " fw" : ""}` }, a));
const runLink = (project, id) => el("a", { href: `#/run/${enc(project)}/${enc(id)}` }, id);
const versionHref = (project, name, v) => `#/artifacts/${enc(project)}?name=${enc(name)}&v=${enc(v)}`;

function table(cls, headers, rows) {
  return el("div", { class: "table-wrap" }, el("table", { class: `grid ${cls}` },
    headers ? el("thead", {}, el("tr", {}, headers.map((h) => el("th", {}, h)))) : null, el("tbody", {}, rows)));
}

function versionDetail(project, v) {
  const fileUrl = (path) => `/api/v1/projects/${enc(project)}/artifacts/${enc(v.name)}/${enc(v.version)}/file/` +
    path.split("/").map(enc).join("/") + (TOKEN ? `?token=${enc(TOKEN)}` : "");
  const info = table("kv artifact-info", null, [
    ["Type", v.type], ["Size", fmtBytes(v.size)], ["Files", String(v.file_count)],
    ["Created", fmtTime(v.created_at)], ["Digest", v.digest],
  ].map(([k, val]) => el("tr", {}, el("th", {}, k), el("td", {}, val)))
    .concat([
      el("tr", {}, el("th", {}, "Aliases"), el("td", {}, aliasChips(v.aliases))),
      el("tr", {}, el("th", {}, "Created by"), el("td", { class: "created-by" }, v.created_by ? runLink(project, v.created_by) : "–")),
      el("tr", {}, el("th", {}, "Used by"), el("td", { class: "used-by" },
        v.used_by.length ? v.used_by.map((u) => el("div", {}, runLink(project, u.run_id), " ", el("span", { class: "muted" }, fmtTime(u.used_at)))) : "–")),
    ]));
  const meta = Object.keys(v.metadata || {});
  const files = table("artifact-files", ["Path", "Size", "sha256", ""], v.files.map((f) =>
    el("tr", { dataset: { file: f.path } }, el("td", { class: "path" }, f.path), el("td", {}, fmtBytes(f.size)),
      el("td", { class: "mono", title: f.sha256 }, f.sha256.slice(0, 12) + "…"),
      el("td", {}, el("a", { href: fileUrl(f.path), download: f.path.split("/").pop() }, "download")))));
  return el("div", { class: "artifact-version", dataset: { version: v.version } },
    card(`${v.name}:${v.version}`, info),
    meta.length ? card("Metadata", table("kv artifact-metadata", ["Key", "Value"],
      meta.sort().map((k) => el("tr", {}, el("th", {}, k), el("td", {}, fmtValue(v.metadata[k])))))) : null,
    card(`Files (${v.files.length})`, files));
}

export async function renderArtifacts(root, { project }, query) {
  let list;
  try { list = await get(`/projects/${enc(project)}/artifacts`); } catch (err) {
    root.appendChild(el("div", { class: "empty error" }, err.message));
    return null;
  }
  root.appendChild(el("div", { class: "page-head" }, el("h1", {}, "Artifacts"), tagChip(project),
    el("span", { class: "spacer" }), el("a", { class: "btn", href: `#/project/${enc(project)}` }, "Runs")));
  if (!list.length) {
    root.appendChild(el("div", { class: "empty big" }, "No artifacts in this project yet: log one with seetrain.log_artifact(path, name=..., type=...)."));
    return null;
  }
  const wanted = query.get("name") || list[0].name;
  const versionsSlot = el("div", { class: "artifact-versions" });
  const detailSlot = el("div", { class: "artifact-detail" });
  const rows = list.map((a) => el("tr", { dataset: { artifact: a.name }, class: "clickable", onclick: () => choose(a.name) },
    el("td", { class: "name" }, a.name), el("td", {}, el("span", { class: "chip fw" }, a.type)),
    el("td", {}, String(a.versions.length)), el("td", {}, fmtBytes(a.size)),
    el("td", {}, Object.entries(a.aliases).sort().map(([al, v]) => el("span", { class: "chip alias" }, `${al}→${v}`)))));
  root.appendChild(card(`Artifacts (${list.length})`, table("artifacts", ["Name", "Type", "Versions", "Size", "Aliases"], rows)));
  root.append(versionsSlot, detailSlot);

  let current = 0;
  async function choose(name, version) {
    const token = ++current;
    for (const r of rows) r.classList.toggle("selected", r.dataset.artifact === name);
    let versions;
    try { versions = await get(`/projects/${enc(project)}/artifacts/${enc(name)}/versions`); } catch (err) {
      versionsSlot.replaceChildren(el("div", { class: "empty error" }, err.message)); return;
    }
    if (token !== current) return;
    const vrows = versions.slice().reverse().map((v) => el("tr", { dataset: { version: v.version }, class: "clickable",
      onclick: () => { history.replaceState(null, "", versionHref(project, name, v.version)); showVersion(name, v.version); } },
      el("td", { class: "version" }, v.version), el("td", {}, aliasChips(v.aliases)), el("td", {}, fmtBytes(v.size)),
      el("td", {}, String(v.file_count)), el("td", {}, fmtTime(v.created_at)),
      el("td", {}, v.created_by ? runLink(project, v.created_by) : "–"),
      el("td", {}, v.used_by.length ? v.used_by.map((u) => runLink(project, u.run_id)) : "–")));
    versionsSlot.replaceChildren(card(`${name}: versions (${versions.length})`,
      table("versions", ["Version", "Aliases", "Size", "Files", "Created", "Created by", "Used by"], vrows)));
    showVersion(name, version || versions[versions.length - 1].version);
  }
  async function showVersion(name, version) {
    const token = ++current;
    for (const r of versionsSlot.querySelectorAll("tr[data-version]")) r.classList.toggle("selected", r.dataset.version === version);
    try {
      const v = await get(`/projects/${enc(project)}/artifacts/${enc(name)}/${enc(version)}`);
      if (token === current) detailSlot.replaceChildren(versionDetail(project, v));
    } catch (err) { detailSlot.replaceChildren(el("div", { class: "empty error" }, err.message)); }
  }
  await choose(wanted, query.get("v"));
  return null;
}

/** The run page's Artifacts tab: versions this run created and used. */
export function runArtifactsPane(project, runId) {
  const box = el("div", { class: "run-artifacts" }, empty("Loading artifacts…"));
  const rowsOf = (list) => list.map((v) => el("tr", { dataset: { artifact: v.name, version: v.version } },
    el("td", {}, el("a", { href: versionHref(project, v.name, v.version) }, `${v.name}:${v.version}`)),
    el("td", {}, el("span", { class: "chip fw" }, v.type)), el("td", {}, aliasChips(v.aliases)),
    el("td", {}, fmtBytes(v.size)), el("td", {}, String(v.file_count))));
  const headers = ["Artifact", "Type", "Aliases", "Size", "Files"];
  get(`/runs/${enc(project)}/${enc(runId)}/artifacts`).then(({ created, used }) => {
    box.replaceChildren(
      card(`Created (${created.length})`, created.length ? table("run-created", headers, rowsOf(created)) : empty("This run logged no artifacts.")),
      card(`Used (${used.length})`, used.length ? table("run-used", headers, rowsOf(used)) : empty("This run used no artifacts.")));
  }).catch((err) => box.replaceChildren(el("div", { class: "empty error" }, err.message)));
  return box;
}
