// Entry point: routes and breadcrumbs.
import { route, start, parse, render } from "./router.js";
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

// Esc closes any open picker (columns, manage menu) and returns focus to its button.
document.addEventListener("keydown", (e) => {
  if (e.key !== "Escape") return;
  for (const d of document.querySelectorAll("details.picker[open]")) {
    d.open = false;
    d.querySelector("summary")?.focus();
  }
});
// Clicking outside an open picker closes it too.
document.addEventListener("click", (e) => {
  for (const d of document.querySelectorAll("details.picker[open]")) if (!d.contains(e.target)) d.open = false;
});

// Dark mode: the system's preference unless the toggle chose one (kept in localStorage).
function applyTheme(theme) {
  document.documentElement.dataset.theme = theme;
  const btn = document.getElementById("theme");
  if (btn) { btn.textContent = theme === "dark" ? "☀" : "☾"; btn.setAttribute("aria-pressed", String(theme === "dark")); }
}
const savedTheme = localStorage.getItem("seetrain_theme");
applyTheme(savedTheme || (window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light"));
document.getElementById("theme")?.addEventListener("click", () => {
  const next = document.documentElement.dataset.theme === "dark" ? "light" : "dark";
  localStorage.setItem("seetrain_theme", next);
  applyTheme(next);
  render();  // charts pick their grid colours when drawn
});

route("/projects", renderProjects);
route("/project/:project", renderProject);
route("/run/:project/:id", renderRun);
route("/compare/:project", renderCompare);
route("/artifacts/:project", renderArtifacts);
window.addEventListener("hashchange", crumbs);
crumbs();
start();
