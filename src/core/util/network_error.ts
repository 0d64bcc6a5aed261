/**
 * How the HTTP adapters describe a request that got no answer: the runtime's words, down its
 * chain of causes, and the host. undici (Node) says only "fetch failed" and puts the reason
 * (`connect ECONNREFUSED 127.0.0.1:6380`, a TLS or DNS error) one or two causes down; Bun and
 * Deno word it differently and do not always name the host. A message that stops at "fetch
 * failed" hides the one thing an operator needs, so every cause is kept, with the system code
 * when no message shows it, and the host when none names it.
 *
 * @module
 */

/** `fetch failed: connect ECONNREFUSED 127.0.0.1:6380`, or `… (host:port)` when the causes do not name `host`. */
export function describeNetworkError(cause: unknown, host: string): string {
  const parts: string[] = [];
  let code: string | undefined;
  const seen = new Set<unknown>();
  for (let at: unknown = cause; at !== undefined && at !== null && !seen.has(at) && parts.length < 4;) {
    seen.add(at);
    const { message, code: atCode } = at as { message?: unknown; code?: unknown };
    const text = typeof message === "string" ? message.trim() : at instanceof Error ? "" : String(at);
    if (text !== "" && !parts.some((part) => part.includes(text))) parts.push(text);
    if (typeof atCode === "string") code ??= atCode;
    at = at instanceof Error ? at.cause : undefined;
  }
  let text = parts.join(": ") || "unknown error";
  if (code !== undefined && !text.includes(code)) text += ` (${code})`;
  return host === "" || text.includes(host) ? text : `${text} (${host})`;
}
