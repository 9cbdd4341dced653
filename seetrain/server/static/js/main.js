// Entry point: routes and breadcrumbs.
import { route, start, parse } from "./router.js";
import { renderProjects, renderProject } from "./runs_table.js";
import { renderRun } from "./run_page.js";
import { renderCompare } from "./compare.js";
import { renderArtifacts } from "./artifacts.js";
import { el } from "./util.js";

function crumbs() {
  const nav = document.getElementById("crumbs");
  const { path } = parse(location.hash);
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  const items = [el("a", { href: "#/projects" }, "Projects")];
  if (parts.length >= 2 && parts[0] !== "projects") {
    items.push(el("a", { href: `#/project/${encodeURIComponent(parts[1])}` }, parts[1]));
    if (parts[0] === "run" && parts[2]) items.push(el("span", {}, parts[2]));
    if (parts[0] === "compare") items.push(el("span", {}, "compare"));
    if (parts[0] === "artifacts") items.push(el("span", {}, "artifacts"));
  }
  nav.replaceChildren(...items.flatMap((it, i) => (i ? [el("span", { class: "sep" }, "/"), it] : [it])));
}

route("/projects", renderProjects);
route("/project/:project", renderProject);
route("/run/:project/:id", renderRun);
route("/compare/:project", renderCompare);
route("/artifacts/:project", renderArtifacts);
window.addEventListener("hashchange", crumbs);
crumbs();
start();
