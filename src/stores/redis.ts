/**
 * A metadata store on plain Redis (or Valkey, ElastiCache, Memorystore…) over TCP, one node or a
 * Redis Cluster, through the `ioredis` client (an optional peer dependency: only this subpath
 * loads it). It runs the same operations and the same Lua scripts as the Upstash store, so the
 * round trips are the same: on one node a batch is one pipeline (one round trip) and scripts go
 * by `EVALSHA`, re-sent with `EVAL` only when the server answers `NOSCRIPT`. On a cluster,
 * entries spread over the shards and a lookup reaches the record's shard and its generations'
 * shards in one round trip (see `_redis_cluster.ts`).
 *
 * Give it a `url` (`redis://`, `rediss://` for TLS, `user:password@`, `/db`; `?cluster=true`
 * for a cluster's seed node) and it creates and owns the client: `store.close()` closes it. Or
 * give it the `client` the app already has (an ioredis `Redis` or `Cluster`, connected or
 * connecting; ioredis connects lazily by itself): the app keeps owning it and closes it itself.
 *
 * Node, Bun and Deno (as `npm:ioredis`). Not Cloudflare Workers: there is no TCP client there;
 * use `upstashStore` (Redis over HTTP).
 *
 * Like every adapter it is dumb: no retries, no timeouts of its own. A call's `signal` rejects it
 * at once (the reply, when it comes, is dropped); the cache's timeouts and fail-open do the rest.
 *
 * @example
 * ```ts
 * import { createCache } from "larder";
 * import { redisStore } from "larder/stores/redis";
 *
 * const store = redisStore({ url: "redis://localhost:6379/0" });
 * const cache = createCache({ store, prefix: "app" });
 * const double = cache.wrap(async (n: number) => n * 2, { name: "double" });
 * console.log(await double(21)); // 42
 * await cache.flush();
 * await store.close();
 * ```
 *
 * @module
 */
import { ConfigError, StoreError } from "../core/errors.ts";
import type { CallOptions, MetadataStore, StoreOp, StoreResult } from "../core/types.ts";
import * as opt from "../core/util/check_options.ts";
import { abandonable } from "../core/util/abort.ts";
import {
  authFix,
  checkClient,
  errorMessage,
  type RedisClientLike,
  type RedisClusterLike,
  resultOf,
  runPipeline,
} from "./_redis_client.ts";
import { clusterRunner } from "./_redis_cluster.ts";
import { describeOps, encodeOp, redisTime } from "./_redis_ops.ts";
import { connect, lastConnectionError } from "./_redis_connect.ts";
import { parseRedisUrl, type RedisAddress } from "./_redis_url.ts";
import { canSubscribe, RedisBus } from "./_redis_bus.ts";

export type { RedisClientLike, RedisClusterLike, RedisPipelineLike } from "./_redis_client.ts";
export type { Arg } from "./_redis_ops.ts";

/** Options of {@link redisStore}: a `url` (the store owns the client) or a `client` (the app does). */
export interface RedisStoreOptions {
  /**
   * `redis://[user:password@]host[:port][/db]`, `rediss://…` for TLS. For a Redis Cluster, one or
   * more seed nodes: `?cluster=true` on the URL, several URLs, or `cluster: true`. Credentials are
   * never included in errors or logs.
   */
  readonly url?: string | readonly string[];
  /**
   * An ioredis `Redis` or `Cluster` the app created (connected, or connecting on its own), when
   * the app already has one. The app owns it: `close()` leaves it open.
   */
  readonly client?: RedisClientLike;
  /** The `url` names seed nodes of a Redis Cluster. @default false (true with several URLs or ?cluster=true) */
  readonly cluster?: boolean;
  /** TLS options for `rediss://` (Node's `tls.connect` options, e.g. `{ ca }`). @default the system's CAs */
  readonly tls?: Readonly<Record<string, unknown>>;
  /** Time to establish a connection, in ms. @default 10000 */
  readonly connectTimeoutMs?: number;
  /**
   * Carry the in-process tiers' bus (`memory.bus`): each invalidation, delete and `set` is
   * published (`PUBLISH`, or `SPUBLISH` on a cluster) in the same round trip, and each cache with a
   * tier subscribes on a connection of its own (a duplicate of the client), so other instances'
   * tiers drop what it changed within milliseconds. `false`: nothing published, tiers rely on
   * their TTL alone.
   * @default true
   */
  readonly bus?: boolean;
}

/** A {@link MetadataStore} on Redis over TCP, with the client it uses and a way to close it. */
export interface RedisStore extends MetadataStore {
  /** The ioredis client in use (created from `url`, or the one given); resolves once it is loaded. */
  client(): Promise<RedisClientLike>;
  /** Closes the client when the store created it (from `url`); does nothing to a client the app gave. */
  close(): Promise<void>;
}

const WHERE = "redisStore";

/** Creates a {@link RedisStore} (name `"redis"`, or `"redis-cluster"` on a cluster). */
export function redisStore(options: RedisStoreOptions): RedisStore {
  const { given, addresses, cluster, tls, connectTimeoutMs, bus: busOn } = validate(options);
  const owned = given === undefined;
  let loaded: Promise<RedisClientLike> | undefined = given ? Promise.resolve(given) : undefined;
  let closed = false;
  const client = (): Promise<RedisClientLike> => {
    if (closed && owned) return Promise.reject(new StoreError(`${WHERE}: the store has been closed`));
    loaded ??= connect({ addresses, cluster, tls, connectTimeoutMs });
    return loaded;
  };
  const name = cluster ? "redis-cluster" : "redis";
  let runCluster: ReturnType<typeof clusterRunner> | undefined;
  // The tiers' bus, unless turned off or the app's client cannot make a subscriber connection.
  const bus = busOn && (given === undefined || canSubscribe(given)) ? new RedisBus(client) : undefined;
  // A client the app closes takes the store's subscriber connections with it.
  if (bus && given) (given as { on?: (event: string, listener: () => void) => unknown }).on?.("end", () => bus.close());

  const store: RedisStore = {
    name,
    client,
    async run(ops: readonly StoreOp[], callOptions?: CallOptions): Promise<StoreResult[]> {
      const signal = callOptions?.signal;
      signal?.throwIfAborted();
      if (ops.length === 0) return [];
      try {
        // A new subscription first: nothing this batch reads may change unheard (MetadataStore.subscribe).
        const subscribing = bus?.ready();
        if (subscribing) await abandonable(subscribing, signal);
        const redis = await abandonable(client(), signal);
        if (cluster) {
          runCluster ??= clusterRunner(redis as RedisClusterLike);
          return await abandonable(runCluster(ops), signal);
        }
        const replies = await abandonable(runPipeline(redis, ops.map((op) => encodeOp(op))), signal);
        return ops.map((op, i) => resultOf(name, op, replies[i]));
      } catch (cause) {
        signal?.throwIfAborted();
        if (cause instanceof ConfigError) throw cause;
        // A command refused for want of a connection ("max retries per request") says nothing of
        // why: the connection's own error (ECONNREFUSED, TLS, auth) is what the operator needs.
        const connection = loaded ? lastConnectionError(await loaded.catch(() => ({}))) : undefined;
        if (connection) {
          throw new StoreError(`${name} ${describeOps(ops)} failed: cannot connect: ${errorMessage(connection)}`, {
            cause: connection,
            fix: authFix(connection),
          });
        }
        if (cause instanceof StoreError) throw cause;
        throw new StoreError(`${name} ${describeOps(ops)} failed: ${errorMessage(cause)}`, {
          cause,
          fix: authFix(cause),
        });
      }
    },
    async time(callOptions?: CallOptions): Promise<number> {
      const signal = callOptions?.signal;
      signal?.throwIfAborted();
      try {
        const redis = await abandonable(client(), signal);
        return redisTime(await abandonable(redis.call("TIME"), signal), name);
      } catch (cause) {
        signal?.throwIfAborted();
        if (cause instanceof StoreError) throw cause;
        const connection = loaded ? lastConnectionError(await loaded.catch(() => ({}))) : undefined;
        const error = connection ?? cause;
        throw new StoreError(`${name} time failed: ${connection ? "cannot connect: " : ""}${errorMessage(error)}`, {
          cause: error,
          fix: authFix(error),
        });
      }
    },
    async close(): Promise<void> {
      // The subscriber connections are the store's own, whoever owns the client.
      bus?.close();
      if (!owned || closed) return;
      closed = true;
      if (loaded) await (await loaded).quit().catch(() => {});
    },
  };
  if (!bus) return store;
  return { ...store, bus: "push", subscribe: (channel, listener) => bus.subscribe(channel, listener) };
}

const OPTIONS = {
  url: opt.optional(redisUrls),
  client: opt.optional((value: unknown, at: opt.OptionPath) => checkClient(value, opt.optionName(at))),
  cluster: opt.optional(opt.boolean),
  tls: opt.optional(
    opt.satisfying<Readonly<Record<string, unknown>>>(
      (v) => typeof v === "object" && v !== null && !Array.isArray(v),
      "an object of Node's tls.connect options, e.g. { ca }",
    ),
  ),
  connectTimeoutMs: opt.optional(opt.positiveInteger),
  bus: opt.withDefault(opt.boolean, true),
} satisfies opt.OptionChecks<RedisStoreOptions>;

/** What {@link validate} makes of the options. */
interface Validated {
  readonly given: RedisClientLike | undefined;
  readonly addresses: RedisAddress[];
  readonly cluster: boolean;
  readonly tls: Readonly<Record<string, unknown>> | undefined;
  readonly connectTimeoutMs: number | undefined;
  readonly bus: boolean;
}

function validate(options: RedisStoreOptions): Validated {
  if (typeof options !== "object" || options === null) {
    throw new ConfigError(`${WHERE}: options are required: { url: "redis://…" } or { client }`);
  }
  // Which of the two ways is meant comes first: checking a client given beside a url would hide it.
  if ((options.url === undefined) === (options.client === undefined)) {
    throw new ConfigError(`${WHERE}: give either \`url\` (redis://…) or \`client\` (an ioredis client), not both`);
  }
  const { url: addresses = [], client: given, tls, connectTimeoutMs, bus, ...o } = opt.checkOptions(
    WHERE,
    options,
    OPTIONS,
  );
  if (given !== undefined) {
    if (tls !== undefined || connectTimeoutMs !== undefined) {
      throw new ConfigError(
        `${WHERE}: \`tls\` and \`connectTimeoutMs\` apply to a \`url\`; configure your client instead`,
      );
    }
    if (o.cluster !== undefined && o.cluster !== given.isCluster) {
      throw new ConfigError(
        `${WHERE}: \`cluster: ${o.cluster}\` but the client is ${given.isCluster ? "a Cluster" : "a one-node Redis"}`,
      );
    }
    return { given, addresses, cluster: given.isCluster, tls, connectTimeoutMs, bus };
  }
  const cluster = o.cluster ?? (addresses.length > 1 || addresses.some((a) => a.cluster));
  if (!cluster && addresses.length > 1) {
    throw new ConfigError(
      `${WHERE}: several URLs are the seed nodes of a cluster; drop \`cluster: false\` or give one URL`,
    );
  }
  if (cluster && addresses.some((a) => a.db !== undefined && a.db !== 0)) {
    throw new ConfigError(
      `${WHERE}: a Redis Cluster has only database 0; remove the /db index from the URL (use a different \`prefix\` to keep caches apart)`,
    );
  }
  if (addresses.some((a) => a.tls) && addresses.some((a) => !a.tls)) {
    throw new ConfigError(`${WHERE}: mix of redis:// and rediss:// URLs; use one scheme for every node`);
  }
  return { given: undefined, addresses, cluster, tls, connectTimeoutMs, bus };
}

/** The `url` option: one redis:// URL, or several (a cluster's seed nodes), parsed. */
function redisUrls(value: unknown, at: opt.OptionPath): RedisAddress[] {
  const urls: unknown = typeof value === "string" ? [value] : value;
  if (!Array.isArray(urls) || urls.length === 0) {
    throw new ConfigError(`${opt.optionName(at)} must be a redis:// URL or a non-empty array of them`);
  }
  const name = opt.optionName(at);
  return urls.map((u: unknown, i) => parseRedisUrl(u, urls.length > 1 ? `${name}[${i}]` : name));
}
