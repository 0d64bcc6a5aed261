/**
 * The operator's actions, each one call of the public `Cache` API: inspect an entry (by key and
 * namespace, or by key hash), invalidate a tag or a namespace (expire, or mark stale), and a
 * cleanup dry run (grace period optional). Each answers with what happened; a refused input is a 400 with the cache's
 * own `ConfigError` message, a backend failure a 502 with the `CacheError`'s message (they name
 * the backend and operation, never tokens), anything else a 500 that says to read the logs.
 *
 * @module
 */
import {
  type Cache,
  type CleanupSummary,
  type Duration,
  type EntryInspection,
  isCacheError,
  type Logger,
} from "./_core.ts";
import { describeValue } from "./_value.ts";

/** The actions there are. */
const ACTIONS: readonly string[] = ["inspect", "invalidate", "cleanup"];

/** What an action did. */
export interface ActionResult {
  /** The action asked for (`inspect`, `invalidate`, `cleanup`), or what was sent. */
  readonly action: string;
  /** Whether it was done. */
  readonly ok: boolean;
  /** The HTTP status of the answer. */
  readonly status: number;
  /** One sentence: what happened. */
  readonly summary: string;
  /** inspect: the entry inspected. */
  readonly target?: { readonly key: string; readonly namespace: string | null } | { readonly hash: string };
  /** inspect: what is stored. */
  readonly inspection?: EntryInspection;
  /** inspect with `showPayload`: the decoded value as text (null: there is none to show). */
  readonly value?: string | null;
  /** invalidate: what was invalidated, and how. */
  readonly invalidated?: {
    readonly kind: "tag" | "namespace";
    readonly name: string;
    readonly mode: "expire" | "stale";
  };
  /** cleanup: the dry run's counters. */
  readonly cleanup?: CleanupSummary;
}

/** What the actions need. */
export interface ActionContext {
  readonly cache: Cache;
  readonly prefix: string;
  readonly showPayload: boolean;
  readonly logger: Logger;
}

function refused(action: string, status: number, summary: string): ActionResult {
  return { action, ok: false, status, summary };
}

function failure(ctx: ActionContext, action: string, error: unknown): ActionResult {
  if (isCacheError(error)) {
    return refused(action, error.code === "E_CONFIG" || error.code === "E_KEY" ? 400 : 502, error.message);
  }
  ctx.logger.error("larder dashboard: an action failed", {
    action,
    error: error instanceof Error ? error.message : String(error),
  });
  return refused(action, 500, `${action} failed unexpectedly; the application's log has the error`);
}

async function inspect(ctx: ActionContext, fields: Readonly<Record<string, string>>): Promise<ActionResult> {
  const hash = fields.hash?.trim() ?? "";
  const key = fields.key ?? "";
  if (hash === "" && key === "") return refused("inspect", 400, "give a key (and its namespace) or a key hash");
  if (hash !== "" && key !== "") return refused("inspect", 400, "give a key or a key hash, not both");
  const namespace = fields.namespace?.trim() || null;
  if (hash !== "") {
    const inspection = await ctx.cache.inspect({ hash });
    const found = inspection.record ? "a record" : "no record";
    return {
      action: "inspect",
      ok: true,
      status: 200,
      summary: `Key hash ${hash}: ${found}.`,
      target: { hash },
      inspection,
    };
  }
  const options = namespace === null ? {} : { namespace };
  const inspection = await ctx.cache.inspect(key, options);
  let value: string | null | undefined;
  if (ctx.showPayload) {
    const decoded = inspection.record ? await ctx.cache.get(key, options) : undefined;
    value = decoded === undefined ? null : describeValue(decoded);
  }
  return {
    action: "inspect",
    ok: true,
    status: 200,
    summary: `Key ${JSON.stringify(key)}: ${inspection.record ? "a record" : "no record"} (hash ${inspection.hash}).`,
    target: { key, namespace },
    inspection,
    ...(value === undefined ? {} : { value }),
  };
}

async function invalidate(ctx: ActionContext, fields: Readonly<Record<string, string>>): Promise<ActionResult> {
  const kind = fields.kind;
  const mode = fields.mode || "expire";
  const name = fields.name ?? "";
  if (kind !== "tag" && kind !== "namespace") return refused("invalidate", 400, 'kind must be "tag" or "namespace"');
  if (mode !== "expire" && mode !== "stale") return refused("invalidate", 400, 'mode must be "expire" or "stale"');
  if (name === "") return refused("invalidate", 400, `give the ${kind} to invalidate`);
  if (kind === "tag") await ctx.cache.invalidateTag(name, { mode });
  else await ctx.cache.invalidateNamespace(name, { mode });
  const done = mode === "expire" ? "expired: its entries miss" : "marked stale: its entries are refreshed on next use";
  return {
    action: "invalidate",
    ok: true,
    status: 200,
    summary: `${kind === "tag" ? "Tag" : "Namespace"} ${
      JSON.stringify(name)
    } ${done}, on every instance of prefix "${ctx.prefix}".`,
    invalidated: { kind, name, mode },
  };
}

async function cleanupDryRun(ctx: ActionContext, fields: Readonly<Record<string, string>>): Promise<ActionResult> {
  const grace = fields.grace?.trim() || undefined;
  // A duration as typed ("2h", "90s"); the cache refuses anything else with a ConfigError.
  const summary = await ctx.cache.cleanup({
    dryRun: true,
    ...(grace === undefined ? {} : { grace: grace as Duration }),
  });
  return {
    action: "cleanup",
    ok: true,
    status: 200,
    summary: `Cleanup dry run: ${summary.scanned} objects scanned, ${summary.orphans} orphans ` +
      `(${summary.orphanBytes} bytes) would be deleted; nothing was deleted.`,
    cleanup: summary,
  };
}

/** Runs the action named by `fields.action`. */
export async function runAction(ctx: ActionContext, fields: Readonly<Record<string, string>>): Promise<ActionResult> {
  const action = fields.action ?? "";
  try {
    if (action === "inspect") return await inspect(ctx, fields);
    if (action === "invalidate") return await invalidate(ctx, fields);
    if (action === "cleanup") return await cleanupDryRun(ctx, fields);
  } catch (error) {
    return failure(ctx, action, error);
  }
  return refused(action.slice(0, 40), 400, `unknown action; the actions are ${ACTIONS.join(", ")}`);
}
