/**
 * fs adapter tests beyond the blob contract: keys that try to leave the directory or to collide,
 * a writer killed half-way through a large write, several processes writing one key at once,
 * temporary and foreign files, errors and options. Each test gets its own directory; the crash
 * and concurrency tests use real processes (test/helpers/fs_writer_child.ts) and look at the
 * files themselves.
 *
 * @module
 */
import { type ChildProcess, fork } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { fsBlobStore } from "../../src/blobs/fs.ts";
import { isCacheError } from "../../src/core/errors.ts";
import { checkVersion, versionBytes, type WriterConfig } from "../helpers/fs_writer_child.ts";
import { ODD_KEYS } from "./blob.ts";

const WRITER = fileURLToPath(new URL("../helpers/fs_writer_child.ts", import.meta.url));

/** Keys written to escape the directory, or to land on another key's file. */
export const HOSTILE_KEYS: readonly string[] = [
  "..",
  ".",
  "../escaped",
  "../../../../../../tmp/escaped",
  "a/../../escaped",
  "/absolute/path",
  "//double/leading",
  "\\windows\\style\\..\\..\\escaped",
  "C:\\escaped",
  "C:/escaped",
  "nul\0byte",
  "\0",
  "trailing/",
  "a//b",
  "/",
  "./a",
  "a/.",
  "a/./b",
  "%2e%2e/escaped",
  "%2E%2E/escaped",
  "a%2F..%2F..%2Fescaped",
  "\u2024\u2024/one-dot-leaders",
  "\uFF0E\uFF0E\uFF0Ffullwidth",
  "\u202Eevil\u202C",
  "e\u0301",
  "\u00e9",
  "CaseKey",
  "casekey",
  "CASEKEY",
  "x.blob",
  "x",
  "x/y",
  "x.blob.tmp-00000000000000000000000000000000",
  "=",
  "+",
  "a+/b",
  "con",
  "aux.txt",
  "a".repeat(300),
  "\u65E5".repeat(120),
  `${"B".repeat(250)}/${"c".repeat(250)}`,
];

/** Every file and directory under `root`, as paths relative to it. */
function tree(root: string): string[] {
  const out: string[] = [];
  const walk = (path: string): void => {
    for (const entry of readdirSync(path, { withFileTypes: true })) {
      const full = join(path, entry.name);
      out.push(relative(root, full));
      if (entry.isDirectory()) walk(full);
    }
  };
  walk(root);
  return out;
}

function startWriter(config: WriterConfig, children: ChildProcess[]): Promise<ChildProcess> {
  const child = fork(WRITER, [JSON.stringify(config)], {
    execArgv: ["--import", "tsx"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  children.push(child);
  return new Promise((ready, fail) => {
    child.once("message", () => ready(child));
    child.once("exit", (code) => fail(new Error(`writer ${config.writer} exited ${code} before it was ready`)));
  });
}

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((done) => child.once("exit", (code) => done(code)));
}

async function rejection(promise: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await promise;
  } catch (error) {
    return error as Error & { code?: string };
  }
  throw new Error("expected a rejection");
}

/** Registers the fs-specific tests. */
export function fsSpecifics(): void {
  const dirs: string[] = [];
  const children: ChildProcess[] = [];
  const freshDir = (): string => {
    const dir = mkdtempSync(join(tmpdir(), "larder-fs-"));
    dirs.push(dir);
    return dir;
  };
  afterAll(() => {
    for (const child of children) child.kill("SIGKILL");
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });
  const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
  const text = (b: Uint8Array | null): string | null => (b === null ? null : new TextDecoder().decode(b));

  describe("fs specifics: keys and paths", () => {
    it("keeps every hostile key under the directory, each in its own file, read and listed back exactly", async () => {
      const outer = freshDir();
      const dir = join(outer, "store");
      const blobs = fsBlobStore({ dir });
      const keys = [...HOSTILE_KEYS, ...ODD_KEYS];
      expect(new Set(keys).size).toBe(keys.length);
      for (const key of keys) await blobs.put(key, bytes(`content of ${JSON.stringify(key)}`));
      // Nothing beside the directory, nothing outside it (the store created `store` only).
      expect(readdirSync(outer)).toStrictEqual(["store"]);
      const files = tree(dir).filter((path) => statSync(join(dir, path)).isFile());
      expect(files).toHaveLength(keys.length);
      for (const file of files) {
        expect(join(dir, file).startsWith(dir + sep), file).toBe(true);
        for (const component of file.split(sep)) {
          expect(component, file).toMatch(/^([a-z0-9_=+-]|%[0-9A-F]{2})+(\.blob)?$/);
          expect(Buffer.byteLength(component), file).toBeLessThanOrEqual(255 - 37);
        }
      }
      // Distinct even where the file system folds case (macOS, Windows).
      expect(new Set(files.map((f) => f.toLowerCase())).size).toBe(keys.length);
      for (const key of keys) expect(text(await blobs.get(key)), key).toBe(`content of ${JSON.stringify(key)}`);
      const listed: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await blobs.list!("", { limit: 7, ...(cursor ? { cursor } : {}) });
        listed.push(...page.objects.map((o) => o.key));
        cursor = page.cursor;
      } while (cursor !== undefined);
      expect(listed).toStrictEqual(
        [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))),
      );
      expect((await blobs.deleteMany!(keys)).failed).toStrictEqual([]);
      for (const key of keys) expect(await blobs.get(key), key).toBeNull();
    });

    it("lists by prefix inside a segment and across long (chunked) segments", async () => {
      const blobs = fsBlobStore({ dir: freshDir() });
      const long = "L".repeat(150); // 450 encoded bytes: three chunks
      const keys = [`p/${long}a`, `p/${long}b/c`, `p/${long}`, "p/short", "q/other"];
      for (const key of keys) await blobs.put(key, bytes(key));
      expect((await blobs.list!(`p/${long}`)).objects.map((o) => o.key)).toStrictEqual([
        `p/${long}`,
        `p/${long}a`,
        `p/${long}b/c`,
      ]);
      expect((await blobs.list!(`p/${long}b/`)).objects.map((o) => o.key)).toStrictEqual([`p/${long}b/c`]);
      expect((await blobs.list!("p/s")).objects.map((o) => o.key)).toStrictEqual(["p/short"]);
    });

    it("refuses a key with a lone surrogate, and lists nothing for such a prefix", async () => {
      const blobs = fsBlobStore({ dir: freshDir() });
      await expect(blobs.put("bad\ud800", bytes("x"))).rejects.toMatchObject({ code: "E_BLOB" });
      await expect(blobs.get("bad\udc00")).rejects.toMatchObject({ code: "E_BLOB" });
      expect((await blobs.list!("bad\ud800")).objects).toStrictEqual([]);
    });
  });

  describe("fs specifics: atomic writes", () => {
    it(
      "a writer killed in the middle of a large write leaves the old object whole, and its temporary file ignored",
      async () => {
        const BYTES = 64 * 1024 * 1024;
        const dir = freshDir();
        const key = "crash/object";
        const blobs = fsBlobStore({ dir });
        await blobs.put(key, versionBytes(0, 0, BYTES));
        const writer = await startWriter({ dir, key, writer: 1, versions: 0, bytes: BYTES }, children);
        writer.send("go");
        // Watch the key's directory without yielding, and kill the writer as soon as a file there
        // is partly written (whichever file it writes into).
        const parent = join(dir, "crash");
        const deadline = Date.now() + 30_000;
        let caught: { name: string; size: number } | undefined;
        while (caught === undefined && Date.now() < deadline) {
          for (const name of readdirSync(parent)) {
            let size: number;
            try {
              size = statSync(join(parent, name)).size;
            } catch {
              continue;
            }
            if (size > 0 && size < BYTES) {
              writer.kill("SIGKILL");
              caught = { name, size };
              break;
            }
          }
        }
        expect(caught, "the writer was seen half-way through a write").toBeDefined();
        await exited(writer);
        console.log(`fs crash: killed with ${caught!.name} at ${caught!.size} of ${BYTES} bytes`);
        for (const reader of [blobs, fsBlobStore({ dir })]) {
          const found = checkVersion((await reader.get(key))!, BYTES);
          expect([0, 1]).toContain(found.writer);
          expect((await reader.list!("crash/")).objects.map((o) => [o.key, o.size])).toStrictEqual([[key, BYTES]]);
        }
        const left = readdirSync(parent).filter((name) => name !== "object.blob");
        expect(left, "the killed writer's temporary file is still there").toHaveLength(1);
        expect(left[0]).toMatch(/^object\.blob\.tmp-[0-9a-f]{32}$/);
        // A listing removes it once it is older than staleTempAfter; a recent one stays.
        const fresh = "object.blob.tmp-0123456789abcdef0123456789abcdef";
        writeFileSync(join(parent, fresh), "in progress");
        await fsBlobStore({ dir, staleTempAfter: "1m" }).list!("crash/");
        expect(readdirSync(parent).sort()).toStrictEqual([left[0], "object.blob", fresh].sort());
        const hourAgo = new Date(Date.now() - 3_600_000);
        utimesSync(join(parent, left[0]!), hourAgo, hourAgo);
        await fsBlobStore({ dir, staleTempAfter: "1m" }).list!("crash/");
        expect(readdirSync(parent).sort()).toStrictEqual(["object.blob", fresh].sort());
      },
      60_000,
    );

    it("several processes writing one key: every read and the result are one writer's version, whole", async () => {
      const BYTES = 4 * 1024 * 1024;
      const WRITERS = 4;
      const dir = freshDir();
      const key = "race/object";
      const blobs = fsBlobStore({ dir });
      const writers = await Promise.all(
        Array.from(
          { length: WRITERS },
          (_, i) => startWriter({ dir, key, writer: i + 1, versions: 12, bytes: BYTES }, children),
        ),
      );
      const done = Promise.all(writers.map(exited));
      for (const writer of writers) writer.send("go");
      let finished = false;
      void done.then(() => (finished = true));
      const seen = new Set<number>();
      let reads = 0;
      while (!finished) {
        const body = await blobs.get(key);
        if (body !== null) {
          seen.add(checkVersion(body, BYTES).writer);
          reads++;
        }
      }
      expect(await done).toStrictEqual(Array(WRITERS).fill(0));
      const last = checkVersion((await blobs.get(key))!, BYTES);
      expect(last.version).toBe(12);
      expect(last.writer).toBeGreaterThanOrEqual(1);
      expect(last.writer).toBeLessThanOrEqual(WRITERS);
      expect(readdirSync(join(dir, "race"))).toStrictEqual(["object.blob"]);
      console.log(`fs race: ${reads} whole reads while ${WRITERS} processes wrote, from writers ${[...seen]}`);
    }, 60_000);
  });

  describe("fs specifics: files that are not objects", () => {
    it("ignores temporary and foreign files in get and list", async () => {
      const dir = freshDir();
      const blobs = fsBlobStore({ dir });
      await blobs.put("ns/a", bytes("a"));
      const ns = join(dir, "ns");
      writeFileSync(join(ns, "b.blob.tmp-0123456789abcdef0123456789abcdef"), "partial");
      writeFileSync(join(ns, ".DS_Store"), "finder");
      writeFileSync(join(ns, "README"), "notes");
      // Not the canonical spelling of any key: `A` would be written `%41`.
      writeFileSync(join(ns, "A.blob"), "hand-made");
      writeFileSync(join(ns, "%2a.blob"), "lower-case escape");
      mkdirSync(join(ns, "Sub.dir"));
      writeFileSync(join(ns, "Sub.dir", "c.blob"), "under a foreign directory");
      expect(await blobs.get("ns/b")).toBeNull();
      expect((await blobs.list!("")).objects.map((o) => o.key)).toStrictEqual(["ns/a"]);
    });
  });

  describe("fs specifics: errors and options", () => {
    it("reports a directory it cannot write as a BlobError naming the key and the cause, never the bytes", async () => {
      const outer = freshDir();
      const file = join(outer, "not-a-directory");
      writeFileSync(file, "x");
      const blobs = fsBlobStore({ dir: file });
      const error = await rejection(blobs.put("k", bytes("SECRET-PAYLOAD")));
      expect(error.code).toBe("E_BLOB");
      expect(error.message).toMatch(/^fs put "k" \(dir .*not-a-directory\) failed: E(EXIST|NOTDIR)$/);
      expect(error.message).not.toContain("SECRET-PAYLOAD");
      // Reading under it: the object cannot exist.
      expect(await blobs.get("k")).toBeNull();
      expect((await blobs.list!("")).objects).toStrictEqual([]);
    });

    it("refuses objects over maxObjectBytes before reading them", async () => {
      const dir = freshDir();
      await fsBlobStore({ dir }).put("big", new Uint8Array(2_000));
      await expect(fsBlobStore({ dir, maxObjectBytes: 1_999 }).get("big")).rejects.toMatchObject({
        code: "E_TOO_LARGE",
      });
      expect((await fsBlobStore({ dir, maxObjectBytes: 2_000 }).get("big"))?.byteLength).toBe(2_000);
    });

    it.each([
      [undefined],
      [null],
      [{}],
      [{ dir: "" }],
      [{ dir: 5 }],
      [{ dir: "a\0b" }],
      [{ dir: "x", maxObjectBytes: 0 }],
      [{ dir: "x", staleTempAfter: "soon" }],
      [{ dir: "x", staleTempAfter: -1 }],
      [{ dir: "x", maxObjectByte: 5 }],
    ])("rejects invalid options %j with a ConfigError", (options) => {
      let error: unknown;
      try {
        fsBlobStore(options as never);
      } catch (e) {
        error = e;
      }
      expect(isCacheError(error) && error.code).toBe("E_CONFIG");
    });

    it("does no I/O when created: the directory appears with the first write", async () => {
      const dir = join(freshDir(), "later", "store");
      const blobs = fsBlobStore({ dir });
      expect(() => statSync(dir)).toThrow();
      expect(await blobs.get("k")).toBeNull();
      await blobs.put("k", bytes("v"));
      expect(statSync(dir).isDirectory()).toBe(true);
    });
  });
}
