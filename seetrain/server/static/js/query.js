// The runs search: a small query language over a run's name, tags, config and metrics.
//
//   lr>=1e-3 and optimizer=adam        both must hold ("and" is also implied by a space)
//   optimizer=adam or optimizer=sgd    either ("or" binds weaker than "and")
//   loss<0.3                           a metric's last value (summary), compared as a number
//   tag=baseline  status=crashed  name~cosine  group=bs64  notes~retry
//   -tag=old / not tag=old             negation
//   cosine                             a bare word: in the name, id, tags, notes or any config value
//
// Operators: = != > >= < <= ~ (contains). Values compare as numbers when both sides are numbers
// (1e-3 = 0.001), else as text (case-insensitive for = != ~). Quotes keep spaces: name~"lr 0.1".

const OPS = [">=", "<=", "!=", "=", ">", "<", "~"];
const FIELDS = new Set(["name", "id", "tag", "tags", "status", "group", "notes", "framework", "description"]);

function tokenize(text) {
  const out = [];
  const re = /\s*(\(|\)|"[^"]*"|[^\s()"]+(?:"[^"]*")?)/g;
  let m;
  while ((m = re.exec(text)) !== null) if (m[1]) out.push(m[1]);
  return out;
}

function parseTerm(tok) {
  let neg = false;
  if (tok.startsWith("-") && tok.length > 1 && !/^-[\d.]/.test(tok)) { neg = true; tok = tok.slice(1); }
  // The first place an operator starts (after a key of at least one character); the longest
  // operator there (">=" before ">").
  for (let j = 1; j < tok.length; j++) {
    if (tok[j] === '"') break;
    const op = OPS.find((o) => tok.startsWith(o, j));
    if (!op) continue;
    let value = tok.slice(j + op.length);
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1);
    return { key: tok.slice(0, j), op, value, neg };
  }
  if (tok.startsWith('"') && tok.endsWith('"') && tok.length >= 2) tok = tok.slice(1, -1);
  return { word: tok.toLowerCase(), neg };
}

/** Parse query text into [[term, ...], ...]: an OR of ANDs. Never throws. */
export function parseQuery(text) {
  const groups = [[]];
  let negNext = false;
  for (const tok of tokenize(text || "")) {
    const low = tok.toLowerCase();
    if (low === "and" || low === "&&" || tok === "(" || tok === ")") continue;
    if (low === "or" || low === "||") { if (groups[groups.length - 1].length) groups.push([]); continue; }
    if (low === "not") { negNext = true; continue; }
    const term = parseTerm(tok);
    if (negNext) { term.neg = !term.neg; negNext = false; }
    groups[groups.length - 1].push(term);
  }
  return groups.filter((g) => g.length);
}

const isNum = (v) => typeof v === "number" || (typeof v === "string" && v.trim() !== "" && Number.isFinite(Number(v)));

function compare(actual, op, want) {
  if (actual === undefined || actual === null) return op === "!=";
  if (Array.isArray(actual)) return op === "!=" ? actual.every((a) => compare(a, op, want)) : actual.some((a) => compare(a, op, want));
  if (typeof actual === "boolean") actual = String(actual);
  if (isNum(actual) && isNum(want) && op !== "~") {
    const a = Number(actual), b = Number(want);
    switch (op) {
      case "=": return a === b;
      case "!=": return a !== b;
      case ">": return a > b;
      case ">=": return a >= b;
      case "<": return a < b;
      case "<=": return a <= b;
    }
  }
  const a = String(actual).toLowerCase(), b = String(want).toLowerCase();
  switch (op) {
    case "=": return a === b;
    case "!=": return a !== b;
    case "~": return a.includes(b);
    case ">": return a > b;
    case ">=": return a >= b;
    case "<": return a < b;
    case "<=": return a <= b;
  }
  return false;
}

function valueOf(run, key) {
  if (FIELDS.has(key)) return key === "tag" || key === "tags" ? run.tags : run[key];
  if (key in (run.config || {})) return run.config[key];
  const s = (run.summary || {})[key];
  if (s) return s.last;
  if (key.startsWith("config.") && key.slice(7) in (run.config || {})) return run.config[key.slice(7)];
  return undefined;
}

function termHolds(run, t) {
  let ok;
  if (t.word !== undefined) {
    const hay = [run.name, run.id, run.description, run.notes, run.framework, run.group, ...(run.tags || []),
      ...Object.values(run.config || {}).map(String)].join(" ").toLowerCase();
    ok = hay.includes(t.word);
  } else {
    ok = compare(valueOf(run, t.key), t.op, t.value);
  }
  return t.neg ? !ok : ok;
}

/** Does `run` (a /runs item) match the query text? An empty query matches everything. */
export function matchesQuery(run, text) {
  const groups = typeof text === "string" ? parseQuery(text) : text;
  if (!groups.length) return true;
  return groups.some((g) => g.every((t) => termHolds(run, t)));
}
