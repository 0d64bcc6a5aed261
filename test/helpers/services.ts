/**
 * Access to the local services from test suites: their configuration (from the `LARDER_TEST_*`
 * variables that `npm test` / `npm run services -- <cmd>` set), the request logs of the Upstash
 * bridge and the S3 proxy, and raw views of what is actually stored in Redis and in the bucket.
 *
 * Suites that need the services call {@link requireServices} at load time: without the
 * variables it throws, so a suite never skips silently.
 *
 * Raw helpers send `x-larder-uncounted: 1`, so looking at a key does not change request counts.
 *
 * @module
 */
import { createServer } from "node:net";
import type { AddressInfo } from "node:net";
import process from "node:process";
import { AwsClient } from "aws4fetch";
import { Cluster } from "ioredis";
import type {
  FaultKind,
  FaultRule,
  FaultRuleState,
  RequestLogEntry,
  RequestLogSnapshot,
} from "../../scripts/services/control.ts";

export type { FaultKind, FaultRule, FaultRuleState, RequestLogEntry, RequestLogSnapshot };

/** The services' configuration. */
export interface TestServices {
  /** `redis://127.0.0.1:PORT`, the real redis-server (RESP). */
  readonly redisUrl: string;
  /** The Upstash REST bridge. */
  readonly upstash: { readonly url: string; readonly token: string };
  /** S3 (s3rver behind the counting proxy). */
  readonly s3: {
    readonly endpoint: string;
    readonly bucket: string;
    readonly region: string;
    readonly accessKeyId: string;
    readonly secretAccessKey: string;
  };
}

const VARIABLES = [
  "LARDER_TEST_REDIS_URL",
  "LARDER_TEST_UPSTASH_URL",
  "LARDER_TEST_UPSTASH_TOKEN",
  "LARDER_TEST_S3_ENDPOINT",
  "LARDER_TEST_S3_BUCKET",
  "LARDER_TEST_S3_REGION",
  "LARDER_TEST_S3_ACCESS_KEY_ID",
  "LARDER_TEST_S3_SECRET_ACCESS_KEY",
] as const;

/** Header that keeps a helper's request out of the request logs. */
const UNCOUNTED = { "x-larder-uncounted": "1" } as const;

/** The services' configuration; throws when the `LARDER_TEST_*` variables are missing. */
export function requireServices(): TestServices {
  const env = process.env;
  const missing = VARIABLES.filter((name) => !env[name]);
  if (missing.length > 0) {
    throw new Error(
      `This suite needs the local services, but ${missing.join(", ")} ${missing.length > 1 ? "are" : "is"} not set.\n` +
        "Run it through `npm test`, or `npm run services -- npx vitest run <files>`.",
    );
  }
  const get = (name: (typeof VARIABLES)[number]): string => env[name] as string;
  return {
    redisUrl: get("LARDER_TEST_REDIS_URL"),
    upstash: { url: get("LARDER_TEST_UPSTASH_URL"), token: get("LARDER_TEST_UPSTASH_TOKEN") },
    s3: {
      endpoint: get("LARDER_TEST_S3_ENDPOINT"),
      bucket: get("LARDER_TEST_S3_BUCKET"),
      region: get("LARDER_TEST_S3_REGION"),
      accessKeyId: get("LARDER_TEST_S3_ACCESS_KEY_ID"),
      secretAccessKey: get("LARDER_TEST_S3_SECRET_ACCESS_KEY"),
    },
  };
}

/**
 * The seed URLs of the local Redis Cluster (3 masters, 3 replicas); throws when it is not running,
 * so a cluster suite never skips silently.
 */
export function requireCluster(): string[] {
  const urls = process.env.LARDER_TEST_REDIS_CLUSTER_URLS;
  if (!urls) {
    throw new Error(
      "This suite needs the local Redis Cluster, but LARDER_TEST_REDIS_CLUSTER_URLS is not set.\n" +
        "Run it through `npm test`, or `npm run services -- --cluster npx vitest run <files>`.",
    );
  }
  return urls.split(",");
}

/** A random prefix for keys and objects, so tests sharing the services do not collide. */
export function uniquePrefix(label = "t"): string {
  return `${label}-${crypto.randomUUID()}`;
}

function authHeaders(token?: string): Record<string, string> {
  return token ? { authorization: `Bearer ${token}` } : {};
}

async function control(
  baseUrl: string,
  method: string,
  route: string,
  token?: string,
  body?: unknown,
): Promise<unknown> {
  const response = await fetch(`${baseUrl}/__larder/${route}`, {
    method,
    headers: { ...authHeaders(token), "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${baseUrl}/__larder/${route}: ${response.status} ${text}`);
  return JSON.parse(text);
}

/**
 * The requests a service has logged since the last reset, oldest first. `baseUrl` is the bridge
 * (pass its token) or the S3 proxy (no token). Times are `performance.now()` of the services
 * process: comparable between the bridge and the proxy, not with the test's own clock.
 */
export async function requestLog(baseUrl: string, token?: string): Promise<RequestLogEntry[]> {
  return (await requestLogSnapshot(baseUrl, token)).requests;
}

/** Like {@link requestLog}, with the number of dropped entries and the services' current time. */
export async function requestLogSnapshot(baseUrl: string, token?: string): Promise<RequestLogSnapshot> {
  return await control(baseUrl, "GET", "requests", token) as RequestLogSnapshot;
}

/**
 * A logged bridge request's command names, `EVALSHA` written as `EVAL`: either is one script
 * (the Upstash store sends a script by EVAL the first time, by EVALSHA after).
 */
export function scriptCommands(entry: Pick<RequestLogEntry, "commands">): string[] {
  return entry.commands.map((name) => (name === "EVALSHA" ? "EVAL" : name));
}

/** Sequence numbers of the last logged requests: where {@link trafficOf} starts counting. */
export interface TrafficMark {
  readonly store: number;
  readonly s3: number;
}

/**
 * The requests for `prefix` at the Upstash bridge (commands on `<prefix>:…` keys) and at the S3
 * proxy (`/<prefix>/` paths) logged after `since`, and the mark to count from next.
 */
export async function trafficOf(
  prefix: string,
  since?: TrafficMark,
): Promise<{ store: RequestLogEntry[]; s3: RequestLogEntry[]; mark: TrafficMark }> {
  const { upstash, s3: s3Service } = requireServices();
  const [store, s3] = await Promise.all([
    requestLogSnapshot(upstash.url, upstash.token),
    requestLogSnapshot(s3Service.endpoint),
  ]);
  const mine = (entries: RequestLogEntry[], after: number, test: (e: RequestLogEntry) => boolean) =>
    entries.filter((e) => e.seq > after && test(e));
  return {
    store: mine(store.requests, since?.store ?? 0, (e) => e.keys.some((k) => k.startsWith(`${prefix}:`))),
    s3: mine(s3.requests, since?.s3 ?? 0, (e) => e.path.includes(`/${prefix}/`)),
    mark: { store: store.requests.at(-1)?.seq ?? 0, s3: s3.requests.at(-1)?.seq ?? 0 },
  };
}

/**
 * Empties a service's request log. The services are shared by every suite and test files run in
 * parallel: a reset can erase entries another suite is about to count. Prefer filtering the log
 * on your own key prefix (`entry.keys`, `entry.path`) and on entries newer than a `seq` you noted.
 */
export async function resetRequestLog(baseUrl: string, token?: string): Promise<void> {
  await control(baseUrl, "DELETE", "requests", token);
}

/**
 * Adds fault rules to a service, e.g. `[{ match: prefix, latencyMs: 50 }]` to slow down only the
 * requests that mention `prefix` (an S3 path, or a Redis command argument), or
 * `[{ match: prefix, status: 503, count: 2 }]` to fail the next two of them. Rule fields
 * (latency, status, reset, truncate, corrupt, unsized, probability, seed, count, method) are described in
 * scripts/services/faults.ts; each request's log entry lists the faults it met (`faults`). Rules
 * are global to the shared service: always scope them with `match`, and remove them with
 * {@link removeFaults}. The raw helpers below are never faulted.
 */
export async function addFaults(baseUrl: string, rules: FaultRule[], token?: string): Promise<void> {
  await control(baseUrl, "POST", "faults", token, { rules });
}

/** A service's fault rules, with how often each matched and fired. */
export async function faultRules(baseUrl: string, token?: string): Promise<FaultRuleState[]> {
  return (await control(baseUrl, "GET", "faults", token) as { rules: FaultRuleState[] }).rules;
}

/** Removes the fault rules whose `match` is `match` (the ones {@link addFaults} added). */
export async function removeFaults(baseUrl: string, match: string, token?: string): Promise<void> {
  await control(baseUrl, "DELETE", `faults?match=${encodeURIComponent(match)}`, token);
}

/**
 * Replaces ALL of a service's fault rules (`[]` clears them). Only for services a test started
 * itself: on the shared ones this removes other suites' rules; use {@link addFaults} there.
 */
export async function setFaults(baseUrl: string, rules: FaultRule[], token?: string): Promise<void> {
  await control(baseUrl, "PUT", "faults", token, { rules });
}

let clusterAdmin: Cluster | undefined;

/**
 * Runs one raw Redis command where this run's store lives (not logged): through the bridge
 * (redis-server), or on the Redis Cluster when `LARDER_TEST_STORE=cluster` (`KEYS` then asks every
 * master). Strings come back as UTF-8 text.
 */
export async function redisCommand(command: readonly (string | number)[]): Promise<unknown> {
  if (process.env.LARDER_TEST_STORE === "cluster") {
    if (!clusterAdmin) {
      const [seed] = requireCluster();
      const url = new URL(seed!);
      clusterAdmin = new Cluster([{ host: url.hostname, port: Number(url.port) }], { scaleReads: "master" });
      await clusterAdmin.call("PING");
    }
    const [name, ...args] = command.map(String) as [string, ...string[]];
    if (name.toUpperCase() === "KEYS") {
      const perMaster = await Promise.all(clusterAdmin.nodes("master").map((node) => node.call("KEYS", ...args)));
      return (perMaster as string[][]).flat();
    }
    return await clusterAdmin.call(name, ...args);
  }
  const { upstash } = requireServices();
  const response = await fetch(upstash.url, {
    method: "POST",
    headers: { ...authHeaders(upstash.token), ...UNCOUNTED, "content-type": "application/json" },
    body: JSON.stringify(command),
  });
  const body = await response.json() as { result?: unknown; error?: string };
  if (body.error !== undefined) throw new Error(`redis ${String(command[0])}: ${body.error}`);
  return body.result;
}

/** The raw value stored under `key` in Redis (exactly as stored, UTF-8 decoded), or null. */
export async function rawRedisGet(key: string): Promise<string | null> {
  return await redisCommand(["GET", key]) as string | null;
}

/** The remaining TTL of `key` in ms (-1: no expiry, -2: no such key). */
export async function rawRedisPttl(key: string): Promise<number> {
  return await redisCommand(["PTTL", key]) as number;
}

/** The keys matching `pattern` (e.g. `${prefix}*`), sorted. */
export async function rawRedisKeys(pattern: string): Promise<string[]> {
  return (await redisCommand(["KEYS", pattern]) as string[]).sort();
}

function s3Client(): { client: AwsClient; base: string } {
  const { s3 } = requireServices();
  // retries: 0, or a failing server costs ~25 s of aws4fetch's hidden retries.
  const client = new AwsClient({ ...s3, service: "s3", retries: 0 });
  return { client, base: `${s3.endpoint}/${s3.bucket}` };
}

/** Encodes an object key for a path-style URL (`+` and spaces included; see DESIGN.md). */
function objectPath(key: string): string {
  return key.split("/").map(encodeURIComponent).join("/");
}

function unescapeXml(text: string): string {
  return text.replace(/&(lt|gt|quot|apos|amp|#\d+|#x[0-9a-f]+);/gi, (_, entity: string) => {
    const named: Record<string, string> = { lt: "<", gt: ">", quot: '"', apos: "'", amp: "&" };
    if (entity[0] !== "#") return named[entity.toLowerCase()] ?? "";
    return String.fromCodePoint(
      entity[1] === "x" || entity[1] === "X" ? parseInt(entity.slice(2), 16) : Number(entity.slice(1)),
    );
  });
}

/** The keys of the objects in the bucket under `prefix`, sorted (not logged by the proxy). */
export async function listObjects(prefix: string): Promise<string[]> {
  const { client, base } = s3Client();
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const query = new URLSearchParams({ "list-type": "2", prefix });
    if (token) query.set("continuation-token", token);
    const response = await client.fetch(`${base}?${query}`, { headers: UNCOUNTED });
    const xml = await response.text();
    if (!response.ok) throw new Error(`S3 list ${prefix}: ${response.status} ${xml.slice(0, 200)}`);
    for (const match of xml.matchAll(/<Key>([\s\S]*?)<\/Key>/g)) keys.push(unescapeXml(match[1] ?? ""));
    token = /<IsTruncated>true<\/IsTruncated>/.test(xml)
      ? unescapeXml(/<NextContinuationToken>([\s\S]*?)<\/NextContinuationToken>/.exec(xml)?.[1] ?? "")
      : undefined;
  } while (token);
  return keys.sort();
}

/** The bytes of object `key`, or null when there is none (not logged by the proxy). */
export async function getObject(key: string): Promise<Uint8Array | null> {
  const { client, base } = s3Client();
  const response = await client.fetch(`${base}/${objectPath(key)}`, { headers: UNCOUNTED });
  if (response.status === 404) return null;
  if (!response.ok) throw new Error(`S3 get ${key}: ${response.status} ${(await response.text()).slice(0, 200)}`);
  return new Uint8Array(await response.arrayBuffer());
}

/** Writes object `key` directly (e.g. to plant a corrupt blob); not logged by the proxy. */
export async function putObject(key: string, body: Uint8Array): Promise<void> {
  const { client, base } = s3Client();
  const response = await client.fetch(`${base}/${objectPath(key)}`, {
    method: "PUT",
    body: new Uint8Array(body),
    headers: UNCOUNTED,
  });
  if (!response.ok) throw new Error(`S3 put ${key}: ${response.status} ${(await response.text()).slice(0, 200)}`);
}

/** Removes object `key` (no error when absent); not logged by the proxy. */
export async function deleteObject(key: string): Promise<void> {
  const { client, base } = s3Client();
  const response = await client.fetch(`${base}/${objectPath(key)}`, { method: "DELETE", headers: UNCOUNTED });
  if (!response.ok && response.status !== 404) throw new Error(`S3 delete ${key}: ${response.status}`);
}

/** A loopback port nothing listens on (bound, then closed): a backend that is not there. */
export function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
