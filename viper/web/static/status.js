// Modules: every module of the process (/api/services/status), its state and health, with its
// on/off switch. Modules are switched in config.toml, not at run time: the switches only show.
import { get } from "./api.js";
import { guarded } from "./banner.js";
import { $, coalesce, el, table, time, unavailable } from "./dom.js";

const REFRESH_MS = 5000;
const SWITCH_HELP =
  "Modules are switched on and off in config.toml ([modules] enabled) or with " +
  "VIPER__MODULES__ENABLED, then a restart: there is no run-time switch.";

export async function mount(feed) {
  const refresh = coalesce(load, 500);
  feed.on("module", refresh);
  feed.onResync(refresh);
  setInterval(refresh, REFRESH_MS);
  await load();
}

async function load() {
  await guarded(async () => {
    let body;
    try {
      body = await get("/api/services/status");
    } catch (error) {
      if (!error.unavailable) throw error;
      unavailable($("modules-body"), error);
      return;
    }
    $("modules-summary").textContent =
      `${body.running} of ${body.enabled} enabled modules running on ${body.node}` +
      (body.nodes.length ? `; ${body.nodes.length} other process(es) on the bus` : "");
    $("modules-body").replaceChildren(table([
      ["Module", (s) => el("strong", { text: s.name })],
      ["On", (s) => toggle(s)],
      ["State", (s) => el("span", { class: `state-${s.enabled ? s.state : "disabled"}`, text: s.enabled ? s.state : "disabled" })],
      ["Health", (s) => (s.health ? s.health.status : "–")],
      ["Detail", (s) => s.error || s.health?.detail || checks(s.health?.checks)],
      ["Since", (s) => time(s.since_ms)],
    ], body.services));
  }, "modules");
}

/** A module's own figures, as `key=value` pairs (scalars only). */
function checks(values) {
  return Object.entries(values || {})
    .filter(([, v]) => v === null || typeof v !== "object")
    .map(([k, v]) => `${k}=${v}`)
    .join("  ");
}

function toggle(s) {
  const input = el("input", { type: "checkbox", role: "switch", disabled: true, "aria-label": `${s.name} enabled` });
  input.checked = s.enabled;
  return el("label", { class: "switch", title: SWITCH_HELP }, input);
}
