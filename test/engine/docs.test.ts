/**
 * docs/backprop.md cannot drift from the code: every section a comment cites exists, and every
 * worked value the document lists is what the engine computes.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type Values, workedValues } from "./worked-values.js";

const root = join(import.meta.dirname, "..", "..");
const doc = readFileSync(join(root, "docs", "backprop.md"), "utf8");

/** Every `.ts` file under `dir`, recursively. */
function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === "node_modules" ? [] : sources(path);
    return path.endsWith(".ts") ? [path] : [];
  });
}

/** The sections cited as `docs/backprop.md §4.2` (or `docs/backprop.md §2, §11`) in `text`. */
function citedSections(text: string): string[] {
  const found: string[] = [];
  for (const m of text.matchAll(/docs\/backprop\.md((?:(?:\s*,\s*|\s+and\s+|\s+)§\d+(?:\.\d+)*)+)/g))
    for (const s of m[1]!.matchAll(/§(\d+(?:\.\d+)*)/g)) found.push(s[1]!);
  return found;
}

/** The `values <name>` fenced blocks of the document: `key = [numbers]` per line. */
function documentedValues(): Record<string, Values> {
  const blocks: Record<string, Values> = {};
  for (const m of doc.matchAll(/^```values ([\w-]+)\n([\s\S]*?)^```$/gm)) {
    const values: Values = {};
    for (const line of m[2]!.trim().split("\n")) {
      const [key, list] = line.split(" = ");
      values[key!] = JSON.parse(list!) as number[];
    }
    blocks[m[1]!] = values;
  }
  return blocks;
}

const headings = new Set(Array.from(doc.matchAll(/^#{2,4} §(\d+(?:\.\d+)*) /gm), (m) => m[1]!));

describe("docs/backprop.md", () => {
  it("has numbered sections, each with its stable anchor", () => {
    expect(headings.size).toBeGreaterThanOrEqual(12);
    for (let s = 1; s <= 12; s++) expect(headings.has(String(s)), `§${s}`).toBe(true);
    for (const s of headings) expect(doc, `anchor s${s}`).toContain(`<a id="s${s}"></a>`);
  });

  it("finds citations, lists of them included", () => {
    expect(citedSections("see docs/backprop.md §4.2 and docs/backprop.md §2, §11.3")).toEqual([
      "4.2",
      "2",
      "11.3",
    ]);
  });

  it("has every section that code, tests, benchmarks and scripts cite", () => {
    const cited = new Map<string, string>();
    for (const dir of ["src", "test", "bench", "scripts"])
      for (const file of sources(join(root, dir)))
        for (const s of citedSections(readFileSync(file, "utf8"))) cited.set(s, file);
    expect(cited.size).toBeGreaterThan(10);
    for (const [s, file] of cited) expect(headings.has(s), `§${s}, cited in ${file}`).toBe(true);
  });

  it("lists the worked values the engine computes (to 1e-12)", () => {
    const documented = documentedValues();
    const computed = workedValues();
    expect(Object.keys(documented).sort()).toEqual(Object.keys(computed).sort());
    for (const [block, values] of Object.entries(computed)) {
      expect(Object.keys(documented[block]!), block).toEqual(Object.keys(values));
      for (const [key, want] of Object.entries(values)) {
        const got = documented[block]![key]!;
        expect(got.length, `${block} ${key}`).toBe(want.length);
        for (let i = 0; i < want.length; i++)
          expect(
            Math.abs(got[i]! - want[i]!),
            `${block} ${key}[${i}]: ${got[i]} in the document, ${want[i]} computed`,
          ).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(want[i]!)));
      }
    }
  });

  it("the seed network's values fit together as §12.2 derives them", () => {
    const v = documentedValues()["seed-network"]!;
    const [y, t, h, s, x] = [v.y!, v.t!, v.h!, v.s!, v.x!];
    expect(y.reduce((a, b) => a + b)).toBeCloseTo(1, 15);
    expect(v.L![0]).toBeCloseTo(-Math.log(y[1]!), 15);
    for (let i = 0; i < 3; i++) {
      expect(v["dL/dh"]![i]).toBeCloseTo(y[i]! - t[i]!, 15);
      expect(v.delta2![i]).toBeCloseTo((y[i]! - t[i]!) * h[i]! * (1 - h[i]!), 15);
      expect(v.delta1![i]).toBeCloseTo(v["dL/ds"]![i]! * s[i]! * (1 - s[i]!), 15);
      for (let j = 0; j < 2; j++) expect(v["dL/dW1"]![j * 3 + i]).toBeCloseTo(x[j]! * v.delta1![i]!, 15);
      for (let j = 0; j < 3; j++) expect(v["dL/dW2"]![j * 3 + i]).toBeCloseTo(s[j]! * v.delta2![i]!, 15);
    }
  });
});
