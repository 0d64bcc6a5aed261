/**
 * Starts every local service the tests, examples and benchmarks use, on free loopback ports:
 * a real redis-server, the Upstash REST bridge in front of it, and s3rver behind a counting
 * proxy that verifies SigV4 signatures for the region `eu-central-1`. `env` holds the
 * `LARDER_TEST_*` variables that describe them (what the test suites read); `userEnv` the same
 * services under the names the README's snippets and the examples read (`UPSTASH_REDIS_REST_URL`,
 * `S3_ENDPOINT`, `AWS_ACCESS_KEY_ID`…) and those of the operator CLI (`LARDER_S3_*`).
 *
 * @example
 * ```ts
 * import { startServices } from "./scripts/services/index.ts";
 * const services = await startServices();
 * try {
 *   console.log(services.env.LARDER_TEST_UPSTASH_URL);
 * } finally {
 *   await services.stop();
 * }
 * ```
 *
 * @module
 */
import { randomBytes } from "node:crypto";
import { type Bridge, startBridge } from "./bridge.ts";
import { type RedisCluster, startCluster } from "./cluster.ts";
import { type RedisServer, startRedis } from "./redis.ts";
import { S3_CREDENTIALS, S3_REGION, type S3Server, startS3 } from "./s3.ts";

/**
 * The environment variables that describe the services (all of them, always set). With the
 * cluster, also `LARDER_TEST_REDIS_CLUSTER_URLS`: `redis://127.0.0.1:PORT,…`, every node
 * of a 3-master, 3-replica Redis Cluster.
 */
export interface ServicesEnv extends Record<string, string> {
  /** `redis://127.0.0.1:PORT` (the real redis-server, RESP over TCP). */
  LARDER_TEST_REDIS_URL: string;
  /** `http://127.0.0.1:PORT` (the Upstash REST bridge). */
  LARDER_TEST_UPSTASH_URL: string;
  /** The bridge's Bearer token (random per start). */
  LARDER_TEST_UPSTASH_TOKEN: string;
  /** `http://127.0.0.1:PORT` (the counting proxy in front of s3rver). */
  LARDER_TEST_S3_ENDPOINT: string;
  /** `larder-test`. */
  LARDER_TEST_S3_BUCKET: string;
  /** `eu-central-1`: requests signed for another region are refused, as AWS refuses them. */
  LARDER_TEST_S3_REGION: string;
  /** `S3RVER`. */
  LARDER_TEST_S3_ACCESS_KEY_ID: string;
  /** `S3RVER`. */
  LARDER_TEST_S3_SECRET_ACCESS_KEY: string;
}

/**
 * The services under the names the README's snippets and the examples read, and the ones the
 * operator CLI and `larder/env` read for S3 (they take the `AWS_*` keys as they are).
 */
export interface UserEnv extends Record<string, string> {
  UPSTASH_REDIS_REST_URL: string;
  UPSTASH_REDIS_REST_TOKEN: string;
  /** The redis-server, for `redisStore` and `CACHE_URL`/`REDIS_URL` configurations. */
  REDIS_URL: string;
  S3_ENDPOINT: string;
  S3_BUCKET: string;
  S3_REGION: string;
  AWS_ACCESS_KEY_ID: string;
  AWS_SECRET_ACCESS_KEY: string;
  LARDER_S3_ENDPOINT: string;
  LARDER_S3_BUCKET: string;
  LARDER_S3_REGION: string;
}

/** The README's and the CLI's names for the services `env` describes. */
export function userEnvOf(env: ServicesEnv): UserEnv {
  return {
    UPSTASH_REDIS_REST_URL: env.LARDER_TEST_UPSTASH_URL,
    UPSTASH_REDIS_REST_TOKEN: env.LARDER_TEST_UPSTASH_TOKEN,
    REDIS_URL: env.LARDER_TEST_REDIS_URL,
    S3_ENDPOINT: env.LARDER_TEST_S3_ENDPOINT,
    S3_BUCKET: env.LARDER_TEST_S3_BUCKET,
    S3_REGION: env.LARDER_TEST_S3_REGION,
    AWS_ACCESS_KEY_ID: env.LARDER_TEST_S3_ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY: env.LARDER_TEST_S3_SECRET_ACCESS_KEY,
    LARDER_S3_ENDPOINT: env.LARDER_TEST_S3_ENDPOINT,
    LARDER_S3_BUCKET: env.LARDER_TEST_S3_BUCKET,
    LARDER_S3_REGION: env.LARDER_TEST_S3_REGION,
  };
}

/** What to start besides the defaults. */
export interface ServicesOptions {
  /** Also a Redis Cluster (3 masters, 3 replicas; a few seconds to start). @default false */
  readonly cluster?: boolean;
}

/** The running services. */
export interface Services {
  /** The `LARDER_TEST_*` variables. */
  readonly env: ServicesEnv;
  /** The same services under the README's and the CLI's names (see {@link userEnvOf}). */
  readonly userEnv: UserEnv;
  /** Process ids and direct handles, for tooling (tests should use `env`). */
  readonly redis: RedisServer;
  /** The bridge (its log and fault rules). */
  readonly bridge: Bridge;
  /** s3rver and its proxy. */
  readonly s3: S3Server;
  /** The Redis Cluster, when asked for (or added later by {@link Services.addCluster}). */
  cluster: RedisCluster | undefined;
  /** Starts the cluster now (if not running) and adds its variable to `env`. */
  addCluster(): Promise<void>;
  /** Stops everything that was started; safe to call more than once. */
  stop(): Promise<void>;
}

/** Starts redis-server, the bridge and the S3 server (and the cluster); stops what it started if any step fails. */
export async function startServices(options: ServicesOptions = {}): Promise<Services> {
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async (): Promise<void> => {
    const errors: unknown[] = [];
    for (const stop of stops.splice(0).reverse()) {
      try {
        await stop();
      } catch (error) {
        errors.push(error);
      }
    }
    if (errors.length > 0) throw new AggregateError(errors, "some services did not stop cleanly");
  };
  try {
    const redis = await startRedis();
    stops.push(() => redis.stop());
    const token = randomBytes(24).toString("base64url");
    const bridge = await startBridge({ redis, token });
    stops.push(() => bridge.stop());
    const s3 = await startS3();
    stops.push(() => s3.stop());
    const env: ServicesEnv = {
      LARDER_TEST_REDIS_URL: redis.url,
      LARDER_TEST_UPSTASH_URL: bridge.url,
      LARDER_TEST_UPSTASH_TOKEN: token,
      LARDER_TEST_S3_ENDPOINT: s3.endpoint,
      LARDER_TEST_S3_BUCKET: s3.bucket,
      LARDER_TEST_S3_REGION: S3_REGION,
      LARDER_TEST_S3_ACCESS_KEY_ID: S3_CREDENTIALS.accessKeyId,
      LARDER_TEST_S3_SECRET_ACCESS_KEY: S3_CREDENTIALS.secretAccessKey,
    };
    const services: Services = {
      env,
      userEnv: userEnvOf(env),
      redis,
      bridge,
      s3,
      cluster: undefined,
      async addCluster(): Promise<void> {
        if (services.cluster) return;
        const cluster = await startCluster();
        stops.push(() => cluster.stop());
        services.cluster = cluster;
        env.LARDER_TEST_REDIS_CLUSTER_URLS = cluster.urls.join(",");
      },
      stop: stopAll,
    };
    if (options.cluster) await services.addCluster();
    return services;
  } catch (error) {
    await stopAll().catch(() => {});
    throw error;
  }
}
