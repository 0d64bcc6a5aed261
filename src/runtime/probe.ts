/**
 * What the default entry (`larder`) needs to know about the runtime it was loaded on, found by
 * looking at globals — the one place that does: the core never asks which runtime it is on
 * (STYLE.md), it is told by its entry point. Two facts matter:
 *
 * - **workerd** (Cloudflare Workers; `navigator.userAgent` is `"Cloudflare-Workers"`) stops a
 *   request's work once its response is sent: background writes that no `waitUntil` keeps alive
 *   are lost there, and the fix is `larder/workers` or a `waitUntil`.
 * - **How the process exits** (Node and Bun: `process.on("exit")`; Deno: the `unload` event, also
 *   dispatched by `Deno.exit()`): a synchronous last moment to say that writes were lost.
 *
 * @module
 */

/** What {@link probeRuntime} found. */
export interface RuntimeProbe {
  /** Cloudflare's workerd: background work without `waitUntil` is lost when the response is sent. */
  readonly workerd: boolean;
  /** Registers `listener` to run, synchronously, as the process exits; undefined where there is no process to exit. */
  readonly onExit: ((listener: () => void) => void) | undefined;
}

interface Globals {
  readonly navigator?: { readonly userAgent?: unknown };
  readonly Deno?: { readonly version?: unknown };
  readonly addEventListener?: (type: string, listener: () => void) => void;
  readonly process?: { readonly on?: (event: string, listener: () => void) => unknown };
}

/** Looks at the globals (no side effect). */
export function probeRuntime(): RuntimeProbe {
  const g = globalThis as Globals;
  const workerd = g.navigator?.userAgent === "Cloudflare-Workers";
  let onExit: RuntimeProbe["onExit"];
  if (!workerd) {
    const addEventListener = g.addEventListener;
    const on = g.process?.on;
    if (g.Deno !== undefined && typeof addEventListener === "function") {
      onExit = (listener) => addEventListener.call(globalThis, "unload", listener);
    } else if (typeof on === "function") {
      onExit = (listener) => void on.call(g.process, "exit", listener);
    }
  }
  return { workerd, onExit };
}
