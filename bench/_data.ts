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
