/**
 * Keras' fit arguments over HTTP: `metrics` in the history, the metrics and the confusion matrix
 * of POST /train and of a chunked job, `sampleWeight` and `classWeight` reaching the engine (also
 * with a stored data set), and the 400/422 answers naming the field.
 */
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { trainIrisMetricsExample } from "../../src/schemas/examples.js";
import { TrainResponseSchema } from "../../src/schemas/responses.js";
import { buildTestApp, type ProblemBody, sgd, tinyModel, waitForJob } from "./helper.js";

let app: FastifyInstance;
beforeAll(async () => {
  app = await buildTestApp({ CHECKPOINT_EVERY: "3" });
});
afterAll(async () => {
  await app.close();
});

const train = (payload: object) => app.inject({ method: "POST", url: "/train", payload });

const xor = {
  x: [
    [0, 0],
    [0, 1],
    [1, 0],
    [1, 1],
    [0.1, 0.9],
    [0.9, 0.1],
  ],
  y: [0, 1, 1, 0, 1, 1],
};
const small = { model: tinyModel(), dataset: xor, optimizer: sgd, epochs: 2, seed: 3 };
const line = {
  model: { inputShape: [1], layers: [{ type: "dense", units: 1 }], loss: "meanSquaredError" },
  dataset: { x: [[0], [1], [2], [3]], y: [1, 3, 5, 7] },
  optimizer: { type: "sgd", learningRate: 0.05 },
  epochs: 5,
  seed: 1,
};

/** The problem's status and its errors' paths. */
async function problem(payload: object): Promise<{ status: number; paths: string[]; body: ProblemBody }> {
  const res = await train(payload);
  const body = res.json() as ProblemBody;
  return { status: res.statusCode, paths: (body.errors ?? []).map((e) => e.path), body };
}

describe("metrics and the confusion matrix", () => {
  it("POST /train with the iris metrics example", async () => {
    const res = await train(trainIrisMetricsExample);
    expect(res.statusCode).toBe(200);
    const body = TrainResponseSchema.parse(res.json());
    for (const key of [
      "accuracy",
      "precision",
      "recall",
      "auc",
      "valAccuracy",
      "valPrecision",
      "valRecall",
      "valAuc",
    ])
      expect(body.history[key as "auc"], key).toHaveLength(100);
    expect(body.metrics.auc).toBeGreaterThan(0.95);
    expect(body.metrics.valAuc).toBeGreaterThan(0.9);
    expect(body.metrics.precision).toBeGreaterThan(0.9);
    const cm = body.confusionMatrix!;
    expect(cm.labels).toEqual([0, 1, 2]);
    expect(cm.train.flat().reduce((a, b) => a + b, 0)).toBe(120);
    expect(cm.validation!.flat().reduce((a, b) => a + b, 0)).toBe(30);
    const trace = cm.train.reduce((s, row, i) => s + row[i]!, 0);
    expect(body.metrics.accuracy).toBeCloseTo(trace / 120, 15);
    // The class weights change the run.
    const plain = (await train({ ...trainIrisMetricsExample, classWeight: undefined })).json();
    expect(plain.weightsSha256).not.toBe(body.weightsSha256);
  });

  it("a chunked job's result carries the same metrics history as POST /train, and its progress the latest values", async () => {
    const payload = { ...trainIrisMetricsExample, epochs: 8 };
    const direct = (await train(payload)).json();
    const created = await app.inject({ method: "POST", url: "/jobs", payload });
    expect(created.statusCode).toBe(202);
    const job = await waitForJob(app, created.json().id);
    expect(job.status).toBe("succeeded");
    const result = job.result!;
    expect(result.weightsSha256).toBe(direct.weightsSha256);
    expect(result.history).toEqual(direct.history);
    expect(result.metrics).toEqual(direct.metrics);
    expect(result.confusionMatrix).toEqual(direct.confusionMatrix);
    expect(job.progress.valAuc).toBe(direct.history.valAuc[7]);
    expect(job.progress.precision).toBe(direct.history.precision[7]);
  });

  it("regression metrics", async () => {
    const res = await train({ ...line, metrics: ["meanAbsoluteError", "r2", "rootMeanSquaredError"] });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.history.meanAbsoluteError).toHaveLength(5);
    expect(body.history.r2).toHaveLength(5);
    expect(body.metrics.rootMeanSquaredError).toBeCloseTo(Math.sqrt(body.metrics.loss), 12);
    expect(body.confusionMatrix).toBeUndefined();
  });

  it("a metric that does not apply is a 422 at metrics[i]; a Keras spelling a 400 naming ours", async () => {
    const wrong = await problem({ ...small, metrics: ["accuracy", "r2"] });
    expect(wrong.status).toBe(422);
    expect(wrong.paths).toEqual(["metrics[1]"]);
    expect(wrong.body.detail).toContain("r2 does not apply to sparseCategoricalCrossentropy");
    for (const [keras, ours] of [
      ["mae", "meanAbsoluteError"],
      ["AUC", "auc"],
      ["acc", "accuracy"],
      ["root_mean_squared_error", "rootMeanSquaredError"],
      ["R2Score", "r2"],
    ]) {
      const p = await problem({ ...line, metrics: [keras] });
      expect(p.status, keras).toBe(400);
      expect(p.paths, keras).toEqual(["metrics[0]"]);
      expect(p.body.detail, keras).toContain(ours);
    }
  });
});

describe("sampleWeight and classWeight", () => {
  it("reach the engine: weights of 1 change nothing, others do", async () => {
    const plain = (await train(small)).json();
    const ones = (
      await train({ ...small, sampleWeight: [1, 1, 1, 1, 1, 1], classWeight: { "0": 1 } })
    ).json();
    expect(ones.weightsSha256).toBe(plain.weightsSha256);
    const weighted = (await train({ ...small, sampleWeight: [1, 2, 1, 0, 1, 3] })).json();
    expect(weighted.weightsSha256).not.toBe(plain.weightsSha256);
    const byClass = (await train({ ...small, classWeight: { "1": 2 } })).json();
    const bySample = (await train({ ...small, sampleWeight: xor.y.map((c) => (c === 1 ? 2 : 1)) })).json();
    expect(byClass.weightsSha256).toBe(bySample.weightsSha256);
  });

  it("bad weights: 400 at the element, 422 where the model or data decide", async () => {
    expect(await problem({ ...small, sampleWeight: [1, 1, -1, 1, 1, 1] })).toMatchObject({
      status: 400,
      paths: ["sampleWeight[2]"],
    });
    expect(await problem({ ...small, sampleWeight: [1, 1] })).toMatchObject({
      status: 422,
      paths: ["sampleWeight"],
    });
    expect(await problem({ ...small, classWeight: { "3": 2 } })).toMatchObject({
      status: 422,
      paths: ['classWeight["3"]'],
    });
    const key = await problem({ ...small, classWeight: { one: 2 } });
    expect(key.status).toBe(400);
    expect(key.paths[0]).toContain("classWeight");
    expect(await problem({ ...small, classWeight: { "0": -1 } })).toMatchObject({
      status: 400,
      paths: ['classWeight["0"]'],
    });
    expect(await problem({ ...line, classWeight: { "0": 2 } })).toMatchObject({
      status: 422,
      paths: ["classWeight"],
    });
    expect(
      await problem({ ...line, optimizer: { type: "normalEquation" }, sampleWeight: [1, 2, 1, 1] }),
    ).toMatchObject({ status: 422, paths: ["sampleWeight"] });
  });

  it("classWeight on a sequence output (a class per step) is a 422 pointing to sampleWeight", async () => {
    const tagger = {
      model: {
        inputShape: [3, 2],
        layers: [
          { type: "simpleRNN", units: 3, returnSequences: true },
          { type: "timeDistributed", layer: { type: "dense", units: 2, activation: "softmax" } },
        ],
        loss: "sparseCategoricalCrossentropy",
      },
      dataset: {
        x: [
          [
            [0, 1],
            [1, 0],
            [1, 1],
          ],
          [
            [1, 1],
            [0, 0],
            [0, 1],
          ],
        ],
        y: [
          [0, 1, 1],
          [1, 0, 0],
        ],
      },
      optimizer: sgd,
      epochs: 1,
      seed: 1,
    };
    const ok = await train(tagger);
    expect(ok.statusCode, ok.body).toBe(200);
    const p = await problem({ ...tagger, classWeight: { "1": 2 } });
    expect(p).toMatchObject({ status: 422, paths: ["classWeight"] });
    expect(p.body.detail).toContain("[3, 2]");
    expect(p.body.detail).toContain("sampleWeight");
    expect((await train({ ...tagger, sampleWeight: [1, 2] })).statusCode).toBe(200);
  });

  it("Python spellings are hinted", async () => {
    for (const [python, ours] of [
      ["class_weight", "classWeight"],
      ["sample_weight", "sampleWeight"],
    ] as const) {
      const p = await problem({ ...small, [python]: {} });
      expect(p.status).toBe(400);
      expect(p.body.detail).toContain(ours);
    }
  });

  it("a stored data set: sampleWeight must have its length", async () => {
    const stored = (
      await app.inject({ method: "POST", url: "/datasets", payload: { name: "xor6", ...xor } })
    ).json();
    const body = { ...small, dataset: { id: stored.id } };
    expect(await problem({ ...body, sampleWeight: [1, 2, 3] })).toMatchObject({
      status: 422,
      paths: ["sampleWeight"],
    });
    const ok = await train({ ...body, sampleWeight: [1, 2, 1, 0, 1, 3] });
    expect(ok.statusCode).toBe(200);
    const inline = (await train({ ...small, sampleWeight: [1, 2, 1, 0, 1, 3] })).json();
    expect(ok.json().weightsSha256).toBe(inline.weightsSha256);
    const job = await app.inject({ method: "POST", url: "/jobs", payload: { ...body, sampleWeight: [1] } });
    expect(job.statusCode).toBe(422);
    expect((job.json() as ProblemBody).errors![0]!.path).toBe("sampleWeight");
  });
});
