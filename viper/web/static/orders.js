// Orders and fills: the journal's recent orders (/order/orders), kept current by live `order`
// events, and the fills that arrived while the page is open.
import { get } from "./api.js";
import { guarded } from "./banner.js";
import { $, coalesce, el, money, price, shortTime, table, unavailable } from "./dom.js";

const SHOWN = 30;
let orders = [];
const fills = [];
let available = true;

export async function mount(feed) {
  const draw = coalesce(render, 250);
  feed.on("order", (event) => {
    const order = event.order;
    orders = [order, ...orders.filter((o) => o.client_order_id !== order.client_order_id)].slice(0, SHOWN);
    draw();
  });
  feed.on("fill", (event) => {
    fills.unshift(event.fill);
    fills.length = Math.min(fills.length, SHOWN);
    draw();
  });
  feed.onResync(load);
  await load();
}

async function load() {
  await guarded(async () => {
    try {
      orders = (await get(`/order/orders?limit=${SHOWN}`)).orders;
      available = true;
    } catch (error) {
      if (!error.unavailable) throw error;
      available = false;
      unavailable($("orders-body"), error);
      return;
    }
    render();
  }, "orders");
}

const side = (s) => el("span", { class: s === "buy" ? "up" : "down", text: s });

function render() {
  if (!available) return;
  $("orders-body").replaceChildren(
    table([
      ["Time", (o) => shortTime(o.updated_ms || o.created_ms)],
      ["Symbol", (o) => o.symbol],
      ["Side", (o) => side(o.side)],
      ["Type", (o) => o.type],
      ["Amount", (o) => o.amount, "num"],
      ["Filled", (o) => o.filled, "num"],
      ["Avg price", (o) => price(o.average_price), "num"],
      ["State", (o) => o.state],
    ], orders, { empty: "no orders yet" }),
    el("h3", { text: "Fills since this page opened" }),
    table([
      ["Time", (f) => shortTime(f.ts_ms)],
      ["Symbol", (f) => f.symbol],
      ["Side", (f) => side(f.side)],
      ["Amount", (f) => f.amount, "num"],
      ["Price", (f) => price(f.price), "num"],
      ["Fee", (f) => money(f.fee), "num"],
    ], fills, { empty: "no fills yet" }),
  );
}
