// VIPER scores: the latest score of each symbol with its four components (volume, price, range,
// external), each 0..100, updated by every live `score` event.
import { get } from "./api.js";
import { guarded } from "./banner.js";
import { $, el, num, shortTime, unavailable } from "./dom.js";

const COMPONENTS = ["volume", "price", "range", "external"];
const latest = new Map(); // "symbol timeframe" -> score view
let threshold = 85;

export async function mount(feed) {
  feed.on("score", (event) => {
    const s = event.score;
    const key = `${event.symbol} ${event.timeframe}`;
    latest.set(key, { ...s, symbol: event.symbol, timeframe: event.timeframe, signal: s.score >= threshold });
    render(key);
  });
  feed.onResync(load);
  await load();
}

async function load() {
  await guarded(async () => {
    try {
      const page = await get("/signal/scores");
      threshold = page.threshold;
      for (const s of page.scores) latest.set(`${s.symbol} ${s.timeframe}`, s);
    } catch (error) {
      if (!error.unavailable) throw error;
      unavailable($("scores-body"), error);
      return;
    }
    $("scores-threshold").textContent = `signal at ≥ ${num(threshold, 0)}`;
    render();
  }, "scores");
}

function bar(value, cls = "") {
  const width = `${Math.max(0, Math.min(100, Number(value) || 0))}%`;
  return el("div", { class: `bar ${cls}` }, el("i", { style: { width } }));
}

function row(s) {
  const long = s.direction === "long";
  return el("div", { class: "score-row", "data-symbol": s.symbol },
    el("div", { class: "score-head" },
      el("strong", { text: s.symbol }),
      el("span", { class: long ? "up" : "down", text: long ? "▲ long" : "▼ short" }),
      el("span", { class: `total ${s.signal ? "signal" : ""}`, "data-score": s.score.toFixed(2), text: num(s.score, 1) })),
    bar(s.score, "total"),
    el("div", { class: "components" },
      COMPONENTS.flatMap((name) => [
        el("span", { class: "muted", text: name }), bar(s[name]), el("span", { class: "num", text: num(s[name], 0) }),
      ])),
    el("div", { class: "muted legend", text: `${s.timeframe} bar ${shortTime(s.ts_ms)} UTC` }));
}

function render(changed) {
  const body = $("scores-body");
  const rows = [...latest.entries()].sort(([a], [b]) => a.localeCompare(b));
  if (!rows.length) {
    body.replaceChildren(el("p", { class: "muted", text: "no scores yet: the first bars are warming up" }));
    return;
  }
  body.replaceChildren(...rows.map(([key, s]) => {
    const node = row(s);
    if (key === changed) node.classList.add("flash");
    return node;
  }));
}
