// Logs: full-text search (/logger/search) and, when ticked, a live tail (/logger/stream, SSE)
// with the same filters.
import { get, withQuery } from "./api.js";
import { guarded, showError } from "./banner.js";
import { $, el, unavailable } from "./dom.js";

const PAGE = 100;
const KEPT = 500;
let tail = null;

export function mount() {
  const form = $("log-form");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    search();
  });
  $("log-live").addEventListener("change", () => (($("log-live").checked) ? startTail() : stopTail()));
  return search();
}

function filters() {
  const data = new FormData($("log-form"));
  return { q: data.get("q").trim(), level: data.get("level"), module: data.get("module").trim() };
}

function line(r) {
  return el("div", { class: `log-line lvl-${r.level}` },
    `${r.ts.slice(0, 23)} ${r.level.padEnd(8)} ${r.module.padEnd(10)} ${r.message}`,
    r.exception ? `\n${r.exception}` : "");
}

async function search() {
  await guarded(async () => {
    let page;
    try {
      page = await get(withQuery("/logger/search", { ...filters(), limit: PAGE }));
    } catch (error) {
      if (!error.unavailable) throw error;
      unavailable($("logs-body"), error);
      return;
    }
    const body = $("logs-body");
    body.replaceChildren(...page.records.map(line));
    if (!page.records.length) body.append(el("p", { class: "muted", text: "no matching records" }));
    if ($("log-live").checked) startTail();
  }, "log search");
}

function startTail() {
  stopTail();
  tail = new EventSource(withQuery("/logger/stream", filters()));
  tail.addEventListener("log", (event) => {
    const body = $("logs-body");
    body.querySelector("p.muted")?.remove();
    body.prepend(line(JSON.parse(event.data)));
    while (body.childElementCount > KEPT) body.lastElementChild.remove();
  });
  tail.onerror = () => {
    if (tail?.readyState === EventSource.CLOSED) {
      showError(new Error("the live log tail was refused (see /logger/stream)"), "logs");
      $("log-live").checked = false;
      stopTail();
    }
  };
}

function stopTail() {
  tail?.close();
  tail = null;
}
