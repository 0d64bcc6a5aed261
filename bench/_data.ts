/**
 * Seeded, query-result-like payloads: arrays of rows `{ id, customer, region, amount, currency,
 * date }`, grown until their JSON text reaches a target size. Same seed, same rows, every run.
 *
 * @module
 */
import { mulberry32 as seeded } from "../scripts/_random.ts";

/** One row, as a query driver returns it (dates as `Date`). */
export interface Row {
  id: number;
  customer: string;
  region: string;
  amount: number;
  currency: string;
  date: Date;
}

/** One row with its date as an ISO string: what a JSON payload of the same data holds. */
export type JsonRow = Omit<Row, "date"> & { date: string };

/** The payload sizes of the benchmark, by label, in bytes of JSON text. */
export const SIZES: readonly { readonly label: string; readonly bytes: number }[] = [
  { label: "1 KB", bytes: 1024 },
  { label: "100 KB", bytes: 100 * 1024 },
  { label: "1 MB", bytes: 1024 * 1024 },
  { label: "10 MB", bytes: 10 * 1024 * 1024 },
];

const FIRST = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Radia", "Leslie", "Niklaus"];
const LAST = ["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson", "Perlman", "Lamport"];
const COMPANY = ["Acme", "Globex", "Initech", "Umbrella", "Hooli", "Vandelay", "Stark", "Wayne", "Tyrell", "Cyberdyne"];
const REGIONS = ["emea", "apac", "amer", "latam"];
const CURRENCIES = ["EUR", "USD", "GBP", "JPY", "CHF"];
const DAY_MS = 86_400_000;
const START = Date.UTC(2023, 0, 1);

/** Rows whose JSON text (`JSON.stringify(rows)`) is at least `jsonBytes` long. */
export function makeRows(jsonBytes: number, seed = 42): Row[] {
  const random = seeded(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T;
  const rows: Row[] = [];
  let size = 2; // "[" and "]"
  for (let id = 1; size < jsonBytes; id++) {
    const row: Row = {
      id,
      customer: `${pick(FIRST)} ${pick(LAST)} (${pick(COMPANY)})`,
      region: pick(REGIONS),
      amount: Math.round(random() * 10_000_000) / 100,
      currency: pick(CURRENCIES),
      date: new Date(START + Math.floor(random() * 730) * DAY_MS + Math.floor(random() * DAY_MS)),
    };
    // Row JSON length without building the string: the fixed part plus each field's text.
    size += jsonLength(row) + (rows.length > 0 ? 1 : 0);
    rows.push(row);
  }
  return rows;
}

/** The same rows with ISO date strings (what JSON stores). */
export function toJsonRows(rows: readonly Row[]): JsonRow[] {
  return rows.map((row) => ({ ...row, date: row.date.toISOString() }));
}

// {"id":,"customer":"","region":"","amount":,"currency":"","date":""} and a 24-character date.
const FIXED = 67 + 24;

function jsonLength(row: Row): number {
  return FIXED + String(row.id).length + row.customer.length + row.region.length + String(row.amount).length +
    row.currency.length;
}

/** One order record, as an application's order API returns it (nested customer, 1–4 line items, dates as `Date`). */
export interface Order {
  id: number;
  number: string;
  status: string;
  createdAt: Date;
  updatedAt: Date;
  customer: { id: number; name: string; email: string; tier: string; country: string };
  items: { sku: number; name: string; qty: number; price: number; discount: number | null }[];
  currency: string;
  total: number;
  coupon: string | null;
  note: string | null;
}

/** A payload shape of the benchmark: flat query rows, or nested order records. */
export type Shape = "rows" | "orders";

/** The payload shapes of the benchmark. */
export const SHAPES: readonly Shape[] = ["rows", "orders"];

const STATUSES = ["pending", "paid", "packed", "shipped", "delivered", "cancelled", "refunded"];
const TIERS = ["standard", "silver", "gold", "platinum"];
const COUNTRIES = ["DE", "FR", "GB", "US", "JP", "CH", "NL", "ES", "IT", "CA"];
const PRODUCTS = [
  "Espresso beans 1 kg",
  "Oat milk 6 × 1 l",
  "Pour-over dripper",
  "Paper filters ×100",
  "Burr grinder",
  "Ethiopia 250 g",
  "Decaf Colombia 500 g",
  "Travel mug",
  "Descaling tablets",
  "Gift card",
  "Chai 1 l",
  "Sencha 100 g",
];
const COUPONS = ["SPRING10", "WELCOME5", "LOYAL15", "FREESHIP"];
const NOTES = ["Leave at the door", "Gift wrap, no invoice in the box", "Call on arrival", "Deliver after 6 pm"];

/** Orders whose JSON text (`JSON.stringify`, dates as ISO strings) is at least `jsonBytes` long; ~510 bytes each (1–4 line items). */
export function makeOrders(jsonBytes: number, seed = 42): Order[] {
  const random = seeded(seed);
  const int = (n: number): number => Math.floor(random() * n);
  const pick = <T>(list: readonly T[]): T => list[int(list.length)] as T;
  const money = (max: number): number => Math.round(random() * max * 100) / 100;
  const orders: Order[] = [];
  let size = 2;
  for (let id = 1; size < jsonBytes; id++) {
    const first = pick(FIRST);
    const last = pick(LAST);
    const createdAt = START + int(730) * DAY_MS + int(DAY_MS);
    const items = Array.from({ length: 1 + int(4) }, () => {
      return {
        sku: 10_000 + int(900),
        name: pick(PRODUCTS),
        qty: 1 + int(5),
        price: money(120),
        discount: int(4) === 0 ? money(10) : null,
      };
    });
    const subtotal = Math.round(items.reduce((sum, item) => sum + item.qty * item.price, 0) * 100) / 100;
    const shipping = subtotal > 50 ? 0 : 4.9;
    const order: Order = {
      id: 500_000 + id,
      number: `ORD-${new Date(createdAt).getUTCFullYear()}-${String(id).padStart(7, "0")}`,
      status: pick(STATUSES),
      createdAt: new Date(createdAt),
      updatedAt: new Date(createdAt + int(14 * DAY_MS)),
      customer: {
        id: 10_000 + int(50_000),
        name: `${first} ${last}`,
        email: `${first[0]!.toLowerCase()}.${last.toLowerCase()}@${pick(COMPANY).toLowerCase()}.example`,
        tier: pick(TIERS),
        country: pick(COUNTRIES),
      },
      items,
      currency: pick(CURRENCIES),
      total: Math.round((subtotal * 1.19 + shipping) * 100) / 100,
      coupon: int(5) === 0 ? pick(COUPONS) : null,
      note: int(6) === 0 ? pick(NOTES) : null,
    };
    size += JSON.stringify(order).length + (orders.length > 0 ? 1 : 0);
    orders.push(order);
  }
  return orders;
}

/** The payload of `shape` whose JSON text is at least `jsonBytes` long. */
export function makePayload(shape: Shape, jsonBytes: number, seed = 42): Row[] | Order[] {
  return shape === "rows" ? makeRows(jsonBytes, seed) : makeOrders(jsonBytes, seed);
}

/** `value` as JSON would hold it: every `Date` as its ISO string (what a JSON payload of the same data carries). */
export function withIsoDates<T>(value: T): unknown {
  return JSON.parse(JSON.stringify(value));
}
