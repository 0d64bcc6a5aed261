/**
 * A metadata store on Upstash Redis, over its REST API, spoken with `fetch`. Every `run` is one
 * HTTP request, `POST /pipeline` with the commands as JSON (`[["GET", key], ["EVAL", …]]`) and the
 * token as `Authorization: Bearer`, whatever the number of operations; the reply is one
 * `{"result"}` or `{"error"}` per command. `set` writes the value and its TTL in one
 * `SET key value PX ttl [NX]` command.
 *
 * The adapter is deliberately dumb: no retries, no timeouts, no fallbacks. The cache wraps it
 * with those, and aborts its requests through `signal`: the abort rejects with the signal's
 * reason, also while the reply's body is arriving.
 *
 * Why not `@upstash/redis` (which this adapter used until 0.1): its client takes its abort signal
 * at construction only, so a per-call timeout meant a client and a pipeline per call; it retried
 * network errors unless told `retries: 0` (and twice with `retry: false`), appended the whole
 * request (keys, values) to its error messages, and turned an abort into a successful reply unless
 * the signal was passed as a function. Measured on loopback against the bridge, interleaved, p50
 * (`bench/upstash_client.ts`, load ~2 on 2 cores): a store `get` 1.00–1.02 × a bare `fetch` of the
 * same GET here, against 1.07–1.11 × through the per-call client (~35–50 µs more per call); a 1 KB
 * inline hit 1.46–1.53 × the bare GET, against 1.49–1.56 ×. Scripts go by `EVALSHA` once the
 * server holds them (see {@link toWire}): the read script then costs 1.16 × a bare GET instead of
 * 1.20 × by `EVAL` (the same run: 1.12 × by a bare `fetch` of EVALSHA; load ~3–5 on 2 cores); what
 * remains of an inline hit's overhead (1.43 × in that run) is the script itself and the core's own
 * work. Without the client the Workers suite's bundle is 431 KB instead
 * of 636 KB. What this adapter keeps of the client's protocol: `/pipeline`,
 * Bearer, plain JSON strings back (no `Upstash-Encoding: base64`: it adds a third), and Upstash's
 * read-your-writes sync token (`upstash-sync-token`: the last successful reply's, sent with the
 * next request; `""` when that reply had none, as the client did).
 *
 * @example
 * ```ts
 * import { createCache } from "larder";
 * import { upstashStore } from "larder/stores/upstash";
 *
 * const cache = createCache({
 *   store: upstashStore({
 *     url: "https://eu1-example-12345.upstash.io", // UPSTASH_REDIS_REST_URL
 *     token: "AX…",                                // UPSTASH_REDIS_REST_TOKEN
 *   }),
 *   ttl: "1h",
 * });
 * ```
 *
 * @module
 */
import { ConfigError, StoreError } from "../core/errors.ts";
import * as opt from "../core/util/check_options.ts";
import { describeNetworkError } from "../core/util/network_error.ts";
import type { CallOptions, MetadataStore, StoreOp, StoreResult } from "../core/types.ts";
import { type Arg, decodeReply, describeOps, encodeOp, type RedisCommand, redisTime } from "./_redis_ops.ts";
import { loadShas, scriptSha } from "./_redis_scripts.ts";

/** Options of {@link upstashStore}. */
export interface UpstashStoreOptions {
  /** The database's REST URL (`UPSTASH_REDIS_REST_URL`), e.g. `https://eu1-example-12345.upstash.io`. */
  readonly url: string;
  /** The database's REST token (`UPSTASH_REDIS_REST_TOKEN`). Never included in errors or logs. */
  readonly token: string;
  /**
   * Send Upstash's read-your-writes sync token, so reads issued after a write from this store
   * see it even on a global database's read replicas.
   * @default true
   */
  readonly readYourWrites?: boolean;
  /**
   * Carry the in-process tiers' bus (`memory.bus`): each invalidation, delete and `set` appends a
   * short message to a log (a Redis stream, `<prefix>:bus`, kept a minute), in the same request,
   * and tiers read what is new at most every `memory.bus.interval` while they are used. `false`:
   * no log, and tiers rely on their TTL alone.
   * @default true
   */
  readonly bus?: boolean;
}

interface PipelineReply {
  readonly result?: unknown;
  readonly error?: unknown;
}

/** Header carrying Upstash's read-your-writes sync token, both ways. */
const SYNC_TOKEN = "upstash-sync-token";

/** Creates a {@link MetadataStore} on Upstash Redis (or any server speaking its REST API). */
export function upstashStore(options: UpstashStoreOptions): MetadataStore {
  const { url, token, readYourWrites, bus } = validate(options);
  const endpoint = `${url}/pipeline`;
  const host = new URL(url).host;
  const authorization = `Bearer ${token}`;
  let syncToken = "";
  // Scripts the server is known to hold (by SHA-1): sent by EVALSHA; the others by EVAL, which loads them.
  const loaded = new Set<string>();
  let shas = false;

  /** One POST of `commands` (`what` they do, for messages); its replies, one per command. */
  const post = async (
    commands: readonly (readonly Arg[])[],
    call: { readonly what: string; readonly signal: AbortSignal | undefined },
  ): Promise<PipelineReply[]> => {
    const { what, signal } = call;
    const headers: Record<string, string> = { authorization, "content-type": "application/json" };
    if (readYourWrites) headers[SYNC_TOKEN] = syncToken;
    const body = JSON.stringify(commands);
    let status: number;
    let text: string;
    try {
      // Looked up at call time, not captured: `fetch` must be called unbound on some runtimes.
      const response = await fetch(endpoint, { method: "POST", headers, body, ...(signal ? { signal } : {}) });
      status = response.status;
      text = await response.text();
      // As @upstash/redis does: the token of the last response, "" when it sent none.
      if (readYourWrites && response.ok) syncToken = response.headers.get(SYNC_TOKEN) ?? "";
    } catch (cause) {
      // An abort rejects with the signal's reason, as every other adapter does.
      signal?.throwIfAborted();
      throw new StoreError(`upstash ${what} failed: ${message(describeNetworkError(cause, host), token)}`, {
        cause: safe(cause, token),
      });
    }
    return parseReplies({ text, status, host, expected: commands.length }, what, token);
  };

  return {
    name: "upstash",
    ...(bus ? { bus: "poll" as const } : {}),
    async run(ops: readonly StoreOp[], callOptions?: CallOptions): Promise<StoreResult[]> {
      const signal = callOptions?.signal;
      signal?.throwIfAborted();
      if (ops.length === 0) return [];
      if (!shas) {
        await loadShas(); // once: every script's SHA-1, computed by WebCrypto
        shas = true;
      }
      const commands = ops.map((op) => encodeOp(op, "poll"));
      const wire = commands.map((command) => toWire(command, loaded));
      const what = describeOps(ops);
      const replies = await post(wire, { what, signal });
      // A script the server no longer holds (flushed, restarted, failed over) did not run: re-sent
      // once by EVAL, which loads it again. A second request, only then.
      const unknown: number[] = [];
      commands.forEach((command, i) => {
        if (command.kind !== "script") return;
        const sha = scriptSha(command.script);
        if (isNoScript(replies[i])) {
          loaded.delete(sha);
          unknown.push(i);
        } else {
          loaded.add(sha);
        }
      });
      if (unknown.length > 0) {
        const again = await post(unknown.map((i) => toWire(commands[i]!, NONE_LOADED)), { what, signal });
        unknown.forEach((index, j) => {
          replies[index] = again[j]!;
          loaded.add(scriptSha((commands[index] as RedisCommand & { kind: "script" }).script));
        });
      }
      return ops.map((op, i) => decode(op, replies[i], token));
    },
    async time(callOptions?: CallOptions): Promise<number> {
      const [reply] = await post([["TIME"]], { what: "time", signal: callOptions?.signal });
      if (reply?.error !== undefined && reply.error !== null) {
        throw new StoreError(`upstash time failed: ${message(String(reply.error), token)}`);
      }
      return redisTime(reply?.result, "upstash");
    },
  };
}

const NONE_LOADED: ReadonlySet<string> = new Set();

/**
 * A command as the REST API takes it: `["SET", key, value, "PX", ttl]`; a script as
 * `["EVALSHA", sha1, numkeys, ...keys, ...args]` when the server is known to hold it, else as
 * `["EVAL", source, …]` (which runs it and loads it). The REST API has no connection, but the
 * server's script cache is the server's: once a script has run there, EVALSHA finds it, and the
 * read script's 1.3 KB source no longer travels with every lookup (@upstash/redis' own `Script`
 * relies on the same: EVALSHA first, EVAL on NOSCRIPT).
 */
function toWire(command: RedisCommand, loaded: ReadonlySet<string>): readonly Arg[] {
  if (command.kind === "call") return command.args;
  const sha = scriptSha(command.script);
  const head: Arg[] = loaded.has(sha) ? ["EVALSHA", sha] : ["EVAL", command.script.source];
  return [...head, command.keys.length, ...command.keys, ...command.args];
}

/** Whether a reply is the server's "no such script" (EVALSHA of a script it does not hold). */
function isNoScript(reply: PipelineReply | undefined): boolean {
  return typeof reply?.error === "string" && reply.error.startsWith("NOSCRIPT");
}

/**
 * The pipeline's replies, one per op; a `StoreError` for an HTTP error or a body of another shape.
 * A refused token (401, 403) or a URL that is not a REST endpoint (404, 405) is a misconfiguration:
 * the error says what to change.
 */
function parseReplies(
  response: { readonly text: string; readonly status: number; readonly host: string; readonly expected: number },
  what: string,
  token: string,
): PipelineReply[] {
  const { text, status, host, expected } = response;
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  const fail = (detail: string, fix?: string): StoreError =>
    new StoreError(`upstash ${what} failed: ${message(detail, token)}`, {
      cause: new Error(message(detail, token)),
      fix,
    });
  if (status < 200 || status > 299) {
    // The API's errors are `{"error": "…"}` (401 Unauthorized, 400 for a malformed request…).
    const error = (body as PipelineReply | undefined)?.error;
    const detail = typeof error === "string"
      ? `${error} (HTTP ${status})`
      : `HTTP ${status}${body === undefined ? ` ${excerpt(text)}` : ""}`;
    throw fail(detail, misconfiguration(status, host));
  }
  if (body === undefined) throw fail(`unable to parse the response body: ${excerpt(text)}`);
  if (!Array.isArray(body)) throw fail(`unexpected response ${excerpt(text)}`);
  if (body.length !== expected) throw fail(`${body.length} replies for ${expected} operations`);
  return body as PipelineReply[];
}

/** What to change when the REST API refuses the configuration itself; undefined for other statuses. */
function misconfiguration(status: number, host: string): string | undefined {
  if (status === 401 || status === 403) {
    return `check the token (UPSTASH_REDIS_REST_TOKEN): the database at ${host} refused it; use the REST token of the same database as the URL`;
  }
  if (status === 404 || status === 405) {
    return `check the URL (UPSTASH_REDIS_REST_URL): ${host} does not serve the Upstash REST API there`;
  }
  return undefined;
}

function excerpt(text: string): string {
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text);
}

const OPTIONS = {
  url: (value: unknown): string => checkUrl(value),
  token: opt.satisfying<string>(
    (v) => typeof v === "string" && v.trim() !== "" && !/\s/.test(v),
    "given, without whitespace (the REST token, UPSTASH_REDIS_REST_TOKEN)",
  ),
  readYourWrites: opt.withDefault(opt.boolean, true),
  bus: opt.withDefault(opt.boolean, true),
} satisfies opt.OptionChecks<UpstashStoreOptions>;

function validate(
  options: UpstashStoreOptions,
): { url: string; token: string; readYourWrites: boolean; bus: boolean } {
  if (typeof options !== "object" || options === null) throw new ConfigError("upstashStore: options are required");
  return opt.checkOptions("upstashStore", options, OPTIONS);
}

function checkUrl(url: unknown): string {
  if (typeof url !== "string" || url.trim() === "") {
    throw new ConfigError("upstashStore: `url` is required (the database's REST URL, UPSTASH_REDIS_REST_URL)");
  }
  let parsed: URL;
  try {
    parsed = new URL(url.trim());
  } catch {
    throw new ConfigError(`upstashStore: \`url\` is not a valid URL: ${JSON.stringify(url)}`);
  }
  if (parsed.protocol === "redis:" || parsed.protocol === "rediss:") {
    throw new ConfigError(
      `upstashStore: \`url\` is a ${parsed.protocol}// URL (Redis over TCP): use redisStore from "larder/stores/redis" for it, or give upstashStore the database's REST URL (https://…, UPSTASH_REDIS_REST_URL)`,
    );
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") {
    throw new ConfigError(`upstashStore: \`url\` must be an http(s) URL, got ${JSON.stringify(parsed.protocol)}`);
  }
  if (parsed.username || parsed.password || parsed.search || parsed.hash) {
    throw new ConfigError(
      "upstashStore: `url` must not hold credentials, a query or a fragment; pass the token as `token`",
    );
  }
  return parsed.href.replace(/\/$/, "");
}

/**
 * An error's message, safe to log: the token is masked and the length capped. Nothing here quotes
 * the request (keys, values), unlike @upstash/redis, which appended it as ", command was: …": a
 * message from a server that echoes it is cut there all the same.
 */
function message(cause: unknown, token: string): string {
  const text = (cause instanceof Error ? cause.message : String(cause)).split(", command was:")[0] ?? "";
  const masked = text.split(token).join("***");
  return masked.length > 200 ? `${masked.slice(0, 200)}…` : masked;
}

/** The error itself, or a copy with a safe message when its message quotes the request. */
function safe(cause: unknown, token: string): unknown {
  if (!(cause instanceof Error) || message(cause, token) === cause.message) return cause;
  const copy = new Error(message(cause, token));
  copy.name = cause.name;
  return copy;
}

function decode(op: StoreOp, reply: PipelineReply | undefined, token: string): StoreResult {
  const fail = (detail: string): StoreError => new StoreError(`upstash ${op.type} failed: ${message(detail, token)}`);
  if (reply === undefined) throw fail("no reply");
  // A message the server refused is not the change's failure (the bus is best effort): `false`.
  if (op.type === "publish" && reply.error !== undefined && reply.error !== null) return false;
  if (reply.error !== undefined && reply.error !== null) throw fail(String(reply.error));
  const result = decodeReply(op, reply.result);
  if (result === undefined) throw fail(`unexpected reply ${JSON.stringify(reply.result)?.slice(0, 80)}`);
  return result;
}
