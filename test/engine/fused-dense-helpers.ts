/**
 * Shared by the fused dense path's tests (fused-dense*.test.ts): one `train()` through both paths.
 */
import { expect, vi } from "vitest";
import { type TrainOptions, type TrainResult, train } from "../../src/engine/index.js";
import { DenseNet, useFusedDense } from "../../src/engine/training/dense-net.js";

/** A named tensor of `values`, as `initialWeights` takes it. */
export const tensor = (shape: number[], values: number[]) => ({ shape, data: Float64Array.from(values) });

/**
 * `train(opts)` through the fused passes (`DenseNet`) and through the model's layers
 * (`useFusedDense(false)`); checks the fused passes ran in the first and not in the second, so a
 * comparison of the two cannot pass by comparing the layers with themselves.
 */
export function bothPaths(opts: TrainOptions): { fused: TrainResult; layers: TrainResult } {
  const forward = vi.spyOn(DenseNet.prototype, "forward");
  try {
    useFusedDense(true);
    const fused = train(opts);
    expect(forward).toHaveBeenCalled();
    forward.mockClear();
    useFusedDense(false);
    const layers = train(opts);
    expect(forward).not.toHaveBeenCalled();
    return { fused, layers };
  } finally {
    useFusedDense(true);
    forward.mockRestore();
  }
}
