/**
 * The headers of every dashboard response. The page's Content-Security-Policy allows exactly one
 * script and one style sheet, by their SHA-256 hashes (both are constant, so no nonce needs to be
 * threaded through the rendering), nothing from anywhere else (`default-src 'none'`), requests to
 * its own origin only, forms posted to its own origin only, and no framing: a key or tag that
 * slipped through escaping could still not run a script or send data away.
 *
 * @module
 */
import { CLIENT_SCRIPT } from "./_script.ts";
import { STYLE } from "./_style.ts";

/** The policy of everything that is not the page (JSON, refusals, errors). */
const LOCKED = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

let pagePolicy: Promise<string> | undefined;

async function sha256Base64(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  let binary = "";
  for (const byte of digest) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/** The page's Content-Security-Policy (hashes computed once, on first use). */
export function pageSecurityPolicy(): Promise<string> {
  pagePolicy ??= Promise.all([sha256Base64(CLIENT_SCRIPT), sha256Base64(STYLE)]).then(([script, style]) =>
    [
      "default-src 'none'",
      `script-src 'sha256-${script}'`,
      `style-src 'sha256-${style}'`,
      "img-src data:",
      "connect-src 'self'",
      "form-action 'self'",
      "frame-ancestors 'none'",
      "base-uri 'none'",
    ].join("; ")
  );
  return pagePolicy;
}

/** Headers every response carries: never stored, never sniffed, never framed, no referrer sent elsewhere. */
export function baseHeaders(contentType: string, policy: string = LOCKED): Headers {
  return new Headers({
    "content-type": contentType,
    "cache-control": "no-store",
    "content-security-policy": policy,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    // Not no-referrer: under it browsers send `Origin: null` with the page's own form posts,
    // which the origin check must refuse. same-origin sends nothing to other origins.
    "referrer-policy": "same-origin",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
  });
}
