/**
 * Invalidation by unsafe requests (RFC 9111 §4.4): a request whose method is not known to be
 * safe, answered with a non-error status (below 400), invalidates the stored responses of its
 * target URI and of the same-origin URIs in the answer's `Location` and `Content-Location`,
 * every variant at once, on every instance: the generation key of each URL (`urlGeneration`,
 * stamped into every stored response like a tag) gets a new token, all in one store request.
 *
 * The answer waits for it, so that a client that reads back what it just changed does not get
 * the old version from this cache. When it fails the answer still goes out (the change has been
 * made; failing it would invite a retry), and the failure is logged and counted: the stored
 * responses may then be served until they expire.
 *
 * Requests with `Authorization` invalidate too: what they change is seen by everyone.
 *
 * @module
 */
import type { CacheContext } from "../core/context.ts";
import { isCacheError } from "../core/errors.ts";
import { newToken } from "../core/record/generations.ts";
import { invalidateEvent } from "../core/api/invalidation.ts";
import type { StoreOp } from "../core/types.ts";
import { urlGeneration } from "./_key.ts";
import type { ResolvedResponseOptions } from "./_options.ts";
import { isUnsafe } from "./_policy.ts";

/** Invalidates what `response` to the unsafe `request` changed (nothing for a safe method or an error status). */
export async function invalidateFor(
  cache: { readonly ctx: CacheContext; readonly config: ResolvedResponseOptions },
  request: Request,
  response: Response,
): Promise<void> {
  const { ctx, config } = cache;
  if (!isUnsafe(request) || response.status >= 400) return;
  const target = new URL(request.url);
  const urls = [target];
  for (const name of ["location", "content-location"]) {
    const value = response.headers.get(name);
    if (value === null) continue;
    const url = URL.canParse(value, target) ? new URL(value, target) : undefined;
    // Another origin's responses are not this one's to invalidate (RFC 9111 §4.4).
    if (url && url.origin === target.origin) urls.push(url);
  }
  const prefix = ctx.options.prefix;
  const keys = new Set(urls.map((url) => urlGeneration(prefix, url, config.query)));
  const token = newToken();
  const ops = [...keys].map((key): StoreOp => ({ type: "setGeneration", key, field: "x", token }));
  try {
    // Directly, not through cache.invalidateTag: stored responses never live in the in-process
    // tier, which an invalidation would otherwise clear on every POST.
    await ctx.backend.store("invalidate", ops);
    if (ctx.events.listening) ctx.events.emit(invalidateEvent(prefix, { keys, mode: "expire" }));
  } catch (error) {
    // The store failure itself was counted (errors.store, or the open breaker's refusals).
    const code = isCacheError(error) ? error.code : "E_STORE";
    ctx.backend.logger.warn(
      `larder: ${config.policy.label}: a ${request.method} answered ${response.status} but the stored responses ` +
        `of ${keys.size} URL(s) could not be invalidated; they may be served until they expire: ${String(error)}`,
      { code },
    );
  }
}
