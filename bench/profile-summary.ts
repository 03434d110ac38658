/**
 * Summarises a V8 CPU profile (`.cpuprofile`, e.g. from bench/http-cpu.ts): the functions with the
 * most self time and the most total (inclusive) time, as shares of the busy samples (idle and
 * program samples left out).
 *
 *     npx tsx bench/profile-summary.ts FILE [--top=40]
 */
import { readFileSync } from "node:fs";

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
  hitCount?: number;
}
const file = process.argv[2];
if (!file) throw new Error("usage: profile-summary FILE [--top=N]");
const top = Number(process.argv.find((a) => a.startsWith("--top="))?.slice(6) ?? 40);
const prof = JSON.parse(readFileSync(file, "utf8")) as { nodes: Node[]; samples: number[] };
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const label = (n: Node) =>
  `${n.callFrame.functionName || "(anonymous)"} ${n.callFrame.url.replace(/^.*\/(src|node_modules)\//, "$1/")}:${n.callFrame.lineNumber + 1}`;
const self = new Map<string, number>();
const total = new Map<string, number>();
let busy = 0;
for (const id of prof.samples) {
  const leaf = byId.get(id)!;
  const name = leaf.callFrame.functionName;
  if (name === "(idle)" || name === "(program)") continue;
  busy++;
  self.set(label(leaf), (self.get(label(leaf)) ?? 0) + 1);
  const seen = new Set<string>();
  for (let n: Node | undefined = leaf; n; n = byId.get(parent.get(n.id) ?? -1)) {
    const l = label(n);
    if (seen.has(l)) continue;
    seen.add(l);
    total.set(l, (total.get(l) ?? 0) + 1);
  }
}
const show = (title: string, m: Map<string, number>) => {
  console.log(`\n${title} (of ${busy} busy samples)`);
  for (const [k, v] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top))
    console.log(`${((100 * v) / busy).toFixed(1).padStart(5)} %  ${k}`);
};
show("self", self);
show("total", total);
