// Alerts: the alert history (/alerts/alerts), newest first, read again whenever something the
// alert rules watch happens; each alert can be acknowledged.
import { get, post } from "./api.js";
import { session } from "./auth.js";
import { guarded } from "./banner.js";
import { $, coalesce, el, table, time, unavailable } from "./dom.js";

const REFRESH_MS = 15000;
const WATCHED = ["alert", "kill_switch", "rejected", "module", "market_stale", "exchange", "trading"];

export async function mount(feed) {
  // the alert system records an alert just after the event: read a moment later
  const refresh = coalesce(load, 1000);
  for (const name of WATCHED) feed.on(name, refresh);
  feed.onResync(refresh);
  setInterval(refresh, REFRESH_MS);
  await load();
}

async function load() {
  await guarded(async () => {
    let page;
    try {
      page = await get("/alerts/alerts?limit=50");
    } catch (error) {
      if (!error.unavailable) throw error;
      unavailable($("alerts-body"), error);
      return;
    }
    $("alerts-body").replaceChildren(table([
      ["Time", (a) => time(a.ts_ms)],
      ["Severity", (a) => el("span", { class: `sev-${a.severity}`, text: a.severity })],
      ["Rule", (a) => a.rule],
      ["Message", (a) => (a.count > 1 ? `${a.message} (×${a.count})` : a.message)],
      ["", (a) => (a.acked_ms ? el("span", { class: "muted", text: `acked by ${a.acked_by}` }) : ackButton(a))],
    ], page.alerts, { empty: "no alerts" }));
  }, "alerts");
}

function ackButton(alert) {
  return el("button", {
    type: "button",
    onclick: () => guarded(async () => {
      await post(`/alerts/alerts/${encodeURIComponent(alert.id)}/ack`, { by: session.name || "dashboard" });
      await load();
    }, "acknowledge"),
  }, "ack");
}
