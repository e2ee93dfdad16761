// Module status table: reads /api/services/status and shows errors to the person.
"use strict";

function cell(text, cls) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  return td;
}

async function refresh() {
  const error = document.getElementById("error");
  try {
    const response = await fetch("/api/services/status", { headers: { Accept: "application/json" } });
    const body = await response.json();
    if (!response.ok) throw new Error(body.detail || response.statusText);
    const rows = document.getElementById("modules");
    rows.replaceChildren();
    for (const s of body.services) {
      const tr = document.createElement("tr");
      const state = s.enabled ? s.state : "disabled";
      tr.append(
        cell(s.name),
        cell(s.enabled ? "yes" : "no"),
        cell(state, s.enabled ? s.state : "disabled"),
        cell(s.health ? s.health.status : "-"),
        cell(s.error || (s.health ? s.health.detail : "")),
      );
      rows.append(tr);
    }
    document.getElementById("summary").textContent =
      `${body.running} of ${body.enabled} enabled modules running`;
    error.hidden = true;
  } catch (exc) {
    error.textContent = `Cannot read the status: ${exc.message}`;
    error.hidden = false;
  }
}

refresh();
setInterval(refresh, 2000);
