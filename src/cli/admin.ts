/**
 * `larder stats`, `larder invalidate` and `larder clear`: thin calls of the cache's shared
 * counters, invalidation and clearing.
 *
 * @module
 */
import type { Cache } from "../core/cache.ts";
import { UsageError } from "./args.ts";
import { type CommandContext, EXIT_OK } from "./command.ts";
import { count, flatten, table } from "./format.ts";

/** The invalidation mode of `--stale`. */
type Mode = "expire" | "stale";

/**
 * The cache methods these commands call, as the library documents them. Checked at run time:
 * a copy of the library without them gets a clear message instead of a crash.
 */
interface AdminMethods {
  invalidateTags(tags: readonly string[], options?: { mode?: Mode }): Promise<unknown>;
  invalidateNamespace(namespace: string, options?: { mode?: Mode }): Promise<unknown>;
  clear(): Promise<unknown>;
  globalStats(): Promise<Record<string, unknown>>;
}

function admin<K extends keyof AdminMethods>(cache: Cache, method: K): AdminMethods[K] {
  const candidate = (cache as unknown as Partial<AdminMethods>)[method];
  if (typeof candidate !== "function") {
    throw new Error(`this version of the library has no cache.${method}()`);
  }
  return candidate.bind(cache) as AdminMethods[K];
}

/** Runs `stats`: the counters every instance sharing the prefix adds to. */
export async function statsCommand(context: CommandContext): Promise<number> {
  const { io, options } = context;
  const config = context.config({ blobs: false });
  const stats = await admin(config.cache, "globalStats")();
  if (options.json === true) {
    io.stdout(`${JSON.stringify({ prefix: config.prefix, ...stats })}\n`);
    return EXIT_OK;
  }
  const rows = flatten(stats);
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
  const mode: Mode = options.stale === true ? "stale" : "expire";
  const config = context.config({ blobs: false });
  const what = namespace !== undefined
    ? `namespace "${namespace}"`
    : `tag${tags.length > 1 ? "s" : ""} ${tags.map((t) => `"${t}"`).join(", ")}`;
  if (namespace !== undefined) await admin(config.cache, "invalidateNamespace")(namespace, { mode });
  else await admin(config.cache, "invalidateTags")(tags, { mode });
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
  const config = context.config({ blobs: false });
  const result = await admin(config.cache, "clear")();
  const keys = typeof result === "object" && result !== null ? (result as { keys?: unknown }).keys : undefined;
  io.stdout(
    `Cleared prefix "${config.prefix}"${
      typeof keys === "number" ? `: ${count(keys)} keys deleted from Redis` : ""
    }.\n` +
      `Payload blobs are left in the bucket: "larder cleanup" deletes them once older than its grace period.\n`,
  );
  return EXIT_OK;
}
