/**
 * The store contract's optional bus (`MetadataStore.bus`), part of {@link describeStoreConformance}:
 * for a `"push"` store, `publish` reaches every subscriber of the channel, in order, only theirs,
 * once the ops before it are applied, and a batch run right after `subscribe()` is heard; for a
 * `"poll"` store, `readBus` returns the recent messages on a first read, then only newer ones, in
 * pages, and reports a gap when the log is gone. A store without a bus skips them.
 *
 * @module
 */
import type { BusListener, ReadBusResult, StoreOp } from "../core/types.ts";
import { expect } from "./_expect.ts";
import { pollUntil } from "./_helpers.ts";
import type { ScriptTestContext } from "./_store_scripts.ts";

/** Registers the bus tests (each returns at once when the store declares no bus, or the other kind). */
export function busTests(context: ScriptTestContext): void {
  const { describe, it } = context.runner;
  const { run, key, store } = context;
  const arrived = (listener: { messages: string[] }, count: number): Promise<void> =>
    pollUntil(async () => listener.messages.length >= count, { timeoutMs: 5_000, everyMs: 5 });
  const listening = (): BusListener & { messages: string[]; states: boolean[] } => {
    const messages: string[] = [];
    const states: boolean[] = [];
    return { messages, states, message: (text) => void messages.push(text), live: (live) => void states.push(live) };
  };
  const publish = (channel: string, message: string): StoreOp => ({ type: "publish", channel, message });

  describe("bus", () => {
    it("is absent, push (with subscribe) or poll", () => {
      const { bus } = store();
      expect(bus === undefined || bus === "push" || bus === "poll").toBe(true);
      if (bus === "push") expect(typeof store().subscribe).toBe("function");
    });

    it("push: publish reaches every subscriber of the channel, in order, after the ops before it", async () => {
      if (store().bus !== "push") return;
      const [channel, other, k] = [key("bus"), key("other"), key("k")];
      const [a, b, elsewhere] = [listening(), listening(), listening()];
      const seen: unknown[] = [];
      const offs = [
        store().subscribe!(channel, a),
        store().subscribe!(channel, {
          ...b,
          message: (text) => {
            b.message(text);
            // What the batch did before its message is there for whoever hears it.
            if (text === "m1") void run([{ type: "get", key: k }]).then(([value]) => seen.push(value));
          },
        }),
        store().subscribe!(other, elsewhere),
      ];
      try {
        // Right after subscribe(): heard all the same (the store waits for its subscription).
        expect(await run([{ type: "set", key: k, value: "v", ttlMs: 60_000 }, publish(channel, "m1")]))
          .toStrictEqual([true, true]);
        expect(await run([publish(channel, "m2"), publish(channel, "m3")])).toStrictEqual([true, true]);
        await arrived(a, 3);
        await arrived(b, 3);
        expect(a.messages).toStrictEqual(["m1", "m2", "m3"]);
        expect(b.messages).toStrictEqual(["m1", "m2", "m3"]);
        await pollUntil(async () => seen.length > 0, { timeoutMs: 5_000, everyMs: 5 });
        expect(seen).toStrictEqual(["v"]);
        expect(elsewhere.messages).toStrictEqual([]);
        expect(a.states).toStrictEqual([]); // live from the start, never lost
      } finally {
        for (const off of offs) off();
      }
    });

    it("push: a listener unsubscribed hears nothing more", async () => {
      if (store().bus !== "push") return;
      const channel = key("bus");
      const [gone, fence] = [listening(), listening()];
      const off = store().subscribe!(channel, gone);
      const offFence = store().subscribe!(channel, fence);
      try {
        await run([publish(channel, "before")]);
        await arrived(gone, 1);
        off();
        await run([publish(channel, "after")]);
        await arrived(fence, 2);
        expect(gone.messages).toStrictEqual(["before"]);
      } finally {
        offFence();
      }
    });

    it("poll: a first read returns the recent messages, the next ones only what is newer, in pages", async () => {
      if (store().bus !== "poll") return;
      const channel = key("bus");
      const read = async (after: string | undefined, max = 100): Promise<ReadBusResult> =>
        (await run([{ type: "readBus", channel, recentMs: 60_000, max, ...(after === undefined ? {} : { after }) }]))[
          0
        ] as ReadBusResult;
      const empty = await read(undefined);
      expect(empty).toMatchObject({ messages: [], gap: false });
      expect(typeof empty.cursor).toBe("string");
      expect(await run([publish(channel, "m1"), publish(channel, "m2")])).toStrictEqual([true, true]);
      const first = await read(undefined);
      expect(first).toMatchObject({ messages: ["m1", "m2"], gap: false });
      expect(await read(empty.cursor)).toMatchObject({ messages: ["m1", "m2"], gap: false });
      await run([publish(channel, "m3"), publish(channel, "m4"), publish(channel, "m5")]);
      const page = await read(first.cursor, 2);
      expect(page).toMatchObject({ messages: ["m3", "m4"], gap: false });
      const rest = await read(page.cursor, 2);
      expect(rest).toMatchObject({ messages: ["m5"], gap: false });
      expect(await read(rest.cursor)).toMatchObject({ messages: [], gap: false });
    });

    it("poll: a log deleted since the last read is a gap", async () => {
      if (store().bus !== "poll") return;
      const channel = key("bus");
      await run([publish(channel, "m1")]);
      const [seen] = await run([{ type: "readBus", channel, recentMs: 60_000, max: 100 }]);
      await run([{ type: "del", key: channel }]);
      await run([publish(channel, "m2")]);
      const [after] = await run([{
        type: "readBus",
        channel,
        recentMs: 60_000,
        max: 100,
        after: (seen as ReadBusResult).cursor,
      }]);
      expect(after).toMatchObject({ gap: true });
    });
  });
}
