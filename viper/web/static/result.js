// One backtest result (/backtester/results/{id}): its figures, equity and drawdown charts, and
// its trades.
import { get } from "./api.js";
import { guarded } from "./banner.js";
import { DOWN, areaSeries, emptyNote, makeChart, toTime } from "./charts.js";
import { $, el, money, num, pct, price, signed, stat, table, time, tone } from "./dom.js";

const TRADES_SHOWN = 500;
const charts = [];

/** Shows result `id`; resolves once its charts are drawn. */
export async function showResult(id) {
  await guarded(async () => {
    const r = await get(`/backtester/results/${encodeURIComponent(id)}`);
    $("result-title").textContent =
      `${r.strategy} · ${r.symbols.join(", ")} · ${r.timeframe} · ${r.period.start.slice(0, 10)} → ${r.period.end.slice(0, 10)}`;
    $("result").dataset.resultId = r.backtest_id;
    $("result-none").hidden = true;
    $("result-view").hidden = false;
    $("result-stats").replaceChildren(
      stat("Final capital", money(r.final_capital)),
      stat("Return", pct(r.total_return, 2), tone(r.total_return)),
      stat("Max drawdown", pct(r.max_drawdown, 2), "down"),
      stat("Trades", String(r.total_trades)),
      stat("Win rate", pct(r.win_rate)),
      stat("Sharpe", num(r.sharpe_ratio, 2)),
      stat("Profit factor", num(r.profit_factor, 2)),
      stat("Fees", money(r.total_fees)),
    );
    await drawCurves(r.equity_curve);
    drawTrades(r.trades);
  }, `result ${id}`);
}

/** Points with strictly rising times, as the charts need them. */
function points(timestamps, values, scale = 1) {
  const out = [];
  for (let i = 0; i < timestamps.length; i += 1) {
    const t = toTime(timestamps[i]);
    const point = { time: t, value: values[i] * scale };
    if (out.length && out.at(-1).time >= t) out[out.length - 1] = point;
    else out.push(point);
  }
  return out;
}

async function drawCurves(curve) {
  while (charts.length) charts.pop().remove();
  const equity = await makeChart($("result-equity"), {}, { fit: true });
  const drawdown = await makeChart($("result-drawdown"), {}, { fit: true });
  if (!equity || !drawdown) return;
  charts.push(equity.chart, drawdown.chart);
  areaSeries(equity, "#79c0ff").setData(points(curve.timestamps, curve.equity));
  areaSeries(drawdown, DOWN, { priceFormat: { type: "percent" } })
    .setData(points(curve.timestamps, curve.drawdown, -100));
  equity.chart.timeScale().fitContent();
  drawdown.chart.timeScale().fitContent();
  if (!curve.timestamps.length) emptyNote($("result-equity"), "no equity curve");
}

function drawTrades(trades) {
  const shown = trades.slice(0, TRADES_SHOWN);
  const note = trades.length > shown.length ? `first ${shown.length} of ${trades.length} trades` : "";
  $("result-trades").replaceChildren(
    table([
      ["Symbol", (t) => t.symbol],
      ["Side", (t) => el("span", { class: t.side === "long" ? "up" : "down", text: t.side })],
      ["Entry", (t) => time(t.entry_ms)],
      ["Exit", (t) => time(t.exit_ms)],
      ["Entry price", (t) => price(t.entry_price), "num"],
      ["Exit price", (t) => price(t.exit_price), "num"],
      ["Size", (t) => num(t.size, 4), "num"],
      ["Net PnL", (t) => el("span", { class: tone(t.net_pnl), text: signed(t.net_pnl) }), "num"],
      ["Exit reason", (t) => t.exit_reason],
    ], shown, { empty: "no trades in this backtest" }),
    note ? el("p", { class: "muted", text: note }) : "",
  );
}
