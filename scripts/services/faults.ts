/**
 * Fault rules of the local services: what the Upstash bridge and the S3 proxy do to the requests
 * a test picks out with `match`. A rule that fires on a request can:
 *
 * - `latencyMs`: wait before the request is executed (bridge) or forwarded (proxy);
 * - `reset`: destroy the connection without answering; the request is not executed or forwarded;
 * - `status`: answer with that status and an error body in the service's own format (a JSON
 *   `{"error"}` from the bridge, an S3 XML `<Error>` from the proxy); not executed or forwarded;
 * - `truncate`: execute or forward it, then send the full headers (with the original length) but
 *   only the first N bytes of the body (`"half"`: half of it) and close the connection (with an
 *   empty body: close it before the headers, so the request happened but its answer is lost);
 * - `corrupt`: execute or forward it, and flip the lowest bit of some body bytes (`true`: the
 *   middle byte; N: N bytes at positions drawn from the rule's generator). Status and length are
 *   unchanged, and a digit stays a digit: the harshest case for whoever parses the body.
 * - `unsized` (S3 proxy only): forward it, and send the answer without its `Content-Length`
 *   (chunked), so the client learns the body's size only by reading all of it.
 *
 * Whether a rule fires on a matching request: `count` fires it on the next N matching requests
 * only; `probability` fires it with that chance, drawn from a generator seeded per rule (`seed`,
 * by default derived from the rule's own text), so the same requests in the same order meet the
 * same faults. When several rules fire, latencies add up, a reset wins over a status, a status
 * over truncation and corruption, and the first rule's status / truncation applies.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { mulberry32 } from "../_random.ts";

/** A fault rule, as set through `/__larder/faults`. Every field is optional. */
export interface FaultRule {
  /** Applies only to requests whose path (S3) or command arguments (bridge) contain this text. */
  readonly match?: string;
  /** Applies only to requests with this HTTP method (e.g. `GET` for S3 reads; the bridge only sees POST). */
  readonly method?: string;
  /** Delay added before the request is executed / forwarded, ms. */
  readonly latencyMs?: number;
  /** Answer with this HTTP status (400–599, meant for 5xx) and an error body, without executing the request. */
  readonly status?: number;
  /** Destroy the connection before answering, without executing the request. */
  readonly reset?: boolean;
  /**
   * Execute, then cut the response body after this many bytes (at most all but one) or `"half"`,
   * and close the connection. An empty body (an S3 PUT's answer) cannot be cut: the connection is
   * closed before the headers instead, so the request has happened but its answer is lost.
   */
  readonly truncate?: number | "half";
  /** Execute, then flip the lowest bit of the middle byte (`true`) or of N bytes at seeded positions. */
  readonly corrupt?: true | number;
  /** Forward, and send the answer without its Content-Length (chunked): S3 proxy only. */
  readonly unsized?: boolean;
  /** Chance that the rule fires on a matching request, 0–1. @default 1 */
  readonly probability?: number;
  /** Seed of this rule's generator (probability draws, corrupt positions). @default derived from the rule */
  readonly seed?: number;
  /** Fire on the next N matching requests only. @default unlimited */
  readonly count?: number;
}

/** A rule with its state, as `GET /__larder/faults` reports it. */
export interface FaultRuleState extends FaultRule {
  /** Requests the rule matched. */
  readonly matched: number;
  /** Times it fired. */
  readonly fired: number;
  /** Firings left (when `count` was given). */
  readonly remaining?: number;
}

/** What a fault did to a request, as recorded in the request log. */
export type FaultKind = "latency" | "status" | "reset" | "truncate" | "corrupt" | "unsized";

/** What a server does to one request, decided from the rules before it is executed. */
export interface FaultPlan {
  /** Wait this long first, ms. */
  readonly latencyMs: number;
  /** Destroy the connection instead of answering. */
  readonly reset: boolean;
  /** Answer with this status and an error body instead of executing. */
  readonly status?: number;
  /** Cut the response body (see {@link FaultRule.truncate}). */
  readonly truncate?: number | "half";
  /** Positions of the response body bytes to flip, given its length (none: leave it alone). */
  readonly corrupt?: (length: number) => number[];
  /** Send the answer without its Content-Length (see {@link FaultRule.unsized}). */
  readonly unsized?: boolean;
  /** The faults this plan applies, for the request log. */
  readonly kinds: readonly FaultKind[];
}

/** The plan of a request no rule fires on. */
export const NO_FAULT: FaultPlan = { latencyMs: 0, reset: false, kinds: [] };

interface ActiveRule {
  readonly rule: FaultRule;
  readonly random: () => number;
  remaining: number | undefined;
  matched: number;
  fired: number;
}

/** The fault rules of one server, with each rule's generator and budget. */
export class FaultRules {
  #active: ActiveRule[] = [];

  /** The rules and their state. */
  get rules(): FaultRuleState[] {
    return this.#active.map(({ rule, remaining, matched, fired }) => ({
      ...rule,
      matched,
      fired,
      ...(remaining === undefined ? {} : { remaining }),
    }));
  }

  /** Whether there is any rule at all (the fast path skips planning when not). */
  get size(): number {
    return this.#active.length;
  }

  /** Replaces all rules. */
  replace(rules: readonly FaultRule[]): void {
    this.#active = rules.map(activate);
  }

  /** Adds rules after the existing ones. */
  add(rules: readonly FaultRule[]): void {
    this.#active.push(...rules.map(activate));
  }

  /** Removes the rules whose `match` is `match`, or all rules when `match` is null. */
  remove(match: string | null): void {
    this.#active = match === null ? [] : this.#active.filter((a) => a.rule.match !== match);
  }

  /**
   * Decides what happens to a request whose matchable text is `subjects` (its path, or its
   * command arguments), and charges the rules that fire (their `count`, their generator).
   */
  plan(subjects: readonly string[], method: string): FaultPlan {
    if (this.#active.length === 0) return NO_FAULT;
    let latencyMs = 0;
    let reset = false;
    let status: number | undefined;
    let truncate: number | "half" | undefined;
    let unsized = false;
    const flips: ((length: number) => number[])[] = [];
    for (const active of this.#active) {
      const { rule } = active;
      if (rule.method !== undefined && rule.method.toUpperCase() !== method.toUpperCase()) continue;
      if (rule.match !== undefined && !subjects.some((s) => s.includes(rule.match!))) continue;
      active.matched++;
      if (active.remaining === 0) continue;
      if (rule.probability !== undefined && active.random() >= rule.probability) continue;
      if (active.remaining !== undefined) active.remaining--;
      active.fired++;
      latencyMs += rule.latencyMs ?? 0;
      reset ||= rule.reset === true;
      status ??= rule.status;
      truncate ??= rule.truncate;
      unsized ||= rule.unsized === true;
      if (rule.corrupt !== undefined) flips.push(positions(rule.corrupt, active.random));
    }
    const kinds: FaultKind[] = latencyMs > 0 ? ["latency"] : [];
    if (reset) return { latencyMs, reset, kinds: [...kinds, "reset"] };
    if (status !== undefined) return { latencyMs, reset, status, kinds: [...kinds, "status"] };
    if (flips.length > 0) kinds.push("corrupt");
    if (truncate !== undefined) kinds.push("truncate");
    if (unsized) kinds.push("unsized");
    if (kinds.length === 0) return NO_FAULT;
    return {
      latencyMs,
      reset,
      ...(truncate === undefined ? {} : { truncate }),
      ...(unsized ? { unsized } : {}),
      ...(flips.length === 0 ? {} : { corrupt: (length: number) => flips.flatMap((flip) => flip(length)) }),
      kinds,
    };
  }
}

function activate(rule: FaultRule): ActiveRule {
  return {
    rule,
    random: mulberry32(rule.seed ?? fnv1a(JSON.stringify(rule))),
    remaining: rule.count,
    matched: 0,
    fired: 0,
  };
}

function positions(corrupt: true | number, random: () => number): (length: number) => number[] {
  return (length) => {
    if (length === 0) return [];
    if (corrupt === true) return [length >> 1];
    return Array.from({ length: corrupt }, () => Math.floor(random() * length));
  };
}

/**
 * The body a faulty response carries: corrupted bytes flipped (on a copy), then cut when the plan
 * truncates. `cut` says whether the connection must be closed after it (the body is incomplete).
 */
export function applyBodyFaults(body: Buffer, plan: FaultPlan): { body: Buffer; cut: boolean } {
  let out = body;
  if (plan.corrupt) {
    out = Buffer.from(body);
    // A position drawn twice flips once: the byte must end up different.
    for (const at of new Set(plan.corrupt(out.length))) out[at] = out[at]! ^ 0x01;
  }
  if (plan.truncate === undefined) return { body: out, cut: false };
  const keep = plan.truncate === "half" ? out.length >> 1 : Math.min(plan.truncate, Math.max(0, out.length - 1));
  return { body: out.subarray(0, keep), cut: true };
}

/** Checks a rule sent to `/__larder/faults`; returns what is wrong with it, or null. */
export function invalidRule(value: unknown): string | null {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return "a rule must be an object";
  const rule = value as Record<string, unknown>;
  for (const key of Object.keys(rule)) {
    if (!KNOWN.has(key)) return `unknown field "${key}" (known: ${[...KNOWN].join(", ")})`;
  }
  const nonNegativeInt = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
  if (rule.match !== undefined && typeof rule.match !== "string") return "match must be a string";
  if (rule.method !== undefined && (typeof rule.method !== "string" || rule.method === "")) {
    return "method must be an HTTP method";
  }
  if (rule.latencyMs !== undefined && !(typeof rule.latencyMs === "number" && rule.latencyMs >= 0)) {
    return "latencyMs must be a number >= 0";
  }
  if (rule.status !== undefined && !(nonNegativeInt(rule.status) && rule.status >= 400 && rule.status <= 599)) {
    return "status must be an integer from 400 to 599";
  }
  if (rule.reset !== undefined && typeof rule.reset !== "boolean") return "reset must be a boolean";
  if (rule.unsized !== undefined && typeof rule.unsized !== "boolean") return "unsized must be a boolean";
  if (rule.truncate !== undefined && rule.truncate !== "half" && !nonNegativeInt(rule.truncate)) {
    return 'truncate must be a byte count or "half"';
  }
  if (rule.corrupt !== undefined && rule.corrupt !== true && !(nonNegativeInt(rule.corrupt) && rule.corrupt > 0)) {
    return "corrupt must be true or a positive byte count";
  }
  if (
    rule.probability !== undefined &&
    !(typeof rule.probability === "number" && rule.probability >= 0 && rule.probability <= 1)
  ) {
    return "probability must be a number from 0 to 1";
  }
  if (rule.seed !== undefined && !nonNegativeInt(rule.seed)) return "seed must be a non-negative integer";
  if (rule.count !== undefined && !nonNegativeInt(rule.count)) return "count must be a non-negative integer";
  return null;
}

const KNOWN = new Set([
  "match",
  "method",
  "latencyMs",
  "status",
  "reset",
  "truncate",
  "corrupt",
  "unsized",
  "probability",
  "seed",
  "count",
]);

function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}
