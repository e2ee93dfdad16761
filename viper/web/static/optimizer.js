// Optimizer: recent jobs (/optimizer/optimize), one job's top trials (/optimizer/results/{id})
// and the best stored parameters (/optimizer/parameters). "Not available" until those exist.
import { get } from "./api.js";
import { guarded } from "./banner.js";
import { $, el, num, pct, table, time, unavailable } from "./dom.js";

const REFRESH_MS = 10000;
let selected = null;

export async function mount() {
  setInterval(load, REFRESH_MS);
  await load();
}

const params = (p) => (p ? Object.entries(p).map(([k, v]) => `${k}=${typeof v === "number" ? num(v, 3) : v}`).join(" ") : "–");

async function load() {
  await guarded(async () => {
    let jobs;
    let parameters;
    try {
      [jobs, parameters] = await Promise.all([get("/optimizer/optimize"), get("/optimizer/parameters")]);
    } catch (error) {
      if (!error.unavailable && error.status !== 405) throw error;
      unavailable($("optimizer-body"), error);
      return;
    }
    const body = $("optimizer-body");
    body.replaceChildren(
      table([
        ["Created", (j) => time(j.created_ms)],
        ["Method", (j) => j.method],
        ["Strategy", (j) => j.strategy],
        ["Symbols", (j) => (j.symbols || []).join(", ")],
        ["Objective", (j) => j.objective],
        ["State", (j) => (j.state === "running" ? `running ${pct(j.progress, 0)}` : j.state)],
      ], jobs.jobs || [], {
        empty: "no optimization jobs yet (start one with POST /optimizer/optimize or `viper optimize`)",
        selected: (j) => j.id === selected,
        onpick: (j) => {
          selected = j.id;
          showJob(j.id);
        },
      }),
      el("h3", { text: "Best stored parameters" }),
      table([
        ["Strategy", (b) => b.strategy],
        ["Symbol", (b) => b.symbol],
        ["Objective", (b) => `${b.objective} ${num(b.value, 3)}`],
        ["Parameters", (b) => params(b.params)],
      ], parameters.best || [], { empty: "none stored yet" }),
      el("div", { id: "optimizer-job" }),
    );
    if (selected) await showJob(selected);
  }, "optimizer");
}

async function showJob(id) {
  await guarded(async () => {
    let result;
    try {
      result = await get(`/optimizer/results/${encodeURIComponent(id)}`);
    } catch (error) {
      if (error.status !== 404) throw error;
      $("optimizer-job").replaceChildren(el("p", { class: "muted", text: "no result yet for this job" }));
      return;
    }
    $("optimizer-job").replaceChildren(
      el("h3", { text: `Top trials of ${id.slice(0, 12)}… (${result.valid_trials}/${result.trials} valid)` }),
      el("p", { text: `best ${result.objective} ${num(result.best_value, 3)}: ${params(result.best_params)}` }),
      table([
        ["#", (t) => t.number, "num"],
        ["Value", (t) => num(t.value, 3), "num"],
        ["Return", (t) => pct(t.figures?.total_return, 2), "num"],
        ["Max DD", (t) => pct(t.figures?.max_drawdown, 2), "num"],
        ["Trades", (t) => t.figures?.total_trades ?? "–", "num"],
        ["Parameters", (t) => params(t.params)],
      ], result.top || []),
    );
  }, `optimizer job ${id}`);
}
