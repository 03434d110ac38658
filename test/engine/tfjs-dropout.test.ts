/**
 * Dropout against TensorFlow.js' `tf.layers.dropout` (cpu, float32). The masks come from different
 * generators, so training mode is compared by its statistics: the kept fraction (both within a
 * binomial 5σ bound of 1 − rate), the scaling of a kept unit (1/(1 − rate), to float32), the
 * broadcast of a noise shape; inference mode exactly (both the identity).
 */
import * as tf from "@tensorflow/tfjs";
import { describe, expect, it } from "vitest";
import { buildDropout } from "../../src/engine/layers/dropout.js";
import { INFERENCE, TRAINING_STEP } from "../../src/engine/layers/layer.js";
import { Rng } from "../../src/engine/rng.js";
import { tfReady } from "./tfjs-reference.js";

const SAMPLES = 100;
const UNITS = 1000;

/** Values in [0.5, 1.5): non-zero, and exactly representable in float32. */
function input(seed: number): Float64Array {
  const rng = new Rng(seed);
  return Float64Array.from({ length: SAMPLES * UNITS }, () => Math.fround(0.5 + rng.next()));
}

/** Kept count, and the largest relative distance of a kept value's ratio y/x from `scale`. */
function stats(x: ArrayLike<number>, y: ArrayLike<number>, scale: number): { kept: number; worst: number } {
  let kept = 0;
  let worst = 0;
  for (let i = 0; i < x.length; i++) {
    if (y[i] === 0) continue;
    kept++;
    worst = Math.max(worst, Math.abs(y[i]! / x[i]! - scale) / scale);
  }
  return { kept, worst };
}

function tfDropout(x: Float64Array, shape: number[], rate: number, training: boolean, noiseShape?: number[]) {
  return tf.tidy(() => {
    const layer = tf.layers.dropout({ rate, ...(noiseShape ? { noiseShape } : {}), seed: 1 });
    const out = layer.apply(tf.tensor(Float32Array.from(x), shape), { training }) as tf.Tensor;
    return out.dataSync() as Float32Array;
  });
}

describe("dropout against tf.layers.dropout", () => {
  it.each([0.2, 0.5, 0.9])("rate %f: the same kept fraction (5σ) and scaling", async (rate) => {
    await tfReady();
    const x = input(1);
    const n = x.length;
    const sigma = Math.sqrt(n * rate * (1 - rate));
    const ours = buildDropout({ type: "dropout", rate }, "d", [UNITS], 0);
    ours.setMode(TRAINING_STEP);
    const mine = stats(x, ours.forward(x, SAMPLES), 1 / (1 - rate));
    const theirs = stats(x, tfDropout(x, [SAMPLES, UNITS], rate, true), 1 / (1 - rate));
    for (const s of [mine, theirs]) expect(Math.abs(s.kept - n * (1 - rate))).toBeLessThanOrEqual(5 * sigma);
    // Two independent binomials: their difference within 5·√2·σ.
    expect(Math.abs(mine.kept - theirs.kept)).toBeLessThanOrEqual(5 * Math.SQRT2 * sigma);
    expect(mine.worst).toBeLessThan(1e-15);
    expect(theirs.worst).toBeLessThan(1e-6); // float32
  });

  it("inference: both are the identity, exactly", async () => {
    await tfReady();
    const x = input(2);
    const ours = buildDropout({ type: "dropout", rate: 0.5 }, "d", [UNITS], 0);
    ours.setMode(INFERENCE);
    const theirs = tfDropout(x, [SAMPLES, UNITS], 0.5, false);
    const y = ours.forward(x, SAMPLES);
    let differ = 0;
    for (let i = 0; i < x.length; i++) if (theirs[i] !== x[i] || y[i] !== x[i]) differ++;
    expect(differ).toBe(0);
  });

  it("noiseShape [batch, 1, c]: both draw one value per (sample, channel)", async () => {
    await tfReady();
    const shape = [SAMPLES, 10, 100];
    const x = input(3);
    const ours = buildDropout({ type: "dropout", rate: 0.5, noiseShape: [null, 1, 100] }, "d", [10, 100], 0);
    ours.setMode(TRAINING_STEP);
    const mine = ours.forward(x, SAMPLES);
    const theirs = tfDropout(x, shape, 0.5, true, [SAMPLES, 1, 100]);
    for (const y of [mine, theirs]) {
      let broken = 0;
      let kept = 0;
      for (let s = 0; s < SAMPLES; s++)
        for (let c = 0; c < 100; c++) {
          const k0 = y[s * 1000 + c] !== 0;
          if (k0) kept++;
          for (let h = 1; h < 10; h++) if ((y[s * 1000 + h * 100 + c] !== 0) !== k0) broken++;
        }
      expect(broken).toBe(0);
      // 10,000 draws at rate 0.5: σ = 50.
      expect(Math.abs(kept - 5000)).toBeLessThanOrEqual(250);
    }
  });
});
