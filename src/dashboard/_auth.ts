/**
 * Who may see what. `authorize` decides, per request, whether it comes from an operator; a
 * request it refuses gets the counters when they are public, and otherwise one fixed answer —
 * the same status, headers and body whatever the method and path — so that it learns nothing
 * about the cache, not even which paths exist.
 *
 * @module
 */
import type { Logger } from "./_core.ts";
import { baseHeaders } from "./_headers.ts";
import type { DashboardSettings } from "./_options.ts";

/** What a request may see: everything, the counters alone, or nothing. */
export type Access = "operator" | "counters" | "refused";

/** The access of `request`; a throwing `authorize` refuses (and is logged, without the request). */
export async function accessOf(settings: DashboardSettings, request: Request, logger: Logger): Promise<Access> {
  let operator = false;
  if (settings.authorize) {
    try {
      operator = (await settings.authorize(request)) === true;
    } catch (error) {
      logger.warn("larder dashboard: authorize threw; the request is refused", {
        error: error instanceof Error ? error.name : typeof error,
      });
    }
  }
  if (operator) return "operator";
  return settings.publicCounters ? "counters" : "refused";
}

/** The one answer to every refused request: 401 with the challenge when there is one, else 403. */
export function refusal(settings: DashboardSettings, method: string): Response {
  const headers = baseHeaders("text/plain; charset=utf-8");
  const status = settings.challenge === undefined ? 403 : 401;
  if (settings.challenge !== undefined) headers.set("www-authenticate", settings.challenge);
  const body = status === 401 ? "Unauthorized\n" : "Forbidden\n";
  return new Response(method === "HEAD" ? null : body, { status, headers });
}
