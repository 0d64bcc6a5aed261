/**
 * A small RESP2 client for the local services: an incremental, binary-safe reply parser and a
 * connection pool where each connection carries one batch at a time, so the commands of one
 * batch (a pipeline, or MULTI…EXEC) go out in order on one connection and nothing interleaves.
 *
 * Written here rather than pulling ioredis: the bridge needs raw replies (bulk strings as bytes,
 * status vs bulk strings, 64-bit integers untouched) and per-batch connection ownership, which
 * general-purpose clients hide behind their own decoding and auto-pipelining.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import net from "node:net";

/** A Redis error reply (`-ERR …`). */
export class RespError {
  constructor(readonly message: string) {}
}

/** A status reply (`+OK`), kept apart from bulk strings because Upstash encodes them differently. */
export class RespStatus {
  constructor(readonly value: string) {}
}

/** One decoded reply: bulk strings as bytes, integers as their decimal digits (64-bit safe). */
export type Reply = Buffer | RespStatus | RespError | bigint | null | Reply[];

/** A command argument as sent on the wire. */
export type Arg = string | Buffer;

const CRLF = Buffer.from("\r\n");

/** Encodes one command as a RESP array of bulk strings, as a list of chunks (no copy of big args). */
export function encodeCommand(args: readonly Arg[], out: Buffer[] = []): Buffer[] {
  out.push(Buffer.from(`*${args.length}\r\n`));
  for (const arg of args) {
    const bytes = typeof arg === "string" ? Buffer.from(arg, "utf8") : arg;
    out.push(Buffer.from(`$${bytes.length}\r\n`), bytes, CRLF);
  }
  return out;
}

interface Frame {
  readonly items: Reply[];
  remaining: number;
}

/**
 * Incremental RESP2 parser. Bulk strings are copied once into a buffer of their declared size,
 * so a 50 MB value arriving in 64 KiB chunks costs one allocation, not a quadratic re-concat.
 */
export class RespParser {
  private buffer: Buffer = Buffer.alloc(0);
  private bulk: { target: Buffer; filled: number } | null = null;
  private readonly stack: Frame[] = [];

  constructor(private readonly onReply: (reply: Reply) => void) {}

  /** Feeds bytes read from the socket; calls `onReply` for each complete top-level reply. */
  push(chunk: Buffer): void {
    if (this.bulk) {
      const { target } = this.bulk;
      const take = Math.min(chunk.length, target.length - this.bulk.filled);
      chunk.copy(target, this.bulk.filled, 0, take);
      this.bulk.filled += take;
      chunk = chunk.subarray(take);
      if (this.bulk.filled < target.length) return;
      this.bulk = null;
      this.emit(target.subarray(0, target.length - 2));
    }
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    let pos = 0;
    while (pos < this.buffer.length) {
      const eol = this.buffer.indexOf(CRLF, pos);
      if (eol === -1) break;
      const type = this.buffer[pos];
      const line = this.buffer.toString("utf8", pos + 1, eol);
      const next = eol + 2;
      if (type === 0x2b /* + */) {
        pos = next;
        this.emit(new RespStatus(line));
      } else if (type === 0x2d /* - */) {
        pos = next;
        this.emit(new RespError(line));
      } else if (type === 0x3a /* : */) {
        pos = next;
        this.emit(BigInt(line));
      } else if (type === 0x24 /* $ */) {
        const size = Number(line);
        if (size < 0) {
          pos = next;
          this.emit(null);
          continue;
        }
        const available = this.buffer.length - next;
        if (available >= size + 2) {
          pos = next + size + 2;
          this.emit(Buffer.from(this.buffer.subarray(next, next + size)));
          continue;
        }
        const target = Buffer.allocUnsafe(size + 2);
        this.buffer.copy(target, 0, next);
        this.bulk = { target, filled: available };
        pos = this.buffer.length;
        break;
      } else if (type === 0x2a /* * */) {
        pos = next;
        const count = Number(line);
        if (count < 0) this.emit(null);
        else if (count === 0) this.emit([]);
        else this.stack.push({ items: [], remaining: count });
      } else {
        throw new Error(`RESP protocol error: unexpected byte 0x${type?.toString(16)}`);
      }
    }
    this.buffer = pos >= this.buffer.length ? Buffer.alloc(0) : this.buffer.subarray(pos);
  }

  private emit(reply: Reply): void {
    let value = reply;
    for (;;) {
      const frame = this.stack[this.stack.length - 1];
      if (!frame) break;
      frame.items.push(value);
      if (--frame.remaining > 0) return;
      this.stack.pop();
      value = frame.items;
    }
    this.onReply(value);
  }
}

interface Pending {
  readonly expected: number;
  readonly replies: Reply[];
  readonly resolve: (replies: Reply[]) => void;
  readonly reject: (error: Error) => void;
}

/** One TCP connection that runs one batch at a time. */
class Connection {
  readonly socket: net.Socket;
  private pending: Pending | null = null;
  private failure: Error | null = null;
  private readonly parser: RespParser;

  constructor(socket: net.Socket) {
    this.socket = socket;
    this.parser = new RespParser((reply) => {
      const pending = this.pending;
      if (!pending) return this.fail(new Error("RESP reply with no command outstanding"));
      pending.replies.push(reply);
      if (pending.replies.length === pending.expected) {
        this.pending = null;
        pending.resolve(pending.replies);
      }
    });
    socket.on("data", (chunk: Buffer) => {
      try {
        this.parser.push(chunk);
      } catch (error) {
        this.fail(error as Error);
      }
    });
    socket.on("error", (error) => this.fail(error));
    socket.on("close", () => this.fail(new Error("redis connection closed")));
  }

  get usable(): boolean {
    return this.failure === null && !this.socket.destroyed;
  }

  run(commands: readonly (readonly Arg[])[]): Promise<Reply[]> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.pending = { expected: commands.length, replies: [], resolve, reject };
      const chunks: Buffer[] = [];
      for (const command of commands) encodeCommand(command, chunks);
      this.socket.cork();
      for (const chunk of chunks) this.socket.write(chunk);
      this.socket.uncork();
    });
  }

  private fail(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    this.socket.destroy();
    const pending = this.pending;
    this.pending = null;
    pending?.reject(error);
  }
}

/** Options of {@link RespPool}. */
export interface RespPoolOptions {
  /** Redis host. */
  readonly host: string;
  /** Redis port. */
  readonly port: number;
  /** Most connections open at once; further batches wait for a free one. @default 32 */
  readonly maxConnections?: number;
}

/** A pool of RESP connections; each batch owns one connection from first command to last reply. */
export class RespPool {
  private readonly idle: Connection[] = [];
  private readonly waiting: { resolve: (c: Connection) => void; reject: (e: Error) => void }[] = [];
  private open = 0;
  private closed = false;
  private readonly maxConnections: number;

  constructor(private readonly options: RespPoolOptions) {
    this.maxConnections = options.maxConnections ?? 32;
  }

  /**
   * Sends `commands` in order on one connection and resolves with one reply per command.
   * With `discard`, the connection is closed afterwards instead of going back to the pool (for
   * batches that may leave connection state behind: MULTI without EXEC, WATCH, SELECT…).
   */
  async run(commands: readonly (readonly Arg[])[], options: { discard?: boolean } = {}): Promise<Reply[]> {
    if (commands.length === 0) return [];
    const connection = await this.acquire();
    try {
      return await connection.run(commands);
    } finally {
      if (options.discard) connection.socket.destroy();
      this.release(connection);
    }
  }

  /** Sends one command and resolves with its reply. */
  async command(...args: Arg[]): Promise<Reply> {
    const [reply] = await this.run([args]);
    return reply ?? null;
  }

  /** Closes every connection; batches still running fail. */
  close(): void {
    this.closed = true;
    for (const connection of this.idle.splice(0)) connection.socket.destroy();
    for (const waiter of this.waiting.splice(0)) waiter.reject(new Error("RESP pool is closed"));
  }

  private async acquire(): Promise<Connection> {
    if (this.closed) throw new Error("RESP pool is closed");
    for (let connection = this.idle.pop(); connection; connection = this.idle.pop()) {
      if (connection.usable) return connection;
      this.open--;
    }
    if (this.open >= this.maxConnections) {
      return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
    }
    this.open++;
    try {
      return await this.connect();
    } catch (error) {
      this.open--;
      throw error;
    }
  }

  private release(connection: Connection): void {
    if (!connection.usable || this.closed) {
      connection.socket.destroy();
      this.open--;
      // A waiter must not starve because the connection it waited for died.
      const waiter = this.waiting.shift();
      if (waiter) {
        this.open++;
        this.connect().then(waiter.resolve, (error: Error) => {
          this.open--;
          waiter.reject(error);
        });
      }
      return;
    }
    const waiter = this.waiting.shift();
    if (waiter) waiter.resolve(connection);
    else this.idle.push(connection);
  }

  private connect(): Promise<Connection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: this.options.host, port: this.options.port });
      socket.setNoDelay(true);
      const onError = (error: Error): void => reject(error);
      socket.once("error", onError);
      socket.once("connect", () => {
        socket.off("error", onError);
        resolve(new Connection(socket));
      });
    });
  }
}
