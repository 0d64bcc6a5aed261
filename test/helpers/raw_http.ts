/**
 * A real HTTP server on a free loopback port, and a raw HTTP/1.1 client for it: tests of the
 * response cache see exactly what goes over the wire (the status line, every header line as
 * sent, repeated ones included, and the body bytes), with nothing in between that could add,
 * merge or drop a header the way `fetch` or `app.request()` may.
 *
 * The server is `@hono/node-server` (Node's `http` module behind a fetch-style handler), so a
 * Hono app and a plain `cacheHandler` are served the same way.
 *
 * @module
 */
import { connect } from "node:net";
import { serve } from "@hono/node-server";

/** A listening server. */
export interface LoopbackServer {
  /** `http://127.0.0.1:PORT`. */
  readonly origin: string;
  /** The port it listens on. */
  readonly port: number;
  /** Stops listening and closes idle connections. */
  close(): Promise<void>;
}

/** Serves `fetch` (a Hono app's `fetch`, or any fetch handler) on 127.0.0.1 and a free port. */
export function listen(fetch: (request: Request) => Response | Promise<Response>): Promise<LoopbackServer> {
  return new Promise((resolve) => {
    const server = serve({ fetch, port: 0, hostname: "127.0.0.1" }, (info) => {
      resolve({
        origin: `http://127.0.0.1:${info.port}`,
        port: info.port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            if ("closeAllConnections" in server) server.closeAllConnections();
          }),
      });
    });
  });
}

/** One response, as read from the socket. */
export interface RawResponse {
  /** The status line, e.g. `HTTP/1.1 200 OK`. */
  readonly statusLine: string;
  /** The status code. */
  readonly status: number;
  /** Every header line, in order, names lower-cased, values as sent. */
  readonly headers: readonly (readonly [string, string])[];
  /** The body bytes (de-chunked when `Transfer-Encoding: chunked`), exactly as sent otherwise. */
  readonly body: Uint8Array;
  /** The values of every `name` line, in order. */
  all(name: string): string[];
  /** The values of the `name` lines joined with `, ` (RFC 9110 §5.3), or undefined without one. */
  header(name: string): string | undefined;
  /** The body as UTF-8 text. */
  text(): string;
}

/** A request to send. */
export interface RawRequest {
  /** @default "GET" */
  readonly method?: string;
  /** Header lines to add (besides Host and Connection). */
  readonly headers?: Readonly<Record<string, string>>;
  /** The body (sent with Content-Length). */
  readonly body?: string;
  /** The Host header. @default the server's host:port */
  readonly host?: string;
}

/**
 * Sends one HTTP/1.1 request on a new connection (`Connection: close`) and reads the response
 * until the server closes it. A HEAD response's body is whatever came after the head: it must
 * be empty.
 */
export function rawRequest(server: LoopbackServer, path: string, request: RawRequest = {}): Promise<RawResponse> {
  const method = request.method ?? "GET";
  const lines = [`${method} ${path} HTTP/1.1`, `Host: ${request.host ?? `127.0.0.1:${server.port}`}`];
  lines.push("Connection: close");
  for (const [name, value] of Object.entries(request.headers ?? {})) lines.push(`${name}: ${value}`);
  const body = new TextEncoder().encode(request.body ?? "");
  if (request.body !== undefined) lines.push(`Content-Length: ${body.length}`);
  const head = new TextEncoder().encode(`${lines.join("\r\n")}\r\n\r\n`);
  return new Promise((resolve, reject) => {
    const chunks: Uint8Array[] = [];
    const socket = connect(server.port, "127.0.0.1", () => socket.write(concat([head, body])));
    socket.on("data", (chunk: Uint8Array) => chunks.push(new Uint8Array(chunk)));
    socket.on("error", reject);
    socket.on("close", () => {
      try {
        resolve(parse(concat(chunks)));
      } catch (error) {
        reject(error);
      }
    });
  });
}

function parse(bytes: Uint8Array): RawResponse {
  const end = indexOf(bytes, [13, 10, 13, 10], 0);
  if (end < 0) throw new Error(`no complete response head in ${bytes.length} bytes`);
  const [statusLine = "", ...headerLines] = new TextDecoder().decode(bytes.subarray(0, end)).split("\r\n");
  const headers = headerLines.map((line): [string, string] => {
    const colon = line.indexOf(":");
    return [line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim()];
  });
  const all = (name: string): string[] => headers.filter(([n]) => n === name.toLowerCase()).map(([, v]) => v);
  let body = bytes.subarray(end + 4);
  if (all("transfer-encoding").join(",").toLowerCase().includes("chunked")) body = dechunk(body);
  return {
    statusLine,
    status: Number(statusLine.split(" ")[1]),
    headers,
    body,
    all,
    header: (name) => (all(name).length > 0 ? all(name).join(", ") : undefined),
    text: () => new TextDecoder().decode(body),
  };
}

function dechunk(bytes: Uint8Array): Uint8Array {
  const parts: Uint8Array[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = indexOf(bytes, [13, 10], at);
    if (lineEnd < 0) throw new Error("truncated chunked body");
    const size = parseInt(new TextDecoder().decode(bytes.subarray(at, lineEnd)), 16);
    if (size === 0) return concat(parts);
    parts.push(bytes.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
}

function indexOf(bytes: Uint8Array, needle: readonly number[], from: number): number {
  outer: for (let i = from; i <= bytes.length - needle.length; i++) {
    for (let j = 0; j < needle.length; j++) if (bytes[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
