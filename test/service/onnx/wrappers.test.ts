/**
 * timeDistributed in ONNX (docs/onnx.md): onnxruntime-node predicts what the engine does
 * (bidirectional is in recurrent.test.ts).
 */
import { describe, it } from "vitest";
import type { LayerSpec, ModelSpec } from "../../../src/engine/index.js";
import { expectOnnxMatchesEngine } from "./helpers.js";

const model = (inputShape: number[], layers: LayerSpec[]): ModelSpec => ({
  inputShape,
  layers,
  loss: "meanSquaredError",
});

describe("timeDistributed: onnxruntime-node predicts what the engine does (relative 1e-5)", () => {
  it.each([
    { type: "dense", units: 4 },
    { type: "dense", units: 3, activation: "softmax", useBias: false },
    { type: "dense", units: 2, activation: "gelu" },
  ] as const)("timeDistributed %j, then flatten and dense", async (dense) => {
    const spec = model(
      [5, 3],
      [{ type: "timeDistributed", layer: dense as never }, { type: "flatten" }, { type: "dense", units: 2 }],
    );
    await expectOnnxMatchesEngine(spec, 3, 3);
  });

  it("as the last layer, output [batch, T, units]", async () => {
    await expectOnnxMatchesEngine(
      model(
        [4, 2],
        [{ type: "timeDistributed", name: "td", layer: { type: "dense", units: 3, activation: "tanh" } }],
      ),
      2,
    );
  });
});
