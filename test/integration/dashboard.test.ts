/**
 * `larder/dashboard` against the real services (redis-server behind the Upstash bridge, S3),
 * driven with the requests a browser sends: its figures are `cache.stats()` and
 * `cache.globalStats()`; a refused request learns nothing and changes nothing; cross-site posts
 * are refused and change nothing; an invalidation posted by an operator makes another instance
 * miss; inspection and the cleanup dry run report what the cache reports; everything from users
 * is escaped; no secret reaches the page; the page's CSP allows exactly its own script and style.
 */
import { describe, expect, it } from "vitest";
import type { Cache } from "../../mod.ts";
import { type ActionResult, dashboard } from "../../src/dashboard/dashboard.ts";
import { servicesCache } from "../helpers/cache.ts";
import { authorize, figure, get, model, OPERATOR, ORIGIN, post, session } from "../helpers/dashboard.ts";
import { listObjects, putObject, requireServices, uniquePrefix } from "../helpers/services.ts";

const services = requireServices();

/** Two instances on one fresh prefix: `ops` (the dashboard's) and `other`, with a tagged function on `other`. */
function twoInstances(label: string, opsOptions: Parameters<typeof servicesCache>[1] = {}) {
  const prefix = uniquePrefix(label);
  const ops = servicesCache("", { ...opsOptions, prefix }).cache;
  const other = servicesCache("", { prefix }).cache;
  let runs = 0;
  const price = other.wrap(async (sku: string) => ({ sku, run: ++runs }), {
    name: "price",
    namespace: "shop",
    tags: ["prices"],
  });
  return { prefix, ops, other, price, runs: () => runs };
}

/** Computes `price("a")` on `other` and checks that the next call hits. */
async function primed(price: (sku: string) => Promise<unknown>, other: Cache, runs: () => number): Promise<void> {
  const before = runs();
  await price("a");
  await other.flush();
  await price("a");
  expect(runs(), "the second call is a hit").toBe(before + 1);
}

async function sha256Base64(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  return btoa(String.fromCharCode(...digest));
}

describe("dashboard figures", () => {
  it("the JSON is cache.stats() and cache.globalStats() after a known sequence of hits and misses; the page shows the same", async () => {
    const { cache } = servicesCache("dash-stats", { globalStats: { interval: 1 } });
    const board = dashboard(cache, { authorize });
    const report = cache.wrap(async (id: number) => ({ id, rows: [id, id * 2] }), { name: "report" });
    for (const id of [1, 2, 3]) await report(id);
    await cache.flush();
    for (const id of [1, 2, 3, 1, 2]) await report(id);
    expect(await cache.get("absent")).toBeUndefined();
    await cache.flush();
    const stats = cache.stats();
    expect([stats.hits.inline, stats.hits.total, stats.misses, stats.writes.ok]).toEqual([5, 5, 4, 3]);

    const m = await model(board);
    expect(m.scope).toBe("operator");
    expect(m.instance).toEqual(stats);
    expect(m.instance).toEqual(cache.stats());
    const shared = await cache.globalStats();
    expect(m.global.counters).toEqual(shared);
    expect(m.global.hits).toEqual({ total: 5, memory: 0, inline: 5, blob: 0 });
    expect([m.global.misses, m.global.writes.ok, m.global.hitRate]).toEqual([4, 3, 5 / 9]);

    const html = await (await get(board)).text();
    expect(figure(html, "instance.hits.inline")).toBe("5");
    expect(figure(html, "instance.hits.blob")).toBe("0");
    expect(figure(html, "instance.misses")).toBe("4");
    expect(figure(html, "instance.hitRate")).toBe("55.6%");
    expect(figure(html, "instance.writes.ok")).toBe("3");
    expect(figure(html, "global.hits.inline")).toBe("5");
    expect(figure(html, "instance.latency.hit.p99")).toBe(`${stats.latency.hit.p99} ms`);
    expect(figure(html, "backends.store.breaker.state")).toBe("closed");
  });
});

describe("dashboard authorisation", () => {
  it("refuses every request without the operator's credentials with one answer, and does nothing", async () => {
    const { ops, other, price, runs } = twoInstances("dash-refused");
    await primed(price, other, runs);
    const board = dashboard(ops, { authorize });
    const operator = await session(board);
    const form = new URLSearchParams({ action: "invalidate", kind: "tag", name: "prices", csrf: operator.token });
    const browser = { cookie: operator.cookie, origin: ORIGIN, "sec-fetch-site": "same-origin" };
    const requests = [
      new Request(`${ORIGIN}/_larder`),
      new Request(`${ORIGIN}/_larder?format=json`, { headers: { accept: "application/json" } }),
      new Request(`${ORIGIN}/_larder/some/other/path`),
      new Request(`${ORIGIN}/_larder`, { headers: { authorization: "Bearer wrong" } }),
      new Request(`${ORIGIN}/_larder`, { method: "PUT", body: "x" }),
      // The operator's own session and token, without the operator's credentials.
      new Request(`${ORIGIN}/_larder`, {
        method: "POST",
        headers: { ...browser, "content-type": "application/x-www-form-urlencoded" },
        body: form,
      }),
    ];
    const answers = await Promise.all(requests.map(async (request) => {
      const response = await board.fetch(request);
      return { status: response.status, headers: [...response.headers], body: await response.text() };
    }));
    for (const answer of answers) expect(answer).toEqual(answers[0]);
    expect(answers[0]!.status).toBe(403);
    expect(answers[0]!.body).toBe("Forbidden\n");
    expect(answers[0]!.headers.map(([name]) => name)).not.toContain("set-cookie");
    const head = await board.fetch(new Request(`${ORIGIN}/_larder`, { method: "HEAD" }));
    expect([head.status, await head.text()]).toEqual([403, ""]);

    await price("a");
    expect(runs(), "the refused post invalidated nothing: still a hit").toBe(1);
  });

  it("a throwing or non-true authorize refuses; a challenge makes it a 401 with WWW-Authenticate", async () => {
    const { cache } = servicesCache("dash-challenge");
    const throwing = dashboard(cache, {
      authorize: () => {
        throw new Error("session store down");
      },
    });
    expect((await get(throwing)).status).toBe(403);
    const truthy = dashboard(cache, { authorize: (() => "yes") as never });
    expect((await get(truthy)).status).toBe(403);
    const basic = dashboard(cache, { authorize, challenge: 'Basic realm="larder"' });
    const refused = await get(basic, "/_larder", {});
    expect(refused.status).toBe(401);
    expect(refused.headers.get("www-authenticate")).toBe('Basic realm="larder"');
    expect(await refused.text()).toBe("Unauthorized\n");
    expect((await get(basic)).status).toBe(200);
  });
});

describe("dashboard actions: cross-site protection", () => {
  it("refuses posts without the page's token, from another session or site, or expired, and invalidates nothing", async () => {
    let clock = Date.now();
    const { ops, other, price, runs } = twoInstances("dash-csrf", { now: () => clock });
    await primed(price, other, runs);
    const board = dashboard(ops, { authorize });
    const mine = await session(board);
    const theirs = await session(board);
    const invalidate = { action: "invalidate", kind: "tag", name: "prices" };
    const [issued, signature] = mine.token.split(".") as [string, string];
    const forged = `${issued}.${signature.slice(0, -2)}${signature.endsWith("AA") ? "BB" : "AA"}`;
    const later = `${(Number.parseInt(issued, 36) + 1).toString(36)}.${signature}`;
    const attempts: [string, RegExp, Promise<Response>][] = [
      ["no token", /missing form token/, post(board, mine, invalidate, { token: null })],
      ["another session's token", /invalid form token/, post(board, mine, invalidate, { token: theirs.token })],
      ["a forged signature", /invalid form token/, post(board, mine, invalidate, { token: forged })],
      ["a token with another time", /invalid form token/, post(board, mine, invalidate, { token: later })],
      ["no session cookie", /no dashboard session/, post(board, mine, invalidate, { headers: { cookie: "" } })],
      [
        "another origin",
        /cross-origin/,
        post(board, mine, invalidate, { headers: { origin: "https://evil.example" } }),
      ],
      ["Origin: null", /cross-origin/, post(board, mine, invalidate, { headers: { origin: "null" } })],
      [
        "cross-site",
        /Sec-Fetch-Site: cross-site/,
        post(board, mine, invalidate, { headers: { "sec-fetch-site": "cross-site" } }),
      ],
      [
        "same-site",
        /Sec-Fetch-Site: same-site/,
        post(board, mine, invalidate, { headers: { "sec-fetch-site": "same-site" } }),
      ],
    ];
    for (const [what, reason, attempt] of attempts) {
      const response = await attempt;
      expect(response.status, what).toBe(403);
      const summary = /<p class="summary">([^<]*)<\/p>/.exec(await response.text())?.[1];
      expect(summary, what).toMatch(reason);
    }
    clock += 13 * 3_600_000;
    const expired = await post(board, mine, invalidate, { json: true });
    expect(expired.status).toBe(403);
    expect(((await expired.json()) as { summary: string }).summary).toMatch(/expired form token/);
    clock -= 13 * 3_600_000;

    await price("a");
    expect(runs(), "nothing was invalidated").toBe(1);
    const accepted = await post(board, mine, invalidate, { json: true });
    expect(accepted.status).toBe(200);
    await price("a");
    expect(runs(), "the page's own post was").toBe(2);
  });

  it("accepts a script's JSON post with the token from the JSON endpoint and its cookie (no browser headers)", async () => {
    const { ops, other, price, runs } = twoInstances("dash-script");
    await primed(price, other, runs);
    const board = dashboard(ops, { authorize });
    const response = await get(board, "/_larder?format=json");
    const cookie = response.headers.get("set-cookie")!.split(";")[0]!;
    const { csrf } = await response.json() as { csrf: string };
    const result = await board.fetch(
      new Request(`${ORIGIN}/_larder`, {
        method: "POST",
        headers: { ...OPERATOR, cookie, "content-type": "application/json", "x-larder-csrf": csrf },
        body: JSON.stringify({ action: "invalidate", kind: "namespace", name: "shop", mode: "expire" }),
      }),
    );
    expect(result.headers.get("content-type")).toBe("application/json; charset=utf-8");
    expect(await result.json()).toMatchObject({ ok: true, invalidated: { kind: "namespace", name: "shop" } });
    expect(result.status).toBe(200);
    await price("a");
    expect(runs()).toBe(2);
  });
});

describe("dashboard actions", () => {
  it("an invalidation posted from the page makes the next call miss on another instance (tag, namespace, stale)", async () => {
    const { prefix, ops, other, price, runs } = twoInstances("dash-invalidate");
    const board = dashboard(ops, { authorize });
    const s = await session(board);
    await primed(price, other, runs);

    const byTag = await post(board, s, { action: "invalidate", kind: "tag", name: "prices", mode: "expire" });
    expect(byTag.status).toBe(200);
    const html = await byTag.text();
    expect(html).toContain(
      `Tag &quot;prices&quot; expired: its entries miss, on every instance of prefix &quot;${prefix}&quot;.`,
    );
    const misses = other.stats().misses;
    await price("a");
    expect(runs(), "the other instance missed").toBe(2);
    expect(other.stats().misses).toBe(misses + 1);

    await other.flush();
    await price("a");
    expect(runs()).toBe(2);
    const byNamespace = await post(board, s, { action: "invalidate", kind: "namespace", name: "shop" }, { json: true });
    expect(await byNamespace.json()).toMatchObject({
      action: "invalidate",
      ok: true,
      invalidated: { kind: "namespace", name: "shop", mode: "expire" },
    });
    await price("a");
    expect(runs()).toBe(3);

    // Stale: `wrap` serves the old value once more while it refreshes in the background.
    await other.flush();
    const stale = await post(board, s, { action: "invalidate", kind: "tag", name: "prices", mode: "stale" }, {
      json: true,
    });
    expect(stale.status).toBe(200);
    expect(await price("a")).toEqual({ sku: "a", run: 3 });
    await other.flush();
    expect(runs(), "a refresh ran").toBe(4);
  });

  it("inspects an entry by key and namespace and by hash as cache.inspect() does; the payload only with showPayload", async () => {
    const { cache } = servicesCache("dash-inspect", { maxInlineBytes: 64, compression: "none" });
    const value = { note: "PAYLOAD-MARKER <b>bold</b>", rows: "x".repeat(500) };
    expect(await cache.set("report:2024", value, { namespace: "reports", tags: ["eu"] })).toBe(true);
    const board = dashboard(cache, { authorize });
    const s = await session(board);

    const byKey = await post(board, s, { action: "inspect", key: "report:2024", namespace: "reports" }, { json: true });
    const result = await byKey.json() as ActionResult;
    const expected = await cache.inspect("report:2024", { namespace: "reports" });
    expect(result.ok).toBe(true);
    expect({ ...result.inspection, record: { ...result.inspection!.record, ttlLeftMs: 0 } }).toEqual({
      ...expected,
      record: { ...expected.record, ttlLeftMs: 0 },
    });
    expect(result.inspection!.record!.placement).toBe("blob");
    expect(result.inspection!.blob).toMatchObject({ exists: true, referenced: true });
    expect(result).not.toHaveProperty("value");

    const page = await (await post(board, s, { action: "inspect", key: "report:2024", namespace: "reports" })).text();
    expect(page).toContain(expected.hash);
    expect(page).toContain(`sha256 ${expected.record!.checksum}`);
    expect(page).toContain("verified (size and checksum match)");
    expect(page).not.toContain("PAYLOAD-MARKER");

    const byHash = await post(board, s, { action: "inspect", hash: expected.hash }, { json: true });
    expect(((await byHash.json()) as ActionResult).inspection!.record!.checksum).toBe(expected.record!.checksum);
    const neither = await post(board, s, { action: "inspect" }, { json: true });
    expect(neither.status).toBe(400);
    const badHash = await post(board, s, { action: "inspect", hash: "abc" }, { json: true });
    expect(badHash.status).toBe(400);

    const showing = dashboard(cache, { authorize, showPayload: true });
    const t = await session(showing);
    const shown = await post(showing, t, { action: "inspect", key: "report:2024", namespace: "reports" });
    const shownHtml = await shown.text();
    expect(shownHtml).toContain("PAYLOAD-MARKER &lt;b&gt;bold&lt;/b&gt;");
    expect(shownHtml).not.toContain("<b>bold</b>");
  });

  it("a cleanup dry run reports cache.cleanup({ dryRun: true })'s counts and deletes nothing", async () => {
    const { cache, prefix } = servicesCache("dash-cleanup", { maxInlineBytes: 64, compression: "none" });
    for (const key of ["a", "b"]) expect(await cache.set(key, "y".repeat(300))).toBe(true);
    const hex = (): string =>
      [...crypto.getRandomValues(new Uint8Array(32))].map((b) => b.toString(16).padStart(2, "0")).join("");
    for (let i = 0; i < 3; i++) await putObject(`${prefix}/${hex()}`, new Uint8Array(100));
    const objects = await listObjects(`${prefix}/`);
    expect(objects).toHaveLength(5);
    const board = dashboard(cache, { authorize });
    const s = await session(board);

    const young = await (await post(board, s, { action: "cleanup" }, { json: true })).json() as ActionResult;
    expect(young.cleanup).toMatchObject({ dryRun: true, scanned: 5, recent: 5, orphans: 0, deleted: 0 });
    await new Promise((done) => setTimeout(done, 1_100)); // S3 lists modification times to the second
    const response = await post(board, s, { action: "cleanup", grace: "1s" }, { json: true });
    const result = await response.json() as ActionResult;
    const direct = await cache.cleanup({ dryRun: true, grace: "1s" });
    const { durationMs: _a, ...counts } = result.cleanup!;
    const { durationMs: _b, ...expected } = direct;
    expect(counts).toEqual(expected);
    expect(counts).toMatchObject({ scanned: 5, live: 2, orphans: 3, orphanBytes: 300, deleted: 0 });
    expect(result.summary).toBe(
      "Cleanup dry run: 5 objects scanned, 3 orphans (300 bytes) would be deleted; nothing was deleted.",
    );
    expect(await listObjects(`${prefix}/`)).toEqual(objects);
    const bad = await post(board, s, { action: "cleanup", grace: "soon" }, { json: true });
    expect(bad.status).toBe(400);
  });
});

describe("dashboard safety", () => {
  it("renders keys, tags, namespaces and error messages inert", async () => {
    const { cache } = servicesCache("dash-escape");
    const key = "<script>window.pwned=1</script>";
    await cache.set(key, 1);
    const board = dashboard(cache, { authorize });
    const s = await session(board);
    const inspected = await (await post(board, s, { action: "inspect", key, namespace: "" })).text();
    expect(inspected).toContain("Key &quot;&lt;script&gt;window.pwned=1&lt;/script&gt;&quot;: a record");
    expect(inspected.match(/<script/g)).toHaveLength(1); // the page's own
    const badNamespace = await post(board, s, {
      action: "invalidate",
      kind: "namespace",
      name: "<img src=x onerror=alert(1)>",
    });
    expect(badNamespace.status).toBe(400);
    const text = await badNamespace.text();
    expect(text).toContain("&quot;&lt;img src=x onerror=alert(1)&gt;&quot;");
    expect(text).not.toMatch(/<img/);
    const badTag = await post(board, s, { action: "invalidate", kind: "tag", name: '"><svg onload=alert(1)>' });
    expect(badTag.status).toBe(400);
    expect(await badTag.text()).not.toMatch(/<svg onload/);
    const badAction = await post(board, s, { action: "<b>x</b>" });
    expect(await badAction.text()).not.toContain("<b>x</b>");
  });

  it("shows no token, secret key, encryption key or dashboard secret, and only the allow-listed configuration", async () => {
    // Two AES-256 keys, as base64 of 32 bytes: the page names their ids, never them.
    const keys = { "k-2024": btoa("A".repeat(32)), "k-2025": btoa("B".repeat(32)) };
    const { cache, prefix } = servicesCache("dash-secrets", {
      memory: true,
      limits: { reports: { maxEntries: 10 } },
      encryption: { keys, current: "k-2025" },
    });
    const secret = "dashboard-hmac-secret-0123456789abcdef";
    const board = dashboard(cache, { authorize, secret });
    const html = await (await get(board)).text();
    const json = JSON.stringify(await model(board));
    for (const hidden of [services.upstash.token, services.s3.secretAccessKey, secret, ...Object.values(keys)]) {
      expect(html).not.toContain(hidden);
      expect(json).not.toContain(hidden);
    }
    const m = await model(board);
    expect(Object.keys(m.config!).sort()).toEqual([
      "blobs",
      "breaker",
      "codec",
      "compression",
      "encryption",
      "globalStatsIntervalMs",
      "lease",
      "limits",
      "maxInlineBytes",
      "maxPendingWrites",
      "maxValueBytes",
      "memory",
      "namespace",
      "prefix",
      "staleIfErrorMs",
      "staleWhileRevalidateMs",
      "store",
      "timeouts",
      "ttlMs",
      "waitUntil",
    ]);
    expect(m.config).toMatchObject({
      prefix,
      store: "upstash",
      blobs: "s3",
      maxInlineBytes: 32768,
      memory: { maxBytes: 33554432, ttlMs: 5000 },
      limits: { reports: { maxEntries: 10, maxBytes: 0 } },
      encryption: { current: "k-2025", keyIds: ["k-2024", "k-2025"] },
    });
    expect(html).toContain(`<td>${prefix}</td>`);
    expect(html).toContain("<td>AES-256-GCM, new payloads with key k-2025; readable keys: k-2024, k-2025</td>");
    // Without encryption the row says so.
    const plain = await model(dashboard(servicesCache("dash-plain").cache, { authorize }));
    expect(plain.config?.encryption).toBeNull();
  });

  it("the page's CSP allows exactly its own inline script and style, nothing from elsewhere", async () => {
    const { cache } = servicesCache("dash-csp");
    const board = dashboard(cache, { authorize });
    const response = await get(board);
    const html = await response.text();
    const csp = response.headers.get("content-security-policy") ?? "";
    const script = /<script>([\s\S]*?)<\/script>/.exec(html)![1]!;
    const style = /<style>([\s\S]*?)<\/style>/.exec(html)![1]!;
    expect(csp.split("; ")).toEqual([
      "default-src 'none'",
      `script-src 'sha256-${await sha256Base64(script)}'`,
      `style-src 'sha256-${await sha256Base64(style)}'`,
      "img-src data:",
      "connect-src 'self'",
      "form-action 'self'",
      "frame-ancestors 'none'",
      "base-uri 'none'",
    ]);
    expect(html).not.toMatch(/(src|href|action)="(https?:)?\/\//);
    expect(html).not.toMatch(/ on[a-z]+=/); // no inline event handlers
    expect(response.headers.get("x-frame-options")).toBe("DENY");
    expect(response.headers.get("cache-control")).toBe("no-store");
    const json = await get(board, "/_larder?format=json");
    expect(json.headers.get("content-security-policy")).toMatch(/^default-src 'none'/);
    expect(json.headers.get("content-type")).toBe("application/json; charset=utf-8");
  });
});
