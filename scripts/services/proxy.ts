/**
 * A counting HTTP proxy: forwards every request byte-for-byte (method, path, raw headers
 * including `Host`, so SigV4 signatures stay valid; bodies streamed both ways; keep-alive on
 * both sides) and logs each one for tests. Control routes (`/__larder/*`) are answered here and
 * never forwarded.
 *
 * Signatures: with `auth`, every request's SigV4 signature is verified first (s3_auth.ts) and a
 * request S3 would refuse (wrong region, unknown key, wrong secret…) is answered here as S3
 * answers it, never forwarded: s3rver itself accepts any signature.
 *
 * Faults: every request passes through {@link FaultHook} before it is forwarded; its
 * {@link FaultPlan} (by default from the rules set through `/__larder/faults`, see faults.ts) can
 * delay it, reset the connection, answer with an S3 error instead of forwarding, or forward it
 * and truncate or corrupt the response body, or send it without its Content-Length. The faults a
 * request met are in its log entry.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { delay, handleControl, isUncounted, RequestLog } from "./control.ts";
import { applyBodyFaults, type FaultPlan, FaultRules, NO_FAULT } from "./faults.ts";
import { refusalDocument, type S3Auth, verifyRequest } from "./s3_auth.ts";

export type { FaultPlan } from "./faults.ts";

/** Decides the fault plan of a request from its method and path (path includes the query). */
export type FaultHook = (request: { readonly method: string; readonly path: string }) => FaultPlan;

/** Options of {@link startProxy}. */
export interface ProxyOptions {
  /** Where requests go, e.g. `{ host: "127.0.0.1", port: 4569 }`. */
  readonly target: { readonly host: string; readonly port: number };
  /** Overrides how faults are decided; by default the rules set through `/__larder/faults`. */
  readonly faultHook?: FaultHook;
  /** Verify each request's SigV4 signature against these credentials and region. @default no verification */
  readonly auth?: S3Auth;
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
    ((request) => faults.plan([request.path], request.method));
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

  const forward = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (handleControl(req, res, log, faults, true)) return;
    const method = req.method ?? "GET";
    const path = req.url ?? "/";
    // Hold the body (e.g. while a fault delays the request); it flows again when piped upstream.
    req.pause();
    const counted = !isUncounted(req);
    const entry = log.begin(method, path, counted);
    log.track(entry, res);
    req.on("data", (chunk: Buffer) => (entry.requestBytes += chunk.length));
    const refusal = options.auth ? await verifyRequest(req, options.auth) : undefined;
    if (refusal) {
      const document = refusalDocument(refusal);
      if (req.readableEnded) sendXml(res, refusal.status, document);
      else req.once("end", () => sendXml(res, refusal.status, document)).resume();
      return;
    }
    const plan = counted ? faultHook({ method, path }) : NO_FAULT;
    entry.faults = [...plan.kinds];
    await delay(plan.latencyMs);
    if (res.destroyed) return;
    if (plan.reset) {
      // No answer at all: the client sees its connection die.
      req.socket.destroy();
      return;
    }
    if (plan.status !== undefined) {
      // Drain the request body so the answer is read as one (as S3 does on an early error).
      const status = plan.status;
      if (req.readableEnded) sendS3Error(res, status);
      else req.once("end", () => sendS3Error(res, status)).resume();
      return;
    }
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
      answer.on("error", () => res.destroy());
      // Without Content-Length, Node sends the body chunked.
      const headers = plan.unsized ? withoutContentLength(answer.rawHeaders) : answer.rawHeaders;
      if (plan.truncate === undefined && plan.corrupt === undefined) {
        if (answered(res)) return void answer.resume();
        res.writeHead(answer.statusCode ?? 502, answer.statusMessage, headers);
        answer.pipe(res);
        return;
      }
      // Body faults need the whole body (its length, for "half" and the middle byte).
      const chunks: Buffer[] = [];
      answer.on("data", (chunk: Buffer) => chunks.push(chunk));
      answer.on("end", () => {
        // The upstream request may have failed after its answer arrived (an error answer went
        // out then), or the client may be gone: nothing more to send.
        if (answered(res)) return;
        const full = Buffer.concat(chunks);
        const { body, cut } = applyBodyFaults(full, plan);
        if (cut && full.length === 0) {
          // Nothing to cut: the request happened, and its answer is lost.
          res.destroy();
          return;
        }
        // The original headers, Content-Length included (unless unsized): a cut body is visibly short.
        res.writeHead(answer.statusCode ?? 502, answer.statusMessage, headers);
        if (cut) res.write(body, () => res.destroy());
        else res.end(body);
      });
    });
    upstream.on("error", (error) => {
      if (answered(res)) {
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

/** Raw headers (name, value, name, value…) without Content-Length. */
function withoutContentLength(raw: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (raw[i]!.toLowerCase() !== "content-length") out.push(raw[i]!, raw[i + 1]!);
  }
  return out;
}

/** Whether `res` can no longer take a status line: headers already out, or the client gone. */
function answered(res: ServerResponse): boolean {
  return res.headersSent || res.destroyed;
}

/** An injected S3 error answer, shaped like S3's own (`503` is S3's `SlowDown`). */
function sendS3Error(res: ServerResponse, status: number): void {
  const code = status === 503 ? "SlowDown" : status >= 500 ? "InternalError" : "InjectedFault";
  sendXml(
    res,
    status,
    `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>injected fault: HTTP ${status}</Message></Error>`,
  );
}

/** An XML answer with its length. */
function sendXml(res: ServerResponse, status: number, text: string): void {
  if (answered(res)) return;
  res.writeHead(status, { "content-type": "application/xml", "content-length": Buffer.byteLength(text) });
  res.end(text);
}
