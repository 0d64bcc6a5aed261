/**
 * `cache.check()`: one call that proves a configuration end to end, the way a new deployment or
 * `larder check` wants it proved, instead of learning from silence that nothing is cached. Each
 * step is one request (or one local computation), run in order:
 *
 * 1. **store** — a plain `GET` of a probe key: reachable and authorised (the token, the password);
 * 2. **script** — the lookup's own read (a Lua script on Redis and Upstash) on a probe record;
 * 3. **clock** — the store's `TIME` against this machine's clock (entries expire by their writer's
 *    clock, and S3 refuses requests more than 15 minutes off): a warning past 2 s;
 * 4. **blob put / get / delete** — a probe object of random bytes, read back and compared, then
 *    deleted (and seen to be gone);
 * 5. **compression** — the configured compressor (zstd's WebAssembly loads here) round-trips a payload.
 *
 * A step that fails says why, with the backend's own words, and what to change (the adapter's
 * `fix` for a misconfiguration, else a hint for the kind of failure); steps that depend on it are
 * skipped. Calls go through the operator path: a check never trips the breaker of the requests
 * beside it, nor counts in `stats()`. Nothing is left behind: the probe record is never written
 * and the probe object is deleted (or, if that fails, is an orphan `cleanup()` removes).
 *
 * @module
 */
import { operatorCall } from "../backend/backend_call.ts";
import type { CacheContext } from "../context.ts";
import { DEFAULTS } from "../defaults.ts";
import { isCacheError, misconfigurationFix } from "../errors.ts";
import { newToken } from "../record/generations.ts";
import { blobKey, recordKey } from "../record/key_layout.ts";
import { toHex } from "../util/bytes.ts";

/** A step of {@link CheckReport}. */
export type CheckStepName = "store" | "script" | "clock" | "blob put" | "blob get" | "blob delete" | "compression";

/** One step's outcome. */
export interface CheckStep {
  /** What was checked. */
  readonly step: CheckStepName;
  /** `ok`; `warn`: works, but something needs attention; `fail`; `skip`: not run (a step it needs failed, or nothing to check). */
  readonly status: "ok" | "warn" | "fail" | "skip";
  /** What was found, in a sentence (the backend's own words on a failure). */
  readonly detail: string;
  /** What to change, for `warn` and `fail`; null otherwise. */
  readonly fix: string | null;
  /** Time the step took, ms. */
  readonly ms: number;
}

/** What `cache.check()` returns. */
export interface CheckReport {
  /** No step failed (warnings allowed). */
  readonly ok: boolean;
  /** Every step, in order. */
  readonly steps: readonly CheckStep[];
}

/** Clocks further apart than this get a warning. */
export const CLOCK_SKEW_WARN_MS = 2_000;
/** Bytes of the probe object: random, so compression and caching layers cannot fake a round trip. */
const PROBE_BYTES = 1024;

/** Runs every step; see the module doc. Never rejects: a failure is a step's outcome. */
export async function check(ctx: CacheContext): Promise<CheckReport> {
  const steps: CheckStep[] = [];
  const { store, blobs, prefix, now } = ctx.options;
  const storeTimeoutMs = Math.max(ctx.options.storeTimeoutMs, DEFAULTS.check.storeTimeoutMs);
  const blobTimeoutMs = Math.max(ctx.options.blobTimeoutMs, DEFAULTS.check.blobTimeoutMs);
  const probe = toHex(crypto.getRandomValues(new Uint8Array(32)));
  const run = async (step: CheckStepName, work: () => Promise<Omit<CheckStep, "step" | "ms">>): Promise<boolean> => {
    const started = performance.now();
    let outcome: Omit<CheckStep, "step" | "ms">;
    try {
      outcome = await work();
    } catch (error) {
      outcome = failed(step, error, step.startsWith("blob") ? blobTimeoutMs : storeTimeoutMs);
    }
    steps.push({ step, ...outcome, ms: Math.round((performance.now() - started) * 10) / 10 });
    return outcome.status !== "fail";
  };
  const skip = (step: CheckStepName, detail: string): void => {
    steps.push({ step, status: "skip", detail, fix: null, ms: 0 });
  };

  const reachable = await run("store", async () => {
    await operatorCall({
      backend: "store",
      what: `${store.name} run [get]`,
      timeoutMs: storeTimeoutMs,
      call: (signal) => store.run([{ type: "get", key: recordKey(prefix, probe) }], { signal }),
    });
    return ok(`${store.name}: reachable, and the credentials are accepted`);
  });
  if (reachable) {
    await run("script", async () => {
      const [reply] = await operatorCall({
        backend: "store",
        what: `${store.name} run [read]`,
        timeoutMs: storeTimeoutMs,
        call: (signal) =>
          store.run([{ type: "read", key: recordKey(prefix, probe), gens: [], token: newToken() }], { signal }),
      });
      const shaped = typeof reply === "object" && reply !== null && "value" in reply && "gens" in reply;
      if (!shaped) {
        return {
          status: "fail",
          detail: `${store.name}: the read returned ${typeof reply}, not a read result`,
          fix: "the store does not implement the read operation as the cache expects: check the adapter",
        };
      }
      return ok(`${store.name}: the lookup's read runs (a script on Redis and Upstash)`);
    });
    const time = store.time?.bind(store);
    if (time === undefined) skip("clock", `${store.name} does not report its clock`);
    else {
      await run("clock", async () => {
        const before = now();
        const server = await operatorCall({
          backend: "store",
          what: `${store.name} time`,
          timeoutMs: storeTimeoutMs,
          call: (signal) => time({ signal }),
        });
        const skew = Math.round(server - (before + now()) / 2);
        const said = `${store.name}'s clock is ${seconds(Math.abs(skew))} ${
          skew >= 0 ? "ahead of" : "behind"
        } this machine's`;
        if (Math.abs(skew) <= CLOCK_SKEW_WARN_MS) return ok(said);
        return {
          status: "warn",
          detail: said,
          fix: "synchronise the clocks (NTP): entries expire by the clock of the instance that wrote them, " +
            "and S3 refuses requests signed more than 15 minutes off",
        };
      });
    }
  } else {
    skip("script", "the store is not reachable");
    skip("clock", "the store is not reachable");
  }

  if (blobs === undefined) {
    steps.push({
      step: "blob put",
      status: "warn",
      detail:
        `no blob store: values whose stored payload is over maxInlineBytes (${ctx.options.maxInlineBytes} bytes) are not cached`,
      fix: "give a blob store (s3BlobStore, r2BlobStore, fsBlobStore) if results can be that large",
      ms: 0,
    });
  } else {
    const key = blobKey(prefix, probe);
    const bytes = crypto.getRandomValues(new Uint8Array(PROBE_BYTES));
    const on = (what: string) =>
      ({ backend: "blob", what: `${blobs.name} ${what}`, timeoutMs: blobTimeoutMs }) as const;
    const put = await run("blob put", async () => {
      await operatorCall({ ...on("put"), call: (signal) => blobs.put(key, bytes, { signal }) });
      return ok(`${blobs.name}: a ${PROBE_BYTES}-byte probe object was written`);
    });
    if (put) {
      await run("blob get", async () => {
        const read = await operatorCall({ ...on("get"), call: (signal) => blobs.get(key, { signal }) });
        if (read === null) {
          return {
            status: "fail",
            detail: `${blobs.name}: the probe object just written is not there`,
            fix: "the endpoint does not keep what it is sent: check `endpoint` and `bucket`",
          };
        }
        if (!sameBytes(read, bytes)) {
          return {
            status: "fail",
            detail:
              `${blobs.name}: the probe object came back different (${read.length} bytes, not the ${bytes.length} written)`,
            fix: "something between the cache and the bucket changes objects: check `endpoint` (a proxy?)",
          };
        }
        return ok(`${blobs.name}: the probe object was read back, byte for byte`);
      });
      await run("blob delete", async () => {
        await operatorCall({ ...on("delete"), call: (signal) => blobs.delete(key, { signal }) });
        const after = await operatorCall({ ...on("get"), call: (signal) => blobs.get(key, { signal }) });
        if (after !== null) {
          return {
            status: "warn",
            detail: `${blobs.name}: the probe object is still there after its delete`,
            fix: "deletes do not take effect: check the credentials' permissions (s3:DeleteObject)",
          };
        }
        return ok(`${blobs.name}: the probe object was deleted`);
      });
    } else {
      skip("blob get", "the probe object could not be written");
      skip("blob delete", "the probe object could not be written");
    }
  }

  await run("compression", async () => {
    const { compressor } = ctx.options.payload;
    const input = new TextEncoder().encode(`larder check ${probe} `.repeat(64));
    const packed = await compressor.compress(input);
    const unpacked = await compressor.decompress(packed, input.length);
    if (!sameBytes(unpacked, input)) {
      return {
        status: "fail",
        detail: `${compressor.name}: a payload did not survive compression`,
        fix: "report this: the compressor is broken",
      };
    }
    return ok(`${compressor.name}: loaded, and a payload round-trips (${input.length} → ${packed.length} bytes)`);
  });

  return { ok: steps.every((step) => step.status !== "fail"), steps };
}

function ok(detail: string): Omit<CheckStep, "step" | "ms"> {
  return { status: "ok", detail, fix: null };
}

/** A failed step: the error's message, and its fix (the adapter's for a misconfiguration, else a hint by kind). */
function failed(step: CheckStepName, error: unknown, timeoutMs: number): Omit<CheckStep, "step" | "ms"> {
  const detail = error instanceof Error ? error.message : String(error);
  return { status: "fail", detail, fix: misconfigurationFix(error) ?? hint(step, { error, detail, timeoutMs }) };
}

function hint(
  step: CheckStepName,
  { error, detail, timeoutMs }: { readonly error: unknown; readonly detail: string; readonly timeoutMs: number },
): string {
  const blob = step.startsWith("blob");
  const where = blob ? "`endpoint`" : "the store's URL";
  if (isCacheError(error) && error.code === "E_TIMEOUT") {
    return `no answer within ${timeoutMs} ms: check ${where} and the network (a firewall?), or raise \`timeout\``;
  }
  if (/ENOTFOUND|EAI_AGAIN|dns|lookup|resolve/i.test(detail)) return `the host name does not resolve: check ${where}`;
  if (/ECONNREFUSED|refused|Unable to connect|ECONNRESET|EHOSTUNREACH|ENETUNREACH/i.test(detail)) {
    return `nothing answers there: is the server running? check ${where}`;
  }
  if (/certificate|TLS|SSL/i.test(detail)) {
    return `the TLS handshake failed: check ${where} (https vs http, the certificate)`;
  }
  if (step === "compression") {
    return 'the compressor could not run: on Cloudflare Workers, import { createCache } from "larder/workers"; elsewhere pass zstd: { wasm } or use compression: "gzip"';
  }
  return blob
    ? "check the blob store's options (`endpoint`, `bucket`, `region`, the credentials)"
    : "check the store's URL and credentials";
}

function seconds(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
