/**
 * The floors: what one request costs with nothing of Larder in the way. A bare store GET is a
 * `fetch` of the bridge's `/pipeline` (what `@upstash/redis` sends, with the same headers) and
 * the parse of its JSON reply (and, to split an inline hit's overhead, the same `fetch` of the
 * lookup's read script by `EVALSHA`); a bare S3 GET is the same `aws4fetch` signing as the S3 adapter
 * (`AwsClient`, no retries), a `fetch`, and the body read whole.
 *
 * @module
 */
import { AwsClient } from "aws4fetch";
import type { ServicesEnv } from "../scripts/services/index.ts";
import { newToken } from "../src/core/record/generations.ts";
import { encodeOp } from "../src/stores/_redis_ops.ts";
import { loadShas, scriptSha } from "../src/stores/_redis_scripts.ts";

/** Bare requests against the services. */
export interface Floors {
  /** One GET of `key` through the bridge; resolves to its value. */
  storeGet(key: string): Promise<string | null>;
  /**
   * The lookup's read script for the record `key` (generations `gens`, no lease, no touch), by
   * `EVALSHA`, as the Upstash adapter sends it, with nothing of Larder around it; resolves to the
   * record. What the script costs over a GET, apart from what Larder costs around it.
   */
  storeRead(key: string, gens: readonly string[]): Promise<string | null>;
  /** One signed GET of object `key`; resolves to its bytes. */
  s3Get(key: string): Promise<Uint8Array>;
  /** Bytes Redis uses for `key` (`MEMORY USAGE`, value and key overhead). */
  redisBytes(key: string): Promise<number>;
}

/** Floors against the services described by `env`. */
export function floors(env: ServicesEnv): Floors {
  const url = `${env.LARDER_TEST_UPSTASH_URL}/pipeline`;
  const headers = { authorization: `Bearer ${env.LARDER_TEST_UPSTASH_TOKEN}`, "content-type": "application/json" };
  const aws = new AwsClient({
    accessKeyId: env.LARDER_TEST_S3_ACCESS_KEY_ID,
    secretAccessKey: env.LARDER_TEST_S3_SECRET_ACCESS_KEY,
    service: "s3",
    region: env.LARDER_TEST_S3_REGION,
    retries: 0,
  });
  const base = `${env.LARDER_TEST_S3_ENDPOINT}/${env.LARDER_TEST_S3_BUCKET}/`;
  return {
    async storeGet(key) {
      const response = await fetch(url, { method: "POST", headers, body: JSON.stringify([["GET", key]]) });
      const replies = await response.json() as { result?: string | null; error?: string }[];
      const reply = replies[0];
      if (!response.ok || reply === undefined || reply.error !== undefined) {
        throw new Error(`bare store GET failed: ${response.status} ${reply?.error ?? ""}`);
      }
      return reply.result ?? null;
    },
    async storeRead(key, gens) {
      await loadShas();
      const command = encodeOp({ type: "read", key, gens, token: newToken() });
      if (command.kind !== "script") throw new Error("the read is a script");
      const wire = ["EVALSHA", scriptSha(command.script), command.keys.length, ...command.keys, ...command.args];
      const response = await fetch(url, { method: "POST", headers, body: JSON.stringify([wire]) });
      const replies = await response.json() as { result?: [string | null, ...unknown[]]; error?: string }[];
      const reply = replies[0];
      if (!response.ok || reply?.result === undefined) {
        throw new Error(`bare read script failed: ${response.status} ${reply?.error ?? ""}`);
      }
      return reply.result[0];
    },
    async redisBytes(key) {
      const response = await fetch(url, { method: "POST", headers, body: JSON.stringify([["MEMORY", "USAGE", key]]) });
      const [reply] = await response.json() as { result?: number; error?: string }[];
      if (typeof reply?.result !== "number") throw new Error(`MEMORY USAGE failed: ${reply?.error}`);
      return reply.result;
    },
    async s3Get(key) {
      const request = await aws.sign(base + key, { method: "GET" });
      const response = await fetch(request);
      if (!response.ok) throw new Error(`bare S3 GET of ${key} failed: ${response.status}`);
      return new Uint8Array(await response.arrayBuffer());
    },
  };
}
