import { describe, expect, it } from "vitest";
import { directoryOfPrefix, keyOfPath, kindOfName, MAX_CHUNK, pathOfKey } from "../../src/blobs/_fs_paths.ts";

/** Deterministic random keys over the characters that matter: separators, dots, escapes, markers, Unicode. */
function randomKeys(count: number): string[] {
  const alphabet = [
    "/",
    ".",
    "..",
    "%",
    "%2E",
    "+",
    "=",
    "-",
    "_",
    "a",
    "Z",
    "0",
    "\\",
    "\0",
    " ",
    "é",
    "e\u0301",
    "日",
    "🎉",
    "\uFFFF",
  ];
  let x = 0x2545f491;
  const next = (n: number): number => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % n;
  };
  return Array.from({ length: count }, () => {
    const length = 1 + next(12);
    let key = "";
    for (let i = 0; i < length; i++) key += next(20) === 0 ? "X".repeat(next(400)) : alphabet[next(alphabet.length)];
    return key;
  });
}

describe("fs blob store: keys as paths", () => {
  it("maps the examples of the module doc", () => {
    expect(pathOfKey("myapp/3f2a9c")).toStrictEqual(["myapp", "3f2a9c.blob"]);
    expect(pathOfKey("MyApp/a b")).toStrictEqual(["%4Dy%41pp", "a%20b.blob"]);
    expect(pathOfKey("../etc/passwd")).toStrictEqual(["%2E%2E", "etc", "passwd.blob"]);
    expect(pathOfKey("a//b/")).toStrictEqual(["a", "=", "b", "=.blob"]);
  });

  it("round-trips random keys, one path per key, distinct even with case folded", () => {
    const keys = [...new Set(randomKeys(2_000))];
    const paths = new Set<string>();
    for (const key of keys) {
      const path = pathOfKey(key)!;
      expect(keyOfPath(path), JSON.stringify(key)).toBe(key);
      for (const [i, component] of path.entries()) {
        expect(component === "." || component === "..").toBe(false);
        expect(component).toMatch(/^[A-Za-z0-9_%+=.-]+$/);
        expect(component.length).toBeLessThanOrEqual(MAX_CHUNK + ".blob".length);
        expect(kindOfName(component, i < path.length - 1)).toBe(i < path.length - 1 ? "directory" : "file");
      }
      paths.add(path.join("/").toLowerCase());
    }
    expect(paths.size).toBe(keys.length);
  });

  it("never cuts a long segment inside an escape, and puts every key with a prefix under its directory", () => {
    for (const key of randomKeys(1_000)) {
      const path = pathOfKey(key)!;
      for (const component of path) expect(component).not.toMatch(/%.?(\+|\.blob)?$/);
      for (let cut = 0; cut <= key.length; cut += 1 + Math.floor(key.length / 7)) {
        const prefix = key.slice(0, cut);
        const dir = directoryOfPrefix(prefix);
        if (dir === undefined) continue; // a cut through a surrogate pair
        expect(path.slice(0, dir.length), `${JSON.stringify(key)} under ${JSON.stringify(prefix)}`).toStrictEqual(dir);
      }
    }
  });

  it("does not take other spellings for keys", () => {
    for (
      const path of [["A.blob"], ["%2a.blob"], ["a%2F.blob"], ["x"], [".blob"], ["a+"], ["a+", "=.blob"], ["%FF.blob"]]
    ) {
      expect(keyOfPath(path), path.join("/")).toBeUndefined();
    }
    expect(kindOfName("x.blob.tmp-0123456789abcdef0123456789abcdef", false)).toBe("temporary");
    expect(kindOfName(".DS_Store", false)).toBe("foreign");
    expect(kindOfName("Sub", true)).toBe("foreign");
  });
});
