/**
 * The bus of the in-process tiers: how an invalidation, a delete or a `set` made by one instance
 * reaches the tiers of every other instance sharing the prefix, so that each drops what it may no
 * longer serve — within milliseconds on a store that pushes (Redis over TCP: pub/sub), within a
 * short interval on one that is polled (Upstash: one read of a log per interval and process,
 * shared by every entry) — instead of serving it until its `memory.ttl` runs out.
 *
 * **Publishing.** The change's store batch carries a `publish` op last (types.ts `PublishOp`):
 * it takes effect after the change, in the same round trip where the store allows, so a returned
 * invalidation has been published, and no instance hears of it before the store shows it. Every
 * instance whose store has a bus publishes, with or without a tier of its own. Messages name what
 * changed, never values: `1 <origin> g <generation key>…` (an invalidation: tags, a namespace, the
 * whole prefix on `clear()`) or `1 <origin> h <key hash>…` (a delete, a `set`). A `wrap`'s own
 * write is not announced: it follows a miss, so no tier holds a value it replaces that is still
 * valid (absent, invalidated — announced then —, or expired, and a tier never outlives the record's
 * expiry). `origin` tells an instance its own messages, which it has already applied.
 *
 * **Listening** (with a tier and `memory.bus`). A message drops the entries it concerns
 * (memory_tier.ts keeps each entry's generation keys), unless it is this instance's own. What may
 * have been missed empties the tier: a subscription back after a loss (push), a gap in the log
 * (poll: trimmed, deleted by `clear()`, evicted), a message this version cannot read. While a
 * subscription is lost or the log cannot be read, the tier goes on serving for at most its TTL,
 * as without a bus: the bus failing never fails a call, and the TTL stays the backstop.
 *
 * **Polling.** The log is read at most once per half `interval`, and only while the tier is used
 * (a hit starts the read): at most `2000 / interval` requests a second per process whatever the
 * traffic, none when idle. A hit waits for the read when the last one was sent more than
 * `interval` ago, so no hit is served later than `interval` after a change was published (the
 * bound). The first read also returns the messages of the last `memory.ttl` plus a store timeout,
 * by the store's clock: those are all that can concern what the tier was filled with before.
 *
 * @module
 */
import type { Backends } from "../backend/backend_call.ts";
import { newToken } from "../record/generations.ts";
import { busChannel } from "../record/key_layout.ts";
import type { CacheEvents } from "../stats/events.ts";
import type { StatsRecorder } from "../stats/stats.ts";
import type { MetadataStore, PublishOp, ReadBusResult } from "../types.ts";
import type { BackgroundQueue } from "./background.ts";
import type { MemoryTier } from "./memory_tier.ts";

/** A change to announce: generation keys given new tokens, or entries deleted or replaced. */
export type BusChange = { readonly gens: readonly string[] } | { readonly hashes: readonly string[] };

/** What a {@link TierBus} works with. */
export interface TierBusOptions {
  /** The store, whose `bus` carries the messages. */
  readonly store: MetadataStore & { readonly bus: "push" | "poll" };
  /** The cache's prefix (one channel per prefix). */
  readonly prefix: string;
  /** The request path's facade (polls go through it: timeout, breaker, error counts). */
  readonly backend: Backends;
  /** Where the bus's counters go. */
  readonly stats: StatsRecorder;
  /** Listeners of the bus's events. */
  readonly events: CacheEvents;
  /** Keeps a poll alive on runtimes that end work with the response (`waitUntil`). */
  readonly background: BackgroundQueue;
  /** Clock, ms since the epoch. */
  readonly now: () => number;
}

/** How a tier listens. */
export interface ListenOptions {
  /** The tier to keep current. */
  readonly tier: MemoryTier;
  /** Polled stores: the staleness bound (a read at most every half of it). */
  readonly intervalMs: number;
  /** Polled stores: how far back the first read goes (the tier's TTL plus a store timeout). */
  readonly recentMs: number;
}

/** The message format's version: a message of another one empties the tier. */
const VERSION = "1";
/** Messages per read of the log. */
const MAX_MESSAGES = 1000;
/** Reads at most in one poll, when the log has more than {@link MAX_MESSAGES} new messages. */
const MAX_PAGES = 5;

/** One cache's end of the bus: publishes its changes, and keeps its tier current (see the module doc). */
export class TierBus {
  readonly #options: TierBusOptions;
  readonly #channel: string;
  /**
   * Identifies this instance's own messages. Drawn on first use, never at construction: a cache is
   * created in a Worker's global scope, where workerd refuses random values.
   */
  #originToken: string | undefined;
  #tier: MemoryTier | undefined;
  #listening: ListenOptions | undefined;
  /** Push: the subscription was lost and is not back yet. */
  #down = false;
  /** Poll: where the next read starts (absent before the first). */
  #cursor: string | undefined;
  #polling: Promise<void> | undefined;

  #origin(): string {
    return this.#originToken ??= newToken();
  }

  constructor(options: TierBusOptions) {
    this.#options = options;
    this.#channel = busChannel(options.prefix);
    options.stats.busMode = "off";
  }

  /** The op that announces `change`, to be put last in the change's batch; count its result with {@link sent} once the batch succeeded. */
  announce(change: BusChange): PublishOp {
    const [kind, items] = "gens" in change ? ["g", change.gens] : ["h", change.hashes];
    return {
      type: "publish",
      channel: this.#channel,
      message: `${VERSION} ${this.#origin()} ${kind} ${items.join(" ")}`,
    };
  }

  /** Counts an announcement whose batch succeeded, by its op's result (false: the store could not send it). */
  sent(result: unknown): void {
    const { stats } = this.#options;
    if (result === true) {
      stats.busSent++;
      this.#emit("sent");
    } else {
      stats.busFailures++;
      this.#emit("failed");
    }
  }

  /** Starts keeping `options.tier` current: subscribes (push) or polls on demand (poll). */
  listen(options: ListenOptions): void {
    const { store, stats } = this.#options;
    this.#tier = options.tier;
    this.#listening = options;
    stats.busMode = store.bus;
    if (store.bus === "poll") {
      options.tier.watch(() => this.#poll());
      // Nothing read yet: the first hit waits for the first read.
      options.tier.window(0, 0);
      return;
    }
    store.subscribe!(this.#channel, {
      message: (text) => this.#receive(text),
      live: (live) => (live ? this.#back() : this.#lost()),
    });
  }

  /** Applies a message: drops what another instance's change concerns. */
  #receive(text: string): void {
    const tier = this.#tier!;
    const [version, origin, kind, ...items] = text.split(" ");
    if (version !== VERSION || (kind !== "g" && kind !== "h")) {
      this.#reset("unreadable");
      return;
    }
    if (origin === this.#origin()) return;
    const dropped = tier.drop(kind === "g" ? { gens: items } : { hashes: items });
    const { stats } = this.#options;
    stats.busReceived++;
    stats.busDropped += dropped;
    this.#emit("received", { dropped });
  }

  /** Push: the subscription is lost; the tier relies on its TTL until it is back. */
  #lost(): void {
    if (this.#down) return;
    this.#down = true;
    this.#options.stats.busFailures++;
    this.#emit("failed");
  }

  /** Push: the subscription is back; what was published meanwhile is unknown, so the tier starts over. */
  #back(): void {
    if (!this.#down) return;
    this.#down = false;
    this.#options.stats.busReconnects++;
    this.#emit("reconnected");
    this.#reset("reconnect");
  }

  #reset(reason: "reconnect" | "gap" | "unreadable"): void {
    const dropped = this.#tier!.drop("all");
    this.#options.stats.busResets++;
    this.#emit("reset", { dropped, reason });
  }

  /** Poll: the read under way, or a new one; resolves (never rejects) once it is done. */
  #poll(): Promise<void> {
    if (this.#polling) return this.#polling;
    const polling = this.#read().finally(() => (this.#polling = undefined));
    this.#polling = polling;
    this.#options.background.keepAlive(polling);
    return polling;
  }

  /** Reads what is new in the log and applies it; then the tier may serve for `interval` from when the read was sent. */
  async #read(): Promise<void> {
    const { backend, stats, now } = this.#options;
    const { tier, intervalMs, recentMs } = this.#listening!;
    const sentAt = now();
    try {
      for (let page = 0; page < MAX_PAGES; page++) {
        const [reply] = await backend.store("bus", [{
          type: "readBus",
          channel: this.#channel,
          ...(this.#cursor === undefined ? {} : { after: this.#cursor }),
          recentMs,
          max: MAX_MESSAGES,
        }]);
        if (!isReadBusResult(reply)) throw new Error("readBus returned an unexpected result");
        stats.busPolls++;
        this.#emit("poll");
        if (reply.gap) this.#reset("gap");
        else for (const message of reply.messages) this.#receive(message);
        this.#cursor = reply.cursor;
        if (reply.gap || reply.messages.length < MAX_MESSAGES) {
          tier.window(sentAt + intervalMs / 2, sentAt + intervalMs);
          return;
        }
      }
      // More new messages than a poll reads: whatever they said, the tier starts over.
      this.#reset("gap");
      tier.window(sentAt + intervalMs / 2, sentAt + intervalMs);
    } catch {
      // Counted by the backend facade as a store error when the store failed. The tier serves on
      // (its TTL bounds it), and the next hit past half an interval tries again.
      stats.busFailures++;
      this.#emit("failed");
      tier.window(now() + intervalMs / 2, Infinity);
    }
  }

  #emit(action: "sent" | "received" | "poll" | "failed" | "reconnected" | "reset", fields?: object): void {
    const { events } = this.#options;
    if (events.listening) events.emit({ type: "bus", action, ...fields });
  }
}

function isReadBusResult(value: unknown): value is ReadBusResult {
  return typeof value === "object" && value !== null && "cursor" in value && "messages" in value &&
    Array.isArray(value.messages) && value.messages.every((m: unknown) => typeof m === "string");
}
