/**
 * The median stopping rule (Golovin et al. 2017, "Google Vizier: A Service for Black-Box
 * Optimization", §3.2.2; as Vertex AI and SageMaker apply it): a trial is stopped at step s when
 * its best objective up to s is strictly worse than the median of the reference trials' running
 * averages of the objective over steps 1 … s. docs/tuning.md §3.
 */

/** The mean of `values[0 … s)`. */
function runningAverage(values: readonly number[], s: number): number {
  let sum = 0;
  for (let i = 0; i < s; i++) sum += values[i]!;
  return sum / s;
}

/** The median of `xs` (the mean of the middle two for an even count). @param xs not empty */
export function median(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * Whether the rule stops a trial whose objective over its epochs so far is `curve` (step s =
 * curve.length). References: the finished trials of earlier batches (their objective per epoch);
 * only those that reached step s count, and with none the trial goes on.
 */
export function medianStops(
  curve: readonly number[],
  references: readonly (readonly number[])[],
  goal: "minimize" | "maximize",
): boolean {
  const s = curve.length;
  if (s === 0) return false;
  const averages = references.filter((r) => r.length >= s).map((r) => runningAverage(r, s));
  if (averages.length === 0) return false;
  return stopsAt(goal === "minimize" ? Math.min(...curve) : Math.max(...curve), median(averages), goal);
}

/**
 * The rule's median at each step s = 1, 2, … while a reference reaches s (element s − 1), the
 * same values `medianStops` compares with (each running sum added up in the same order): all a
 * trial's job needs to apply the rule itself (`StopRule`).
 */
export function medianThresholds(references: readonly (readonly number[])[]): number[] {
  const longest = Math.max(0, ...references.map((r) => r.length));
  const sums = references.map(() => 0);
  const out: number[] = [];
  for (let s = 1; s <= longest; s++) {
    const averages: number[] = [];
    references.forEach((r, i) => {
      if (r.length < s) return;
      sums[i]! += r[s - 1]!;
      averages.push(sums[i]! / s);
    });
    out.push(median(averages));
  }
  return out;
}

/** Whether a trial whose best objective so far is `best` stops at a step whose median is `m`. */
export const stopsAt = (best: number, m: number, goal: "minimize" | "maximize") =>
  goal === "minimize" ? best > m : best < m;
