// The run's captured console: stdout, stderr and logging lines with their timestamps, a text and
// stream filter, and "follow" for a running run (only lines after the last seq are fetched).
// Memory and DOM are bounded: the newest KEEP lines are kept, the newest SHOW matching ones drawn.
import { api } from "./api.js";
import { el, fmtNum, download } from "./util.js";

const PAGE = 5000;   // lines per request
const KEEP = 20000;  // lines kept in memory
const SHOW = 3000;   // lines in the DOM at most
const STREAM_TAG = { stdout: "out", stderr: "err", logging: "log" };

const CLOCK = new Intl.DateTimeFormat(undefined, { hour12: false, hour: "2-digit", minute: "2-digit", second: "2-digit" });
const STAMP = new Intl.DateTimeFormat(undefined, { dateStyle: "short", timeStyle: "medium" });
const clock = (ts) => CLOCK.format(new Date(ts * 1000));

export class ConsoleView {
  constructor(project, run) {
    Object.assign(this, { project, run });
    this.lines = [];
    this.dropped = 0;       // lines older than the KEEP window
    this.after = 0;         // seq of the newest line fetched
    this.started = false;
    this.busy = null;
    this.filter = "";
    this.stream = "";
    this.out = el("div", { class: "console", role: "log", "aria-live": "off", onscroll: () => this.onScroll() });
    this.notice = el("div", { class: "console-notice", hidden: true });
    this.count = el("span", { class: "muted console-count" }, "loading…");
    this.follow = el("input", { type: "checkbox", class: "console-follow", checked: true,
      onchange: () => { if (this.follow.checked) this.scrollToEnd(); } });
    this.showTs = el("input", { type: "checkbox", class: "console-ts", checked: true,
      onchange: () => this.out.classList.toggle("no-ts", !this.showTs.checked) });
    const filter = el("input", { type: "search", class: "console-filter", placeholder: "Filter lines…",
      oninput: (e) => { this.filter = e.target.value.toLowerCase(); this.redraw(); } });
    const streams = el("select", { class: "console-stream", "aria-label": "stream",
      onchange: (e) => { this.stream = e.target.value; this.redraw(); } },
      el("option", { value: "" }, "All streams"), ...["stdout", "stderr", "logging"].map((s) => el("option", { value: s }, s)));
    this.el = el("section", { class: "card console-card" },
      el("div", { class: "console-bar" }, filter, streams,
        el("label", { class: "toggle" }, this.showTs, "timestamps"),
        el("label", { class: "toggle", title: "keep the newest line in view" }, this.follow, "follow"),
        el("span", { class: "spacer" }), this.count,
        el("button", { class: "btn", onclick: () => this.download() }, "Download")),
      this.notice, this.out);
  }

  /** First fetch when the tab is opened: page through everything logged so far. */
  start() {
    if (this.started) return;
    this.started = true;
    this.poll();
  }

  /** Fetch the lines after the newest one shown (one request unless a page came back full). */
  poll() {
    if (!this.busy) this.busy = this.fetch().finally(() => { this.busy = null; });
    return this.busy;
  }

  async fetch() {
    const fresh = [];
    for (;;) {
      let page;
      try { page = await api.console(this.project, this.run.id, this.after, PAGE); } catch (err) {
        this.count.textContent = err.message;
        return;
      }
      if (!page.length) break;
      this.after = page[page.length - 1].seq;
      fresh.push(...page);
      if (fresh.length > KEEP) { this.dropped += fresh.length - KEEP; fresh.splice(0, fresh.length - KEEP); }
      if (page.length < PAGE) break;
    }
    this.add(fresh);
  }

  add(fresh) {
    this.lines.push(...fresh);
    if (this.lines.length > KEEP) { this.dropped += this.lines.length - KEEP; this.lines.splice(0, this.lines.length - KEEP); }
    const shown = fresh.filter((l) => this.matches(l));
    if (shown.length && this.out.childElementCount + shown.length <= SHOW && !this.out.querySelector(".console-empty")) {
      this.out.append(...shown.map((l) => this.row(l)));  // the usual live case: append, no redraw
      this.updateCounts();
      if (this.follow.checked) this.scrollToEnd();
    } else if (fresh.length || !this.out.childElementCount) {
      this.redraw();
    }
  }

  matches(line) {
    return (!this.stream || line.stream === this.stream) && (!this.filter || line.line.toLowerCase().includes(this.filter));
  }

  row(line) {
    const tag = STREAM_TAG[line.stream] || line.stream;
    const text = el("span", { class: "cl-text" });
    if (this.filter) {
      // Highlight matches with <mark> nodes; the text itself stays text.
      const low = line.line.toLowerCase();
      let at = 0;
      for (let i = low.indexOf(this.filter); i >= 0; i = low.indexOf(this.filter, at)) {
        text.append(line.line.slice(at, i), el("mark", {}, line.line.slice(i, i + this.filter.length)));
        at = i + this.filter.length;
      }
      text.append(line.line.slice(at));
    } else {
      text.textContent = line.line;
    }
    const offset = line.timestamp - this.run.created_at;
    return el("div", { class: `cl ${line.stream}` },
      el("span", { class: "cl-ts", title: `${STAMP.format(new Date(line.timestamp * 1000))} · +${offset.toFixed(2)} s` }, clock(line.timestamp)),
      el("span", { class: "cl-src" }, tag), text);
  }

  redraw() {
    const matching = this.lines.filter((l) => this.matches(l));
    const shown = matching.slice(-SHOW);
    if (shown.length) this.out.replaceChildren(...shown.map((l) => this.row(l)));
    else this.out.replaceChildren(el("div", { class: "console-empty" },
      this.lines.length ? "No line matches." : "No console output captured."));
    const hidden = matching.length - shown.length + (this.filter || this.stream ? 0 : this.dropped);
    this.notice.hidden = hidden <= 0;
    this.notice.textContent = `${fmtNum(hidden)} earlier lines are not shown; download or narrow the filter to see them.`;
    this.updateCounts(matching.length);
    if (this.follow.checked) this.scrollToEnd();
  }

  updateCounts(matching) {
    const total = this.lines.length + this.dropped;
    const errs = this.lines.filter((l) => l.stream === "stderr").length;
    const parts = [`${fmtNum(total)} lines`];
    if (errs) parts.push(`${fmtNum(errs)} stderr`);
    if ((this.filter || this.stream) && matching !== undefined) parts.unshift(`${fmtNum(matching)} matching`);
    this.count.textContent = parts.join(" · ");
  }

  scrollToEnd() { this.out.scrollTop = this.out.scrollHeight; }

  onScroll() {
    // Scrolling up to read stops following; scrolling back to the end resumes it.
    const atEnd = this.out.scrollHeight - this.out.scrollTop - this.out.clientHeight < 24;
    if (this.follow.checked !== atEnd) this.follow.checked = atEnd;
  }

  download() {
    const text = this.lines.map((l) => `${new Date(l.timestamp * 1000).toISOString()} ${l.stream}\t${l.line}`).join("\n");
    download(`${this.run.name || this.run.id}-console.txt`.replace(/[^\w.-]+/g, "_"), new Blob([text + "\n"], { type: "text/plain" }));
  }

  destroy() { this.lines = []; }
}
