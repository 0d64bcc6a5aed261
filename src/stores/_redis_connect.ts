/**
 * Creates the ioredis client of a store given a `url`. ioredis is loaded here, on first use, by
 * a dynamic import: a user who passes their own client (or an iovalkey one) never loads it.
 *
 * Settings, and why:
 * - `maxRetriesPerRequest: 0`: a command whose connection drops fails at once instead of waiting
 *   for a reconnection; the cache fails open and its breaker stops calling a dead server.
 * - `protocol: 2`: RESP2 replies (what the scripts' replies are decoded from; RESP3 ones are
 *   accepted too, for clients the app gives).
 * - an `error` listener: without one ioredis prints every reconnection failure. The last
 *   connection error is kept ({@link lastConnectionError}): with `maxRetriesPerRequest: 0` a command
 *   fails with "Reached the max retries per request limit", which hides the cause
 *   (`connect ECONNREFUSED 127.0.0.1:6379`, a TLS or auth failure) that operators need.
 * - on a cluster, `enableAutoPipelining`: the commands of one lookup that go to one node leave in
 *   one write; reads go to masters (a replica may lag behind an invalidation).
 *
 * @module
 */
import type { RedisClientLike, RedisClusterLike } from "./_redis_client.ts";
import type { RedisAddress } from "./_redis_url.ts";

interface Listening {
  on(event: "error", listener: (error: Error) => void): unknown;
  on(event: "ready", listener: () => void): unknown;
}

const lastErrors = new WeakMap<object, Error>();

/** The last connection error of a client this module created, until it is ready again. */
export function lastConnectionError(client: object): Error | undefined {
  return lastErrors.get(client);
}

function watch<T extends Listening>(client: T): T {
  client.on("error", (error) => lastErrors.set(client, error));
  client.on("ready", () => lastErrors.delete(client));
  return client;
}

/** The part of the "ioredis" module used here. */
interface IoRedisModule {
  readonly Redis: new (options: Record<string, unknown>) => RedisClientLike & Listening;
  readonly Cluster: new (
    nodes: { host: string; port: number }[],
    options: Record<string, unknown>,
  ) => RedisClusterLike & Listening;
}

/** What to connect to. */
export interface ConnectOptions {
  /** One node, or a cluster's seed nodes. */
  readonly addresses: readonly RedisAddress[];
  /** Whether they are a cluster's. */
  readonly cluster: boolean;
  /** TLS options (rediss://). */
  readonly tls: Readonly<Record<string, unknown>> | undefined;
  /** Connection timeout in ms. */
  readonly connectTimeoutMs: number | undefined;
}

/** A new ioredis client for `options` (connecting in the background). */
export async function connect(options: ConnectOptions): Promise<RedisClientLike> {
  const module = await import("ioredis") as unknown as IoRedisModule & { default?: IoRedisModule };
  const { Redis, Cluster } = module.Redis ? module : module.default!;
  const first = options.addresses[0]!;
  const common: Record<string, unknown> = {
    ...(first.username === undefined ? {} : { username: first.username }),
    ...(first.password === undefined ? {} : { password: first.password }),
    ...(first.tls ? { tls: { servername: first.host, ...options.tls } } : {}),
    connectTimeout: options.connectTimeoutMs ?? 10_000,
    maxRetriesPerRequest: 0,
    protocol: 2,
    connectionName: "larder",
  };
  if (!options.cluster) {
    return watch(new Redis({ ...common, host: first.host, port: first.port, db: first.db ?? 0 }));
  }
  const client = new Cluster(
    options.addresses.map((a) => ({ host: a.host, port: a.port })),
    {
      redisOptions: common,
      enableAutoPipelining: true,
      scaleReads: "master",
      // A failover moves slots: a command that met a dead master is retried once its replica
      // took over, within the cache's own time limit.
      retryDelayOnFailover: 100,
      retryDelayOnClusterDown: 100,
      slotsRefreshInterval: 1_000,
      ...(first.tls ? { dnsLookup: (address: string, done: (e: null, a: string) => void) => done(null, address) } : {}),
    },
  );
  return watch(client);
}
