/**
 * A counting TCP proxy in front of a Redis node: it logs every chunk each way, parses the RESP
 * commands clients send, and can hold replies back by a fixed delay (so that which requests a
 * client sent before seeing any reply is unambiguous). Round trips are counted from the log as
 * flights: a run of client→server chunks that follows a server→client one. Several proxies can
 * share one log (one per node of a cluster), so a lookup that reaches three shards at once
 * counts as one flight and one that waits for a reply before its next request as two.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import net from "node:net";

/** One chunk through a proxy. */
export interface ProxyEvent {
  /** Which proxy (node) it went through. */
  readonly node: string;
  /** `up`: client → server; `down`: server → client (when it was passed on). */
  readonly dir: "up" | "down";
  /** Commands completed by this chunk (up only), each as its arguments. */
  readonly commands: readonly string[][];
}

/** A shared, ordered log of the chunks through one or more proxies. */
export class ProxyLog {
  readonly events: ProxyEvent[] = [];
  /** Forgets everything logged so far. */
  reset(): void {
    this.events.length = 0;
  }
  /** The commands sent, in order. */
  commands(): string[][] {
    return this.events.flatMap((e) => e.commands);
  }
  /** Round trips: runs of requests that follow a reply (requests sent together count once). */
  flights(): number {
    let flights = 0;
    let afterReply = true;
    for (const event of this.events) {
      if (event.dir === "up" && event.commands.length > 0) {
        if (afterReply) flights++;
        afterReply = false;
      } else if (event.dir === "down") {
        afterReply = true;
      }
    }
    return flights;
  }
  /** The nodes that received commands. */
  nodes(): Set<string> {
    return new Set(this.events.filter((e) => e.dir === "up" && e.commands.length > 0).map((e) => e.node));
  }
}

/** A running proxy. */
export interface CountingProxy {
  /** The port it listens on (127.0.0.1). */
  readonly port: number;
  /** `redis://127.0.0.1:<port>`. */
  readonly url: string;
  /** Stops listening and closes every connection. */
  close(): Promise<void>;
}

/** Starts a proxy to `target` that logs into `log` (unless `log: false`); replies are held back `delayMs`. */
export async function countingProxy(
  target: { host: string; port: number },
  log: ProxyLog,
  options: { node?: string; delayMs?: number; log?: boolean } = {},
): Promise<CountingProxy> {
  const node = options.node ?? `${target.host}:${target.port}`;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.host);
    sockets.add(client).add(upstream);
    const parser = new RespCommandParser();
    const logging = options.log !== false;
    client.on("data", (chunk: Buffer) => {
      if (logging) log.events.push({ node, dir: "up", commands: parser.push(chunk) });
      upstream.write(chunk);
    });
    upstream.on("data", (chunk: Buffer) => {
      const pass = (): void => {
        if (logging) log.events.push({ node, dir: "down", commands: [] });
        client.write(chunk);
      };
      if (options.delayMs) setTimeout(pass, options.delayMs);
      else pass();
    });
    const end = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on("error", end).on("close", end);
    upstream.on("error", end).on("close", end);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Splits a client's byte stream into RESP commands (arrays of bulk strings). */
class RespCommandParser {
  #buffer = Buffer.alloc(0);

  push(chunk: Buffer): string[][] {
    this.#buffer = Buffer.concat([this.#buffer, chunk]);
    const commands: string[][] = [];
    for (;;) {
      const parsed = this.#one();
      if (!parsed) break;
      commands.push(parsed.args);
      this.#buffer = this.#buffer.subarray(parsed.end);
    }
    return commands;
  }

  #one(): { args: string[]; end: number } | undefined {
    const buffer = this.#buffer;
    const line = (from: number): { text: string; next: number } | undefined => {
      const at = buffer.indexOf("\r\n", from);
      return at < 0 ? undefined : { text: buffer.toString("latin1", from, at), next: at + 2 };
    };
    const head = line(0);
    if (!head) return undefined;
    if (!head.text.startsWith("*")) return { args: head.text.split(" "), end: head.next }; // inline command
    const count = Number(head.text.slice(1));
    const args: string[] = [];
    let at = head.next;
    for (let i = 0; i < count; i++) {
      const size = line(at);
      if (!size) return undefined;
      const length = Number(size.text.slice(1));
      if (buffer.length < size.next + length + 2) return undefined;
      args.push(buffer.toString("utf8", size.next, size.next + length));
      at = size.next + length + 2;
    }
    return { args, end: at };
  }
}
