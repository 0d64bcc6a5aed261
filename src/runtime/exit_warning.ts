/**
 * The warning a script gets when it exits with background writes pending: `process.exit()` right
 * after a miss loses the write (and leaves its lease to expire), with no sign at all unless this
 * says so. One exit listener per process serves every cache; caches are held by `WeakRef`, and a
 * `FinalizationRegistry` drops the ones collected, so watching them keeps nothing alive and the
 * set never grows past the caches alive. At exit, each cache with writes in flight logs one line
 * through its own logger (the default: `console.warn`).
 *
 * @module
 */
import type { Cache } from "../core/api/create_cache.ts";
import type { Logger } from "../core/types.ts";

/** The line logged at exit; `pending` is the number of background writes in flight. */
export function exitWarning(pending: number): string {
  return `larder: ${pending} background write${pending === 1 ? "" : "s"} lost: await cache.flush() before exiting`;
}

interface Watched {
  readonly cache: WeakRef<Cache>;
  readonly logger: Pick<Logger, "warn"> | undefined;
}

let watched: Set<Watched> | undefined;
let collected: FinalizationRegistry<Watched> | undefined;

/**
 * Warns, as the process exits, if `cache` still has background writes in flight.
 * `onExit` registers the process' exit listener (called once per process, on the first cache).
 */
export function warnAtExit(
  cache: Cache,
  options: { readonly logger: Pick<Logger, "warn"> | undefined; readonly onExit: (listener: () => void) => void },
): void {
  if (watched === undefined) {
    const all = new Set<Watched>();
    watched = all;
    collected = new FinalizationRegistry((entry) => all.delete(entry));
    options.onExit(() => reportLost(all));
  }
  const entry: Watched = { cache: new WeakRef(cache), logger: options.logger };
  watched.add(entry);
  collected?.register(cache, entry);
}

function reportLost(all: ReadonlySet<Watched>): void {
  for (const { cache, logger } of all) {
    const pending = cache.deref()?.stats().writes.pending ?? 0;
    if (pending === 0) continue;
    const message = exitWarning(pending);
    try {
      if (logger) logger.warn(message);
      else console.warn(message);
    } catch {
      // A logger that fails at exit must not hide the others' lines.
    }
  }
}
