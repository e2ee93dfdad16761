// The dashboard's entry point: session first (sign-in when the server wants one), then the
// panels and the one live feed they share, and the tabs.
import * as account from "./account.js";
import * as alerts from "./alerts.js";
import { onUnauthorized } from "./api.js";
import { checkSession, signIn, signOut } from "./auth.js";
import * as backtest from "./backtest.js";
import { clearErrors, guarded, showError } from "./banner.js";
import { $ } from "./dom.js";
import { LiveFeed } from "./live.js";
import * as logs from "./logs.js";
import * as market from "./market.js";
import * as optimizer from "./optimizer.js";
import * as orders from "./orders.js";
import * as risk from "./risk.js";
import * as scores from "./scores.js";
import * as status from "./status.js";

const PANELS = [account, market, scores, orders, risk, alerts, status, backtest, optimizer, logs];
const feed = new LiveFeed("/web/events");
let started = false;
let prompting = null;

function showTab() {
  const wanted = location.hash.slice(1);
  const tabs = [...document.querySelectorAll(".tab")];
  const current = tabs.find((t) => t.dataset.tab === wanted) || tabs[0];
  const changed = current.hidden;
  for (const tab of tabs) tab.hidden = tab !== current;
  if (changed) window.dispatchEvent(new CustomEvent("tab-shown", { detail: current }));
  for (const link of document.querySelectorAll(".tabs a")) {
    link.classList.toggle("active", link.dataset.tab === current.dataset.tab);
  }
}

/** Signs in (once, however many calls answered 401), then starts or restarts the page. */
function reauthenticate() {
  prompting ??= (async () => {
    feed.stop();
    feed.status("signed out", "down");
    await signIn();
    clearErrors();
    start();
  })().finally(() => {
    prompting = null;
  });
  return prompting;
}

function start() {
  $("sign-in").hidden = true;
  $("app").hidden = false;
  if (started) {
    feed.start();
    feed.resync();
    return;
  }
  started = true;
  // each panel registers its live handlers before its first await, so before the feed opens
  const mounting = PANELS.map((panel) => panel.mount(feed));
  feed.start();
  Promise.allSettled(mounting).then((results) => {
    for (const r of results) if (r.status === "rejected") showError(r.reason, "panel");
    document.body.dataset.ready = "true";
  });
}

async function boot() {
  window.addEventListener("hashchange", () => (location.hash === "#sign-in" ? reauthenticate() : showTab()));
  showTab();
  onUnauthorized(() => reauthenticate());
  $("sign-out").addEventListener("click", async () => {
    await guarded(signOut, "sign out");
    reauthenticate();
  });
  let mode = "open";
  try {
    mode = await checkSession();
  } catch (error) {
    showError(error, "session");
  }
  if (mode === "signed-out" || location.hash === "#sign-in") await reauthenticate();
  else start();
}

boot();
