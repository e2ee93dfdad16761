// The error banner: every failed call is shown to the person, with the server's detail.
import { $, el } from "./dom.js";

const MAX_SHOWN = 4;
const shown = new Map(); // message -> element, so a repeated failure is not stacked

export function showError(error, context = "") {
  const banner = $("banner");
  const status = error.status ? ` (${error.status})` : "";
  const where = error.method ? `${error.method} ${error.path}${status}` : "";
  const text = [context, where, error.detail || error.message].filter(Boolean).join(" — ");
  if (shown.has(text)) {
    banner.append(shown.get(text)); // move to the bottom: it happened again
    return;
  }
  const message = el("div", { class: "message", "data-error": error.code || "error" },
    el("span", { text }),
    el("button", { type: "button", class: "link", "aria-label": "dismiss", onclick: () => dismiss(text) }, "✕"));
  shown.set(text, message);
  banner.append(message);
  while (shown.size > MAX_SHOWN) dismiss(shown.keys().next().value);
}

function dismiss(text) {
  shown.get(text)?.remove();
  shown.delete(text);
}

export function clearErrors() {
  for (const text of [...shown.keys()]) dismiss(text);
}

/** Runs `work()`, showing any error in the banner; the result, or undefined on failure. */
export async function guarded(work, context) {
  try {
    return await work();
  } catch (error) {
    if (error.status !== 401) showError(error, context);
    return undefined;
  }
}

// Script errors are errors too: never fail silently.
window.addEventListener("error", (event) => showError(event.error || new Error(event.message), "page"));
window.addEventListener("unhandledrejection", (event) => {
  const reason = event.reason || new Error("unknown");
  if (reason.status !== 401) showError(reason, "page");
});
