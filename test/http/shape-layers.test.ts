/**
 * The shape layers over HTTP (docs/backprop.md §17): a conv2d → globalAveragePooling2d → dense
 * classifier trains on small inline digit images, /gradients checks them numerically, Keras
 * spellings get hints, bad options are a 400 (a 422 when they do not fit the input) naming
 * the field, and a checkpointed job ends with /train's weights.
 */
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GradientsResponseSchema, TrainResponseSchema } from "../../src/schemas/responses.js";
import { buildTestApp, type ProblemBody, waitForJob } from "./helper.js";

let app: FastifyInstance;
beforeAll(async () => {
  app = await buildTestApp();
});
afterAll(async () => {
  await app.close();
});

const post = (url: string, payload: object) => app.inject({ method: "POST", url, payload });

/** 6×6 images drawn from rows of '#' and '.': a "0" (a ring) or a "1" (a vertical stroke). */
const image = (rows: string[]) => rows.map((r) => [...r].map((ch) => [ch === "#" ? 1 : 0]));
const zeros = [
  ["......", ".####.", ".#..#.", ".#..#.", ".####.", "......"],
  [".###..", "#...#.", "#...#.", "#...#.", ".###..", "......"],
  ["......", "..###.", ".#...#", ".#...#", ".#...#", "..###."],
].map(image);
const ones = [
  ["..#...", "..#...", "..#...", "..#...", "..#...", "......"],
  ["......", "...#..", "...#..", "...#..", "...#..", "...#.."],
  [".#....", ".#....", ".#....", ".#....", ".#....", ".#...."],
].map(image);
const dataset = { x: [...zeros, ...ones], y: [0, 0, 0, 1, 1, 1] };

const model = {
  inputShape: [6, 6, 1],
  layers: [
    { type: "conv2d", filters: 4, kernelSize: 3, activation: "relu", name: "conv" },
    { type: "globalAveragePooling2d", name: "gap" },
    { type: "dense", units: 2, activation: "softmax", name: "out" },
  ],
  loss: "sparseCategoricalCrossentropy",
};

describe("shape layers over HTTP", () => {
  it("/train: conv2d → globalAveragePooling2d → dense learns ones from zeros", async () => {
    const res = await post("/train", {
      model,
      dataset,
      optimizer: { type: "adam", learningRate: 0.05 },
      epochs: 80,
      batchSize: 6,
      seed: 2,
    });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    TrainResponseSchema.parse(body);
    // The pooling has no weights: the conv kernel [3, 3, 1, 4] feeds a dense layer of 4 inputs.
    expect(Object.keys(body.weights).sort()).toEqual(["conv/bias", "conv/kernel", "out/bias", "out/kernel"]);
    expect(body.weights["out/kernel"]).toHaveLength(4);
    const loss = body.history.loss as number[];
    expect(loss[loss.length - 1]).toBeLessThan(0.2 * loss[0]!);
    expect(body.metrics.accuracy).toBe(1);
    // /predict with the trained weights: the first sample is a zero, the last a one.
    const pred = await post("/predict", { model, weights: body.weights, x: [zeros[0], ones[2]] });
    expect(pred.statusCode, pred.body).toBe(200);
    const [p0, p1] = pred.json().outputs as number[][];
    expect(p0![0]).toBeGreaterThan(0.5);
    expect(p1![1]).toBeGreaterThan(0.5);
  });

  it("/gradients: reshape, zeroPadding2d and globalMaxPooling2d agree with central differences", async () => {
    const res = await post("/gradients", {
      model: {
        inputShape: [36],
        layers: [
          { type: "reshape", targetShape: [6, -1, 1] },
          { type: "conv2d", filters: 2, kernelSize: 3, activation: "tanh" },
          { type: "zeroPadding2d", padding: [1, 2] },
          { type: "globalMaxPooling2d" },
          { type: "dense", units: 2, activation: "softmax" },
        ],
        loss: "sparseCategoricalCrossentropy",
      },
      x: zeros[1]!.flat(2),
      y: 0,
      seed: 4,
      numericalCheck: true,
    });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    GradientsResponseSchema.parse(body);
    expect(body.numerical.maxRelError).toBeLessThan(1e-7);
    expect(body.activations.map((a: { layer: string }) => a.layer)).toEqual([
      "reshape_0",
      "conv2d_1",
      "zeroPadding2d_2",
      "globalMaxPooling2d_3",
      "dense_4",
    ]);
    // One sample, no batch axis. reshape: the same values as a 6×6×1 image; the padding:
    // [4 + 2, 4 + 4, 2] with zero borders.
    expect(body.activations[0].output).toEqual(zeros[1]);
    const padded = body.activations[2].output as number[][][];
    expect([padded.length, padded[0]!.length, padded[0]![0]!.length]).toEqual([6, 8, 2]);
    expect(padded[0]!.flat()).toEqual(new Array(16).fill(0));
    expect(padded[1]!.slice(0, 2).flat()).toEqual([0, 0, 0, 0]);
    // The global max of each channel is the largest value of that channel in the padded image.
    for (const c of [0, 1])
      expect(body.activations[3].output[c]).toBe(Math.max(...padded.flat().map((cell) => cell[c]!)));
  });
});

describe("Keras spellings and bad options", () => {
  const train = (layers: object[], inputShape = [6, 6, 1]) =>
    post("/train", {
      model: { inputShape, layers, loss: "meanSquaredError" },
      dataset: { x: [zeros[0]], y: [[1]] },
      optimizer: { type: "sgd", learningRate: 0.1 },
      epochs: 1,
    });
  const problem = async (layers: object[], status: number, inputShape?: number[]) => {
    const res = await train(layers, inputShape);
    expect(res.statusCode, res.body).toBe(status);
    return (res.json() as ProblemBody).errors ?? [];
  };
  const dense = { type: "dense", units: 1 };

  it.each([
    ["GlobalAveragePooling2D", "globalAveragePooling2d"],
    ["GlobalMaxPooling2D", "globalMaxPooling2d"],
    ["GlobalAvgPool2D", "globalAveragePooling2d"],
    ["global_max_pool2d", "globalMaxPooling2d"],
    ["Reshape", "reshape"],
    ["ZeroPadding2D", "zeroPadding2d"],
  ])("layer type %j → %s", async (sent, ours) => {
    const errors = await problem([{ type: sent }, dense], 400);
    expect(errors.map((e) => e.path)).toEqual(["model.layers[0].type"]);
    expect(errors[0]!.message).toContain(`did you mean \`${ours}\`?`);
  });

  it("target_shape and data_format name ours", async () => {
    const a = await problem([{ type: "reshape", target_shape: [36] }, dense], 400);
    expect(a.map((e) => e.message).join(" ")).toContain("`targetShape`");
    const b = await problem([{ type: "globalMaxPooling2d", data_format: "channelsLast" }, dense], 400);
    expect(b.map((e) => e.message).join(" ")).toContain("`dataFormat`");
  });

  it("a targetShape whose size differs from the input's is a 422 at model.layers[i].targetShape", async () => {
    const errors = await problem([{ type: "reshape", targetShape: [5, 7] }, { type: "flatten" }, dense], 422);
    expect(errors.map((e) => e.path)).toEqual(["model.layers[0].targetShape"]);
    expect(errors[0]!.message).toContain("it has 35 elements per sample, the input 36");
    const minus = await problem([{ type: "flatten" }, { type: "reshape", targetShape: [-1, 5] }, dense], 422);
    expect(minus.map((e) => e.path)).toEqual(["model.layers[1].targetShape"]);
    expect(minus[0]!.message).toContain("not a multiple of 5");
  });

  it("bad options are a 400 naming the field", async () => {
    const at = async (layer: object, path: string) => {
      // The path may go deeper, into the entry at fault.
      const errors = await problem([layer, { type: "flatten" }, dense], 400);
      expect(errors.length).toBeGreaterThan(0);
      for (const e of errors) expect(e.path.startsWith(path), e.path).toBe(true);
    };
    await at({ type: "reshape", targetShape: [0, 36] }, "model.layers[0].targetShape[0]");
    await at({ type: "reshape", targetShape: [-2, 36] }, "model.layers[0].targetShape[0]");
    await at({ type: "reshape" }, "model.layers[0].targetShape");
    await at({ type: "zeroPadding2d", padding: -1 }, "model.layers[0].padding");
    await at({ type: "zeroPadding2d", padding: [1, 2, 3] }, "model.layers[0].padding");
    await at({ type: "zeroPadding2d", padding: [[1], [1, 1]] }, "model.layers[0].padding");
    await at({ type: "globalAveragePooling2d", dataFormat: "channelsFirst" }, "model.layers[0].dataFormat");
  });

  it("a 2-D layer on a vector is a 422 naming the layer and its input", async () => {
    const errors = await problem([{ type: "globalAveragePooling2d" }, dense], 422, [36]);
    expect(errors.map((e) => e.path)).toEqual(["model.layers[0]"]);
    expect(errors[0]!.message).toContain("needs [height, width, channels] input, got [36]");
  });
});

describe("a job with the shape layers", () => {
  let jobs: FastifyInstance;
  beforeAll(async () => {
    jobs = await buildTestApp({ CHECKPOINT_EVERY: "2" });
  });
  afterAll(async () => {
    await jobs.close();
  });

  it("trains in checkpointed chunks to POST /train's weights, bit for bit", async () => {
    const body = {
      model: {
        inputShape: [6, 6, 1],
        layers: [
          {
            type: "zeroPadding2d",
            padding: [
              [1, 0],
              [0, 1],
            ],
          },
          { type: "conv2d", filters: 3, kernelSize: 3, activation: "relu" },
          { type: "globalMaxPooling2d" },
          { type: "reshape", targetShape: [3] },
          { type: "dense", units: 2, activation: "softmax" },
        ],
        loss: "sparseCategoricalCrossentropy",
      },
      dataset,
      optimizer: { type: "adam", learningRate: 0.05 },
      epochs: 7,
      batchSize: 4,
      seed: 5,
    };
    const res = await jobs.inject({ method: "POST", url: "/jobs", payload: body });
    expect(res.statusCode, res.body).toBe(202);
    const job = await waitForJob(jobs, res.json().id as string);
    expect(job.status, JSON.stringify(job.error)).toBe("succeeded");
    const sync = (await jobs.inject({ method: "POST", url: "/train", payload: body })).json();
    expect(job.result!.weightsSha256).toBe(sync.weightsSha256);
    expect(job.result!.weights).toEqual(sync.weights);
    expect(job.result!.history).toEqual(sync.history);
  });
});
