/**
 * The client CPU of a small inline hit, step by step, in this process alone (no network: the
 * store answers at once with the reply the Upstash REST API sends for the read script), so that
 * each step's cost shows apart from the round trip. The steps are the ones an inline hit of the
 * benchmark's 1 KB rows runs: key hash, the lookup's tokens, the facade's timer/signal/race, the
 * request body, the reply's parse, the record's parse, base64, the checksum, decompress + decode;
 * then the whole hit through `wrap` on a store that answers at once. Not part of `npm run bench`:
 * `npx tsx bench/hit_steps.ts [--rounds=20000]`.
 *
 * @module
 */
import os from "node:os";
import process from "node:process";
import { createCache } from "../mod.ts";
import { Backends } from "../src/core/backend/backend_call.ts";
import { decodePayload, parseRecord, startVerifying } from "../src/core/record/entry.ts";
import { newToken } from "../src/core/record/generations.ts";
import { keyHash } from "../src/core/record/key_material.ts";
import type { MetadataStore, StoreOp, StoreResult } from "../src/core/types.ts";
import { fromBase64 } from "../src/core/util/bytes.ts";
import { memoryBlobStore } from "../src/blobs/memory.ts";
import { memoryStore } from "../src/stores/memory.ts";
import { decodeReply, encodeOp } from "../src/stores/_redis_ops.ts";
import { makeRows } from "./_data.ts";
import { ms } from "./_measure.ts";

const rounds = Number(process.argv.find((a) => a.startsWith("--rounds="))?.slice(9) ?? 20_000);
const rows = makeRows(1024);

// The stored record of the 1 KB rows, written by the cache itself.
const inner = memoryStore();
const writer = createCache({ store: inner, blobs: memoryBlobStore(), prefix: "steps" });
const wrapped = writer.wrap(async (_label: string, _i: number) => rows, { name: "rows" });
await wrapped("1 KB", 0);
await writer.flush();
const hash = await keyHash("steps", "default", { kind: "call", fn: "rows", args: ["1 KB", 0] });
const readOp: StoreOp = {
  type: "read",
  key: `steps:e:{${hash}}`,
  gens: ["steps:v:all", "steps:v:ns:default"],
  token: newToken(),
};
const [read] = await inner.run([readOp]) as unknown as [
  { value: string; gens: Record<string, { x: string; s: string }> },
];
const recordText = read.value;
const record = parseRecord(recordText);
const payload = fromBase64(record.p!);
const command = encodeOp(readOp);
if (command.kind !== "script") throw new Error("read is a script");
// What the REST API answers for the read script: [record, invalidated, lease, flat generations].
const flat = Object.entries(read.gens).flatMap(([key, { x, s }]) => [key, x, s]);
const replyText = JSON.stringify([{ result: [recordText, 0, -1, flat] }]);

/** A store that answers the read at once, as the REST adapter would after its fetch. */
const instant: MetadataStore = {
  name: "instant",
  run: async (ops: readonly StoreOp[]): Promise<StoreResult[]> =>
    ops.map((op) => decodeReply(op, (JSON.parse(replyText) as { result: unknown }[])[0]!.result)!),
};
const backend = new Backends({
  store: instant,
  blobs: undefined,
  storeTimeoutMs: 1000,
  blobTimeoutMs: 1000,
  stats: { error() {} },
  logger: { debug() {}, info() {}, warn() {}, error() {} },
  breakers: { store: undefined, blob: undefined },
});
const hitCache = createCache({ store: instant, prefix: "steps", lease: false, globalStats: false });
const hit = hitCache.wrap(async (_label: string, _i: number) => rows, { name: "rows" });
const payloadConfig = await payloadConfigOf();

async function payloadConfigOf() {
  const { resolveOptions } = await import("../src/core/api/options.ts");
  const { embeddedZstdWasm } = await import("../src/codec/_zstd_embedded.ts");
  return resolveOptions({}, { zstdWasm: embeddedZstdWasm }).payload;
}

const steps: [string, () => unknown][] = [
  [
    "key hash (canonical args, SHA-256)",
    () => keyHash("steps", "default", { kind: "call", fn: "rows", args: ["1 KB", 0] }),
  ],
  ["tokens (lease UUID, read token)", () => [crypto.randomUUID(), newToken()]],
  ["facade call (timer, signal, race)", () => backend.store("get", [{ type: "get", key: "k" }], hash)],
  [
    "request body, EVAL (source each time)",
    () => JSON.stringify([["EVAL", command.script.source, command.keys.length, ...command.keys, ...command.args]]),
  ],
  [
    "request body, EVALSHA",
    () => JSON.stringify([["EVALSHA", "0".repeat(40), command.keys.length, ...command.keys, ...command.args]]),
  ],
  [
    "reply parse (JSON.parse + decodeReply)",
    () => decodeReply(readOp, (JSON.parse(replyText) as { result: unknown }[])[0]!.result),
  ],
  ["record parse (JSON.parse + checks)", () => parseRecord(recordText)],
  ["base64 of the payload", () => fromBase64(record.p!)],
  ["checksum (JS SHA-256)", () => startVerifying(record, payload)],
  ["decompress + decode", () => decodePayload(record, payload, payloadConfig)],
  ["whole hit through wrap, store answering at once", () => hit("1 KB", 0)],
];

for (const [, run] of steps) for (let i = 0; i < 2000; i++) await run();
const times = new Map<string, number[]>(steps.map(([name]) => [name, []]));
const batch = 50;
for (let round = 0; round < rounds / batch; round++) {
  for (const [name, run] of steps) {
    const t0 = performance.now();
    for (let i = 0; i < batch; i++) await run();
    times.get(name)!.push((performance.now() - t0) / batch);
  }
}
console.log(`1 KB inline hit, client CPU per step (p50 of ${batch}-call batches), load ${os.loadavg()[0]!.toFixed(2)}`);
for (const [name, samples] of times) {
  samples.sort((a, b) => a - b);
  console.log(`  ${name.padEnd(50)} ${ms(samples[samples.length >> 1]!).padStart(9)}`);
}
console.log(
  `  record ${recordText.length} B, payload ${payload.length} B, EVAL source ${command.script.source.length} B`,
);
if (hitCache.stats().hits.inline === 0) throw new Error("the whole-hit series did not hit");
