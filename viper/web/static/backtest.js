// Backtests: a launcher (POST /api/backtest/start), the job's progress, and the stored results
// (/backtester/results); picking one shows it in the result panel.
import { get, post } from "./api.js";
import { guarded, showError } from "./banner.js";
import { $, el, num, pct, table, time, tone, unavailable } from "./dom.js";
import { showResult } from "./result.js";

const POLL_MS = 500;
let selected = null;

export async function mount() {
  $("backtest-form").addEventListener("submit", launch);
  await Promise.all([fillDefaults(), loadResults()]);
}

const day = (ms) => new Date(ms).toISOString().slice(0, 10);

/** Offers the stored candles: the first dataset's symbol, timeframe and whole range. */
async function fillDefaults() {
  await guarded(async () => {
    let datasets = [];
    try {
      datasets = (await get("/data/data")).datasets.filter((d) => d.timeframe && !d.error);
    } catch (error) {
      if (!error.unavailable) throw error;
    }
    const note = $("backtest-datasets");
    if (!datasets.length) {
      note.textContent = "No stored candles yet: import or download some (viper data import | download).";
      return;
    }
    const first = datasets[0];
    const form = $("backtest-form");
    const same = datasets.filter((d) => d.timeframe === first.timeframe && d.exchange === first.exchange);
    form.symbols.value ||= same.map((d) => d.symbol).slice(0, 3).join(",");
    form.timeframe.value ||= first.timeframe;
    form.start_date.value ||= day(first.first_ms);
    form.end_date.value ||= day(first.last_ms + 86_400_000);
    note.textContent = `Stored: ${datasets.map((d) => `${d.symbol} ${d.timeframe} (${day(d.first_ms)} → ${day(d.last_ms)})`).join("; ")}`;
  }, "datasets");
}

function requestBody(form) {
  const body = {
    symbols: form.symbols.value.split(",").map((s) => s.trim()).filter(Boolean),
    start_date: form.start_date.value,
    end_date: form.end_date.value,
    strategy: form.strategy.value.trim() || "viper",
  };
  if (form.timeframe.value.trim()) body.timeframe = form.timeframe.value.trim();
  if (form.initial_capital.value) body.initial_capital = Number(form.initial_capital.value);
  if (form.score_threshold.value) body.score_threshold = Number(form.score_threshold.value);
  return body;
}

async function launch(event) {
  event.preventDefault();
  const button = event.target.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    await guarded(async () => {
      const started = await post("/api/backtest/start", requestBody(event.target));
      const job = await follow(started.backtest_id);
      if (job.state === "done" && job.result_id) {
        selected = job.result_id;
        await Promise.all([showResult(job.result_id), loadResults()]);
      } else if (job.state === "failed") {
        showError(new Error(`${job.field ? `${job.field}: ` : ""}${job.error || "failed"}`), `backtest ${job.id}`);
      }
    }, "backtest");
  } finally {
    button.disabled = false;
  }
}

/** Polls the job until it ends, drawing its progress; the final job. */
async function follow(id) {
  for (;;) {
    const job = await get(`/backtester/backtest/${encodeURIComponent(id)}`);
    drawJob(job);
    if (!["queued", "running"].includes(job.state)) return job;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

function drawJob(job) {
  const eta = job.eta_seconds == null ? "" : `, about ${num(job.eta_seconds, 0)} s left`;
  $("backtest-job").replaceChildren(
    el("p", { "data-state": job.state, class: "job" },
      `${job.id.slice(0, 12)}… ${job.state} ${pct(job.progress, 0)}${eta}`),
    el("div", { class: "progress" }, el("i", { style: { width: `${Math.round(job.progress * 100)}%` } })),
  );
}

async function loadResults() {
  await guarded(async () => {
    let page;
    try {
      page = await get("/backtester/results?limit=20");
    } catch (error) {
      if (!error.unavailable) throw error;
      unavailable($("results-body"), error);
      return;
    }
    $("results-body").replaceChildren(table([
      ["Created", (r) => time(r.created_ms)],
      ["Strategy", (r) => r.strategy],
      ["Symbols", (r) => r.symbols.join(", ")],
      ["TF", (r) => r.timeframe],
      ["Return", (r) => el("span", { class: tone(r.total_return), text: pct(r.total_return, 2) }), "num"],
      ["Max DD", (r) => pct(r.max_drawdown, 2), "num"],
      ["Trades", (r) => r.total_trades, "num"],
      ["Sharpe", (r) => num(r.sharpe_ratio, 2), "num"],
    ], page.results, {
      empty: "no stored results yet",
      selected: (r) => r.id === selected,
      onpick: (r) => {
        selected = r.id;
        showResult(r.id);
        loadResults();
      },
    }));
  }, "results");
}
