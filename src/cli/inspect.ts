/**
 * `larder inspect <key|hash> [--namespace ns] [--key] [--json]`: what is stored for one entry.
 * A 64-character lower-case hex argument is taken as a key hash (as logs and `inspect` show
 * them) unless `--key` says it is a key.
 *
 * @module
 */
import type { EntryInspection } from "../core/ops/inspect.ts";
import { UsageError } from "./args.ts";
import type { CommandContext } from "./command_types.ts";
import { EXIT_OK } from "./exit_codes.ts";
import { bytes, count, instant, table } from "./format.ts";

const HASH = /^[0-9a-f]{64}$/;

/** Runs the inspect command. */
export async function inspectCommand(context: CommandContext): Promise<number> {
  const { io, options, positionals } = context;
  if (positionals.length !== 1) throw new UsageError("inspect takes one key or key hash", "inspect");
  const target = positionals[0]!;
  const byHash = options.key !== true && HASH.test(target);
  if (byHash && options.namespace !== undefined) {
    throw new UsageError("--namespace applies to keys; this argument is a key hash (use --key for a key)", "inspect");
  }
  const config = await context.config({ blobs: false });
  const namespace = (options.namespace as string | undefined) ?? config.namespace;
  const found = await config.cache.inspect(byHash ? { hash: target } : target, { namespace });
  if (options.json === true) {
    io.stdout(`${JSON.stringify(found)}\n`);
    return EXIT_OK;
  }
  io.stdout(render(found, {
    now: (io.now ?? Date.now)(),
    key: byHash ? undefined : { key: target, namespace },
    hasBlobs: config.hasBlobs,
  }));
  return EXIT_OK;
}

/** How to render an inspection: now, the key asked for (none when asked by hash), and whether blobs were checked. */
interface RenderContext {
  readonly now: number;
  readonly key: { readonly key: string; readonly namespace: string } | undefined;
  readonly hasBlobs: boolean;
}

function render(found: EntryInspection, context: RenderContext): string {
  const { now, key, hasBlobs } = context;
  const rows: [string, string][] = [];
  if (key) rows.push(["key", `${JSON.stringify(key.key)} in namespace "${key.namespace}"`]);
  rows.push(["hash", found.hash], ["record", `${found.recordKey}${found.record ? "" : "  (none)"}`]);
  const r = found.record;
  if (r) {
    // The key as stored with the entry (a key template's, or set()'s), also when asked by hash.
    if (r.readableKey !== undefined) rows.push(["  key", JSON.stringify(r.readableKey)]);
    rows.push(
      ["  placement", r.placement === "inline" ? "inline (payload inside the record)" : `blob ${r.blobKey}`],
      ["  format", `v${r.version}, codec ${r.codec}, compression ${r.compression}${encrypted(r.encryptionKey)}`],
      ["  size", `${bytes(r.encodedBytes)} encoded, ${bytes(r.storedBytes)} stored (${count(r.storedBytes)} B)`],
      ["  checksum", `sha256 ${r.checksum}`],
      ["  created", instant(r.createdAt, now)],
      ["  expires", `${instant(r.expiresAt, now)}${r.ttlLeftMs <= 0 ? ", kept for stale serving" : ""}`],
    );
    rows.push([
      "  standing",
      r.standing === "valid"
        ? "valid"
        : r.standing === "stale"
        ? "stale (served while one refresh runs)"
        : "INVALIDATED (readers miss)",
    ]);
    for (const generation of r.generations) rows.push(["  generation", `${generation.key}  ${generation.state}`]);
    for (const [name, value] of Object.entries(r.otherFields)) rows.push([`  ${name}`, JSON.stringify(value)]);
    if (r.payloadVerified !== undefined) {
      rows.push(["  payload", r.payloadVerified ? "verified (size and checksum match)" : "DOES NOT MATCH the record"]);
    }
  }
  rows.push(["lease", found.leased ? "held (an instance is computing this entry)" : "none"]);
  const blob = found.blob;
  if (blob) {
    const state = !blob.exists
      ? "absent"
      : `${bytes(blob.size ?? 0)}${blob.referenced ? "" : ", no record points to it (an orphan for cleanup)"}`;
    rows.push(["blob", `${blob.key}  ${state}`]);
  } else if (!hasBlobs) {
    rows.push(["blob", "not checked (LARDER_S3_BUCKET is not set)"]);
  }
  if (found.problem) rows.push(["problem", found.problem]);
  return table(rows);
}

/** `, encrypted (key k2)` for an encrypted payload, else nothing. */
function encrypted(keyId: string | undefined): string {
  return keyId === undefined ? "" : `, encrypted (key ${keyId})`;
}
