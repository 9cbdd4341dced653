// Hash routing: #/projects, #/project/NAME, #/run/PROJECT/ID, #/compare/PROJECT?runs=a,b.
// Each page is `render(root, params) -> dispose()`; dispose stops its timers and charts.

const routes = [];
let dispose = null;

export function route(pattern, render) {
  const names = [];
  const re = new RegExp("^" + pattern.replace(/:(\w+)/g, (_, n) => { names.push(n); return "([^/?]+)"; }) + "$");
  routes.push({ re, names, render });
}

export function parse(hash) {
  const raw = (hash || "").replace(/^#/, "") || "/projects";
  const [path, qs] = raw.split("?");
  return { path, query: new URLSearchParams(qs || "") };
}

export function navigate(hash) {
  if (location.hash === hash) render(); else location.hash = hash;
}

export async function render() {
  const root = document.getElementById("app");
  const { path, query } = parse(location.hash);
  if (dispose) { try { dispose(); } catch (e) { console.error(e); } dispose = null; }
  for (const r of routes) {
    const m = r.re.exec(path);
    if (!m) continue;
    const params = Object.fromEntries(r.names.map((n, i) => [n, decodeURIComponent(m[i + 1])]));
    root.replaceChildren();
    const token = {};
    render.current = token;
    const d = await r.render(root, params, query);
    if (render.current === token) dispose = d || null; else if (d) d();
    return;
  }
  location.hash = "#/projects";
}

export function start() {
  window.addEventListener("hashchange", render);
  render();
}
