/**
 * timeDistributed, and dense on an input of more than one axis, in ONNX (docs/onnx.md):
 * onnxruntime-node predicts what the engine does (bidirectional is in recurrent.test.ts).
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

describe("dense over the last axis of an N-D input: MatMul broadcasts, onnxruntime-node agrees (relative 1e-5)", () => {
  it.each([
    { name: "[5, 3] → dense 4 → flatten → dense 2", inputShape: [5, 3], dense: { type: "dense", units: 4 } },
    {
      name: "[5, 3] → dense 3 softmax without bias, as the last layer",
      inputShape: [5, 3],
      dense: { type: "dense", units: 3, activation: "softmax", useBias: false },
      last: true,
    },
    {
      name: "[2, 3, 4] → dense 2 gelu → flatten → dense 2",
      inputShape: [2, 3, 4],
      dense: { type: "dense", units: 2, activation: "gelu" },
    },
  ] as { name: string; inputShape: number[]; dense: LayerSpec; last?: boolean }[])(
    "$name",
    async ({ inputShape, dense, last }) => {
      const layers: LayerSpec[] = last ? [dense] : [dense, { type: "flatten" }, { type: "dense", units: 2 }];
      await expectOnnxMatchesEngine(model(inputShape, layers), 3, 3);
    },
  );

  it("a dense on conv2d's [h, w, c] output: back from NCHW to the engine's order first", async () => {
    await expectOnnxMatchesEngine(
      model(
        [5, 5, 2],
        [
          { type: "conv2d", filters: 3, kernelSize: 3, activation: "relu" },
          { type: "dense", units: 2, activation: "tanh" },
        ],
      ),
      2,
    );
  });

  it("an lstm tagger: lstm (returnSequences) → dense softmax per step", async () => {
    await expectOnnxMatchesEngine(
      model(
        [6, 2],
        [
          { type: "lstm", units: 4, returnSequences: true },
          { type: "dense", units: 3, activation: "softmax" },
        ],
      ),
      3,
    );
  });
});
