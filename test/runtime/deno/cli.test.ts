/// <reference lib="deno.ns" />
// The operator CLI's Deno entry (deno.json's `./cli`, src/runtime/cli_deno.ts) run by `deno run`
// as users run `jsr:@larder/larder/cli`, against the local services: exit codes, output, and the
// effect in the bucket.
import { s3BlobStore } from "../../../src/blobs/s3.ts";
import { servicesFromEnv } from "../_scenarios.ts";

const services = servicesFromEnv(Deno.env.toObject());
const entry = new URL("../../../src/runtime/cli_deno.ts", import.meta.url).pathname;

async function cli(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const output = await new Deno.Command(Deno.execPath(), { args: ["run", "-A", entry, ...args], env }).output();
  const text = new TextDecoder();
  return { code: output.code, stdout: text.decode(output.stdout), stderr: text.decode(output.stderr) };
}

function assert(condition: boolean, message: string): void {
  if (!condition) throw new Error(message);
}

Deno.test("deno: larder cli cleanup, inspect and usage errors", async () => {
  const prefix = `deno-cli-${crypto.randomUUID()}`;
  const env = {
    UPSTASH_REDIS_REST_URL: services.upstash.url,
    UPSTASH_REDIS_REST_TOKEN: services.upstash.token,
    LARDER_PREFIX: prefix,
    LARDER_S3_ENDPOINT: services.s3.endpoint,
    LARDER_S3_BUCKET: services.s3.bucket,
    LARDER_S3_REGION: services.s3.region,
    LARDER_S3_ACCESS_KEY_ID: services.s3.accessKeyId,
    LARDER_S3_SECRET_ACCESS_KEY: services.s3.secretAccessKey,
  };
  const blobs = s3BlobStore(services.s3);
  const orphan = `${prefix}/${"ab".repeat(32)}`;
  await blobs.put(orphan, new Uint8Array(100));

  const cleanup = await cli(["cleanup", "--grace", "1ms", "--json"], env);
  assert(cleanup.code === 0, `cleanup exited ${cleanup.code}: ${cleanup.stderr}`);
  const summary = JSON.parse(cleanup.stdout);
  assert(summary.prefix === prefix && summary.orphans === 1 && summary.deleted === 1, cleanup.stdout);
  assert(await blobs.get(orphan) === null, "the orphan is still in the bucket");

  const inspect = await cli(["inspect", "some-key"], env);
  assert(inspect.code === 0, `inspect exited ${inspect.code}: ${inspect.stderr}`);
  assert(/\nrecord +\S+ {2}\(none\)\n/.test(inspect.stdout), inspect.stdout);

  const usage = await cli(["cleanup", "--force"], env);
  assert(usage.code === 2, `usage error exited ${usage.code}`);
  assert(usage.stderr.startsWith('larder: unknown option --force for "cleanup"\n'), usage.stderr);
  assert(usage.stdout === "", usage.stdout);
});

Deno.test("deno: a failing store is the operator's one line, exit 1, without the token", async () => {
  // A port nothing listens on: bound, then closed.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const token = "not-the-token-4321";
  const base = { UPSTASH_REDIS_REST_TOKEN: token, LARDER_PREFIX: `deno-cli-${crypto.randomUUID()}` };

  const down = await cli(["stats"], { ...base, UPSTASH_REDIS_REST_URL: `http://127.0.0.1:${port}` });
  assert(down.code === 1, `stats exited ${down.code}`);
  assert(down.stderr.split("\n").length === 2, down.stderr);
  assert(down.stderr.startsWith(`larder: cannot read stats from the store at http://127.0.0.1:${port}: `), down.stderr);
  assert(down.stderr.endsWith(" — is the server running? check UPSTASH_REDIS_REST_URL\n"), down.stderr);

  const wrong = await cli(["stats"], { ...base, UPSTASH_REDIS_REST_URL: services.upstash.url });
  assert(wrong.code === 1, `stats exited ${wrong.code}`);
  assert(
    wrong.stderr ===
      `larder: cannot read stats from the store at ${services.upstash.url}: Unauthorized (HTTP 401) — check UPSTASH_REDIS_REST_TOKEN\n`,
    wrong.stderr,
  );
  for (const run of [down, wrong]) assert(!(run.stdout + run.stderr).includes(token), "the token was printed");
});
