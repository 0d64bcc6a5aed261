/**
 * A metadata store on Upstash Redis, over its REST API (`@upstash/redis`). Every `run` is one
 * HTTP request to `/pipeline`, whatever the number of operations; `set` writes the value and its
 * TTL in one `SET key value [NX] PX ttl` command.
 *
 * The adapter is deliberately dumb: no retries, no timeouts, no fallbacks. The cache wraps it
 * with those (and aborts its requests through `signal`).
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
// The `cloudflare` entry is @upstash/redis' platform-neutral build: the default entry reads
// `process` and passes `cache: "no-store"` to fetch, which older workerd versions reject.
import { Redis } from "@upstash/redis/cloudflare";
import { ConfigError, StoreError } from "../core/errors.ts";
import * as opt from "../core/util/check_options.ts";
import type { CallOptions, MetadataStore, StoreOp, StoreResult } from "../core/types.ts";
import { type Arg, decodeReply, describeOps, encodeOp, type RedisCommand } from "./_redis_ops.ts";

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
}

interface PipelineReply {
  readonly result?: unknown;
  readonly error?: string;
}

/** Creates a {@link MetadataStore} on Upstash Redis (or any server speaking its REST API). */
export function upstashStore(options: UpstashStoreOptions): MetadataStore {
  const { url, token, readYourWrites } = validate(options);
  let syncToken = "";

  // A client per call, because @upstash/redis 1.39 takes its abort signal at construction only
  // (pipelines pass none per request). Construction is cheap (~10 µs) and opens nothing.
  const client = (signal: AbortSignal | undefined): Redis =>
    new Redis({
      url,
      token,
      // `retry: false` still makes two attempts in 1.39; `retries: 0` makes exactly one.
      retry: { retries: 0 },
      automaticDeserialization: false,
      enableTelemetry: false,
      enableAutoPipelining: false,
      // Plain JSON strings: our values are text, and base64 would add a third to every response.
      responseEncoding: false,
      // fetch's `keepalive` flag (outlive the page, 64 KiB body cap in browsers), not HTTP keep-alive.
      keepAlive: false,
      readYourWrites,
      // Passed as a function: given a plain signal, 1.39 turns an abort into a *successful*
      // response whose result is the abort reason; given a function, it rethrows the abort.
      ...(signal ? { signal: () => signal } : {}),
    });

  return {
    name: "upstash",
    async run(ops: readonly StoreOp[], callOptions?: CallOptions): Promise<StoreResult[]> {
      const signal = callOptions?.signal;
      signal?.throwIfAborted();
      if (ops.length === 0) return [];
      const redis = client(signal);
      if (readYourWrites) redis.readYourWritesSyncToken = syncToken;
      const pipeline = redis.pipeline();
      for (const op of ops) enqueue(pipeline as unknown as Pipeline, encodeOp(op));
      let replies: PipelineReply[];
      try {
        replies = await pipeline.exec<unknown[]>({ keepErrors: true }) as PipelineReply[];
      } catch (cause) {
        signal?.throwIfAborted();
        throw new StoreError(`upstash ${describeOps(ops)} failed: ${message(cause, token)}`, {
          cause: safe(cause, token),
        });
      }
      if (readYourWrites) syncToken = redis.readYourWritesSyncToken ?? syncToken;
      if (replies.length !== ops.length) {
        throw new StoreError(
          `upstash ${describeOps(ops)} failed: ${replies.length} replies for ${ops.length} operations`,
        );
      }
      return ops.map((op, i) => decode(op, replies[i], token));
    },
  };
}

const OPTIONS = {
  url: (value: unknown): string => checkUrl(value),
  token: opt.satisfying<string>(
    (v) => typeof v === "string" && v.trim() !== "" && !/\s/.test(v),
    "given, without whitespace (the REST token, UPSTASH_REDIS_REST_TOKEN)",
  ),
  readYourWrites: opt.withDefault(opt.boolean, true),
} satisfies opt.OptionChecks<UpstashStoreOptions>;

function validate(options: UpstashStoreOptions): { url: string; token: string; readYourWrites: boolean } {
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

/** The part of an `@upstash/redis` pipeline the adapter uses. */
interface Pipeline {
  get(key: string): unknown;
  set(key: string, value: string, options: { nx?: true; px: number }): unknown;
  del(...keys: string[]): unknown;
  exists(key: string): unknown;
  eval(script: string, keys: string[], args: Arg[]): unknown;
  hset(key: string, fields: Record<string, string>): unknown;
  hincrby(key: string, field: string, by: number): unknown;
  hgetall(key: string): unknown;
  scan(cursor: string, options: { match: string; count: number }): unknown;
}

/**
 * Adds `command` to `pipeline`. Scripts go with EVAL, not EVALSHA: every call is then one round
 * trip even on a server that has never seen the script (the REST API has no connection to keep a
 * script cache warm on, and a NOSCRIPT retry would be a second request).
 */
function enqueue(pipeline: Pipeline, command: RedisCommand): void {
  if (command.kind === "script") {
    pipeline.eval(command.script.source, [...command.keys], [...command.args]);
    return;
  }
  const [name, ...args] = command.args;
  const text = args.map(String);
  switch (name) {
    case "GET":
      return void pipeline.get(text[0]!);
    case "SET":
      return void pipeline.set(text[0]!, text[1]!, { px: Number(text[3]), ...(text[4] === "NX" ? { nx: true } : {}) });
    case "DEL":
      return void pipeline.del(...text);
    case "EXISTS":
      return void pipeline.exists(text[0]!);
    case "HSET":
      return void pipeline.hset(text[0]!, { [text[1]!]: text[2]! });
    case "HINCRBY":
      return void pipeline.hincrby(text[0]!, text[1]!, Number(text[2]));
    case "HGETALL":
      return void pipeline.hgetall(text[0]!);
    case "SCAN":
      return void pipeline.scan(text[0]!, { match: text[2]!, count: Number(text[4]) });
    default:
      throw new StoreError(`upstash: no pipeline method for ${name}`);
  }
}

/**
 * An error's message, safe to log: @upstash/redis appends the whole request body (keys and
 * values) to HTTP errors as ", command was: …", which is cut; the token is masked; length capped.
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
  if (reply.error !== undefined && reply.error !== null) throw fail(String(reply.error));
  const result = decodeReply(op, reply.result);
  if (result === undefined) throw fail(`unexpected reply ${JSON.stringify(reply.result)?.slice(0, 80)}`);
  return result;
}
