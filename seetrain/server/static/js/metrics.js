// What the dashboard knows about metric keys: system monitor keys (sys/...), their units and
// names, and the per-layer / per-head keys of seetrain.watch and seetrain.watch_attention.
import { fmtNum } from "./util.js";

export const isSysKey = (key) => key.startsWith("sys/");

// Per-parameter norms of seetrain.watch and per-head statistics of watch_attention (the same
// split `seetrain compare` makes): folded under their group's total / per-layer charts.
const DETAIL = /^(gradients|parameters)\/norm\/(?!total$)|^attention\/.*\/head\d+\//;
export const isDetailKey = (key) => DETAIL.test(key);

/** The unit of a system metric, from its key's suffix ("" when unknown or not a sys/ key). */
export function unitOf(key) {
  if (!isSysKey(key)) return "";
  if (/(percent|utilization)$/.test(key)) return "%";
  if (/_mb_s$/.test(key)) return "MB/s";
  if (/_mb$/.test(key)) return "MB";
  if (/temperature_c$/.test(key)) return "°C";
  if (/power_w$/.test(key)) return "W";
  return "";
}

/** A value with its unit: MB become GB past 1024, MB/s become KB/s below 1. */
export function fmtUnit(v, unit, digits = 4) {
  if (v === null || v === undefined || typeof v !== "number" || !Number.isFinite(v)) return fmtNum(v, digits);
  switch (unit) {
    case "%": return `${fmtNum(v, digits)}%`;
    case "MB": return Math.abs(v) >= 1024 ? `${fmtNum(v / 1024, digits)} GB` : `${fmtNum(v, digits)} MB`;
    case "MB/s":
      if (v === 0) return "0";
      return Math.abs(v) < 1 ? `${fmtNum(v * 1024, digits)} KB/s` : `${fmtNum(v, digits)} MB/s`;
    case "°C": return `${fmtNum(v, digits)} °C`;
    case "W": return `${fmtNum(v, digits)} W`;
    default: return fmtNum(v, digits);
  }
}

/** The unit a chart's axis is drawn in: MB become GB when the values reach 1024 MB, MB/s become
 * KB/s when they all stay under 1 MB/s, so the ticks are round numbers in the unit shown. */
export function displayScale(unit, maxAbs) {
  if (unit === "MB" && maxAbs >= 1024) return { unit: "GB", factor: 1 / 1024 };
  if (unit === "MB/s" && maxAbs < 1) return { unit: "KB/s", factor: 1024 };
  return { unit, factor: 1 };
}

/** A value already in a display unit: "42%", "3.1 GB", "0.5"; no unit given, no suffix. */
export function fmtScaled(v, unit, digits = 4) {
  const n = fmtNum(v, digits);
  if (!unit || typeof v !== "number" || !Number.isFinite(v)) return n;
  return unit === "%" ? `${n}%` : `${n} ${unit}`;
}

const SYS_NAMES = {
  "sys/cpu_percent": "CPU utilisation",
  "sys/memory_percent": "Memory utilisation",
  "sys/memory_used_mb": "Memory used",
  "sys/proc/cpu_percent": "Process CPU (per core)",
  "sys/proc/memory_rss_mb": "Process memory (RSS)",
  "sys/proc/threads": "Process threads",
  "sys/host/cpu_percent": "Host CPU utilisation",
  "sys/host/memory_percent": "Host memory utilisation",
  "sys/disk/read_mb_s": "Disk read",
  "sys/disk/write_mb_s": "Disk write",
  "sys/disk/used_percent": "Disk space used",
  "sys/net/recv_mb_s": "Network received",
  "sys/net/sent_mb_s": "Network sent",
};
const GPU_NAMES = {
  utilization: "utilisation", memory_utilization: "memory bandwidth", memory_used_mb: "memory used",
  memory_percent: "memory used", temperature_c: "temperature", power_w: "power",
};

/** A readable name for the chart title (the key itself stays in the tooltip). */
export function metricLabel(key) {
  if (SYS_NAMES[key]) return SYS_NAMES[key];
  const gpu = /^sys\/gpu\/(\d+)\/(.+)$/.exec(key);
  if (gpu) return `GPU ${gpu[1]} ${GPU_NAMES[gpu[2]] || gpu[2]}`;
  return key;
}

const GROUP_NAMES = { sys: "System", gradients: "Gradients", parameters: "Parameters", attention: "Attention" };
export const groupLabel = (group) => GROUP_NAMES[group] || group;

// The order a system section reads best in: the container first, then the process, the
// accelerators, the host, I/O.
const SYS_ORDER = ["sys/cpu_percent", "sys/memory_used_mb", "sys/memory_percent", "sys/proc/cpu_percent",
  "sys/proc/memory_rss_mb", "sys/gpu/", "sys/host/cpu_percent", "sys/host/memory_percent", "sys/disk/read_mb_s",
  "sys/disk/write_mb_s", "sys/net/recv_mb_s", "sys/net/sent_mb_s", "sys/disk/used_percent", "sys/proc/threads"];
export function sysOrder(keys) {
  const rank = (k) => {
    const i = SYS_ORDER.findIndex((p) => (p.endsWith("/") ? k.startsWith(p) : k === p));
    return i < 0 ? SYS_ORDER.length : i;
  };
  return [...keys].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}
