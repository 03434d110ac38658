import { matmulTransA } from "../matmul.js";
import type { Floats } from "../tensor.js";

/**
 * What the recurrent layers' time-major buffers `[T, batch, size]` need besides the cells
 * (docs/backprop.md §22.1): per-step views, and the sums and products over all steps at once.
 */

/**
 * Per-step views of a time-major buffer `[steps, batch, size]`: view `s` is step s's `[batch,
 * size]` block, what the matrix products of one step take. Rebuilt only when the buffer (a
 * `Buffer`'s view, new when the batch size changes) changes, so a training loop allocates none.
 */
export class StepViews {
  private src: Floats | undefined;
  private views: Floats[] = [];
  of(src: Floats, steps: number): Floats[] {
    if (src !== this.src) {
      const size = src.length / steps;
      this.views = Array.from({ length: steps }, (_, s) => src.subarray(s * size, (s + 1) * size));
      this.src = src;
    }
    return this.views;
  }
}

/** `g[j] += Σ_r a[r, j]` over `rows` rows of width `n`, rows in order. */
export function addColumnSums(a: Floats, rows: number, n: number, g: Floats): void {
  for (let r = 0; r < rows; r++) {
    const o = r * n;
    for (let j = 0; j < n; j++) g[j]! += a[o + j]!;
  }
}

/** Σ_b ‖row b‖₂ of `a` `[batch, n]`. */
export function rowNormSum(a: Floats, batch: number, n: number): number {
  let total = 0;
  for (let b = 0; b < batch; b++) {
    let sq = 0;
    for (let j = 0; j < n; j++) sq += a[b * n + j]! * a[b * n + j]!;
    total += Math.sqrt(sq);
  }
  return total;
}

/** The recurrent kernel's gradient over all steps at once: `∂L/∂U += H_prevᵀ·∂L/∂Z_h` (`[T·batch, …]`). */
export function addRecurrentGrad(
  hPrev: Floats,
  dz: Floats,
  grad: Floats,
  rows: number,
  units: number,
  width: number,
): void {
  matmulTransA(hPrev, dz, grad, rows, units, width);
}
