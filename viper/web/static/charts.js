// Charts with TradingView's lightweight-charts, served from /static/vendor (copied from npm by
// `make vendor`). Loaded on demand, so a missing file is reported instead of breaking the page.
import { showError } from "./banner.js";
import { el } from "./dom.js";

const LIBRARY = "./vendor/lightweight-charts.js";
let loading = null;

/** The library module, or null (with the reason in the banner) when it cannot be loaded. */
export function chartLibrary() {
  loading ??= import(LIBRARY).catch((exc) => {
    showError(new Error(`the chart library did not load (${exc.message}); run \`make vendor\``), "charts");
    return null;
  });
  return loading;
}

const THEME = {
  autoSize: true,
  layout: {
    background: { type: "solid", color: "#161b22" },
    textColor: "#8b949e",
    fontSize: 11,
  },
  grid: { vertLines: { color: "#1f242c" }, horzLines: { color: "#1f242c" } },
  rightPriceScale: { borderColor: "#2d333b" },
  timeScale: { borderColor: "#2d333b", timeVisible: true, secondsVisible: false },
};

export const UP = "#3fb950";
export const DOWN = "#f85149";

/** Seconds since the epoch, as the charts count time. */
export const toTime = (ms) => Math.floor(ms / 1000);

const shown = new Set(); // { chart, container, fit }: charts to bring into view with their tab

/**
 * A chart filling `container` (emptied first), or null without the library. A live chart
 * follows the newest bar when its tab is shown again; a `fit` one shows all of its data.
 */
export async function makeChart(container, options = {}, { fit = false } = {}) {
  const lib = await chartLibrary();
  container.replaceChildren();
  if (!lib) {
    container.append(el("div", { class: "empty", text: "charts unavailable" }));
    return null;
  }
  const chart = lib.createChart(container, { ...THEME, ...options });
  const entry = { chart, container, fit };
  shown.add(entry);
  const remove = chart.remove.bind(chart);
  chart.remove = () => {
    shown.delete(entry);
    remove();
  };
  return { lib, chart };
}

// A chart laid out while its tab was hidden had no width: once shown, bring its data into view.
window.addEventListener("tab-shown", (event) => {
  requestAnimationFrame(() => {
    for (const { chart, container, fit } of shown) {
      if (!event.detail.contains(container)) continue;
      if (fit) chart.timeScale().fitContent();
      else chart.timeScale().scrollToRealTime();
    }
  });
});

export function candleSeries({ lib, chart }) {
  return chart.addSeries(lib.CandlestickSeries, {
    upColor: UP, downColor: DOWN, borderUpColor: UP, borderDownColor: DOWN,
    wickUpColor: UP, wickDownColor: DOWN,
  });
}

export function lineSeries({ lib, chart }, color = "#79c0ff", options = {}) {
  return chart.addSeries(lib.LineSeries, { color, lineWidth: 2, ...options });
}

export function areaSeries({ lib, chart }, color, options = {}) {
  return chart.addSeries(lib.AreaSeries, {
    lineColor: color, topColor: `${color}66`, bottomColor: `${color}08`, lineWidth: 2, ...options,
  });
}

export function seriesMarkers({ lib }, series) {
  return lib.createSeriesMarkers(series, []);
}

/** Puts a note over an empty chart (or removes it with `text` empty). */
export function emptyNote(container, text) {
  container.querySelector(".empty")?.remove();
  if (text) container.append(el("div", { class: "empty", text }));
}
