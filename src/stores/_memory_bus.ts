/**
 * The memory store's side of the in-process tiers' bus (`MetadataStore.bus`), for caches sharing
 * one memory store as instances share a Redis: `"push"` delivers a `publish` to every subscriber
 * of the channel synchronously, at its place in the batch (after the ops before it); `"poll"` keeps
 * a capped log per channel, read by `readBus` ops, with gaps as the Upstash store's stream reports
 * them: a reader whose next message was trimmed, or whose log was deleted after it read (the
 * stream's reader sees its last entry gone, whatever came after).
 *
 * @module
 */
import type { BusListener, ReadBusOp, ReadBusResult } from "../core/types.ts";

/** One message of a channel's log: its sequence number (store-wide), when, and its text. */
interface Logged {
  readonly seq: number;
  readonly at: number;
  readonly message: string;
}

/** The in-process bus of a memory store, as its `run` and `subscribe` use it. */
export interface MemoryBus {
  /** Adds a subscriber to `channel` (push); returns the function that removes it. */
  subscribe(channel: string, listener: BusListener): () => void;
  /** Delivers `message` to `channel`'s subscribers (push), or appends it to its log (poll). */
  publish(channel: string, message: string, at: number): void;
  /** A `readBus` op on the logs (poll). */
  read(op: ReadBusOp, at: number): ReadBusResult;
  /** Deletes `key`'s log, if it is one (the readers who had not read to its end see a gap). */
  deleteLog(key: string): boolean;
  /** Whether `key` is a log. */
  hasLog(key: string): boolean;
  /** The logs' keys (what `scan` lists beside the other keys). */
  logKeys(): IterableIterator<string>;
}

/** The in-process bus: subscribers per channel (push), or a capped log per channel (poll). */
export function memoryBus(mode: "push" | "poll" | false, logMax: number): MemoryBus {
  const listeners = new Map<string, Set<BusListener>>();
  const logs = new Map<string, Logged[]>();
  // The newest message each channel has lost, trimmed or with its log deleted: what makes a gap
  // for a reader that had not read it (trimmed), or had read up to it (deleted: the Redis log's
  // reader sees its last entry gone, whatever came after).
  const lost = new Map<string, { readonly seq: number; readonly at: number; readonly deleted: boolean }>();
  let seq = 0;
  const loseAll = (channel: string, log: readonly Logged[]): void => {
    const last = log.at(-1);
    if (last) lost.set(channel, { seq: last.seq, at: last.at, deleted: true });
  };
  return {
    subscribe(channel: string, listener: BusListener): () => void {
      let set = listeners.get(channel);
      if (!set) listeners.set(channel, set = new Set());
      // A wrapper per subscription, so the same listener subscribed twice is two subscriptions.
      const one: BusListener = { message: (text) => listener.message(text), live: (l) => listener.live(l) };
      set.add(one);
      return () => void set.delete(one);
    },
    publish(channel: string, message: string, at: number): void {
      if (mode === "poll") {
        let log = logs.get(channel);
        if (!log) logs.set(channel, log = []);
        log.push({ seq: ++seq, at, message });
        if (log.length > logMax) lost.set(channel, { ...log.shift()!, deleted: false });
        return;
      }
      for (const listener of [...listeners.get(channel) ?? []]) {
        try {
          listener.message(message);
        } catch {
          // A subscriber's failure is its own: the publisher's batch goes on.
        }
      }
    },
    read(op: ReadBusOp, at: number): ReadBusResult {
      const log = logs.get(op.channel) ?? [];
      const gone = lost.get(op.channel);
      const after = op.after === undefined ? undefined : Number(op.after);
      const gap = gone !== undefined &&
        (after === undefined ? gone.at >= at - op.recentMs : gone.deleted ? gone.seq >= after : gone.seq > after);
      if (gap) return { cursor: String(seq), messages: [], gap: true };
      const fresh = log.filter((m) => (after === undefined ? m.at >= at - op.recentMs : m.seq > after));
      const page = fresh.slice(0, op.max);
      return {
        cursor: String(page.at(-1)?.seq ?? Math.max(after ?? 0, seq)),
        messages: page.map((m) => m.message),
        gap,
      };
    },
    deleteLog(key: string): boolean {
      const log = logs.get(key);
      if (!log) return false;
      loseAll(key, log);
      return logs.delete(key);
    },
    hasLog: (key: string): boolean => logs.has(key),
    logKeys: (): IterableIterator<string> => logs.keys(),
  };
}
