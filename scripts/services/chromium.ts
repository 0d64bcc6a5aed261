/**
 * The headless browser of the dashboard's browser test: Debian's `chromium` package, driven by
 * `playwright-core` (which downloads no browser of its own). Like `redis-server`, it is
 * installed with apt-get when it is missing and we are root (CI), by `npm test` before the
 * vitest step; otherwise the test fails loudly with the command to run, never skips.
 *
 * @module
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import process from "node:process";

/** Flags for a throwaway headless Chromium that talks to nobody but the page under test. */
export const CHROMIUM_FLAGS: readonly string[] = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** Where Debian puts it; `LARDER_CHROMIUM` names another binary. */
const CANDIDATES = ["/usr/bin/chromium", "/usr/bin/chromium-browser"];

function runs(binary: string): boolean {
  const result = spawnSync(binary, ["--version"], { encoding: "utf8", timeout: 30_000 });
  return result.status === 0 && /chromium|chrome/i.test(result.stdout);
}

/** The Chromium binary, or undefined when there is none that runs. */
export function findChromium(): string | undefined {
  const override = process.env.LARDER_CHROMIUM;
  if (override) return runs(override) ? override : undefined;
  return CANDIDATES.find((path) => existsSync(path) && runs(path));
}

const HOW_TO = "Install it, e.g.\n" +
  "  Debian/Ubuntu: sudo apt-get install -y chromium\n" +
  "or point LARDER_CHROMIUM at a Chromium or Chrome binary. (`npm test` installs it by itself when run as root.)";

/** The Chromium binary; throws with the way to install it when there is none. */
export function requireChromium(): string {
  const found = findChromium();
  if (found) return found;
  throw new Error(`[browser] Chromium is not installed (the dashboard's browser test drives it). ${HOW_TO}`);
}

/** Makes sure Chromium is installed, installing Debian's package with apt-get when we are root. */
export function ensureChromium(): string {
  const found = findChromium();
  if (found) return found;
  const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
  if (isRoot && !process.env.LARDER_CHROMIUM && spawnSync("sh", ["-c", "command -v apt-get"]).status === 0) {
    console.error("[browser] chromium not found; installing it: apt-get update && apt-get install -y chromium");
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
    for (const args of [["update"], ["install", "-y", "chromium"]]) {
      const result = spawnSync("apt-get", args, { stdio: ["ignore", "inherit", "inherit"], env });
      if (result.status !== 0) throw new Error(`[browser] apt-get ${args.join(" ")} failed (exit ${result.status})`);
    }
    const installed = findChromium();
    if (installed) return installed;
  }
  return requireChromium();
}
