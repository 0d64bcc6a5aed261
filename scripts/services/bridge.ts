/**
 * An HTTP server speaking the Upstash Redis REST protocol in front of a real redis-server, so
 * `@upstash/redis` (default settings) and our `upstashStore` run against local Redis.
 *
 * Protocol, as documented by Upstash and as `@upstash/redis` 1.39 sends and decodes it:
 * - `POST /` with a JSON array `["SET","k","v"]` → `{"result": …}`; a Redis error → status 400
 *   and `{"error":"ERR …"}`.
 * - `POST /pipeline` with `[[cmd…],[cmd…]]` → status 200 and `[{"result":…}|{"error":"…"}, …]`;
 *   the commands go out in order on one Redis connection.
 * - `POST /multi-exec` → the same array from MULTI…EXEC; a transaction discarded as a whole
 *   (a command rejected while queueing) → status 400 and one `{"error":"…"}`.
 * - Path form: `GET /get/key`, `/set/key/value/EX/100`; a POST body is appended as the last
 *   argument, then query parameters as `NAME value` pairs.
 * - Auth: `Authorization: Bearer <token>` or `?_token=`; otherwise 401 `{"error":"Unauthorized"}`.
 * - `Upstash-Encoding: base64`: every string in the result is base64 of its raw bytes, except the
 *   status reply `OK`; errors are never encoded. Without it, strings are decoded as UTF-8
 *   (invalid bytes become U+FFFD, as Upstash documents). Integers are written as their exact
 *   64-bit digits; nil is `null`; arrays nest.
 *
 * Not part of the protocol: `/__larder/requests` and `/__larder/faults` (see control.ts), and the
 * `x-larder-uncounted: 1` request header that keeps a helper's request out of the log. Fault rules
 * (faults.ts) match on the commands' arguments: a `reset` or a `status` answer means the commands
 * were not run; a truncated or corrupted answer means they were. A request delayed by `latencyMs`
 * runs after its delay even if its client has given up meanwhile (as a request already on its
 * way to Redis would).
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { timingSafeEqual } from "node:crypto";
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { delay, handleControl, isUncounted, RequestLog, type RequestLogEntry } from "./control.ts";
import { applyBodyFaults, type FaultPlan, FaultRules, NO_FAULT } from "./faults.ts";
import { type Arg, type Reply, RespError, RespPool, RespStatus } from "./resp.ts";

/** Options of {@link startBridge}. */
export interface BridgeOptions {
  /** The redis-server to forward to. */
  readonly redis: { readonly host: string; readonly port: number };
  /** The Bearer token clients must send. */
  readonly token: string;
  /** Largest request body accepted, bytes. @default 256 MiB */
  readonly maxBodyBytes?: number;
}

/** A running bridge. */
export interface Bridge {
  /** `http://127.0.0.1:PORT`. */
  readonly url: string;
  /** The token it requires. */
  readonly token: string;
  /** Requests served (what `/__larder/requests` returns). */
  readonly log: RequestLog;
  /** Fault rules (what `/__larder/faults` sets). */
  readonly faults: FaultRules;
  /** Closes the server and its Redis connections. */
  stop(): Promise<void>;
}

class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

type Mode = "single" | "pipeline" | "multi-exec";

function isAuthorized(req: IncomingMessage, url: URL, token: string): boolean {
  const header = req.headers.authorization ?? "";
  const match = /^Bearer\s+(.+)$/i.exec(header);
  const given = match?.[1]?.trim() ?? url.searchParams.get("_token") ?? "";
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        reject(new HttpError(413, `ERR max request size exceeded (${maxBytes} bytes)`));
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

function toArg(value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  throw new HttpError(400, `ERR invalid argument ${JSON.stringify(value)}: expected a string, number or boolean`);
}

function toCommand(value: unknown): string[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new HttpError(400, "ERR a command must be a non-empty JSON array");
  }
  return value.map(toArg);
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString("utf8"));
  } catch {
    throw new HttpError(400, "ERR request body is not valid JSON");
  }
}

/** Turns a request into a mode and its commands. */
function parseRequest(req: IncomingMessage, url: URL, body: Buffer): { mode: Mode; commands: Arg[][] } {
  const path = url.pathname;
  if (path === "/pipeline" || path === "/multi-exec") {
    if (req.method !== "POST" && req.method !== "PUT") throw new HttpError(405, `ERR ${path} takes POST`);
    const parsed = parseJson(body);
    if (!Array.isArray(parsed) || parsed.length === 0) {
      throw new HttpError(400, `ERR ${path} expects a non-empty JSON array of commands`);
    }
    return { mode: path === "/pipeline" ? "pipeline" : "multi-exec", commands: parsed.map(toCommand) };
  }
  if (path === "/") {
    if (body.length === 0) throw new HttpError(400, "ERR empty command");
    return { mode: "single", commands: [toCommand(parseJson(body))] };
  }
  // Path form: /set/key/value?EX=100, with a POST body as the last argument.
  const args: Arg[] = path.split("/").slice(1).map((segment) => {
    try {
      return decodeURIComponent(segment);
    } catch {
      throw new HttpError(400, `ERR malformed URL path segment ${JSON.stringify(segment)}`);
    }
  });
  if (body.length > 0) args.push(body);
  for (const [name, value] of url.searchParams) {
    if (name === "_token") continue;
    args.push(name);
    if (value !== "") args.push(value);
  }
  return { mode: "single", commands: [args] };
}

/** Serialises a reply as JSON text, in parts (large values are never re-concatenated). */
function renderReply(reply: Reply, base64: boolean, out: string[]): void {
  if (reply === null) out.push("null");
  else if (typeof reply === "bigint") out.push(reply.toString());
  else if (Buffer.isBuffer(reply)) {
    out.push(base64 ? `"${reply.toString("base64")}"` : JSON.stringify(reply.toString("utf8")));
  } else if (reply instanceof RespStatus) {
    out.push(
      !base64 || reply.value === "OK"
        ? JSON.stringify(reply.value)
        : `"${Buffer.from(reply.value).toString("base64")}"`,
    );
  } else if (reply instanceof RespError) {
    // An error nested in an array (e.g. a Lua table holding an error reply): kept as a string.
    out.push(base64 ? `"${Buffer.from(reply.message).toString("base64")}"` : JSON.stringify(reply.message));
  } else {
    out.push("[");
    reply.forEach((item, i) => {
      if (i > 0) out.push(",");
      renderReply(item, base64, out);
    });
    out.push("]");
  }
}

function renderItem(reply: Reply, base64: boolean, out: string[]): void {
  if (reply instanceof RespError) {
    out.push(`{"error":${JSON.stringify(reply.message)}}`);
    return;
  }
  out.push('{"result":');
  renderReply(reply, base64, out);
  out.push("}");
}

function send(res: ServerResponse, entry: RequestLogEntry | null, status: number, parts: string[]): void {
  // The client may be gone (it timed out while a fault delayed the answer): nothing to send.
  if (res.headersSent || res.destroyed) return;
  let length = 0;
  for (const part of parts) length += Buffer.byteLength(part);
  if (entry) entry.responseBytes = length;
  res.writeHead(status, { "content-type": "application/json", "content-length": length });
  res.cork();
  for (const part of parts) res.write(part);
  res.uncork();
  res.end();
}

/** Sends a response with body faults: the declared length is the true one, the body may be cut or altered. */
function sendFaulty(
  res: ServerResponse,
  entry: RequestLogEntry,
  status: number,
  parts: string[],
  plan: FaultPlan,
): void {
  if (res.headersSent || res.destroyed) return;
  const full = Buffer.from(parts.join(""), "utf8");
  const { body, cut } = applyBodyFaults(full, plan);
  entry.responseBytes = body.length;
  res.writeHead(status, { "content-type": "application/json", "content-length": full.length });
  if (cut) res.write(body, () => res.destroy());
  else res.end(body);
}

/** Commands that leave state on a connection; a batch holding one does not return it to the pool. */
const STATEFUL = new Set([
  "MULTI",
  "EXEC",
  "DISCARD",
  "WATCH",
  "UNWATCH",
  "SELECT",
  "SUBSCRIBE",
  "PSUBSCRIBE",
  "SSUBSCRIBE",
  "MONITOR",
  "CLIENT",
  "RESET",
  "AUTH",
  "HELLO",
  "READONLY",
  "READWRITE",
]);

async function execute(pool: RespPool, mode: Mode, commands: Arg[][], base64: boolean): Promise<[number, string[]]> {
  const out: string[] = [];
  const discard = commands.some((command) => STATEFUL.has(commandName(command)));
  if (mode === "single") {
    const [reply = null] = await pool.run(commands, { discard });
    if (reply instanceof RespError) return [400, [`{"error":${JSON.stringify(reply.message)}}`]];
    renderItem(reply, base64, out);
    return [200, out];
  }
  if (mode === "pipeline") {
    const replies = await pool.run(commands, { discard });
    out.push("[");
    replies.forEach((reply, i) => {
      if (i > 0) out.push(",");
      renderItem(reply, base64, out);
    });
    out.push("]");
    return [200, out];
  }
  const replies = await pool.run([["MULTI"], ...commands, ["EXEC"]], { discard });
  const exec = replies[replies.length - 1] ?? null;
  if (!Array.isArray(exec)) {
    // Discarded as a whole: report the first command Redis refused to queue (more useful than EXECABORT).
    const refused = replies.slice(1, -1).find((r): r is RespError => r instanceof RespError);
    const message = refused?.message ?? (exec instanceof RespError ? exec.message : "ERR transaction aborted");
    return [400, [`{"error":${JSON.stringify(message)}}`]];
  }
  out.push("[");
  exec.forEach((reply, i) => {
    if (i > 0) out.push(",");
    renderItem(reply, base64, out);
  });
  out.push("]");
  return [200, out];
}

function commandName(command: Arg[]): string {
  const name = command[0] ?? "";
  return (typeof name === "string" ? name : name.toString("utf8")).toUpperCase();
}

function firstArgument(command: Arg[]): string {
  const name = String(command[0] ?? "").toUpperCase();
  // EVAL/EVALSHA script numkeys key…: the first key, not the script, is what a test filters on.
  const isScript = (name === "EVAL" || name === "EVALSHA") && Number(String(command[2] ?? "0")) > 0;
  const arg = (isScript ? command[3] : command[1]) ?? "";
  return (typeof arg === "string" ? arg.slice(0, 200) : arg.subarray(0, 200).toString("utf8"));
}

/** Starts the bridge on a free loopback port. */
export async function startBridge(options: BridgeOptions): Promise<Bridge> {
  const pool = new RespPool({ host: options.redis.host, port: options.redis.port });
  const log = new RequestLog();
  const faults = new FaultRules();
  const maxBodyBytes = options.maxBodyBytes ?? 256 * 1024 * 1024;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? "/", "http://bridge");
    const authorized = isAuthorized(req, url, options.token);
    if (handleControl(req, res, log, faults, authorized)) return;
    const entry = log.begin(req.method ?? "GET", req.url ?? "/", !isUncounted(req));
    log.track(entry, res);
    try {
      const body = await readBody(req, maxBodyBytes);
      entry.requestBytes = body.length;
      // Parsed before the auth check so that rejected requests are logged with their commands too.
      let parsed: ReturnType<typeof parseRequest> | HttpError;
      try {
        parsed = parseRequest(req, url, body);
        entry.commands = parsed.commands.map(commandName);
        entry.keys = parsed.commands.map(firstArgument);
      } catch (error) {
        parsed = error as HttpError;
      }
      if (!authorized) throw new HttpError(401, "Unauthorized");
      if (!["GET", "HEAD", "POST", "PUT"].includes(req.method ?? "")) {
        throw new HttpError(405, `ERR method ${req.method} not allowed`);
      }
      if (parsed instanceof Error) throw parsed;
      const { mode, commands } = parsed;
      let plan: FaultPlan = NO_FAULT;
      if (faults.size > 0 && !isUncounted(req)) {
        const subjects = commands.flatMap((c) => c.map((a) => (typeof a === "string" ? a : a.toString("latin1"))));
        plan = faults.plan(subjects, req.method ?? "POST");
        entry.faults = [...plan.kinds];
        await delay(plan.latencyMs);
      }
      if (plan.reset) {
        req.socket.destroy();
        return;
      }
      if (plan.status !== undefined) {
        send(res, entry, plan.status, [JSON.stringify({ error: `ERR injected fault: HTTP ${plan.status}` })]);
        return;
      }
      const base64 = (req.headers["upstash-encoding"] ?? "").toString().toLowerCase() === "base64";
      const [status, parts] = await execute(pool, mode, commands, base64);
      if (res.destroyed) return;
      if (plan.truncate !== undefined || plan.corrupt !== undefined) sendFaulty(res, entry, status, parts, plan);
      else send(res, entry, status, parts);
    } catch (error) {
      if (res.headersSent || res.destroyed) return;
      const status = error instanceof HttpError ? error.status : 500;
      const message = error instanceof HttpError
        ? error.message
        : `ERR bridge could not reach redis: ${(error as Error).message}`;
      send(res, entry, status, [JSON.stringify({ error: message })]);
    }
  };

  const server = http.createServer((req, res) => void handle(req, res));
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    token: options.token,
    log,
    faults,
    stop() {
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        pool.close();
      });
    },
  };
}
