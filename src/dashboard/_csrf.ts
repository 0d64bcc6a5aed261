/**
 * Protection of the actions against cross-site requests, in three layers, each enough alone
 * against a browser that follows today's rules:
 *
 * 1. the request's own origin: `Sec-Fetch-Site` must be `same-origin` and `Origin` the page's
 *    (or one listed in `origins`) when the browser sends them (scripts send neither);
 * 2. a session cookie (`SameSite=Strict`, `HttpOnly`): browsers do not send it with a request
 *    another site starts;
 * 3. a token in the form, `<issued at>.<HMAC-SHA256(secret, session, issued at)>`: another site
 *    cannot read the page to copy it, and it is worth nothing with another session's cookie or
 *    after {@link TOKEN_TTL_MS}.
 *
 * The secret is created lazily (Workers refuse random values in global scope).
 *
 * @module
 */

/** The session cookie's name. */
const COOKIE = "larder_dashboard_session";
/** How long a form's token is accepted. */
const TOKEN_TTL_MS: number = 12 * 3_600_000;
const SESSION = /^[A-Za-z0-9_-]{22,64}$/;
const encoder = new TextEncoder();

function base64url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromBase64url(text: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9_-]+$/.test(text)) return undefined;
  const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

/** The session id from the request's cookie, when it has a well-formed one. */
function sessionOf(request: Request): string | undefined {
  for (const part of (request.headers.get("cookie") ?? "").split(";")) {
    const [name, value] = part.trim().split("=", 2);
    if (name === COOKIE && value !== undefined && SESSION.test(value)) return value;
  }
  return undefined;
}

/** A form token and, for a browser without a session yet, the cookie that starts one. */
export interface IssuedToken {
  /** The token to put in forms (field `csrf`) or send as `x-larder-csrf`. */
  readonly token: string;
  /** A `Set-Cookie` value, when the request had no session. */
  readonly setCookie?: string;
}

/** Issues and checks the tokens of one dashboard. */
export class CsrfGuard {
  readonly #secret: Uint8Array | undefined;
  readonly #origins: ReadonlySet<string>;
  readonly #now: () => number;
  #key: Promise<CryptoKey> | undefined;

  constructor(secret: Uint8Array | undefined, origins: ReadonlySet<string>, now: () => number) {
    this.#secret = secret;
    this.#origins = origins;
    this.#now = now;
  }

  #hmacKey(): Promise<CryptoKey> {
    this.#key ??= crypto.subtle.importKey(
      "raw",
      (this.#secret ?? crypto.getRandomValues(new Uint8Array(32))) as Uint8Array<ArrayBuffer>,
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign", "verify"],
    );
    return this.#key;
  }

  /** A token for the request's session, starting a session when it has none. */
  async issue(request: Request): Promise<IssuedToken> {
    let session = sessionOf(request);
    let setCookie: string | undefined;
    if (session === undefined) {
      session = base64url(crypto.getRandomValues(new Uint8Array(24)));
      const secure = new URL(request.url).protocol === "https:" ? "; Secure" : "";
      // Path=/: the dashboard does not know where it is mounted; the cookie is only a random id.
      setCookie = `${COOKIE}=${session}; Path=/; HttpOnly; SameSite=Strict${secure}`;
    }
    const issuedAt = this.#now().toString(36);
    const signature = await crypto.subtle.sign(
      "HMAC",
      await this.#hmacKey(),
      encoder.encode(`${session}\n${issuedAt}`),
    );
    const token = `${issuedAt}.${base64url(new Uint8Array(signature))}`;
    return setCookie === undefined ? { token } : { token, setCookie };
  }

  /** Why `request` (carrying `token`) must be refused, or undefined when it passes every layer. */
  async refuse(request: Request, token: string | undefined): Promise<string | undefined> {
    const site = request.headers.get("sec-fetch-site");
    if (site !== null && site !== "same-origin") return `cross-site request refused (Sec-Fetch-Site: ${site})`;
    const origin = request.headers.get("origin");
    if (origin !== null && origin !== new URL(request.url).origin && !this.#origins.has(origin)) {
      return "cross-origin request refused (Origin is not this page's)";
    }
    const session = sessionOf(request);
    if (session === undefined) return "no dashboard session: reload the page (cookies must be enabled)";
    if (token === undefined || token === "") return "missing form token: reload the page";
    const [issuedAt, signature, extra] = token.split(".");
    const issued = issuedAt === undefined ? NaN : parseInt(issuedAt, 36);
    const bytes = signature === undefined ? undefined : fromBase64url(signature);
    if (extra !== undefined || !Number.isSafeInteger(issued) || bytes === undefined) return "malformed form token";
    const age = this.#now() - issued;
    if (age > TOKEN_TTL_MS || age < -60_000) return "expired form token: reload the page";
    const valid = await crypto.subtle.verify(
      "HMAC",
      await this.#hmacKey(),
      bytes as Uint8Array<ArrayBuffer>,
      encoder.encode(`${session}\n${issuedAt}`),
    );
    return valid ? undefined : "invalid form token: reload the page";
  }
}
