/**
 * The dashboard's options: their public shape, their defaults and their validation. A dashboard
 * without an `authorize` function is refused at creation time, unless the counters are made
 * public on purpose (`public: "counters"`): an operator page must never be open by accident.
 *
 * @module
 */
import { ConfigError, type Duration, opt } from "./_core.ts";

/** Options of `dashboard()`. `authorize` is required unless `public` is `"counters"`. */
export interface DashboardOptions {
  /**
   * Decides, per request, whether it comes from an operator: resolve to `true` to let it see
   * everything and act. Anything else (false, a throw) refuses it with 401/403 and the same body
   * for every path, or, with `public: "counters"`, shows it the counters alone.
   * @example (request) => request.headers.get("authorization") === `Bearer ${env.ADMIN_TOKEN}`
   */
  authorize?: (request: Request) => boolean | Promise<boolean>;
  /**
   * `"counters"`: requests that `authorize` refuses (every request, without `authorize`) see the
   * counters — hit rates, hits by tier, misses, latency, writes — read-only; no configuration,
   * no errors, no actions. @default none (refused requests see nothing)
   */
  public?: "counters";
  /**
   * A `WWW-Authenticate` challenge sent with a 401 to refused requests, e.g. `'Basic realm="larder"'`
   * so that browsers ask for a password. Without it, refused requests get 403. @default none
   */
  challenge?: string;
  /**
   * Key of the HMAC that binds each action form's token to the browser's session cookie: 32
   * characters (or bytes) at least. Give every instance the same one when a load balancer may
   * send a form to an instance other than the one that served it. Never shown anywhere.
   * @default a random key per dashboard
   */
  secret?: string | Uint8Array;
  /** How often the page refreshes its figures, and how often the counters are sampled for the charts. @default "5s" */
  refresh?: Duration;
  /** Samples kept for the charts (memory stays bounded whatever the uptime). @default 120 (10 minutes at "5s") */
  history?: number;
  /**
   * Show an inspected entry's decoded value (read with `cache.get`, so counted as a lookup).
   * Payloads may hold personal data: off unless asked for. @default false
   */
  showPayload?: boolean;
  /** Origins allowed to post actions besides the request's own, e.g. when a proxy rewrites `Host`. @default [] */
  origins?: readonly string[];
}

/** Options after validation. */
export interface DashboardSettings {
  readonly authorize: ((request: Request) => boolean | Promise<boolean>) | undefined;
  readonly publicCounters: boolean;
  readonly challenge: string | undefined;
  readonly secret: Uint8Array | undefined;
  readonly refreshMs: number;
  readonly history: number;
  readonly showPayload: boolean;
  readonly origins: ReadonlySet<string>;
}

const DASHBOARD_OPTIONS = {
  authorize: opt.optional(
    opt.fn<(request: Request) => boolean | Promise<boolean>>("a function (request) => boolean | Promise<boolean>"),
  ),
  public: opt.optional(
    opt.satisfying<"counters">((v) => v === "counters", '"counters" (the only part that may be public)'),
  ),
  challenge: opt.optional(
    opt.satisfying<string>(
      (v) => typeof v === "string" && /^[\x21-\x7e][\x20-\x7e]*$/.test(v),
      "a WWW-Authenticate value such as 'Basic realm=\"larder\"'",
    ),
  ),
  secret: (value: unknown): Uint8Array | undefined => resolveSecret(value),
  refresh: opt.withDefault(opt.duration, "5s"),
  history: opt.withDefault(opt.integerFrom(2, 10_000), 120),
  showPayload: opt.withDefault(opt.boolean, false),
  origins: (value: unknown): ReadonlySet<string> => resolveOrigins(value),
} satisfies opt.OptionChecks<DashboardOptions>;

/** Validates `options`; every problem is a `ConfigError` naming the option and the fix. */
export function resolveDashboardOptions(options: DashboardOptions | undefined): DashboardSettings {
  if (typeof options !== "object" || options === null) {
    throw new ConfigError(
      "dashboard: options are required: dashboard(cache, { authorize: (request) => isOperator(request) })",
    );
  }
  const o = opt.checkOptions("dashboard", options, DASHBOARD_OPTIONS);
  if (o.authorize === undefined && o.public === undefined) {
    throw new ConfigError(
      "dashboard: an authorize function is required, e.g. dashboard(cache, { authorize: (request) => isOperator(request) }); " +
        'to show the counters alone to anyone, read-only, pass { public: "counters" } instead',
    );
  }
  return {
    authorize: o.authorize,
    publicCounters: o.public === "counters",
    challenge: o.challenge,
    secret: o.secret,
    refreshMs: Math.max(1_000, o.refresh),
    history: o.history,
    showPayload: o.showPayload,
    origins: o.origins,
  };
}

function resolveSecret(secret: unknown): Uint8Array | undefined {
  if (secret === undefined) return undefined;
  const bytes = typeof secret === "string" ? new TextEncoder().encode(secret) : secret;
  if (!(bytes instanceof Uint8Array) || bytes.length < 32) {
    throw new ConfigError(
      "dashboard: secret must be a string or Uint8Array of at least 32 characters/bytes (e.g. 32 random bytes, base64)",
    );
  }
  return new Uint8Array(bytes);
}

function resolveOrigins(origins: unknown): ReadonlySet<string> {
  if (origins === undefined) return new Set();
  if (!Array.isArray(origins)) {
    throw new ConfigError('dashboard: origins must be an array such as ["https://ops.example.com"]');
  }
  return new Set(origins.map((origin) => {
    let parsed: URL | undefined;
    try {
      parsed = typeof origin === "string" ? new URL(origin) : undefined;
    } catch {
      parsed = undefined;
    }
    if (!parsed || parsed.origin === "null" || parsed.origin !== origin.replace(/\/$/, "")) {
      throw new ConfigError(
        `dashboard: origins: ${JSON.stringify(origin)} is not an origin such as "https://ops.example.com"`,
      );
    }
    return parsed.origin;
  }));
}
