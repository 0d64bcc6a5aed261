/**
 * The markdown report of a run.
 *
 * @module
 */
import { ms, ratio, type Summary } from "./_measure.ts";
import { type BenchResults, decodeOf, DEFAULT_INLINE_MAX, p50, type Verdict, verdicts } from "./_targets.ts";

const TARGET_LABELS: Record<string, string> = {
  inline: "Inline hit p50 ≤ 1.15 × bare store GET",
  s3: "S3 hit p50 ≤ 1.15 × (max(bare store GET, bare S3 GET) + decode)",
  "cpu 1 MB": "1 MB S3 hit: time after both bodies are in (hit − both GETs together) ≤ 3 ms (issue 15)",
  miss: "Miss overhead p50 ≤ one store round trip + 1 ms",
  memory: "In-process hit p50 ≤ 20 µs (default mode, decodes each hit)",
  shared: "In-process hit p50 ≤ 20 µs at any size (memory.shared, issue 15)",
  "read vs json+gzip": "Decompress+decode ≤ 1.2 × JSON.parse+gunzip (src/codec json+gzip)",
  "read vs json+gzip (node:zlib)": "Decompress+decode ≤ 1.2 × JSON.parse+gunzip (node:zlib gunzipSync, stricter)",
  "verified read vs node:zlib, rows":
    "Decompress+verify+decode ≤ 1.0 × gunzipSync+JSON.parse (node:zlib), rows (issue 15)",
  "verified read vs node:zlib, orders":
    "Decompress+verify+decode ≤ 1.0 × gunzipSync+JSON.parse (node:zlib), order records (issue 15)",
};

const verdict = (v: Verdict | undefined, unit: "ratio" | "ms"): string =>
  v === undefined ? "" : `${unit === "ratio" ? ratio(v.ratio) : ms(v.measured)} **${v.pass ? "PASS" : "MISS"}**`;

function targetsTable(r: BenchResults): string[] {
  const all = verdicts(r);
  const names = r.scenarios.map((s) => s.name);
  const lines = [
    `| target | size | ${names.join(" | ")} |`,
    `| --- | --- | ${names.map(() => "---").join(" | ")} |`,
  ];
  const keys = [...new Set(all.map((v) => `${v.target}\u0000${v.size}`))];
  for (const key of keys) {
    const [target, size] = key.split("\u0000") as [string, string];
    const cells = names.map((scenario) => {
      const v = all.find((x) => x.target === target && x.size === size && x.scenario === scenario);
      if (!v) return "";
      if (target === "miss") return `${ms(v.measured)} vs ${ms(v.limit)} **${v.pass ? "PASS" : "MISS"}**`;
      if (target === "memory" || target === "shared" || target === "cpu 1 MB") {
        return `${ms(v.measured)} **${v.pass ? "PASS" : "MISS"}**`;
      }
      return verdict(v, "ratio");
    });
    lines.push(`| ${TARGET_LABELS[target] ?? target} | ${size} | ${cells.join(" | ")} |`);
  }
  return lines;
}

function hitTable(r: BenchResults): string[] {
  const hits = r.hits[r.scenarios[0]!.name]!;
  const lines = [
    "| size | tier | hit p50 | hit p95 | floor p50 | decode p50 | hit / floor | hit / (floor + decode) |",
    "| --- | --- | --- | --- | --- | --- | --- | --- |",
  ];
  for (const { label } of r.sizes) {
    const h = hits[label]!;
    const defaultTier = r.stored[label]!.payloadBytes <= DEFAULT_INLINE_MAX ? "inline" : "s3";
    const decode = p50(h.decode);
    const mem = r.memory[label]!;
    const rows: [string, Summary | undefined, number, string, number][] = [
      ["in-process", mem.memory, NaN, "–", p50(mem["decode raw"])],
      ["in-process, shared", mem.shared, NaN, "–", 0],
      ["inline", h.inline, p50(h["get inline record"]), "bare store GET", decode],
      ["S3", h.s3, Math.max(p50(h["get s3 record"]), p50(h["get s3 object"])), "max(store GET, S3 GET)", decode],
      [
        "S3, new instance (no hint)",
        h["s3 fresh"],
        p50(h["get s3 record"]) + p50(h["get s3 object"]),
        "store GET + S3 GET",
        decode,
      ],
    ];
    for (const [tier, hit, floor, _floorName, dec] of rows) {
      const star = (tier === "inline" && defaultTier === "inline") || (tier === "S3" && defaultTier === "s3")
        ? " ★"
        : "";
      lines.push(
        `| ${label} | ${tier}${star} | ${ms(p50(hit))} | ${ms(hit?.p95)} | ${ms(floor)} | ${ms(dec)} | ${
          ratio(p50(hit) / floor)
        } | ${ratio(p50(hit) / ((Number.isNaN(floor) ? 0 : floor) + dec))} |`,
      );
    }
  }
  return lines;
}

function latencyTable(r: BenchResults, scenario: string): string[] {
  const hits = r.hits[scenario]!;
  const lines = [
    "| size | inline hit p50 / p95 | bare store GET | S3 hit p50 / p95 | max(GETs) + decode | both GETs together | S3 hit, new instance (sequential) | sequential, computed |",
    "| --- | --- | --- | --- | --- | --- | --- | --- |",
  ];
  for (const { label } of r.sizes) {
    const h = hits[label]!;
    const decode = decodeOf(r, label);
    const rec = p50(h["get s3 record"]);
    const obj = p50(h["get s3 object"]);
    lines.push(
      `| ${label} | ${ms(p50(h.inline))} / ${ms(h.inline?.p95)} | ${ms(p50(h["get inline record"]))} | ${
        ms(p50(h.s3))
      } / ${ms(h.s3?.p95)} | ${ms(Math.max(rec, obj) + decode)} | ${ms(p50(h["get both"]))} | ${
        ms(p50(h["s3 fresh"]))
      } | ${ms(rec + obj + decode)} |`,
    );
  }
  return lines;
}

/**
 * Where an inline hit's time goes, per scenario and size where the inline target applies: the bare
 * GET, the lookup's script sent bare (what the script costs the server and the bridge), and the
 * hit through `wrap` (what Larder adds around it: key hash, facade, parse, checksum, decode).
 */
function inlineSplitTable(r: BenchResults): string[] {
  const lines = [
    "| scenario | size | bare GET p50 | read script, bare p50 | script / GET | inline hit p50 | hit / script | decode p50 (loopback) | hit / (script + decode) |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
  ];
  for (const scenario of r.scenarios) {
    for (const { label } of r.sizes) {
      const h = r.hits[scenario.name]![label]!;
      const script = p50(h["read script inline"]);
      if (Number.isNaN(script)) continue;
      const get = p50(h["get inline record"]);
      const hit = p50(h.inline);
      const decode = decodeOf(r, label);
      lines.push(
        `| ${scenario.name} | ${label} | ${ms(get)} | ${ms(script)} | ${ratio(script / get)} | ${ms(hit)} | ${
          ratio(hit / script)
        } | ${ms(decode)} | ${ratio(hit / (script + decode))} |`,
      );
    }
  }
  return lines;
}

function missTable(r: BenchResults): string[] {
  const lines = [
    "| scenario | size | caller waits p50 | fn's own time | overhead p50 / p95 | store round trip (bare GET, missing key) | background write p50 | longest event-loop stall p50 / max |",
    "| --- | --- | --- | --- | --- | --- | --- | --- |",
  ];
  for (const scenario of r.scenarios) {
    for (const { label } of r.sizes) {
      const m = r.misses[scenario.name]![label]!;
      lines.push(
        `| ${scenario.name} | ${label} | ${ms(m.wait.p50)} | ${ms(m.fn.p50)} | ${ms(m.overhead.p50)} / ${
          ms(m.overhead.p95)
        } | ${ms(m.floor.p50)} | ${ms(m.write.p50)} | ${ms(m.stall.p50)} / ${ms(m.stall.max)} |`,
      );
    }
  }
  return lines;
}

function codecTable(r: BenchResults): string[] {
  const lines = [
    "| shape | size | format | encoded | stored | write (encode+compress) | read (decompress+decode) | read incl. checksum |",
    "| --- | --- | --- | --- | --- | --- | --- | --- |",
  ];
  const rate = (bytes: number, s: Summary): string =>
    `${(bytes / 1e6 / (s.p50 / 1000)).toFixed(0)} MB/s (${ms(s.p50)})`;
  for (const [shape, bySize] of Object.entries(r.codecs)) {
    for (const { size: label, jsonBytes } of r.sizes.filter((s) => s.shape === "rows")) {
      for (const [format, f] of Object.entries(bySize[label] ?? {})) {
        lines.push(
          `| ${shape} | ${label} | ${format} | ${kb(f.encodedBytes)} | ${kb(f.storedBytes)} | ${
            rate(jsonBytes, f.write)
          } | ${rate(jsonBytes, f.read)} | ${f.readVerified ? rate(jsonBytes, f.readVerified) : ""} |`,
        );
      }
    }
  }
  return lines;
}

/** Per dataset: what its inline record takes in Redis, and its inline hit against its S3 hit in each scenario. */
function placementTable(r: BenchResults): string[] {
  const names = r.scenarios.map((s) => s.name);
  const lines = [
    `| payload | stored (zstd) | inline record | Redis memory | ${
      names.map((n) => `${n}: inline hit / S3 hit p50`).join(" | ")
    } |`,
    `| --- | --- | --- | --- | ${names.map(() => "---").join(" | ")} |`,
  ];
  for (const { label } of r.sizes) {
    const stored = r.stored[label]!;
    const cells = names.map((name) => {
      const h = r.hits[name]![label]!;
      return `${ms(p50(h.inline))} / ${ms(p50(h.s3))} (${ratio(p50(h.inline) / p50(h.s3))})`;
    });
    lines.push(
      `| ${label} | ${kb(stored.payloadBytes)} | ${stored.recordBytes ? kb(stored.recordBytes) : "–"} | ${
        stored.redisBytes ? kb(stored.redisBytes) : "–"
      } | ${cells.join(" | ")} |`,
    );
  }
  return lines;
}

function concurrencyTable(r: BenchResults): string[] {
  const lines = [
    "| tier | size | hits/s | hit p50 / p95 | floor | floor req/s | floor p50 / p95 | hits/s ÷ floor/s |",
    "| --- | --- | --- | --- | --- | --- | --- | --- |",
  ];
  for (const c of r.concurrency) {
    const f = c.floor;
    lines.push(
      `| ${c.tier} | ${c.size} | ${c.hits.opsPerSecond.toFixed(0)} | ${ms(c.hits.latency.p50)} / ${
        ms(c.hits.latency.p95)
      } | ${c.floorName ?? "–"} | ${f ? f.opsPerSecond.toFixed(0) : "–"} | ${
        f ? `${ms(f.latency.p50)} / ${ms(f.latency.p95)}` : "–"
      } | ${f ? ratio(c.hits.opsPerSecond / f.opsPerSecond) : "–"} |`,
    );
  }
  return lines;
}

function peakTable(r: BenchResults): string[] {
  const p = r.peak;
  const mb = (n: number): string => `${n.toFixed(0)} MB`;
  const delta = (n: number, base: number): string =>
    `${mb(n)} (${n >= base ? "+" : "−"}${Math.abs(n - base).toFixed(0)})`;
  return [
    "| phase | RSS | JS heap used | external + ArrayBuffers | time |",
    "| --- | --- | --- | --- | --- |",
    `| baseline (value in memory, after GC) | ${mb(p.baseline.rss)} | ${mb(p.baseline.heapUsed)} | ${
      mb(p.baseline.external)
    } | |`,
    `| miss + background write, peak | ${delta(p.miss.peak.rss, p.baseline.rss)} | ${
      delta(p.miss.peak.heapUsed, p.baseline.heapUsed)
    } | ${delta(p.miss.peak.external, p.baseline.external)} | ${ms(p.miss.ms)} (write ${ms(p.miss.writeMs)}) |`,
    `| hit, peak | ${delta(p.hit.peak.rss, p.baseline.rss)} | ${delta(p.hit.peak.heapUsed, p.baseline.heapUsed)} | ${
      delta(p.hit.peak.external, p.baseline.external)
    } | ${ms(p.hit.ms)} |`,
    `| after, result dropped and GC'd | ${delta(p.retained.rss, p.baseline.rss)} | ${
      delta(p.retained.heapUsed, p.baseline.heapUsed)
    } | ${delta(p.retained.external, p.baseline.external)} | |`,
    `| kernel max RSS (before → after the round trip) | ${mb(p.maxRssMB.before)} → ${mb(p.maxRssMB.after)} | | | |`,
  ];
}

function kb(bytes: number): string {
  return bytes >= 1e6 ? `${(bytes / 1e6).toFixed(2)} MB` : `${(bytes / 1e3).toFixed(1)} KB`;
}

/** The report. */
export function renderMarkdown(r: BenchResults): string {
  const m = r.machine;
  const sizes = (shape: string, unit: string): string =>
    r.sizes.filter((s) => s.shape === shape).map((s) =>
      `${s.size} (${s.rows} ${unit}, stored ${kb(r.stored[s.label]!.payloadBytes)})`
    ).join(", ");
  return [
    "# Larder benchmark",
    "",
    `Node ${m.node} · ${m.cpu} · ${m.cores} cores · ${m.memoryGB} GB · ${m.platform}`,
    `commit ${m.commit}${m.dirty ? " (with uncommitted changes in src/)" : ""} · ${m.date} · ${
      r.durationS.toFixed(0)
    } s · load average ${m.load.map((l) => l.toFixed(1)).join(" → ")} (1 min, on ${m.cores} cores)${
      m.quick ? " · QUICK RUN: budgets too small for figures" : ""
    }`,
    "",
    `Payloads, seeded: query rows (id, customer, region, amount, currency, date): ${sizes("rows", "rows")};`,
    `order records (nested customer, 1–4 line items, two dates, nulls; "1 MB orders" below): ${
      sizes("orders", "orders")
    }.`,
    "Services on loopback (redis-server, the Upstash REST bridge, s3rver behind its proxy), in a separate process;",
    "latency scenarios add a delay to every request at the bridge and the S3 proxy. ★ = the tier the default",
    `\`maxInlineBytes\` (${DEFAULT_INLINE_MAX / 1024} KiB) picks for that size. Times are wall-clock from the caller.`,
    "",
    "## Targets (issue 7)",
    "",
    ...targetsTable(r),
    "",
    "## Inline hits, split",
    "",
    "The lookup is one script (record, generations, lease on a miss, eviction touch: one billed command on Upstash).",
    "Sent bare by `fetch`, as the adapter sends it, it shows what the script costs the server and the bridge; the",
    "rest of the hit is Larder's own work around it.",
    "",
    ...inlineSplitTable(r),
    "",
    "## Hit latency, loopback",
    "",
    "Floors are measured in the same rounds as the hits. decode = zstd decompress + CBOR decode of the stored",
    "payload, alone (for the in-process tier: CBOR decode of the encoded value, which is all it does besides lookup).",
    "",
    ...hitTable(r),
    "",
    ...r.scenarios.slice(1).flatMap((s) => [
      `## Hit latency, ${s.name}`,
      "",
      "Sequential, computed = store GET + S3 GET + decode: what a record-then-blob reader (the Python library) pays.",
      "",
      ...latencyTable(r, s.name),
      "",
    ]),
    "## Placement: inline or S3, by size",
    "",
    "Every payload stored both ways. Inline record = its JSON text (payload in base64); Redis memory = `MEMORY",
    "USAGE` of that record. The hits are the tables' above; the ratio < 1 where the inline hit is faster.",
    "",
    ...placementTable(r),
    "",
    "## Miss overhead",
    "",
    "Overhead = what the caller waits minus the function's own time. The background write (encode, compress,",
    "upload, record) runs after the caller has its value; its event-loop stall is what other requests of the",
    "same process wait meanwhile.",
    "",
    ...missTable(r),
    "",
    "## Codec throughput",
    "",
    "MB of the value's JSON text per second (p50). JSON stores the dates as ISO strings; CBOR keeps `Date`s",
    "(and is shown on the ISO-string rows too, for the same input). Shapes: `rows` are the hit benchmark's rows;",
    "`orders` are order records (nested customer, 1–4 line items, two timestamps, repeated vocabularies, ~510 bytes",
    'of JSON each). "read incl. checksum" adds the SHA-256 of the stored bytes (WebCrypto) that every hit verifies;',
    "JSON has no checksum, so its column repeats its read.",
    "",
    ...codecTable(r),
    "",
    "## 64 concurrent callers, warm keys",
    "",
    ...concurrencyTable(r),
    "",
    `## Peak memory, ${r.peak.valueJsonMB} MB value (${r.peak.rows} rows), round trip through S3`,
    "",
    ...peakTable(r),
    "",
  ].join("\n");
}
