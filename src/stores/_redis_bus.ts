/**
 * The TCP store's side of the in-process tiers' bus (`MetadataStore.bus`: `"push"`): Redis
 * pub/sub, on a connection of its own per channel (a connection in subscriber mode runs no other
 * command).
 *
 * - **One node**: a duplicate of the client, `SUBSCRIBE`d; `PUBLISH` rides in the change's
 *   pipeline, after it (`_redis_ops.ts`). ioredis reconnects the duplicate by itself; each time it
 *   is ready the channel is subscribed again, and only once the server has confirmed it is the
 *   subscription reported live again (a message published in between would be missed otherwise).
 * - **Cluster**: sharded pub/sub (Redis 7): `SPUBLISH` goes to the shard that owns the channel's
 *   slot, and the duplicate of that master's connection is `SSUBSCRIBE`d. Measured on the local
 *   cluster (3 masters, 3 replicas, loopback, 3 000 samples each, interleaved): publish-to-message
 *   p50 0.09 ms, p99 1.4 ms, max 7 ms; plain `PUBLISH`, which the cluster broadcasts over its bus
 *   to every node (replicas included), p50 0.14 ms, p99 1.4 ms, max 47 ms, and each message costs
 *   every node. A server without sharded pub/sub (before 7.0) gets the broadcast instead. When the
 *   connection closes (the master died, failed over, or killed it), a new one is opened to the
 *   slot's master of the moment, after a short backoff.
 * - RESP3 client-side caching (`CLIENT TRACKING`) was the other way to hear of changes: the server
 *   would report every key a process read and then saw modified — records touched by eviction
 *   bookkeeping, leases, each of the generation hashes —, a message per key and reader, where one
 *   message per change, naming generation keys, is what a tier needs.
 *
 * Until a channel's first subscription is confirmed (or has failed, or `READY_WAIT_MS` passed),
 * the store holds the batches it is asked to run (see {@link RedisBus.ready}): the contract of
 * `MetadataStore.subscribe` is that no change those batches read can be announced unheard.
 *
 * @module
 */
import type { BusListener } from "../core/types.ts";
import type { RedisClientLike, RedisClusterLike } from "./_redis_client.ts";
import { keySlot } from "./_redis_slot.ts";

/** How long the first batches wait for a new subscription at most, ms. */
const READY_WAIT_MS = 2_000;
/** Backoff before a cluster subscriber is opened again, ms (doubling up to {@link MAX_BACKOFF_MS}). */
const FIRST_BACKOFF_MS = 50;
const MAX_BACKOFF_MS = 2_000;

/** The part of an ioredis connection a subscriber uses. */
interface SubscriberLike {
  readonly status: string;
  on(event: string, listener: (...args: never[]) => void): unknown;
  subscribe(channel: string): Promise<unknown>;
  ssubscribe(channel: string): Promise<unknown>;
  disconnect(): void;
}

/** What a client offers to make subscribers: ioredis' `duplicate`. */
type Duplicable = RedisClientLike & { duplicate(override?: Record<string, unknown>): SubscriberLike };

/** Whether `client` can make a subscriber connection (ioredis and iovalkey clients can). */
export function canSubscribe(client: RedisClientLike): boolean {
  return typeof (client as Partial<Duplicable>).duplicate === "function";
}

/** The subscriptions of one store, one connection per channel. */
export class RedisBus {
  readonly #client: () => Promise<RedisClientLike>;
  readonly #channels = new Map<string, ChannelSubscriber>();
  #closed = false;
  /** Every channel's first subscription has settled (until a new channel comes). */
  #settled = true;

  /** `client`: the store's client (its duplicates, or on a cluster its nodes', subscribe). */
  constructor(client: () => Promise<RedisClientLike>) {
    this.#client = client;
  }

  /** Adds `listener` to `channel` (subscribing it when new); returns the function that removes it. */
  subscribe(channel: string, listener: BusListener): () => void {
    let subscriber = this.#channels.get(channel);
    if (!subscriber) {
      subscriber = new ChannelSubscriber(channel, this.#client);
      this.#channels.set(channel, subscriber);
      this.#settled = false;
      if (this.#closed) subscriber.close();
      else subscriber.open();
    }
    return subscriber.add(listener);
  }

  /**
   * Resolves once every channel's first subscription is confirmed, has failed, or took too long;
   * undefined (no wait at all: it is asked before every batch) when they all have.
   */
  ready(): Promise<void> | undefined {
    if (this.#settled) return undefined;
    let waiting: Promise<void>[] | undefined;
    for (const subscriber of this.#channels.values()) {
      if (subscriber.settled) continue;
      (waiting ??= []).push(subscriber.firstReady);
    }
    if (!waiting) this.#settled = true;
    return waiting && Promise.all(waiting).then(() => {});
  }

  /** Closes every subscriber connection (the store's `close()`, or the app's client ending). */
  close(): void {
    this.#closed = true;
    for (const subscriber of this.#channels.values()) subscriber.close();
  }
}

/** One channel's subscriber connection and listeners. */
class ChannelSubscriber {
  readonly #channel: string;
  readonly #client: () => Promise<RedisClientLike>;
  readonly #listeners = new Set<BusListener>();
  #connection: SubscriberLike | undefined;
  #live = true;
  #closed = false;
  #backoffMs = FIRST_BACKOFF_MS;
  /** On a cluster: sharded pub/sub, unless its servers turn out to have none (then broadcast). */
  #sharded: boolean | undefined;
  settled = false;
  readonly firstReady: Promise<void>;
  #settle: () => void = () => {};

  constructor(channel: string, client: () => Promise<RedisClientLike>) {
    this.#channel = channel;
    this.#client = client;
    this.firstReady = new Promise<void>((resolve) => (this.#settle = resolve)).then(() => {
      this.settled = true;
    });
    const timer = setTimeout(() => this.#first(false), READY_WAIT_MS);
    // Never keeps a process alive by itself.
    (timer as { unref?: () => void }).unref?.();
    void this.firstReady.then(() => clearTimeout(timer));
  }

  add(listener: BusListener): () => void {
    // A wrapper per subscription, so one listener added twice is two subscriptions.
    const one: BusListener = { message: (text) => listener.message(text), live: (l) => listener.live(l) };
    this.#listeners.add(one);
    if (!this.#live) one.live(false);
    return () => void this.#listeners.delete(one);
  }

  /** Opens the connection and subscribes (again after each reconnection). */
  open(): void {
    void this.#connect().catch(() => this.#lost(true));
  }

  close(): void {
    this.#closed = true;
    this.#first(false);
    this.#connection?.disconnect();
    this.#connection = undefined;
  }

  async #connect(): Promise<void> {
    const client = await this.#client();
    if (this.#closed) return;
    this.#sharded ??= client.isCluster;
    const connection = client.isCluster
      ? await this.#shardConnection(client as RedisClusterLike)
      : (client as Duplicable).duplicate({ autoResubscribe: false, connectionName: "larder-bus", lazyConnect: false });
    if (this.#closed) {
      connection.disconnect();
      return;
    }
    this.#connection = connection;
    // Only the current connection speaks: one being replaced may still emit its last events.
    const current = (): boolean => connection === this.#connection;
    connection.on("error", () => {});
    const deliver = (channel: string, message: string): void => {
      if (channel !== this.#channel || !current()) return;
      for (const listener of [...this.#listeners]) listener.message(message);
    };
    connection.on("message", deliver);
    connection.on("smessage", deliver);
    connection.on("ready", () => current() && void this.#subscribe(connection));
    connection.on("close", () => current() && this.#lost(client.isCluster));
    if (connection.status === "ready") await this.#subscribe(connection);
  }

  /** A connection to the master of the channel's slot (any master when the cluster has no sharded pub/sub). */
  async #shardConnection(cluster: RedisClusterLike): Promise<SubscriberLike> {
    const slot = keySlot(this.#channel);
    // Until the cluster is connected its slot map is empty (and its node list only the seeds).
    if (cluster.slots?.[slot]?.[0] === undefined) await cluster.call("PING");
    const owner = cluster.slots?.[slot]?.[0];
    const masters = cluster.nodes("master") as Duplicable[];
    const node = masters.find((m) => nodeKey(m) === owner) ?? masters[0];
    if (!node) throw new Error("no master node known");
    // No reconnection of its own: a closed subscriber is replaced by one to the slot's master of then.
    return node.duplicate({
      autoResubscribe: false,
      connectionName: "larder-bus",
      lazyConnect: false,
      retryStrategy: () => null,
      maxRetriesPerRequest: 0,
    });
  }

  async #subscribe(connection: SubscriberLike): Promise<void> {
    try {
      try {
        await (this.#sharded ? connection.ssubscribe(this.#channel) : connection.subscribe(this.#channel));
      } catch (error) {
        // A cluster of servers before 7.0: no sharded pub/sub; PUBLISH reaches every node instead.
        if (!this.#sharded || !/unknown command/i.test(String(error))) throw error;
        this.#sharded = false;
        await connection.subscribe(this.#channel);
      }
      if (connection !== this.#connection) return;
      this.#backoffMs = FIRST_BACKOFF_MS;
      this.#first(true);
      this.#setLive(true);
    } catch {
      if (connection !== this.#connection) return;
      // On a cluster (the slot moved: MOVED) a connection to the owner of then; on one node the
      // connection's close (or its next ready) follows, or the server refuses: the TTL bounds the tier.
      if (this.#sharded) this.#lost(true);
      else {
        this.#first(false);
        this.#setLive(false);
      }
    }
  }

  /** The connection closed: not live until subscribed again; a cluster's is replaced. */
  #lost(replace: boolean): void {
    this.#first(false);
    this.#setLive(false);
    if (!replace || this.#closed) return;
    const old = this.#connection;
    this.#connection = undefined;
    old?.disconnect();
    const delay = this.#backoffMs;
    this.#backoffMs = Math.min(this.#backoffMs * 2, MAX_BACKOFF_MS);
    const timer = setTimeout(() => {
      if (!this.#closed) this.open();
    }, delay);
    (timer as { unref?: () => void }).unref?.();
  }

  #first(subscribed: boolean): void {
    if (!subscribed && this.#live && !this.settled) this.#setLive(false);
    this.#settle();
  }

  #setLive(live: boolean): void {
    if (live === this.#live) return;
    this.#live = live;
    for (const listener of [...this.#listeners]) listener.live(live);
  }
}

/** `host:port` of a node client, as ioredis' slot map names it. */
function nodeKey(node: RedisClientLike): string {
  const { host, port } = (node as { options?: { host?: string; port?: number } }).options ?? {};
  return `${host}:${port}`;
}
