/**
 * The dashboard in a real browser: Debian's headless Chromium, driven by playwright-core, against
 * the dashboard mounted in a Hono app served by @hono/node-server on a free port, with the real
 * services. The page renders and its script keeps the figures equal to `cache.stats()`; an
 * invalidation clicked on the page makes another instance miss; a script injected through a key
 * (the page's escaping undone on the way, as if it had a bug) is blocked by the CSP and the
 * violation is reported; every request the page makes stays on its origin; a browser without
 * the operator's credentials is refused.
 *
 * Chromium must be installed (`npm test` installs it as root); this suite never skips. The
 * screenshot goes to `$LARDER_SCREENSHOT` (docs/dashboard.png for the README) or the temp folder.
 */
import { mkdtempSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dashboard } from "../../src/dashboard/dashboard.ts";
import { CHROMIUM_FLAGS, requireChromium } from "../../scripts/services/chromium.ts";
import { servicesCache } from "../helpers/cache.ts";
import { authorize, OPERATOR } from "../helpers/dashboard.ts";
import { requireServices, uniquePrefix } from "../helpers/services.ts";

requireServices();
const executablePath = requireChromium();

const prefix = uniquePrefix("dash-browser");
const ops = servicesCache("", { prefix, globalStats: { interval: 1 } }).cache;
const other = servicesCache("", { prefix, globalStats: { interval: 1 } }).cache;
let runs = 0;
const price = other.wrap(async (sku: string) => ({ sku, run: ++runs }), { name: "price", tags: ["prices"] });
const report = ops.wrap(async (id: number) => ({ id, rows: Array.from({ length: 50 }, (_, i) => i * id) }), {
  name: "report",
});

let origin = "";
let server: ReturnType<typeof serve> | undefined;
let context: BrowserContext | undefined;
let userDataDir = "";
/** Every URL any page requested, in order. */
const requested: string[] = [];
const consoleLines: string[] = [];

/** A page of the shared browser, its requests and console recorded, CSP violations collected in the page. */
async function newPage(headers: Record<string, string>): Promise<Page> {
  const page = await context!.newPage();
  await page.setExtraHTTPHeaders(headers);
  page.on("request", (request) => void requested.push(request.url()));
  page.on("console", (message) => void consoleLines.push(message.text()));
  await page.addInitScript(() => {
    const seen: { directive: string; blocked: string }[] = [];
    Object.assign(window, { __violations: seen });
    document.addEventListener("securitypolicyviolation", (event) => {
      seen.push({ directive: event.effectiveDirective, blocked: event.blockedURI });
    });
  });
  return page;
}

/** Waits until the page's script has applied a JSON refresh newer than the `since`-th. */
async function refreshed(page: Page, since: number): Promise<number> {
  await page.waitForFunction((n) => Number(document.body.dataset.updates ?? 0) > n, since, { timeout: 15_000 });
  return Number(await page.evaluate(() => document.body.dataset.updates));
}

const updates = async (page: Page): Promise<number> =>
  Number(await page.evaluate(() => document.body.dataset.updates ?? 0));

/** The text of every figure on the page, by its place in the model. */
const figures = (page: Page): Promise<Record<string, string>> =>
  page.evaluate(() =>
    Object.fromEntries(
      [...document.querySelectorAll<HTMLElement>("[data-f]")].map((e) => [e.dataset.f!, e.textContent ?? ""]),
    )
  );

beforeAll(async () => {
  const board = dashboard(ops, { authorize, refresh: "1s" });
  const app = new Hono();
  app.get("/", (c) => c.text("the application"));
  app.all("/_larder/*", (c) => board.fetch(c.req.raw));
  server = serve({ fetch: app.fetch, hostname: "127.0.0.1", port: 0 });
  await new Promise<void>((resolve) => server!.once("listening", () => resolve()));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  userDataDir = mkdtempSync(join(tmpdir(), "larder-chromium-"));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath,
    headless: true,
    args: [...CHROMIUM_FLAGS],
    viewport: { width: 1280, height: 900 },
  });
}, 60_000);

afterAll(async () => {
  await context?.close();
  await new Promise((resolve) => server ? server.close(resolve) : resolve(undefined));
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
});

describe("dashboard in headless Chromium", () => {
  let page: Page;

  it("renders, and its script keeps the figures equal to cache.stats()", async () => {
    for (const id of [1, 2, 3]) await report(id);
    await ops.flush();
    for (const id of [1, 2, 3, 1]) await report(id);

    page = await newPage(OPERATOR);
    const response = await page.goto(`${origin}/_larder`);
    expect(response?.status()).toBe(200);
    expect(response?.headers()["content-security-policy"]).toMatch(/^default-src 'none'; script-src 'sha256-/);
    expect(await page.title()).toBe(`Larder cache — ${prefix}`);
    expect(await page.evaluate(() => document.body.dataset.script)).toBe("running");

    // Lookups after the page loaded, spread over a few refresh periods: the chart gets points.
    let seen = await refreshed(page, 0);
    for (const ids of [[1, 2], [4], [1, 2, 3], [5, 1]]) {
      for (const id of ids) await report(id);
      await ops.flush();
      seen = await refreshed(page, seen);
    }
    const stats = ops.stats();
    // The refresh after next: its JSON was requested after this snapshot (one in flight may predate it).
    await refreshed(page, (await updates(page)) + 1);
    const shown = await figures(page);
    expect(shown["instance.hits.inline"]).toBe(String(stats.hits.inline));
    expect(shown["instance.misses"]).toBe(String(stats.misses));
    expect(shown["instance.hitRate"]).toBe(`${(stats.hitRate * 100).toFixed(1)}%`);
    expect(shown["instance.writes.ok"]).toBe(String(stats.writes.ok));
    expect(shown["instance.latency.hit.p95"]).toBe(`${stats.latency.hit.p95} ms`);
    expect([stats.hits.inline, stats.misses]).toEqual([4 + 6, 3 + 2]);
    const points = await page.getAttribute('polyline[data-series="series.instance"]', "points");
    expect(points?.split(" ").length).toBeGreaterThanOrEqual(3);
    expect(await page.evaluate(() => (window as unknown as { __violations: unknown[] }).__violations)).toEqual([]);
  }, 60_000);

  it("an invalidation clicked on the page makes the next call miss on another instance", async () => {
    await price("a");
    await other.flush();
    await price("a");
    expect(runs).toBe(1);

    await page.selectOption('#invalidate-form select[name="kind"]', "tag");
    await page.fill('#invalidate-form input[name="name"]', "prices");
    await Promise.all([page.waitForURL(`${origin}/_larder`), page.click('#invalidate-form button[type="submit"]')]);
    expect(await page.textContent("#result .summary")).toBe(
      `Tag "prices" expired: its entries miss, on every instance of prefix "${prefix}".`,
    );
    await price("a");
    expect(runs, "the other instance missed").toBe(2);

    // The page after the post keeps refreshing; a picture of it for the README.
    await refreshed(page, await updates(page));
    await page.screenshot({
      path: process.env.LARDER_SCREENSHOT ?? join(tmpdir(), "larder-dashboard.png"),
      fullPage: true,
    });
  }, 60_000);

  it("the CSP blocks a script injected through a key, and the violation is reported", async () => {
    const key = "<script>window.__pwned = 'through a key'</script>";
    expect(await ops.set(key, 1)).toBe(true);
    const inspect = async (): Promise<void> => {
      await page.fill('#inspect-form input[name="key"]', key);
      await Promise.all([page.waitForURL(`${origin}/_larder`), page.click('#inspect-form button[type="submit"]')]);
      await page.waitForSelector("#result");
    };
    await inspect();
    expect(await page.textContent("#result .summary")).toContain(`Key "${key}": a record`);
    expect(await page.evaluate(() => document.scripts.length)).toBe(1);

    // Undo the escaping on the way to the browser, as a rendering bug would.
    let tampered = 0;
    await page.route(`${origin}/_larder`, async (route) => {
      if (route.request().method() !== "POST") return await route.continue();
      const response = await route.fetch();
      const body = (await response.text()).replaceAll(
        "&lt;script&gt;window.__pwned = &#39;through a key&#39;&lt;/script&gt;",
        () => (tampered++, key),
      );
      await route.fulfill({ response, body });
    });
    await inspect();
    await page.unroute(`${origin}/_larder`);
    expect(tampered).toBeGreaterThan(0);
    expect(await page.evaluate(() => document.scripts.length)).toBe(1 + tampered);
    expect(await page.evaluate(() => (window as unknown as { __pwned?: string }).__pwned)).toBeUndefined();
    const violations = await page.evaluate(() =>
      (window as unknown as { __violations: { directive: string; blocked: string }[] }).__violations
    );
    expect(violations.length).toBe(tampered);
    for (const v of violations) expect(v).toEqual({ directive: "script-src-elem", blocked: "inline" });
    // Chromium's wording: "Executing inline script violates …" (older: "Refused to execute inline script …").
    const reported = consoleLines.filter((line) => /inline script.*Content Security Policy directive/i.test(line));
    expect(reported.length).toBe(tampered);
    // The page's own script still runs under the same policy.
    await refreshed(page, await updates(page));
  }, 60_000);

  it("refuses a browser without the operator's credentials", async () => {
    const stranger = await newPage({});
    const response = await stranger.goto(`${origin}/_larder`);
    expect(response?.status()).toBe(403);
    expect(await stranger.textContent("body")).toBe("Forbidden\n");
    expect(await stranger.$("[data-f]")).toBeNull();
    await stranger.close();
  }, 30_000);

  it("made no request outside its origin", () => {
    expect(requested.length).toBeGreaterThan(10);
    const elsewhere = requested.filter((url) => !url.startsWith(`${origin}/`) && !url.startsWith("data:"));
    expect(elsewhere).toEqual([]);
    expect(requested.filter((url) => url.includes("format=json")).length).toBeGreaterThanOrEqual(5);
  });
});
