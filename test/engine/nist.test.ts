/**
 * Accuracy of `normalEquation` on the NIST StRD linear regression sets (nist-data.ts), measured
 * as NIST and McCullough (1998, "Assessing the reliability of statistical software", Am. Stat.
 * 52) do: LRE = −log10(|estimate − certified| / |certified|), the number of correct significant
 * digits, capped at 15. The table in docs/nist.md comes from the output of this file.
 */
import { afterAll, describe, expect, it } from "vitest";
import { train } from "../../src/engine/index.js";
import { type NistSet, nistSets } from "./nist-data.js";

/** Log relative error; absolute when the certified value is 0; 15 when equal. */
function lre(estimate: number, certified: number): number {
  if (estimate === certified) return 15;
  const err = certified === 0 ? Math.abs(estimate) : Math.abs(estimate - certified) / Math.abs(certified);
  return Math.min(15, -Math.log10(err));
}

/** The feature rows the engine sees: the predictors, or x, x², …, x^degree for a polynomial. */
function features(set: NistSet): number[][] {
  return set.x.map((row) => {
    if (Array.isArray(row)) return row;
    if (!set.degree) return [row];
    return Array.from({ length: set.degree }, (_, k) => row ** (k + 1));
  });
}

/** Certified predictions and residual statistics, evaluated in double at the certified coefficients. */
function certifiedFit(set: NistSet): { residualSd: number; rSquared: number } {
  const rows = features(set);
  const beta = set.certified.beta;
  const n = rows.length;
  let ssRes = 0;
  const mean = set.intercept ? set.y.reduce((a, b) => a + b, 0) / n : 0;
  let ssTot = 0;
  rows.forEach((row, i) => {
    let pred = set.intercept ? beta[0]! : 0;
    row.forEach((v, j) => {
      pred += v * beta[j + (set.intercept ? 1 : 0)]!;
    });
    ssRes += (set.y[i]! - pred) ** 2;
    ssTot += (set.y[i]! - mean) ** 2;
  });
  return { residualSd: Math.sqrt(ssRes / (n - beta.length)), rSquared: 1 - ssRes / ssTot };
}

/** Fits a set with the engine's `normalEquation`; returns B0, B1, … in NIST's order. */
function solve(set: NistSet) {
  const rows = features(set);
  const p = rows[0]!.length;
  const r = train({
    model: {
      inputShape: [p],
      layers: [{ type: "dense", units: 1, useBias: set.intercept }],
      loss: "meanSquaredError",
    },
    data: { n: rows.length, x: Float64Array.from(rows.flat()), y: Float64Array.from(set.y) },
    optimizer: { type: "normalEquation" },
    epochs: 1,
    seed: 0,
  });
  const kernel = Array.from(r.weights["dense_0/kernel"]!.data);
  const beta = set.intercept ? [r.weights["dense_0/bias"]!.data[0]!, ...kernel] : kernel;
  return { beta, solution: r.solution!, loss: r.metrics.loss! };
}

/**
 * Digits required. NIST rates Norris and Pontius lower, NoInt1 and NoInt2 average, and every
 * other set higher difficulty (the files' headers; Wampler1–4 included). The goal is 7 digits on
 * lower/average and on Longley; Wampler1–4 reach it too and are held to it. Filip (condition
 * number 4·10⁹ even after centring and scaling) and Wampler5 (residuals of 2·10⁷ add a κ²·tanθ
 * term to the coefficients' sensitivity; NumPy and statsmodels get about 6 digits too) are held
 * only to a floor below what they reach, to catch regressions. See docs/nist.md.
 */
const required: Record<string, number> = {
  Norris: 7,
  Pontius: 7,
  NoInt1: 7,
  NoInt2: 7,
  Longley: 7,
  Wampler1: 7,
  Wampler2: 7,
  Wampler3: 7,
  Wampler4: 7,
  Wampler5: 5,
  Filip: 6,
};

const table: {
  set: string;
  difficulty: string;
  minLre: number;
  lres: string;
  method: string;
  rank: number;
  r2Lre: number;
}[] = [];

describe("NIST StRD data as transcribed", () => {
  it.each(nistSets)("$name reproduces NIST's residual SD and R² at the certified coefficients", (set) => {
    const xs = features(set);
    expect(xs).toHaveLength(set.y.length);
    expect(set.certified.beta).toHaveLength(xs[0]!.length + (set.intercept ? 1 : 0));
    const fit = certifiedFit(set);
    if (set.certified.residualSd === 0) {
      // Wampler1 and Wampler2 are exact polynomials: the residuals vanish up to rounding.
      expect(fit.residualSd).toBeLessThan(1e-12 * Math.max(...set.y.map(Math.abs)));
    } else {
      // Evaluated in double this reaches 8 (Filip) to 15 digits. A typo of one unit in the last
      // printed digit of a y or an x typically drops it to 1–5 digits; not so for Filip's x (10⁻⁹)
      // or a y of Wampler4/5 (residuals of 10⁵–10⁷), where the coefficient test below fails instead.
      expect(lre(fit.residualSd, set.certified.residualSd)).toBeGreaterThan(7);
    }
    if (set.intercept) expect(lre(fit.rSquared, set.certified.rSquared)).toBeGreaterThan(8);
  });

  it("uses NIST's difficulty levels", () => {
    const by = (d: string) => nistSets.filter((s) => s.difficulty === d).map((s) => s.name);
    expect(by("lower")).toEqual(["Norris", "Pontius"]);
    expect(by("average")).toEqual(["NoInt1", "NoInt2"]);
    expect(by("higher")).toEqual([
      "Filip",
      "Longley",
      "Wampler1",
      "Wampler2",
      "Wampler3",
      "Wampler4",
      "Wampler5",
    ]);
  });
});

describe("normalEquation against NIST's certified values", () => {
  it.each(nistSets)("$name: every coefficient to the required digits", (set) => {
    const { beta, solution, loss } = solve(set);
    const lres = beta.map((b, j) => lre(b, set.certified.beta[j]!));
    const minLre = Math.min(...lres);
    const r2Lre = lre(solution.r2, set.certified.rSquared);
    table.push({
      set: set.name,
      difficulty: set.difficulty,
      minLre,
      lres: lres.map((v) => v.toFixed(1)).join(" "),
      method: solution.method,
      rank: solution.rank,
      r2Lre,
    });
    expect(solution).toMatchObject({ method: "qr", rank: beta.length });
    expect(minLre, `LRE per coefficient: ${lres.map((v) => v.toFixed(2)).join(", ")}`).toBeGreaterThanOrEqual(
      required[set.name]!,
    );
    // R² (centred, or uncentred for NoInt1/NoInt2 as NIST certifies it) and the residual SD.
    expect(r2Lre).toBeGreaterThan(9);
    const n = set.y.length;
    const residualSd = Math.sqrt((loss * n) / (n - beta.length));
    if (set.certified.residualSd > 0) expect(lre(residualSd, set.certified.residualSd)).toBeGreaterThan(6);
    else expect(residualSd).toBeLessThan(1e-9 * Math.max(...set.y.map(Math.abs)));
  });

  afterAll(() => {
    const lines = table
      .sort(
        (a, b) => nistSets.findIndex((s) => s.name === a.set) - nistSets.findIndex((s) => s.name === b.set),
      )
      .map(
        (t) =>
          `| ${t.set} | ${t.difficulty} | ${t.minLre.toFixed(1)} | ${t.r2Lre.toFixed(1)} | ${t.method} ${t.rank} | ${t.lres} |`,
      );
    console.info(
      [
        "| set | difficulty | min LRE | R² LRE | method, rank | LRE per coefficient (B0, B1, …) |",
        ...lines,
      ].join("\n"),
    );
  });
});
