/**
 * `larder stats`, `larder invalidate` and `larder clear`: thin calls of the cache's shared
 * counters, invalidation and clearing.
 *
 * @module
 */
import { UsageError } from "./args.ts";
import type { CommandContext } from "./command_types.ts";
import { EXIT_OK } from "./exit_codes.ts";
import { count, flatten, table } from "./format.ts";

/** Runs `stats`: the counters every instance sharing the prefix adds to. */
export async function statsCommand(context: CommandContext): Promise<number> {
  const { io, options } = context;
  const config = await context.config({ blobs: false });
  const stats = await config.cache.globalStats();
  if (options.json === true) {
    io.stdout(`${JSON.stringify({ prefix: config.prefix, counters: stats })}\n`);
    return EXIT_OK;
  }
  const rows = flatten(Object.fromEntries(Object.entries(stats).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));
  io.stdout(
    `Counters of every instance using prefix "${config.prefix}":\n` +
      (rows.length === 0 ? "  (none reported yet)\n" : table(rows, "  ")),
  );
  return EXIT_OK;
}

/** Runs `invalidate --tag <t>… | --namespace <ns> [--stale]`. */
export async function invalidateCommand(context: CommandContext): Promise<number> {
  const { io, options, positionals } = context;
  if (positionals.length > 0) {
    throw new UsageError(
      `invalidate takes no arguments (got "${positionals[0]}"); use --tag or --namespace`,
      "invalidate",
    );
  }
  const tags = (options.tag as string[] | undefined) ?? [];
  const namespace = options.namespace as string | undefined;
  if ((tags.length > 0) === (namespace !== undefined)) {
    throw new UsageError("invalidate needs either --tag (one or more) or --namespace, not both", "invalidate");
  }
  const mode = options.stale === true ? "stale" : "expire";
  const config = await context.config({ blobs: false });
  const what = namespace !== undefined
    ? `namespace "${namespace}"`
    : `tag${tags.length > 1 ? "s" : ""} ${tags.map((t) => `"${t}"`).join(", ")}`;
  if (namespace !== undefined) await config.cache.invalidateNamespace(namespace, { mode });
  else await config.cache.invalidateTags(tags, { mode });
  io.stdout(
    `Invalidated ${what} under prefix "${config.prefix}": ` +
      (mode === "stale"
        ? "entries are served stale while they are refreshed.\n"
        : "entries miss from now on (in-process tiers of running instances within their memory.ttl).\n"),
  );
  return EXIT_OK;
}

/** Runs `clear --yes`. */
export async function clearCommand(context: CommandContext): Promise<number> {
  const { io, options, positionals } = context;
  if (positionals.length > 0) throw new UsageError(`clear takes no arguments (got "${positionals[0]}")`, "clear");
  const prefix = context.io.env.LARDER_PREFIX?.trim() || "larder";
  if (options.yes !== true) {
    throw new UsageError(`clear removes every entry under prefix "${prefix}"; run it again with --yes`, "clear");
  }
  const withBlobs = options.blobs === true;
  const config = await context.config({ blobs: withBlobs });
  const { keys, blobs } = await config.cache.clear({ blobs: withBlobs });
  io.stdout(
    `Cleared prefix "${config.prefix}": ${count(keys)} keys deleted from Redis.\n` +
      (withBlobs
        ? `${count(blobs)} payload blobs deleted from the bucket.\n`
        : `Payload blobs are left in the bucket: "larder cleanup" (or "clear --blobs") deletes them.\n`),
  );
  return EXIT_OK;
}
