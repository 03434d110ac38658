/**
 * Gradient flow through time over HTTP (docs/backprop.md §22.5): the generated sequence sets,
 * /gradients' per-step states and norms, telemetry's stateGradientNorm in /train and in a job
 * checkpointed into chunks, and the README's demonstration on the adding problem (T = 50): a
 * simpleRNN's gradient vanishes over the 50 steps while a trained LSTM's does not.
 */
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  gradientsLstmExample,
  trainAddingLstmExample,
  trainSineGruExample,
} from "../../src/schemas/examples-sequences.js";
import { buildTestApp, waitForJob } from "./helper.js";

let app: FastifyInstance;
beforeAll(async () => {
  app = await buildTestApp({ MAX_CONCURRENT_JOBS: "1", CHECKPOINT_EVERY: "2" });
});
afterAll(async () => {
  await app.close();
});

async function post(url: string, payload: object, status = 200) {
  const res = await app.inject({ method: "POST", url, payload });
  expect(res.statusCode, res.body).toBe(status);
  return res.json();
}

const rnnOn = (T: number, layer: object) => ({
  inputShape: [T, 2],
  layers: [
    { name: "rnn", ...layer },
    { type: "dense", units: 1 },
  ],
  loss: "meanSquaredError",
});

describe("the generated data sets", () => {
  it("GET /datasets lists them with their source", async () => {
    const res = await app.inject({ method: "GET", url: "/datasets" });
    const sets = res.json().datasets as { name: string; source: string; inputShape: number[] }[];
    const adding = sets.find((d) => d.name === "addingProblem")!;
    expect(adding.inputShape).toEqual([50, 2]);
    expect(adding.source).toMatch(/^S\. Hochreiter & J\. Schmidhuber \(1997\)/);
    expect(sets.find((d) => d.name === "sineWave")!.inputShape).toEqual([20, 1]);
  });

  it("refuses parameters of a fixed set, too many values, and a model that does not fit, naming the field", async () => {
    const body = (dataset: object, model: object = rnnOn(10, { type: "simpleRNN", units: 2 })) => ({
      model,
      dataset,
      optimizer: { type: "sgd", learningRate: 0.1 },
      epochs: 1,
    });
    let e = await post("/train", body({ name: "iris", timesteps: 10 }), 400);
    expect(JSON.stringify(e)).toContain(
      "iris is a fixed data set: timesteps applies to addingProblem and sineWave only",
    );
    e = await post("/train", body({ name: "addingProblem", timesteps: 4000, samples: 1001 }), 400);
    expect(JSON.stringify(e)).toContain("samples × timesteps × features is 8008000; at most 8000000");
    e = await post("/train", body({ name: "addingProblem", timesteps: 1 }), 400);
    expect(JSON.stringify(e)).toContain("timesteps");
    e = await post("/train", body({ name: "addingProblem" }), 422);
    expect(e.errors[0].path).toBe("dataset.timesteps");
    expect(e.errors[0].message).toContain("addingProblem with timesteps 50 has samples of shape [50, 2]");
  });
});

describe("/gradients: recurrent.<layer>", () => {
  it("the sample's states h_1 … h_T and ‖∂L/∂h_t‖, the last that of the dense layer's input", async () => {
    const T = 5;
    const body = {
      model: rnnOn(T, { type: "simpleRNN", units: 2 }),
      seed: 3,
      x: Array.from({ length: T }, (_, t) => [0.1 * t, t === 1 || t === 3 ? 1 : 0]),
      y: 0.4,
    };
    const r = await post("/gradients", body);
    const flow = r.recurrent.rnn;
    expect(flow.states).toHaveLength(T);
    expect(flow.states[0]).toHaveLength(2);
    // The last state is the layer's output; its gradient is the dense layer's Wᵀ·∂L/∂y.
    expect(flow.states[T - 1]).toEqual(r.activations[0].output);
    const w = r.weights["dense_1/kernel"] as number[][];
    const dy = 2 * (r.output[0] - 0.4);
    expect(flow.stateGradientNorm[T - 1]).toBeCloseTo(Math.abs(dy) * Math.hypot(w[0]![0]!, w[1]![0]!), 14);
    expect(flow.stateGradientNorm).toHaveLength(T);
  });
});

describe("telemetry.stateGradientNorm", () => {
  const job = {
    model: rnnOn(10, { type: "lstm", units: 4 }),
    dataset: { name: "addingProblem", timesteps: 10, samples: 64, seed: 4 },
    optimizer: { type: "adam", learningRate: 0.01 },
    epochs: 5,
    batchSize: 16,
    seed: 2,
    telemetry: true,
  };

  it("a job in chunks (checkpoints every 2 epochs) carries the same as POST /train, bit for bit", async () => {
    const sync = await post("/train", job);
    expect(sync.telemetry.stateGradientNorm.rnn).toHaveLength(5);
    expect(sync.telemetry.stateGradientNorm.rnn[0]).toHaveLength(10);
    const created = await app.inject({ method: "POST", url: "/jobs", payload: job });
    expect(created.statusCode, created.body).toBe(202);
    const done = await waitForJob(app, created.json().id);
    expect(done.status).toBe("succeeded");
    expect(done.result!.weightsSha256).toBe(sync.weightsSha256);
    expect(done.result!.telemetry).toEqual(sync.telemetry);
  });
});

/**
 * The README's table: /train with telemetry on the adding problem's defaults (T = 50, 1000
 * samples, seed 1997; 800 train, 200 validation), 30 epochs of adam 0.01 in batches of 32, seed 1.
 * Each row: ‖∂L/∂h_t‖ at t = 50, 40, 30, 20, 10, 1 in the first and last epoch.
 */
describe("the demonstration: adding problem, T = 50", () => {
  const demo = (layer: object) => ({
    model: rnnOn(50, layer),
    dataset: { name: "addingProblem" },
    optimizer: { type: "adam", learningRate: 0.01 },
    epochs: 30,
    batchSize: 32,
    validationSplit: 0.2,
    seed: 1,
    telemetry: true,
    return: ["history", "telemetry"],
  });
  const at = [50, 40, 30, 20, 10, 1];

  it("the simpleRNN's gradient vanishes and it learns nothing; the LSTM's flows back once it has learnt", async () => {
    const rnn = await post("/train", demo({ type: "simpleRNN", units: 16 }));
    const lstm = await post(
      "/train",
      demo({ type: "lstm", units: 16, unitForgetBias: true, recurrentActivation: "sigmoid" }),
    );
    const rows = (r: { telemetry: { stateGradientNorm: { rnn: number[][] } } }) =>
      [0, 29].map((e) => at.map((t) => r.telemetry.stateGradientNorm.rnn[e]![t - 1]!));
    const [rnnFirst, rnnLast] = rows(rnn);
    const [lstmFirst, lstmLast] = rows(lstm);
    // Measured (README): ratios ‖∂L/∂h_1‖ / ‖∂L/∂h_50‖.
    const ratio = (row: number[]) => row[5]! / row[0]!;
    expect(ratio(rnnFirst!)).toBeCloseTo(6.84e-4, 6);
    expect(ratio(rnnLast!)).toBeCloseTo(2.28e-4, 6);
    expect(ratio(lstmFirst!)).toBeCloseTo(7.82e-5, 7);
    expect(ratio(lstmLast!)).toBeCloseTo(0.148, 3);
    expect(ratio(rnnLast!)).toBeLessThan(1e-3);
    expect(ratio(lstmLast!)).toBeGreaterThan(1e-1);
    // The simpleRNN stays at the mean's error (1/6); the LSTM solves the task.
    expect(rnn.history.valLoss[29]).toBeGreaterThan(0.15);
    expect(lstm.history.valLoss[29]).toBeLessThan(0.003);
    console.log(
      JSON.stringify({
        rnn: [rnnFirst, rnnLast],
        lstm: [lstmFirst, lstmLast],
        val: [rnn.history.valLoss[29], lstm.history.valLoss[29]],
      }),
    );
  }, 600_000);
});

describe("the Swagger examples do what their summaries say", () => {
  it("addingLstm: validation MSE 0.0033 (the mean's: 1/6) after 30 epochs", async () => {
    const r = await post("/train", trainAddingLstmExample);
    expect(r.history.valLoss[0]).toBeGreaterThan(0.15);
    expect(r.history.valLoss[29]).toBeCloseTo(0.0033, 4);
    // The summary promises the gradient flow: one norm per step (20) for each of the 30 epochs.
    const flow = r.telemetry.stateGradientNorm.lstm_0;
    expect(flow).toHaveLength(30);
    expect(flow[29]).toHaveLength(20);
    expect(flow[29][0]).toBeGreaterThan(0);
  }, 120_000);

  it("sineGru: validation accuracy 1 from the 5th epoch", async () => {
    const r = await post("/train", trainSineGruExample);
    expect(r.history.valAccuracy.slice(4)).toEqual([1, 1, 1, 1, 1, 1]);
    expect(r.history.valAccuracy[0]).toBeLessThan(0.6);
  }, 120_000);

  it("lstmFlow: 8 states and 8 norms, the gradient shrinking towards step 1", async () => {
    const r = await post("/gradients", gradientsLstmExample);
    const flow = r.recurrent.lstm_0;
    expect(flow.states).toHaveLength(8);
    expect(flow.stateGradientNorm).toHaveLength(8);
    expect(flow.stateGradientNorm[0]).toBeLessThan(flow.stateGradientNorm[7]);
  });
});
