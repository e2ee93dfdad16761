// Market: a candlestick chart of one symbol, moved by live candles and ticks, with the VIPER
// signals (arrows) and fills (dots) marked on it.
import { get, withQuery } from "./api.js";
import { guarded } from "./banner.js";
import { DOWN, UP, candleSeries, emptyNote, makeChart, seriesMarkers, toTime } from "./charts.js";
import { $, el, num, price } from "./dom.js";

const UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };
const state = { symbol: "", timeframe: "1m", step: 60, series: null, markers: null, bars: [], forming: null };
let signals = [];
let fills = [];
let lastPrice = null;

export async function mount(feed) {
  feed.on("candle", onCandle);
  feed.on("ticker", onTicker);
  feed.on("signal", (s) => s.symbol === state.symbol && addSignal(s));
  feed.on("fill", (f) => f.fill.symbol === state.symbol && addFill(f.fill.side, f.fill.ts_ms, f.fill.price));
  feed.onResync(() => load());
  $("market-symbol").addEventListener("change", (event) => load(event.target.value));
  const made = await makeChart($("market-chart"));
  if (made) {
    state.series = candleSeries(made);
    state.markers = seriesMarkers(made, state.series);
  }
  await guarded(loadSymbols, "market symbols");
  await load();
}

async function loadSymbols() {
  let symbols = [];
  try {
    const realtime = await get("/streamer/realtime");
    symbols = Object.keys(realtime.symbols);
    state.timeframe = realtime.timeframe;
  } catch (error) {
    if (!error.unavailable) throw error;
    symbols = (await get("/signal/scores")).scores.map((s) => s.symbol);
  }
  state.step = stepSeconds(state.timeframe);
  $("market-symbol").replaceChildren(...[...new Set(symbols)].map((s) => el("option", { value: s, text: s })));
  state.symbol = symbols[0] || "";
}

function stepSeconds(timeframe) {
  const match = /^(\d+)([smhdw])$/.exec(timeframe || "");
  return match ? Number(match[1]) * UNIT_SECONDS[match[2]] : 60;
}

async function load(symbol = state.symbol) {
  if (symbol !== state.symbol) lastPrice = null;
  state.symbol = symbol;
  state.forming = null;
  if (!symbol || !state.series) return;
  await guarded(async () => {
    const bars = await history(symbol);
    state.bars = bars.map((c) => ({ time: toTime(c.ts_ms), open: c.open, high: c.high, low: c.low, close: c.close }));
    state.series.setData(state.bars);
    emptyNote($("market-chart"), state.bars.length ? "" : "waiting for the first closed bar");
    const [sig, orders] = await Promise.all([
      optional(withQuery("/signal/signals", { symbol, limit: 200 }), { signals: [] }),
      optional(withQuery("/order/orders", { symbol, state: "filled", limit: 100 }), { orders: [] }),
    ]);
    signals = sig.signals.map((s) => signalMarker(s));
    fills = orders.orders.map((o) => fillMarker(o.side, o.updated_ms, o.average_price));
    drawMarkers();
  }, `chart of ${symbol}`);
}

async function history(symbol) {
  const recent = await optional(withQuery("/web/candles", { symbol, timeframe: state.timeframe }), null);
  if (recent?.candles.length) return recent.candles;
  const query = { symbol, timeframe: state.timeframe, order: "desc", limit: 300 };
  const stored = await optional(withQuery("/data/candles", query), { candles: [] });
  // stored pages are ccxt-shaped rows: [timestamp_ms, open, high, low, close, volume]
  return stored.candles.map(([ts_ms, open, high, low, close]) => ({ ts_ms, open, high, low, close })).reverse();
}

async function optional(path, fallback) {
  try {
    return await get(path);
  } catch (error) {
    if (error.unavailable) return fallback;
    throw error;
  }
}

function onCandle(event) {
  if (event.symbol !== state.symbol || !state.series) return;
  const c = event.candle;
  const bar = { time: toTime(c.ts_ms), open: c.open, high: c.high, low: c.low, close: c.close };
  const last = state.bars.at(-1);
  if (last && bar.time < last.time) return;
  if (last && bar.time === last.time) state.bars[state.bars.length - 1] = bar;
  else state.bars.push(bar);
  state.series.update(bar);
  emptyNote($("market-chart"), "");
}

/** A tick moves the forming bar (the one after the last closed bar) and the price shown. */
function onTicker(t) {
  if (t.symbol !== state.symbol) return;
  const node = $("market-last");
  node.textContent = price(t.last);
  node.className = `price ${lastPrice === null || t.last === lastPrice ? "" : t.last > lastPrice ? "up" : "down"}`;
  lastPrice = t.last;
  const closed = state.bars.at(-1);
  if (!closed || !state.series) return;
  const time = closed.time + state.step;
  const forming = state.forming?.time === time ? state.forming : { time, open: closed.close, high: closed.close, low: closed.close };
  state.forming = { ...forming, high: Math.max(forming.high, t.last), low: Math.min(forming.low, t.last), close: t.last };
  state.series.update(state.forming);
}

function snap(ms) {
  return Math.floor(toTime(ms) / state.step) * state.step;
}

/** A signal is stamped with its bar's close: mark the bar it closed. */
function signalMarker(s) {
  const long = s.direction === "long";
  return {
    time: snap(s.ts_ms - 1), position: long ? "belowBar" : "aboveBar", color: long ? UP : DOWN,
    shape: long ? "arrowUp" : "arrowDown", text: num(s.score, 0),
  };
}

function fillMarker(side, ms, at) {
  const buy = side === "buy";
  return {
    time: snap(ms), position: buy ? "belowBar" : "aboveBar", color: buy ? "#79c0ff" : "#d2a8ff",
    shape: "circle", text: `${side} ${price(at)}`,
  };
}

function addSignal(s) {
  signals.push(signalMarker(s));
  drawMarkers();
}

function addFill(side, ms, at) {
  fills.push(fillMarker(side, ms, at));
  drawMarkers();
}

function drawMarkers() {
  if (!state.markers) return;
  const first = state.bars[0]?.time ?? Infinity;
  const last = (state.bars.at(-1)?.time ?? -Infinity) + state.step;
  const shown = [...signals, ...fills].filter((m) => m.time >= first && m.time <= last);
  state.markers.setMarkers(shown.sort((a, b) => a.time - b.time));
}
