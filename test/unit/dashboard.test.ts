/**
 * `larder/dashboard` on the embedded cache (no services): creation refused without `authorize`,
 * the public counters scope (counters only, read-only), bounded history sampled at most once per
 * refresh period, the hit-rate series, each backend from `cache.health()`, escaping, and malformed requests.
 */
import { describe, expect, it } from "vitest";
import { ConfigError, createCache, StoreError } from "../../mod.ts";
import { type ActionResult, dashboard, type DashboardModel } from "../../src/dashboard/dashboard.ts";
import { Ring } from "../../src/dashboard/_history.ts";
import { html, raw } from "../../src/dashboard/_html.ts";
import { authorize, figure, get, model, OPERATOR, ORIGIN, post, session } from "../helpers/dashboard.ts";
import { memoryStore } from "../../src/stores/memory.ts";

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

describe("dashboard creation", () => {
  const cache = createCache({ logger: quiet });

  it("refuses to exist without authorize, naming the fix", () => {
    expect(() => dashboard(cache, {})).toThrow(ConfigError);
    expect(() => dashboard(cache, {})).toThrow(/an authorize function is required.*public: "counters"/);
    expect(() => dashboard(cache, undefined as never)).toThrow(/options are required/);
    expect(() => dashboard(cache, { authorize: true as never })).toThrow(/authorize must be a function/);
    expect(() => dashboard(cache, { public: "everything" as never })).toThrow(/public must be "counters"/);
    expect(() => dashboard(cache, { authorize, secret: "short" })).toThrow(/at least 32/);
    expect(() => dashboard(cache, { authorize, history: 1 })).toThrow(/history must be an integer/);
    expect(() => dashboard(cache, { authorize, refresh: "soon" as never })).toThrow(/dashboard: refresh/);
    expect(() => dashboard(cache, { authorize, origins: ["ops.example"] })).toThrow(/not an origin/);
    expect(() => dashboard(cache, { authorize, colour: "red" } as never)).toThrow(/unknown option "colour"/);
    expect(() => dashboard({} as never, { authorize })).toThrow(/expected a cache created by createCache/);
    expect(() => dashboard(cache, { public: "counters" })).not.toThrow();
  });
});

describe("dashboard: public counters", () => {
  it("shows anyone the counters alone, read-only; the operator everything", async () => {
    const cache = createCache({ prefix: "public-counters", logger: quiet });
    await cache.set("k", 1, { tags: ["t"] });
    await cache.get("k");
    await cache.get("absent");
    const board = dashboard(cache, { authorize, public: "counters" });

    const anyone = await get(board, "/_larder?format=json", {});
    expect(anyone.status).toBe(200);
    expect(anyone.headers.get("set-cookie")).toBeNull();
    const counters = await anyone.json() as DashboardModel;
    expect(counters.scope).toBe("counters");
    expect(Object.keys(counters).sort()).toEqual([
      "at",
      "global",
      "instance",
      "recent",
      "refreshMs",
      "scope",
      "series",
    ]);
    expect(Object.keys(counters.instance).sort()).toEqual(["hitRate", "hits", "latency", "misses", "writes"]);
    expect(Object.keys(counters.global).sort()).toEqual(["available", "hitRate", "hits", "misses", "writes"]);
    expect(counters.instance.hits.inline).toBe(1);
    expect(counters.instance.misses).toBe(1);

    const page = await (await get(board, "/_larder", {})).text();
    expect(page).not.toContain("public-counters");
    expect(page).not.toContain("<form");
    expect(page).toContain("public counters (read-only)");
    expect(figure(page, "instance.hits.inline")).toBe("1");

    const operator = await session(board);
    expect(operator.html).toContain("public-counters");
    expect((await model(board)).config?.prefix).toBe("public-counters");
    // A post without the operator's credentials, even with a valid session and token, is refused unread.
    const refused = await post(board, operator, { action: "invalidate", kind: "tag", name: "t" }, {
      headers: { authorization: "" },
    });
    expect([refused.status, await refused.text()]).toEqual([403, "Forbidden\n"]);
    expect(await cache.get("k")).toBe(1);
  });

  it("with public counters and no authorize, nobody may act", async () => {
    const cache = createCache({ logger: quiet });
    const board = dashboard(cache, { public: "counters" });
    const page = await get(board);
    expect([page.status, page.headers.get("content-type")]).toEqual([200, "text/html; charset=utf-8"]);
    const response = await board.fetch(
      new Request(`${ORIGIN}/_larder`, {
        method: "POST",
        headers: { ...OPERATOR, "content-type": "application/json" },
        body: JSON.stringify({ action: "cleanup" }),
      }),
    );
    expect(response.status).toBe(403);
  });
});

describe("dashboard history", () => {
  it("keeps at most `history` samples, one per refresh period, and charts the hit rate between them", async () => {
    let clock = 1_000_000;
    const cache = createCache({ logger: quiet, now: () => clock });
    const board = dashboard(cache, { authorize, history: 4, refresh: "5s" });
    await cache.set("k", 1);
    const rates: (number | null)[] = [];
    for (let step = 0; step < 10; step++) {
      // step i: i hits and one miss since the last sample.
      for (let i = 0; i < step; i++) await cache.get("k");
      await cache.get("absent");
      clock += 5_000;
      const m = await model(board);
      // Within the same period: no new sample.
      clock += 1_000;
      const again = await model(board);
      expect(again.series).toEqual(m.series);
      rates.push(m.series.instance.at(-1) ?? null);
      expect(m.series.instance.length).toBe(Math.min(step, 3));
      expect(m.series.at.length).toBe(m.series.instance.length);
    }
    expect(rates.slice(1)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9].map((hits) => hits / (hits + 1)));
    const last = await model(board);
    expect(last.recent.spanMs).toBe(3 * 6_000 + 1_000);
    expect(last.recent.instance.lookups).toBe((7 + 1) + (8 + 1) + (9 + 1));
  });

  it("a ring keeps the newest items, oldest first", () => {
    const ring = new Ring<number>(3);
    expect(ring.toArray()).toEqual([]);
    expect(ring.last()).toBeUndefined();
    for (let i = 1; i <= 7; i++) ring.push(i);
    expect(ring.toArray()).toEqual([5, 6, 7]);
    expect(ring.last()).toBe(7);
  });
});

describe("dashboard: each backend from cache.health()", () => {
  it("shows a misconfigured store's state, last error and fix, escaped", async () => {
    let refuse = false;
    const store = memoryStore();
    const cache = createCache({
      store: {
        name: "upstash",
        run: (ops, options) =>
          refuse
            ? Promise.reject(
              new StoreError("upstash run [read] failed: <b>Unauthorized</b> (HTTP 401)", { fix: "check the <token>" }),
            )
            : store.run(ops, options),
      },
      logger: quiet,
    });
    const board = dashboard(cache, { authorize });
    await cache.get("k");
    const before = await model(board);
    expect(before.backends?.store).toMatchObject({ adapter: "upstash", state: "ok", lastError: null });
    expect(before.backends?.store.latency.count).toBeGreaterThanOrEqual(1);
    expect(before.backends?.blob).toMatchObject({ adapter: null, state: "none" });
    refuse = true;
    await cache.get("k");
    const m = await model(board);
    expect(m.backends?.store.state).toBe("misconfigured");
    expect(m.backends?.store.lastError).toEqual({
      message: "upstash run [read] failed: <b>Unauthorized</b> (HTTP 401)",
      code: "E_STORE",
      at: expect.any(Number),
      fix: "check the <token>",
    });
    const page = await (await get(board)).text();
    expect(figure(page, "backends.store.state")).toBe("misconfigured");
    expect(figure(page, "backends.store.lastError.message")).toBe(
      "upstash run [read] failed: &lt;b&gt;Unauthorized&lt;/b&gt; (HTTP 401)",
    );
    expect(figure(page, "backends.store.lastError.fix")).toBe("check the &lt;token&gt;");
  });
});

describe("dashboard: shared counters that cannot be read", () => {
  it("shows operators why (escaped) and the public nothing but zeros", async () => {
    const cache = createCache({ logger: quiet });
    Object.assign(cache, {
      globalStats: () => Promise.reject(new StoreError("upstash stats failed: <i>connection refused</i>")),
    });
    const board = dashboard(cache, { authorize, public: "counters" });
    const m = await model(board);
    expect(m.global).toMatchObject({
      available: false,
      misses: 0,
      error: "upstash stats failed: <i>connection refused</i>",
    });
    expect(figure(await (await get(board)).text(), "global.error")).toBe(
      "upstash stats failed: &lt;i&gt;connection refused&lt;/i&gt;",
    );
    const anyone = await (await get(board, "/_larder?format=json", {})).json() as DashboardModel;
    expect(anyone.global.available).toBe(false);
    expect(JSON.stringify(anyone)).not.toContain("connection refused");
  });
});

describe("dashboard requests", () => {
  it("answers HEAD without a body, other methods with 405, and refuses oversized or unknown bodies", async () => {
    const cache = createCache({ logger: quiet });
    const board = dashboard(cache, { authorize });
    const head = await board.fetch(new Request(`${ORIGIN}/_larder`, { method: "HEAD", headers: OPERATOR }));
    expect([head.status, await head.text()]).toEqual([200, ""]);
    const put = await board.fetch(new Request(`${ORIGIN}/_larder`, { method: "PUT", headers: OPERATOR }));
    expect([put.status, put.headers.get("allow")]).toEqual([405, "GET, HEAD, POST"]);
    const s = await session(board);
    const big = await post(board, s, { action: "inspect", key: "x".repeat(20_000) }, { json: true });
    expect(big.status).toBe(413);
    const multipart = await board.fetch(
      new Request(`${ORIGIN}/_larder`, { method: "POST", headers: OPERATOR, body: new FormData() }),
    );
    expect(multipart.status).toBe(415);
    const unknown = await post(board, s, { action: "drop-everything" }, { json: true });
    expect(unknown.status).toBe(400);
    expect(((await unknown.json()) as ActionResult).summary).toMatch(/unknown action/);
  });

  it("escapes every interpolation of the html tag unless it is markup it made", () => {
    const evil = `<script>alert("x")</script> & 'quoted'`;
    expect(html`<p title="${evil}">${evil}</p>`.text).toBe(
      '<p title="&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;quoted&#39;">' +
        "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;quoted&#39;</p>",
    );
    expect(html`<ul>${["<a>", html`<li>${"<b>"}</li>`, null, false, undefined]}</ul>`.text).toBe(
      "<ul>&lt;a&gt;<li>&lt;b&gt;</li></ul>",
    );
    expect(html`${raw("<br>")}`.text).toBe("<br>");
  });
});
