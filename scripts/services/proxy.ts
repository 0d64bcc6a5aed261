/**
 * A counting HTTP proxy: forwards every request byte-for-byte (method, path, raw headers
 * including `Host`, so SigV4 signatures stay valid; bodies streamed both ways; keep-alive on
 * both sides) and logs each one for tests. Control routes (`/__larder/*`) are answered here and
 * never forwarded.
 *
 * Faults: every request passes through {@link FaultHook} before it is forwarded. Today a rule can
 * add latency; the hook's {@link FaultPlan} is where 5xx answers, connection resets, truncated
 * and corrupted bodies will be added for the resilience work.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { delay, FaultRules, handleControl, isUncounted, RequestLog } from "./control.ts";

/** What the proxy does to one request (decided before it is forwarded). */
export interface FaultPlan {
  /** Wait this long before forwarding, ms. */
  readonly latencyMs: number;
}

/** Decides the fault plan of a request from its method and path (path includes the query). */
export type FaultHook = (request: { readonly method: string; readonly path: string }) => FaultPlan;

/** Options of {@link startProxy}. */
export interface ProxyOptions {
  /** Where requests go, e.g. `{ host: "127.0.0.1", port: 4569 }`. */
  readonly target: { readonly host: string; readonly port: number };
  /** Overrides how faults are decided; by default the rules set through `/__larder/faults`. */
  readonly faultHook?: FaultHook;
}

/** A running proxy. */
export interface CountingProxy {
  /** `http://127.0.0.1:PORT`. */
  readonly url: string;
  /** Requests forwarded. */
  readonly log: RequestLog;
  /** Rules behind the default fault hook (what `/__larder/faults` sets). */
  readonly faults: FaultRules;
  /** Closes the proxy and its upstream connections. */
  stop(): Promise<void>;
}

/** Starts the proxy on a free loopback port. */
export async function startProxy(options: ProxyOptions): Promise<CountingProxy> {
  const log = new RequestLog();
  const faults = new FaultRules();
  const faultHook: FaultHook = options.faultHook ??
    ((request) => ({ latencyMs: faults.latencyMs([request.path]) }));
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

  const forward = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (handleControl(req, res, log, faults, true)) return;
    const method = req.method ?? "GET";
    const path = req.url ?? "/";
    // Hold the body (e.g. while a fault delays the request); it flows again when piped upstream.
    req.pause();
    const entry = log.begin(method, path, !isUncounted(req));
    log.track(entry, res);
    req.on("data", (chunk: Buffer) => (entry.requestBytes += chunk.length));
    const plan = faultHook({ method, path });
    await delay(plan.latencyMs);
    if (res.destroyed) return;
    const upstream = http.request({
      host: options.target.host,
      port: options.target.port,
      method,
      path,
      headers: req.rawHeaders,
      agent,
    });
    upstream.on("response", (answer) => {
      answer.on("data", (chunk: Buffer) => (entry.responseBytes += chunk.length));
      res.writeHead(answer.statusCode ?? 502, answer.statusMessage, answer.rawHeaders);
      answer.pipe(res);
      answer.on("error", () => res.destroy());
    });
    upstream.on("error", (error) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const text = JSON.stringify({ error: `proxy: upstream failed: ${error.message}` });
      res.writeHead(502, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
      res.end(text);
    });
    // The client went away: stop the upstream request too.
    res.on("close", () => {
      if (!res.writableFinished) upstream.destroy();
    });
    req.pipe(upstream);
  };

  const server = http.createServer((req, res) => void forward(req, res));
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    log,
    faults,
    stop() {
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        agent.destroy();
      });
    },
  };
}
