// The live feed: one EventSource on /web/events, dispatched by event name to the panels.
// Frame ids count up by one per event for this client; a jump (events were dropped because the
// page fell behind) or a reconnect asks every panel to read its REST view again.
import { get } from "./api.js";
import { showError } from "./banner.js";
import { $ } from "./dom.js";

const RETRY_MS = 5000;

export class LiveFeed {
  constructor(url = "/web/events") {
    this.url = url;
    this.handlers = new Map();
    this.resyncs = [];
    this.source = null;
    this.lastSeq = 0;
    this.hellos = 0;
    this.received = 0;
    this.retry = null;
  }

  /** `handler(data)` for every event called `name` (candle, ticker, score, order, ...). */
  on(name, handler) {
    if (!this.handlers.has(name)) {
      this.handlers.set(name, []);
      this.source?.addEventListener(name, (event) => this.dispatch(name, event));
    }
    this.handlers.get(name).push(handler);
  }

  /** `listener()` after a reconnect or a gap: the REST views may be behind. */
  onResync(listener) {
    this.resyncs.push(listener);
  }

  start() {
    this.stop();
    const source = new EventSource(this.url);
    this.source = source;
    this.status("connecting…", "");
    source.addEventListener("hello", () => {
      this.lastSeq = 0;
      this.status("live", "live");
      if (this.hellos++ > 0) this.resync();
    });
    for (const name of this.handlers.keys()) {
      source.addEventListener(name, (event) => this.dispatch(name, event));
    }
    source.onerror = () => {
      if (source.readyState === EventSource.CLOSED) this.failed();
      else this.status("reconnecting…", "");
    };
  }

  stop() {
    clearTimeout(this.retry);
    this.source?.close();
    this.source = null;
  }

  dispatch(name, event) {
    const seq = Number(event.lastEventId);
    if (seq && this.lastSeq && seq !== this.lastSeq + 1) this.resync();
    if (seq) this.lastSeq = seq;
    this.received += 1;
    let data;
    try {
      data = JSON.parse(event.data);
    } catch (exc) {
      showError(exc, `live ${name} event`);
      return;
    }
    for (const handler of this.handlers.get(name) || []) {
      try {
        handler(data);
      } catch (exc) {
        showError(exc, `live ${name} event`);
      }
    }
  }

  resync() {
    for (const listener of this.resyncs) listener();
  }

  /** The stream was refused (signed out, module off, server down): say why, retry later. */
  async failed() {
    this.status("offline", "down");
    try {
      await get("/api/services/status"); // a 401 here brings up the sign-in form
    } catch (error) {
      if (error.status === 401) return;
    }
    this.retry = setTimeout(() => this.start(), RETRY_MS);
  }

  status(text, cls) {
    const node = $("live-status");
    node.textContent = text;
    node.className = `live-status ${cls}`;
  }
}
