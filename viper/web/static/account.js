// Account: equity and PnL, marked to every live tick, an equity line for this session, and the
// open positions with their unrealized PnL. REST (/api/portfolio) gives the base; ticks move it.
import { get } from "./api.js";
import { guarded } from "./banner.js";
import { areaSeries, makeChart } from "./charts.js";
import { $, coalesce, el, money, price, signed, stat, table, time, tone, unavailable } from "./dom.js";

const REFRESH_MS = 15000;
let portfolio = null;
let risk = null;
const marks = new Map();
let equityLine = null;

export async function mount(feed) {
  const refresh = coalesce(load, 750);
  feed.on("ticker", (t) => {
    marks.set(t.symbol, t.last);
    render();
  });
  for (const name of ["position", "fill", "kill_switch", "risk_levels"]) feed.on(name, refresh);
  feed.onResync(refresh);
  setInterval(refresh, REFRESH_MS);
  const made = await makeChart($("equity-chart"), { rightPriceScale: { borderColor: "#2d333b" } });
  if (made) equityLine = areaSeries(made, "#7ee787", { priceLineVisible: false });
  await load();
}

async function load() {
  await guarded(async () => {
    try {
      [portfolio, risk] = await Promise.all([get("/api/portfolio"), optional("/api/risk/status")]);
    } catch (error) {
      if (!error.unavailable) throw error;
      unavailable($("account-stats"), error);
      unavailable($("positions-body"), error);
      $("equity-chart").hidden = true;
      portfolio = null;
      return;
    }
    $("equity-chart").hidden = false;
    render();
  }, "account");
}

async function optional(path) {
  try {
    return await get(path);
  } catch (error) {
    if (error.unavailable) return null;
    throw error;
  }
}

/** A position marked to the last tick: its unrealized PnL moves with the price. */
function marked(p) {
  const mark = marks.get(p.symbol) ?? p.mark_price ?? Number(p.entry_price);
  const side = p.direction === "long" ? 1 : -1;
  const unrealized = Number(p.size) * (mark - Number(p.entry_price)) * side;
  return { ...p, mark, unrealized };
}

function render() {
  if (!portfolio) return;
  const positions = portfolio.positions.map(marked);
  const unrealized = positions.reduce((sum, p) => sum + p.unrealized, 0);
  const equity = portfolio.equity - portfolio.unrealized_pnl + unrealized;
  $("account-stats").replaceChildren(
    stat("Equity", money(equity)),
    stat("Unrealized PnL", signed(unrealized), tone(unrealized)),
    stat("Realized PnL", signed(portfolio.realized_pnl), tone(portfolio.realized_pnl)),
    stat("Daily PnL", risk ? signed(risk.daily_pnl) : "–", tone(risk?.daily_pnl)),
    stat("Free margin", money(portfolio.free_margin)),
    stat("Exposure", money(portfolio.exposure)),
    stat("Positions", String(positions.length)),
  );
  $("account-updated").textContent = `as of ${time(Date.now())} UTC`;
  equityLine?.update({ time: Math.floor(Date.now() / 1000), value: equity });
  $("positions-body").replaceChildren(table([
    ["Symbol", (p) => p.symbol],
    ["Side", (p) => el("span", { class: p.direction === "long" ? "up" : "down", text: p.direction })],
    ["Size", (p) => p.size, "num"],
    ["Entry", (p) => price(p.entry_price), "num"],
    ["Mark", (p) => price(p.mark), "num"],
    ["Unrealized", (p) => el("span", { class: tone(p.unrealized), text: signed(p.unrealized) }), "num"],
    ["Stop", (p) => price(p.stop_loss), "num"],
    ["Target", (p) => price(p.take_profit), "num"],
  ], positions, { empty: "no open positions" }));
}
