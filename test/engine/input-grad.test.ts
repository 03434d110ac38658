/**
 * `backward(dy, batch, needInputGrad = false)`: the first layer with parameters skips ∂L/∂X
 * (nothing reads the input's gradient) and accumulates exactly the same parameter gradients.
 */
import { describe, expect, it } from "vitest";
import { Conv2d } from "../../src/engine/layers/conv2d.js";
import { Dense } from "../../src/engine/layers/dense.js";
import { NO_INPUT_GRAD } from "../../src/engine/layers/layer.js";
import { Model } from "../../src/engine/model.js";
import { Rng } from "../../src/engine/rng.js";

function fill(a: Float64Array, rng: Rng): Float64Array {
  for (let i = 0; i < a.length; i++) a[i] = rng.uniform(-1, 1);
  return a;
}

describe("skipping the input gradient", () => {
  it("dense and conv2d return NO_INPUT_GRAD and the same parameter gradients", () => {
    const rng = new Rng(9);
    const make = [
      () => new Dense("d", [5], 3, true),
      () => new Conv2d("c", [5, 4, 2], 3, [3, 2], [1, 1], "same", true),
    ];
    for (const build of make) {
      const full = build();
      const skip = build();
      for (let k = 0; k < full.params().length; k++) {
        fill(full.params()[k]!.value as Float64Array, rng);
        skip.params()[k]!.value.set(full.params()[k]!.value);
      }
      const batch = 2;
      const x = fill(new Float64Array(batch * full.inputShape.reduce((a, b) => a * b, 1)), rng);
      const dy = fill(new Float64Array(full.forward(x, batch).length), rng);
      skip.forward(x, batch);
      expect(full.backward(dy, batch).length).toBe(x.length);
      expect(skip.backward(dy, batch, false)).toBe(NO_INPUT_GRAD);
      for (let k = 0; k < full.params().length; k++)
        expect(skip.params()[k]!.grad).toEqual(full.params()[k]!.grad);
    }
  });

  it("a model whose first layers have no parameters still back-propagates into the first dense", () => {
    const model = new Model({
      inputShape: [2, 2, 1],
      layers: [{ type: "flatten" }, { type: "activation", activation: "tanh" }, { type: "dense", units: 2 }],
      loss: "meanSquaredError",
    });
    model.initialise(3);
    model.zeroGrads();
    model.forward(Float64Array.from([0.1, -0.2, 0.3, 0.4]), 1);
    model.loss(Float64Array.from([1, -1]), 1, true, 1);
    const g = model.getGrads()["dense_2/kernel"]!.data;
    expect(g.some((v) => v !== 0)).toBe(true);
  });
});
