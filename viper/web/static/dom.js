// Small DOM and formatting helpers shared by the panels: elements, tables, numbers, times.

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "style") Object.assign(node.style, value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export const $ = (id) => document.getElementById(id);

const decimals = (digits) =>
  new Intl.NumberFormat(undefined, { minimumFractionDigits: digits, maximumFractionDigits: digits });
const MONEY = decimals(2);

export function num(value, digits = 2) {
  const n = Number(value);
  if (value === null || value === undefined || !Number.isFinite(n)) return "–";
  return decimals(digits).format(n);
}

export function money(value) {
  const n = Number(value);
  return Number.isFinite(n) && value !== null ? MONEY.format(n) : "–";
}

export function signed(value, digits = 2) {
  const n = Number(value);
  if (value === null || value === undefined || !Number.isFinite(n)) return "–";
  return (n > 0 ? "+" : "") + decimals(digits).format(n);
}

export function pct(fraction, digits = 1) {
  const n = Number(fraction);
  if (fraction === null || fraction === undefined || !Number.isFinite(n)) return "–";
  return `${(n * 100).toFixed(digits)}%`;
}

/** A price with as many decimals as its size needs. */
export function price(value) {
  const n = Number(value);
  if (value === null || value === undefined || !Number.isFinite(n)) return "–";
  const abs = Math.abs(n);
  return num(n, abs >= 1000 ? 2 : abs >= 1 ? 4 : 6);
}

export function tone(value) {
  const n = Number(value);
  return n > 0 ? "up" : n < 0 ? "down" : "";
}

export function time(ms) {
  if (!ms) return "–";
  const d = new Date(ms);
  return d.toISOString().replace("T", " ").slice(0, 19);
}

export function shortTime(ms) {
  return ms ? new Date(ms).toISOString().slice(11, 19) : "–";
}

/**
 * A table: `columns` are [header, cell(row) -> text | Node, className?]; `key(row)` names a row
 * for `onpick(row)` clicks.
 */
export function table(columns, rows, { onpick, selected, empty = "nothing yet" } = {}) {
  if (!rows.length) return el("p", { class: "muted", text: empty });
  const head = el("tr", {}, columns.map(([title, , cls]) => el("th", { class: cls, text: title })));
  const body = rows.map((row) => {
    const tr = el("tr", { class: onpick ? "pick" : undefined });
    if (selected && selected(row)) tr.classList.add("selected");
    if (onpick) tr.addEventListener("click", () => onpick(row));
    for (const [, cell, cls] of columns) {
      const value = cell(row);
      tr.append(el("td", { class: cls }, value instanceof Node ? value : String(value ?? "–")));
    }
    return tr;
  });
  return el("table", {}, el("thead", {}, head), el("tbody", {}, body));
}

/** Shows in `node` that a feature is not available here, with the server's reason. */
export function unavailable(node, error) {
  node.replaceChildren(
    el("p", { class: "unavailable", text: `Not available: ${error.detail || error.message}` }),
  );
}

export function stat(label, value, cls) {
  return el("div", { class: "stat" }, el("div", { class: "label", text: label }),
    el("div", { class: `value ${cls || ""}`, text: value }));
}

/** `fn` run at most once per `wait` ms: calls in between fold into one trailing call. */
export function coalesce(fn, wait = 500) {
  let timer = null;
  let last = 0;
  return () => {
    if (timer) return;
    const delay = Math.max(0, last + wait - Date.now());
    timer = setTimeout(async () => {
      last = Date.now();
      try {
        await fn();
      } finally {
        timer = null;
      }
    }, delay);
  };
}
