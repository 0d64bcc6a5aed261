/**
 * The operator CLI's commands, with their options and help.
 *
 * @module
 */
import { clearCommand, invalidateCommand, statsCommand } from "./admin.ts";
import { checkCommand } from "./check.ts";
import { cleanupCommand } from "./cleanup.ts";
import type { Command } from "./command_types.ts";
import { inspectCommand } from "./inspect.ts";

const json = { type: "boolean", help: "print one JSON object instead of text" } as const;

/** Every command, in the order `--help` lists them. */
export const COMMANDS: readonly Command[] = [
  {
    name: "check",
    summary: "prove the configuration: store, script, clock, bucket, compression",
    usage: "check [--json]",
    details: "Runs cache.check() on the cache the environment configures: a GET and the read script on the\n" +
      "store, its clock against this machine's, a probe object written, read back and deleted in the\n" +
      "bucket (when LARDER_S3_BUCKET is set), and the compressor. Each failure says what to change.\n" +
      "Exits 0 when nothing failed (warnings allowed), 1 otherwise.",
    options: { json },
    failure: { store: "check", blob: "check" },
    run: checkCommand,
  },
  {
    name: "stats",
    summary: "counters added up over every instance sharing the prefix",
    usage: "stats [--json]",
    details: "Reads the counters that instances report to Redis (hits, misses, writes, errors…).",
    options: { json },
    failure: { store: "read stats from" },
    run: statsCommand,
  },
  {
    name: "inspect",
    summary: "what is stored for one entry: record, lease, blob, checksum",
    usage: "inspect <key|hash> [--namespace <ns>] [--key] [--json]",
    details: "Shows the record's fields (placement, codec, compression, sizes, created and expiry times),\n" +
      "whether a lease is held, and the blob: whether it exists and whether the payload matches the\n" +
      "record's checksum. A 64-character hex argument is a key hash (as logs show them); other\n" +
      "arguments are keys given to cache.set/get. The value itself is never printed.",
    options: {
      namespace: { type: "string", value: "<ns>", help: "namespace of the key (default: LARDER_NAMESPACE or default)" },
      key: { type: "boolean", help: "take the argument as a key even when it looks like a hash" },
      json,
    },
    failure: { store: "read the entry from", blob: "read the entry's blob from" },
    run: inspectCommand,
  },
  {
    name: "invalidate",
    summary: "expire (or mark stale) every entry of some tags or of a namespace",
    usage: "invalidate (--tag <tag>... | --namespace <ns>) [--stale]",
    details: "One Redis command, whatever the number of entries. Entries then miss, or with --stale are\n" +
      "served stale while one refresh per entry runs.",
    options: {
      tag: { type: "string", multiple: true, value: "<tag>", help: "a tag to invalidate (repeat for several)" },
      namespace: { type: "string", value: "<ns>", help: "a namespace to invalidate" },
      stale: { type: "boolean", help: "serve the entries stale while they are refreshed, instead of expiring them" },
    },
    failure: { store: "write the invalidation to" },
    run: invalidateCommand,
  },
  {
    name: "cleanup",
    summary: "delete payload blobs that no record points to any more",
    usage: "cleanup [--dry-run] [--grace <duration>] [--json]",
    details: "Lists the bucket under <prefix>/ and deletes the objects no live record points to (entries\n" +
      "that expired, were deleted or were rewritten inline), except those written within the grace\n" +
      "period. Progress goes to standard error, the summary to standard output. Needs LARDER_S3_*.",
    options: {
      "dry-run": { type: "boolean", help: "count what would be deleted, delete nothing" },
      grace: {
        type: "string",
        value: "<duration>",
        help: 'leave objects younger than this (default "1h"), e.g. 30m, 6h, 2d',
      },
      json,
    },
    failure: { store: "check records in", blob: "clean up" },
    run: cleanupCommand,
  },
  {
    name: "clear",
    summary: "remove every entry under the prefix",
    usage: "clear --yes [--blobs]",
    details: "Invalidates everything under the prefix at once, then deletes its keys from Redis. Blobs are\n" +
      "left for `larder cleanup` unless --blobs. Refuses to run without --yes.",
    options: {
      yes: { type: "boolean", help: "confirm" },
      blobs: { type: "boolean", help: "also delete the prefix's payload blobs now (lists the whole prefix)" },
    },
    failure: { store: "clear the prefix in", blob: "delete the blobs in" },
    run: clearCommand,
  },
];
