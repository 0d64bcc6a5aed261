/**
 * The counters' recent past, for the hit-rate chart: a fixed-size ring of samples of
 * `cache.stats()` and `cache.globalStats()`, taken when the page or its JSON is asked for (at
 * most once per refresh period), never by a timer — Workers allow no timers outside a request,
 * and a dashboard nobody looks at should cost nothing. The shared counters are one store round
 * trip: they are read at most once per refresh period too, however many operators are watching.
 *
 * @module
 */
import { type Cache, isCacheError } from "./_core.ts";

/** One sample: cumulative lookups of this instance and of all instances at `at`. */
export interface Sample {
  /** When it was taken, ms since the epoch. */
  readonly at: number;
  /** This instance's hits so far. */
  readonly hits: number;
  /** This instance's misses so far. */
  readonly misses: number;
  /** Every instance's hits so far, when the shared counters could be read. */
  readonly globalHits: number | null;
  /** Every instance's misses so far, when the shared counters could be read. */
  readonly globalMisses: number | null;
}

/** A ring of at most `capacity` items, oldest first. */
export class Ring<T> {
  readonly #items: (T | undefined)[];
  #next = 0;
  #size = 0;

  constructor(capacity: number) {
    this.#items = new Array<T | undefined>(capacity);
  }

  /** Adds `item`, dropping the oldest when full. */
  push(item: T): void {
    this.#items[this.#next] = item;
    this.#next = (this.#next + 1) % this.#items.length;
    this.#size = Math.min(this.#size + 1, this.#items.length);
  }

  /** The items, oldest first. */
  toArray(): T[] {
    const start = (this.#next - this.#size + this.#items.length) % this.#items.length;
    return Array.from({ length: this.#size }, (_, i) => this.#items[(start + i) % this.#items.length] as T);
  }

  /** The newest item. */
  last(): T | undefined {
    return this.#size === 0 ? undefined : this.#items[(this.#next - 1 + this.#items.length) % this.#items.length];
  }
}

/** The shared counters as last read: the values, or why they could not be read. */
export interface GlobalReading {
  readonly counters: Readonly<Record<string, number>> | null;
  readonly error?: string;
}

/** Reads the shared counters at most once per `everyMs`, sharing a read in flight. */
export class GlobalCounters {
  readonly #cache: Cache;
  readonly #everyMs: number;
  #at = -Infinity;
  #reading: GlobalReading = { counters: null };
  #inflight: Promise<GlobalReading> | undefined;

  constructor(cache: Cache, everyMs: number) {
    this.#cache = cache;
    this.#everyMs = everyMs;
  }

  /** The counters, read again when the last reading is older than the period. */
  read(now: number): Promise<GlobalReading> {
    if (now - this.#at < this.#everyMs) return Promise.resolve(this.#reading);
    this.#inflight ??= this.#cache.globalStats().then(
      (counters): GlobalReading => ({ counters }),
      (error: unknown): GlobalReading => ({
        counters: null,
        // CacheError messages name the backend and operation, never tokens; others may say anything.
        error: isCacheError(error) ? error.message : "the shared counters could not be read",
      }),
    ).then((reading) => {
      this.#reading = reading;
      this.#at = now;
      this.#inflight = undefined;
      return reading;
    });
    return this.#inflight;
  }
}

/** Every instance's hits (all tiers) and misses, from the shared counters. */
export function globalLookups(counters: Readonly<Record<string, number>>): { hits: number; misses: number } {
  const hits = (counters["hits.memory"] ?? 0) + (counters["hits.inline"] ?? 0) + (counters["hits.blob"] ?? 0);
  return { hits, misses: counters["misses"] ?? 0 };
}

/** Hit rate between consecutive samples (null where there was no lookup in between). */
export function rates(samples: readonly Sample[], which: "instance" | "global"): (number | null)[] {
  const out: (number | null)[] = [];
  for (let i = 1; i < samples.length; i++) {
    const [a, b] = [samples[i - 1]!, samples[i]!];
    const [ha, ma, hb, mb] = which === "instance"
      ? [a.hits, a.misses, b.hits, b.misses]
      : [a.globalHits, a.globalMisses, b.globalHits, b.globalMisses];
    // Missing readings, or counters that went back (the shared ones are deleted by clear()).
    if (ha === null || ma === null || hb === null || mb === null || hb < ha || mb < ma) {
      out.push(null);
      continue;
    }
    const lookups = hb - ha + (mb - ma);
    out.push(lookups > 0 ? (hb - ha) / lookups : null);
  }
  return out;
}
