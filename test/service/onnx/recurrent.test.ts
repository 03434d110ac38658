/**
 * simpleRNN, lstm, gru and bidirectional in ONNX (docs/onnx.md, "Recurrent layers"): every cell
 * and option exported and run in onnxruntime-node predicts what the engine does (float64 engine
 * against float32 ONNX, relative 1e-5), with a maskZero mask wherever the padding is, and the
 * activations ONNX's operators lack are a 422 at their field.
 */
import pkg from "onnx-proto";
import { describe, expect, it } from "vitest";
import {
  type BidirectionalSpec,
  type LayerSpec,
  type ModelSpec,
  predict,
  type RecurrentSpec,
} from "../../../src/engine/index.js";
import { UnprocessableError } from "../../../src/service/errors.js";
import { toOnnx } from "../../../src/service/models/formats/onnx.js";
import { engineWeights, expectOnnxMatchesEngine, runOnnx, worstError } from "./helpers.js";

const model = (inputShape: number[], layers: LayerSpec[]): ModelSpec => ({
  inputShape,
  layers,
  loss: "meanSquaredError",
});

/** The recurrent layer alone on `[6, 3]`, then after it a dense layer (so the output is read whole). */
const alone = (layer: LayerSpec) => model([6, 3], [layer]);

describe("recurrent layers: onnxruntime-node predicts what the engine does (relative 1e-5)", () => {
  const cells: RecurrentSpec[] = [
    { type: "simpleRNN", units: 4 },
    { type: "simpleRNN", units: 3, activation: "relu", returnSequences: true },
    { type: "simpleRNN", units: 3, activation: "linear", useBias: false, goBackwards: true },
    { type: "simpleRNN", units: 5, activation: "softsign", returnSequences: true, goBackwards: true },
    { type: "lstm", units: 4 },
    { type: "lstm", units: 3, recurrentActivation: "sigmoid", returnSequences: true },
    { type: "lstm", units: 3, activation: "elu", goBackwards: true, unitForgetBias: true },
    { type: "lstm", units: 2, returnSequences: true, goBackwards: true, useBias: false },
    { type: "gru", units: 4 },
    { type: "gru", units: 3, resetAfter: true, recurrentActivation: "sigmoid", returnSequences: true },
    { type: "gru", units: 3, resetAfter: true, goBackwards: true, activation: "softplus" },
    { type: "gru", units: 2, returnSequences: true, goBackwards: true, useBias: false },
    { type: "gru", units: 3, resetAfter: true, useBias: false, returnSequences: true },
  ];

  it.each(cells)("%j", async (cell) => {
    await expectOnnxMatchesEngine(alone(cell), 3, 2);
  });

  it("hardSigmoid's kinks: inputs in [−6, 6] take the gates past ±2.5", async () => {
    await expectOnnxMatchesEngine(alone({ type: "lstm", units: 3, returnSequences: true }), 5, 6);
    await expectOnnxMatchesEngine(alone({ type: "gru", units: 3, resetAfter: true }), 6, 6);
  });

  it("stacked: lstm (returnSequences) → gru → dense", async () => {
    await expectOnnxMatchesEngine(
      model(
        [7, 2],
        [
          { type: "lstm", units: 4, returnSequences: true, name: "enc" },
          { type: "gru", units: 3 },
          { type: "dense", units: 2, activation: "softmax" },
        ],
      ),
      4,
    );
  });
});

describe("bidirectional: onnxruntime-node predicts what the engine does (relative 1e-5)", () => {
  const cases: BidirectionalSpec[] = [];
  for (const mergeMode of ["concat", "sum", "mul", "ave"] as const)
    for (const returnSequences of [false, true])
      cases.push({ type: "bidirectional", mergeMode, layer: { type: "lstm", units: 3, returnSequences } });
  cases.push(
    {
      type: "bidirectional",
      layer: { type: "simpleRNN", units: 3, returnSequences: true, goBackwards: true },
    },
    { type: "bidirectional", mergeMode: "sum", layer: { type: "gru", units: 2, goBackwards: true } },
    {
      type: "bidirectional",
      mergeMode: "ave",
      layer: { type: "gru", units: 3, resetAfter: true, returnSequences: true, name: "g" },
    },
    { type: "bidirectional", layer: { type: "gru", units: 2, useBias: false } },
  );

  it.each(cases)("%j", async (layer) => {
    await expectOnnxMatchesEngine(alone(layer), 7, 2);
  });
});

describe("a maskZero mask: exact wherever the padding is", () => {
  const T = 7;
  /** Ids for 6 samples: padding after, before, inside, none, only padding, and scattered. */
  const ids = Float64Array.from(
    [
      [3, 1, 4, 0, 0, 0, 0],
      [0, 0, 0, 2, 5, 1, 3],
      [2, 0, 0, 4, 0, 1, 0],
      [1, 2, 3, 4, 5, 1, 2],
      [0, 0, 0, 0, 0, 0, 0],
      [0, 5, 0, 3, 0, 0, 4],
    ].flat(),
  );
  const masked = (layer: LayerSpec, after: LayerSpec[] = []) =>
    model([T], [{ type: "embedding", inputDim: 6, outputDim: 3, maskZero: true }, layer, ...after]);
  const layers: LayerSpec[] = [
    { type: "simpleRNN", units: 3 },
    { type: "simpleRNN", units: 3, returnSequences: true, goBackwards: true },
    { type: "lstm", units: 3, returnSequences: true },
    { type: "lstm", units: 2, goBackwards: true },
    { type: "gru", units: 3, resetAfter: true, returnSequences: true, goBackwards: true },
    { type: "gru", units: 2 },
    { type: "bidirectional", layer: { type: "lstm", units: 2, returnSequences: true } },
    { type: "bidirectional", mergeMode: "sum", layer: { type: "gru", units: 2 } },
    {
      type: "bidirectional",
      mergeMode: "mul",
      layer: { type: "simpleRNN", units: 2, returnSequences: true, goBackwards: true },
    },
  ];

  it.each(layers)("embedding(maskZero) → %j", async (layer) => {
    const spec = masked(layer);
    const weights = engineWeights(spec, 9);
    const expected = predict(spec, weights, ids, 6);
    const out = await runOnnx(toOnnx(spec, weights), ids, [6, T]);
    expect(out.dims).toEqual(expected.shape);
    const { ratio, at } = worstError(out.data as Float32Array, expected.data);
    expect(
      ratio,
      `output ${at}: onnx ${(out.data as Float32Array)[at]}, engine ${expected.data[at]}`,
    ).toBeLessThanOrEqual(1);
  });

  it("the mask reaches a second recurrent layer through the first's sequences", async () => {
    const spec = masked({ type: "lstm", units: 3, returnSequences: true }, [
      { type: "gru", units: 2, goBackwards: true },
    ]);
    const weights = engineWeights(spec, 2);
    const expected = predict(spec, weights, ids, 6);
    const out = await runOnnx(toOnnx(spec, weights), ids, [6, T]);
    expect(worstError(out.data as Float32Array, expected.data).ratio).toBeLessThanOrEqual(1);
  });

  it("a padded tagger: bidirectional lstm sequences → timeDistributed dense softmax (which TensorFlow.js refuses)", async () => {
    const spec = masked({ type: "bidirectional", layer: { type: "lstm", units: 3, returnSequences: true } }, [
      { type: "timeDistributed", layer: { type: "dense", units: 4, activation: "softmax" } },
    ]);
    const weights = engineWeights(spec, 5);
    const expected = predict(spec, weights, ids, 6);
    const out = await runOnnx(toOnnx(spec, weights), ids, [6, T]);
    expect(out.dims).toEqual([6, T, 4]);
    expect(worstError(out.data as Float32Array, expected.data).ratio).toBeLessThanOrEqual(1);
  });

  it("hand-checked: a sample of padding only gives 0, and padding before equals no padding", async () => {
    const spec = masked({ type: "lstm", units: 2 });
    const weights = engineWeights(spec, 1);
    const x = Float64Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 1, 4, 0, 0, 3, 1, 4, 0, 0, 0, 0]);
    const out = (await runOnnx(toOnnx(spec, weights), x, [3, T])).data as Float32Array;
    expect([...out.slice(0, 2)]).toEqual([0, 0]);
    expect([...out.slice(2, 4)]).toEqual([...out.slice(4, 6)]);
    expect(out[2]).not.toBe(0);
  });
});

describe("the recurrent file", () => {
  const { onnx } = pkg;
  it("one LSTM node (direction, hidden size, gate activations), the weights as initializers named by the engine", () => {
    const spec = alone({ type: "bidirectional", layer: { type: "lstm", units: 3 } });
    const weights = engineWeights(spec, 1);
    const graph = onnx.ModelProto.decode(toOnnx(spec, weights)).graph as pkg.onnx.GraphProto;
    const lstm = graph.node.filter((n) => n.opType === "LSTM");
    expect(lstm).toHaveLength(1);
    const attr = Object.fromEntries(
      (lstm[0]!.attribute ?? []).map((a) => [a.name, a as pkg.onnx.AttributeProto]),
    );
    expect(new TextDecoder().decode(attr.direction!.s)).toBe("bidirectional");
    expect(Number(attr.hidden_size!.i)).toBe(3);
    expect(attr.activations!.strings.map((s: Uint8Array) => new TextDecoder().decode(s))).toEqual([
      "HardSigmoid",
      "Tanh",
      "Tanh",
      "HardSigmoid",
      "Tanh",
      "Tanh",
    ]);
    expect(attr.activation_alpha!.floats).toEqual([Math.fround(0.2), Math.fround(0.2)]);
    expect(attr.activation_beta!.floats).toEqual([0.5, 0.5]);
    expect(graph.initializer.map((t) => t.name).sort()).toEqual(Object.keys(weights).sort());
  });
});

describe("what the recurrent export refuses (422)", () => {
  function refusal(spec: ModelSpec): UnprocessableError {
    try {
      toOnnx(spec, engineWeights(spec, 1));
    } catch (e) {
      expect(e).toBeInstanceOf(UnprocessableError);
      return e as UnprocessableError;
    }
    throw new Error("expected a refusal");
  }

  it("an activation ONNX's operators lack, at its field (also inside bidirectional)", () => {
    const gelu = refusal(alone({ type: "simpleRNN", units: 2, activation: "gelu" }));
    expect(gelu.errors).toEqual([
      {
        path: "model.layers[0].activation",
        message: expect.stringContaining(
          "layer simpleRNN_0 (simpleRNN): ONNX's RNN operator has no gelu activation",
        ),
      },
    ]);
    const swish = refusal(
      alone({
        type: "bidirectional",
        name: "bi",
        layer: { type: "gru", units: 2, recurrentActivation: "swish" },
      }),
    );
    expect(swish.errors?.map((e) => e.path)).toEqual(["model.layers[0].layer.recurrentActivation"]);
    expect(swish.message).toBe("layer bi (bidirectional) cannot be exported to ONNX");
  });
});
