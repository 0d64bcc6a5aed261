/**
 * Summarises a V8 `.cpuprofile` (from `node --cpu-prof`): self and inclusive time per function,
 * and optionally the call chains under one function. Not part of `npm run bench`.
 *
 *   npx tsx bench/profile_summary.ts <file.cpuprofile> [top=30] [chainsOf=functionName]
 *
 * @module
 */
import { readFileSync } from "node:fs";
import process from "node:process";

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly children?: readonly number[];
}

const [file, topArg = "30", chainsOf] = process.argv.slice(2);
if (file === undefined) {
  console.error("usage: profile_summary.ts <file.cpuprofile> [top] [functionName]");
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, "utf8")) as { nodes: ProfileNode[]; samples: number[] };
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
const name = (n: ProfileNode): string =>
  `${n.callFrame.functionName || "(anonymous)"} ${n.callFrame.url.replace(/^.*\//, "")}:${n.callFrame.lineNumber}`;

const hits = new Map<number, number>();
for (const id of profile.samples) hits.set(id, (hits.get(id) ?? 0) + 1);
const self = new Map<string, number>();
const total = new Map<string, number>();
const chains = new Map<string, number>();
for (const [id, count] of hits) {
  const leaf = byId.get(id)!;
  self.set(name(leaf), (self.get(name(leaf)) ?? 0) + count);
  const stack: string[] = [];
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) stack.push(name(byId.get(cur)!));
  for (const frame of new Set(stack)) total.set(frame, (total.get(frame) ?? 0) + count);
  const at = chainsOf === undefined ? -1 : stack.findIndex((frame) => frame.startsWith(chainsOf));
  if (at >= 0) {
    const chain = stack.slice(at, at + 8).join(" < ");
    chains.set(chain, (chains.get(chain) ?? 0) + count);
  }
}
const all = profile.samples.length;
const top = (table: Map<string, number>, n: number): string =>
  [...table].sort((a, b) => b[1] - a[1]).slice(0, n)
    .map(([frame, count]) => `${((100 * count) / all).toFixed(1).padStart(5)} %  ${frame}`).join("\n");
console.log(
  `${all} samples\n\nself time\n${top(self, Number(topArg))}\n\ninclusive time\n${top(total, Number(topArg))}`,
);
if (chainsOf !== undefined) console.log(`\ncalls under ${chainsOf}\n${top(chains, 10)}`);
