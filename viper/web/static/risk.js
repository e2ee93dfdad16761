// Risk: the use of each limit, the kill switch (trip and resume) and the live engine's trading
// state (start, pause, stop). Buttons need the `trade` scope when the server has sign-in.
import { get, post } from "./api.js";
import { allows } from "./auth.js";
import { guarded, showError } from "./banner.js";
import { $, coalesce, el, money, num, pct, signed, stat, tone, unavailable } from "./dom.js";

const REFRESH_MS = 10000;
const FRACTION_LIMITS = new Set(["daily_loss_limit", "max_drawdown"]);
let status = null;

export async function mount(feed) {
  const refresh = coalesce(load, 750);
  for (const name of ["kill_switch", "position", "fill", "risk_levels"]) feed.on(name, refresh);
  feed.on("trading", (event) => showTrading(event.state, event.reduce_only, event.reasons));
  feed.onResync(refresh);
  setInterval(refresh, REFRESH_MS);
  $("kill-trip").addEventListener("click", trip);
  $("kill-resume").addEventListener("click", () => act("/risk/kill-switch/resume", { reason: "resumed from the dashboard" }));
  for (const button of document.querySelectorAll("[data-trade]")) {
    button.addEventListener("click", () => control(button.dataset.trade));
  }
  await Promise.all([load(), loadTrading()]);
}

async function load() {
  await guarded(async () => {
    try {
      status = await get("/risk/risk");
    } catch (error) {
      if (!error.unavailable) throw error;
      unavailable($("risk-body"), error);
      setButtons(null);
      return;
    }
    render();
  }, "risk");
}

function limitText(name, use) {
  if (FRACTION_LIMITS.has(name)) return `${pct(use.used)} / ${pct(use.limit)}`;
  const digits = Number.isInteger(use.used) && Number.isInteger(use.limit) ? 0 : 2;
  return `${num(use.used, digits)} / ${num(use.limit, digits)}`;
}

function render() {
  const s = status;
  const rows = Object.entries(s.limits).flatMap(([name, use]) => {
    const fraction = Math.max(0, Math.min(1, use.fraction));
    const cls = use.fraction >= 1 ? "full" : use.fraction >= 0.8 ? "hot" : "";
    return [
      el("span", { text: name.replaceAll("_", " ") }),
      el("div", { class: `bar ${cls}`, title: pct(use.fraction) }, el("i", { style: { width: `${fraction * 100}%` } })),
      el("span", { class: "num", text: limitText(name, use) }),
    ];
  });
  const gate = s.entries_allowed ? "entries allowed" : `entries blocked: ${s.gate_reason || "gate closed"}`;
  $("risk-body").replaceChildren(
    el("div", { class: "stats" },
      stat("Daily PnL", signed(s.daily_pnl), tone(s.daily_pnl)),
      stat("Drawdown", pct(s.drawdown)),
      stat("Exposure", money(s.exposure)),
      stat("Pending entries", String(s.pending_entries))),
    el("div", { class: "limits" }, rows),
    el("p", { class: s.entries_allowed ? "muted" : "warn", text: gate }),
  );
  const badge = $("risk-state");
  badge.textContent = s.halted ? `HALTED: ${s.halt_reason || "kill switch"}` : s.daily_blocked ? "daily limit hit" : "ok";
  badge.className = `badge ${s.halted || s.daily_blocked ? "halted" : "ok"}`;
  setButtons(s);
}

function setButtons(s) {
  const may = allows("trade");
  const why = may ? "" : "needs a session with the trade scope";
  $("kill-trip").disabled = !may || !s || s.halted;
  $("kill-resume").disabled = !may || !s || !s.halted;
  for (const button of [$("kill-trip"), $("kill-resume"), ...document.querySelectorAll("[data-trade]")]) {
    button.title = why;
    if (!may) button.disabled = true;
  }
}

async function trip() {
  const sure = window.confirm("Trip the kill switch? Every position is closed and trading halts until resumed.");
  if (sure) await act("/risk/kill-switch/trip", { reason: "tripped from the dashboard" });
}

async function act(path, body) {
  await guarded(async () => {
    status = await post(path, body);
    render();
  }, "kill switch");
}

async function loadTrading() {
  try {
    const live = await get("/live/trade");
    showTrading(live.state, live.reduce_only, live.reasons);
  } catch (error) {
    if (!error.unavailable) showError(error, "trading state");
    else showTrading("not available", false, []);
  }
}

async function control(action) {
  await guarded(async () => {
    const live = await post("/live/trade", { action });
    showTrading(live.state, live.reduce_only, live.reasons);
  }, `trading ${action}`);
}

function showTrading(state, reduceOnly, reasons) {
  const badge = $("trade-state");
  badge.textContent = reduceOnly ? `${state}, reduce-only (${(reasons || []).join(", ")})` : state;
  badge.className = `badge ${state === "running" ? "ok" : state === "paused" ? "paused" : "halted"}`;
  const current = { running: "start", paused: "pause", stopped: "stop" }[state];
  for (const button of document.querySelectorAll("[data-trade]")) {
    button.disabled = !allows("trade") || !current || button.dataset.trade === current;
  }
}
