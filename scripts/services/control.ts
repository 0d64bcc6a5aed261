/**
 * What the bridge and the S3 proxy share: the request log that tests read to count round trips,
 * the fault rules that benchmarks and resilience tests set (see faults.ts), and the
 * `/__larder/*` control routes that expose both. Control routes are not part of any protocol and are never logged.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import type { IncomingMessage, ServerResponse } from "node:http";
import { performance } from "node:perf_hooks";
import { type FaultKind, type FaultRule, type FaultRules, invalidRule } from "./faults.ts";

export type { FaultKind, FaultRule, FaultRuleState } from "./faults.ts";
export { FaultRules } from "./faults.ts";

/** One request a server has seen. Times come from the services process' monotonic clock. */
export interface RequestLogEntry {
  /** Order of arrival, from 1. */
  readonly seq: number;
  /** HTTP method. */
  readonly method: string;
  /** Path and query as received (a `_token` query parameter is masked). */
  readonly path: string;
  /** Redis command names, upper-cased, in order (bridge only; empty for S3). */
  commands: string[];
  /**
   * The first argument of each command (its key, for key commands), at most 200 characters
   * (bridge only). Suites share the services: filter on your own key prefix, never reset.
   */
  keys: string[];
  /** `performance.now()` in the services process when the request arrived, ms. */
  readonly startMs: number;
  /** When the response finished or the connection closed; null while in flight. */
  endMs: number | null;
  /** HTTP status sent; null while in flight or when the client left before any response. */
  status: number | null;
  /** True when the client closed the connection before the response was complete. */
  aborted: boolean;
  /** Request body bytes received. */
  requestBytes: number;
  /** Response body bytes sent. */
  responseBytes: number;
  /** The injected faults this request met (see faults.ts); empty when none. */
  faults: FaultKind[];
}

/** What `GET /__larder/requests` returns. */
export interface RequestLogSnapshot {
  /** The entries, oldest first. */
  readonly requests: RequestLogEntry[];
  /** Entries dropped because the log is bounded. */
  readonly dropped: number;
  /** `performance.now()` of the services process when the snapshot was taken. */
  readonly now: number;
}

/**
 * Requests carrying this header (value `1`) are served but not logged, and no fault rule applies
 * to them: test helpers use it to look at raw keys and objects without disturbing the round-trip
 * counts, or meeting the faults, under test.
 */
export const UNCOUNTED_HEADER = "x-larder-uncounted";

/** True when `req` asks not to be logged (see {@link UNCOUNTED_HEADER}). */
export function isUncounted(req: IncomingMessage): boolean {
  return req.headers[UNCOUNTED_HEADER] === "1";
}

/** Most entries kept; older ones are dropped (counted in `dropped`). */
const MAX_ENTRIES = 100_000;

/** The bounded request log. */
export class RequestLog {
  private entries: RequestLogEntry[] = [];
  private seq = 0;
  private dropped = 0;

  /** Records the start of a request and returns its (mutable) entry; `record: false` keeps it out of the log. */
  begin(method: string, path: string, record = true): RequestLogEntry {
    const entry: RequestLogEntry = {
      seq: record ? ++this.seq : 0,
      method,
      path: path.replace(/([?&]_token=)[^&]*/, "$1***"),
      commands: [],
      keys: [],
      startMs: performance.now(),
      endMs: null,
      status: null,
      aborted: false,
      requestBytes: 0,
      responseBytes: 0,
      faults: [],
    };
    if (!record) return entry;
    this.entries.push(entry);
    if (this.entries.length > MAX_ENTRIES) {
      this.entries.shift();
      this.dropped++;
    }
    return entry;
  }

  /**
   * Follows `res` to fill in the end time, status and abort flag of `entry`. Body sizes are
   * counted by the server itself (a `data` listener here would start the request flowing).
   */
  track(entry: RequestLogEntry, res: ServerResponse): void {
    res.once("close", () => {
      entry.endMs = performance.now();
      entry.aborted = !res.writableFinished;
      entry.status = res.headersSent ? res.statusCode : null;
    });
  }

  /** Everything logged so far. */
  snapshot(): RequestLogSnapshot {
    return { requests: this.entries, dropped: this.dropped, now: performance.now() };
  }

  /** Forgets everything logged so far. */
  reset(): void {
    this.entries = [];
    this.dropped = 0;
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

/**
 * Serves the control routes; returns false for other paths. `authorized` is checked first (the
 * bridge requires its Bearer token; the S3 proxy does not).
 * - `GET /__larder/requests`: the log; `DELETE`: reset it.
 * - `GET /__larder/faults`: the rules with their state (`matched`, `fired`, `remaining`); `PUT`
 *   `{ "rules": [...] }`: replace them all; `POST`: add rules; `DELETE ?match=TEXT`: remove the
 *   rules with that `match`; `DELETE`: remove all. An invalid rule is a 400 naming the problem.
 */
export function handleControl(
  req: IncomingMessage,
  res: ServerResponse,
  log: RequestLog,
  faults: FaultRules,
  authorized: boolean,
): boolean {
  const url = new URL(req.url ?? "/", "http://control");
  const route = `${req.method} ${url.pathname}`;
  if (!url.pathname.startsWith("/__larder/")) return false;
  if (!authorized) {
    sendJson(res, 401, { error: "Unauthorized: missing or invalid Bearer token" });
    return true;
  }
  switch (route) {
    case "GET /__larder/requests":
      sendJson(res, 200, log.snapshot());
      break;
    case "DELETE /__larder/requests":
      log.reset();
      sendJson(res, 200, { ok: true });
      break;
    case "GET /__larder/faults":
      sendJson(res, 200, { rules: faults.rules });
      break;
    case "DELETE /__larder/faults": {
      faults.remove(url.searchParams.get("match"));
      sendJson(res, 200, { rules: faults.rules });
      break;
    }
    case "PUT /__larder/faults":
    case "POST /__larder/faults": {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        let rules: unknown;
        try {
          rules = (JSON.parse(Buffer.concat(chunks).toString("utf8")) as { rules?: unknown }).rules;
        } catch {
          rules = undefined;
        }
        const problem = Array.isArray(rules)
          ? rules.map(invalidRule).find((p) => p !== null)
          : 'expected {"rules":[…]}';
        if (problem) {
          sendJson(res, 400, { error: `invalid fault rule: ${problem}` });
          return;
        }
        if (req.method === "PUT") faults.replace(rules as FaultRule[]);
        else faults.add(rules as FaultRule[]);
        sendJson(res, 200, { rules: faults.rules });
      });
      break;
    }
    default:
      sendJson(res, 404, { error: `no control route ${route}` });
  }
  return true;
}

/** Resolves after `ms` (at once when 0). */
export function delay(ms: number): Promise<void> {
  return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve();
}
