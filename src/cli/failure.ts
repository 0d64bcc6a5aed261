/**
 * The operator's error line for a backend that failed: what the command could not do, against
 * which server, what the server (or the network) said, and which variable to check. The library's
 * own messages are written for application logs ("serving without cache"); an operator at a
 * terminal needs the server's address and the setting to fix, in one line.
 *
 * @example
 * ```text
 * larder: cannot read stats from the store at https://eu1-x.upstash.io: Unauthorized (HTTP 401) — check UPSTASH_REDIS_REST_TOKEN
 * larder: cannot clean up the bucket "cache" at http://127.0.0.1:9000: connect ECONNREFUSED 127.0.0.1:9000 — is the server running? check LARDER_S3_ENDPOINT
 * ```
 *
 * @module
 */
import { isCacheError } from "../core/errors.ts";
import { type Env, envValue } from "../config/env.ts";

/** What a command does with each backend, as in "cannot <action> the store at …". */
export interface FailureActions {
  /** E.g. `read stats from`. */
  readonly store: string;
  /** E.g. `clean up`; commands that do not use S3 leave it out. */
  readonly blob?: string;
}

type Backend = "store" | "blob";

const NAME = /ENOTFOUND|EAI_AGAIN|EAI_NONAME|dns error|failed to lookup address|name resolution/i;
const CONNECT =
  /ECONNREFUSED|ECONNRESET|EHOSTUNREACH|ENETUNREACH|EPIPE|ConnectionRefused|connection refused|Unable to connect|fetch failed/i;
const STORE_AUTH = /unauthori[sz]ed|WRONGPASS|NOAUTH|HTTP 40[13]\b|forbidden|invalid.*token/i;
const S3_CREDENTIALS = /InvalidAccessKeyId|SignatureDoesNotMatch|AccessDenied|ExpiredToken|InvalidToken|HTTP 403\b/;
const S3_REGION = /AuthorizationHeaderMalformed|PermanentRedirect|IllegalLocationConstraint|HTTP 301\b/;

/** The one line for `error` when it is a backend failure (store, S3, timeout); otherwise undefined. */
export function backendFailureLine(error: unknown, actions: FailureActions | undefined, env: Env): string | undefined {
  if (!isCacheError(error)) return undefined;
  const timedOut = error.code === "E_TIMEOUT";
  const backend: Backend | undefined = error.code === "E_STORE"
    ? "store"
    : error.code === "E_BLOB"
    ? "blob"
    : timedOut
    ? (error as { backend?: Backend }).backend
    : undefined;
  if (backend === undefined) return undefined;
  const action = actions?.[backend] ?? "use";
  const detail = timedOut ? timeoutDetail(error.message) : detailOf(error);
  return `larder: cannot ${action} ${target(backend, env)}: ${detail} — ${hint({ backend, detail, timedOut }, env)}`;
}

/**
 * Which variables configure the store in `env`, as the CLI reads them (src/config/env.ts):
 * `CACHE_URL`, else `REDIS_URL` (a TCP store), else the Upstash pair.
 */
function storeVariables(env: Env): { readonly url: string; readonly secret: string } {
  if (envValue(env, "CACHE_URL") !== undefined) return { url: "CACHE_URL", secret: "the password in CACHE_URL" };
  if (envValue(env, "REDIS_URL") !== undefined) return { url: "REDIS_URL", secret: "the password in REDIS_URL" };
  return { url: "UPSTASH_REDIS_REST_URL", secret: "UPSTASH_REDIS_REST_TOKEN" };
}

/** `url` without its user name and password (a `redis://user:pass@host` URL holds them). */
function withoutCredentials(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^@/]*@/i, "$1");
}

/** `the store at <url>` or `the bucket "<name>" at <endpoint>`. */
function target(backend: Backend, env: Env): string {
  const clean = (value: string | undefined): string | undefined => value?.trim().replace(/\/+$/, "") || undefined;
  if (backend === "store") {
    const { url } = storeVariables(env);
    const value = clean(env[url]);
    return `the store at ${value === undefined ? url : withoutCredentials(value)}`;
  }
  const endpoint = clean(env.LARDER_S3_ENDPOINT);
  return `the bucket "${env.LARDER_S3_BUCKET?.trim() ?? ""}"${endpoint ? ` at ${endpoint}` : ""}`;
}

/**
 * What went wrong, as close to the source as the error keeps it: the innermost cause's message
 * (the server's answer, or the network error such as `connect ECONNREFUSED 127.0.0.1:6379`),
 * with the system error code when the message does not show it.
 */
function detailOf(error: Error): string {
  let text = afterFailed(error.message);
  let code: string | undefined;
  const seen = new Set<unknown>();
  for (let cause = error.cause; typeof cause === "object" && cause !== null && !seen.has(cause);) {
    seen.add(cause);
    const { message, code: causeCode } = cause as { message?: unknown; code?: unknown };
    if (typeof causeCode === "string") code = causeCode;
    if (typeof message === "string" && message.trim() !== "") text = afterFailed(message);
    cause = (cause as { cause?: unknown }).cause;
  }
  return code !== undefined && !text.includes(code) ? `${text} (${code})` : text;
}

/** The part of a Larder message after "<adapter> <operation> failed: ", which names the request, not the problem. */
function afterFailed(message: string): string {
  const at = message.indexOf(" failed: ");
  return (at === -1 ? message : message.slice(at + " failed: ".length)).trim();
}

function timeoutDetail(message: string): string {
  const found = /timed out after \d+ ms/.exec(message);
  return found ? `no answer, ${found[0]}` : message;
}

/** What failed, as {@link hint} reads it. */
interface Failed {
  readonly backend: Backend;
  /** The server's or the network's words ({@link detailOf}). */
  readonly detail: string;
  readonly timedOut: boolean;
}

function hint({ backend, detail, timedOut }: Failed, env: Env): string {
  const store = storeVariables(env);
  const where = backend === "store" ? store.url : "LARDER_S3_ENDPOINT";
  if (timedOut) return `check ${where}, or raise LARDER_TIMEOUT`;
  if (NAME.test(detail)) return `check the host name in ${where}`;
  if (CONNECT.test(detail)) return `is the server running? check ${where}`;
  if (backend === "store") {
    return STORE_AUTH.test(detail) ? `check ${store.secret}` : `check ${store.url} and ${store.secret}`;
  }
  if (/NoSuchBucket/.test(detail)) return "check LARDER_S3_BUCKET";
  if (S3_CREDENTIALS.test(detail)) return "check LARDER_S3_ACCESS_KEY_ID and LARDER_S3_SECRET_ACCESS_KEY";
  if (S3_REGION.test(detail)) return "check LARDER_S3_REGION and LARDER_S3_ENDPOINT";
  return "check LARDER_S3_ENDPOINT, LARDER_S3_BUCKET and the S3 credentials";
}
