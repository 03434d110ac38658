/**
 * The registry's side of training: every succeeded job stores its model (the same weights, bit
 * for bit, as its result), POST /train stores one with `saveModel`, a diverged run or a cancelled
 * job stores none, models are their owner's, `return` makes lean answers whose
 * `weightsSha256` is the full answer's, and MODEL_RETENTION_DAYS deletes old models.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type NamedTensors, weightsSha256 } from "../../src/engine/index.js";
import { JobSchema } from "../../src/schemas/jobs.js";
import { TrainAnswerSchema, TrainResponseSchema } from "../../src/schemas/responses.js";
import { ownerOf } from "../../src/service/auth.js";
import { namedTensorsToNested } from "../../src/service/convert.js";
import { ALICE, BOB, irisJob } from "../fixtures.js";
import { buildTestApp } from "./helper.js";
import { parseSse } from "./sse.js";

const auth = (key: string) => ({ authorization: `Bearer ${key}` });
const diverging = {
  model: { inputShape: [1], layers: [{ type: "dense", units: 1 }], loss: "meanSquaredError" },
  dataset: { x: [[100], [200]], y: [1e6, 2e6] },
  optimizer: { type: "sgd", learningRate: 10 },
  epochs: 100,
  seed: 1,
};
const nested = (w: NamedTensors) => namedTensorsToNested(w);

describe("models saved by jobs and POST /train", () => {
  let app: FastifyInstance;
  const alice = ownerOf(ALICE);
  const bob = ownerOf(BOB);
  beforeAll(async () => {
    app = await buildTestApp({
      API_KEYS: `${ALICE},${BOB}`,
      MAX_CONCURRENT_JOBS: "1",
      CHECKPOINT_EVERY: "4",
    });
  });
  afterAll(async () => {
    await app.close();
  });

  const post = (url: string, key: string, payload: object) =>
    app.inject({ method: "POST", url, payload, headers: auth(key) });
  const job = async (key: string, body: object) => {
    const res = await post("/jobs", key, body);
    expect(res.statusCode, res.body).toBe(202);
    return res.json().id as string;
  };
  /** Polls the owner's job until `until` holds (default: it ended). */
  const ended = async (
    key: string,
    id: string,
    until = (status: string) => !["queued", "running"].includes(status),
  ) => {
    for (;;) {
      const j = JobSchema.parse((await app.inject({ url: `/jobs/${id}`, headers: auth(key) })).json());
      if (until(j.status)) return j;
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  it("a succeeded job stores its model: the result's weights bit for bit, its spec, optimiser, data set and summary", async () => {
    const body = irisJob(10, { validationSplit: 0.2 });
    const id = await job(ALICE, body);
    const done = await ended(ALICE, id);
    expect(done.status).toBe("succeeded");
    const result = TrainResponseSchema.parse(done.result);
    expect(done.modelId).toMatch(/^mdl_[A-Za-z0-9_-]{22}$/);
    expect(result.modelId).toBe(done.modelId);

    const model = (await app.store.models.get(done.modelId!, alice))!;
    expect(model).toMatchObject({
      id: done.modelId,
      owner: alice,
      source: "job",
      jobId: id,
      spec: body.model,
      optimizer: body.optimizer,
      dataset: { builtin: "iris" },
      seed: 7,
      engineVersion: result.engineVersion,
      weightsSha256: result.weightsSha256,
      parameters: 4 * 8 + 8 + 8 * 3 + 3,
    });
    expect(model.metrics).toEqual({
      metrics: result.metrics,
      epochsRun: 10,
      initialEpoch: 0,
      final: {
        loss: result.history.loss.at(-1),
        accuracy: result.history.accuracy!.at(-1),
        valLoss: result.history.valLoss!.at(-1),
        valAccuracy: result.history.valAccuracy!.at(-1),
      },
    });
    const weights = (await app.store.models.weights(done.modelId!, alice))!;
    // JSON numbers round-trip float64 exactly: equal arrays are equal bits; the hash says it too.
    expect(nested(weights)).toEqual(result.weights);
    expect(weightsSha256(weights)).toBe(result.weightsSha256);
    expect(Object.keys(weights)).toEqual(Object.keys(result.weights));

    // The succeeded event names it as well.
    const events = parseSse((await app.inject({ url: `/jobs/${id}/events`, headers: auth(ALICE) })).body);
    expect(JSON.parse(events.at(-1)!.data)).toMatchObject({ status: "succeeded", modelId: done.modelId });

    // Only its owner sees it (the store's ownership, as the routes under /models will use it).
    expect(await app.store.models.get(done.modelId!, bob)).toBeUndefined();
    expect(await app.store.models.weights(done.modelId!, bob)).toBeUndefined();
    expect((await app.store.models.list(10, { owner: bob }))!.items).toEqual([]);
    expect((await app.store.models.list(10, { owner: alice }))!.items.map((m) => m.id)).toContain(
      done.modelId,
    );
    expect(await app.store.models.delete(done.modelId!, bob)).toBe(false);
  });

  it("a cancelled job and a diverged one store none", async () => {
    const before = (await app.store.models.list(100, { owner: bob }))!.items.length;
    const longId = await job(BOB, irisJob(5000, { batchSize: 1 }));
    await ended(BOB, longId, (status) => status === "running");
    const cancelled = await app.inject({ method: "POST", url: `/jobs/${longId}/cancel`, headers: auth(BOB) });
    expect(cancelled.json().status).toBe("cancelled");
    const failed = await ended(BOB, await job(BOB, diverging));
    expect(failed.status).toBe("failed");
    expect(failed.modelId).toBeUndefined();
    expect(JobSchema.parse(cancelled.json()).modelId).toBeUndefined();
    expect((await app.store.models.list(100, { owner: bob }))!.items).toHaveLength(before);
  });

  it("POST /train stores its model with saveModel, and only then", async () => {
    const body = irisJob(5);
    const plain = await post("/train", BOB, body);
    expect(plain.json().modelId).toBeUndefined();
    expect((await app.store.models.list(100, { owner: bob }))!.items).toHaveLength(0);

    const res = await post("/train", BOB, { ...body, saveModel: true });
    expect(res.statusCode, res.body).toBe(200);
    const answer = TrainResponseSchema.parse(res.json());
    expect(answer.modelId).toMatch(/^mdl_/);
    expect(answer.weightsSha256).toBe(plain.json().weightsSha256);
    const model = (await app.store.models.get(answer.modelId!, bob))!;
    expect(model).toMatchObject({
      source: "train",
      jobId: null,
      seed: 7,
      weightsSha256: answer.weightsSha256,
    });
    expect(model.metrics).toMatchObject({ metrics: answer.metrics, epochsRun: 5 });
    const weights = (await app.store.models.weights(answer.modelId!))!;
    expect(nested(weights)).toEqual(answer.weights);
    expect(weightsSha256(weights)).toBe(answer.weightsSha256);
    expect(await app.store.models.get(answer.modelId!, alice)).toBeUndefined();

    // An inline data set is named by its size.
    const inline = await post("/train", BOB, {
      ...body,
      dataset: {
        x: [
          [0, 0, 0, 0],
          [1, 1, 1, 1],
          [2, 2, 2, 2],
        ],
        y: [0, 1, 2],
      },
      saveModel: true,
      return: [],
    });
    const lean = inline.json();
    expect((await app.store.models.get(lean.modelId, bob))!.dataset).toEqual({ inline: { samples: 3 } });
  });

  it("a diverged /train run saves nothing and says why", async () => {
    const res = await post("/train", ALICE, { ...diverging, saveModel: true });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.diverged).toBeDefined();
    expect(body.modelId).toBeUndefined();
    expect(body.modelNotSaved).toMatch(/^the run diverged/);
    expect((await app.store.models.list(100, { owner: alice }))!.items.map((m) => m.source)).not.toContain(
      "train",
    );
  });

  it("return: a lean answer carries only the parts asked for, with the full answer's weightsSha256", async () => {
    const body = irisJob(20, { validationSplit: 0.2, telemetry: true, returnOptimizerState: true });
    const full = await post("/train", ALICE, body);
    const lean = await post("/train", ALICE, { ...body, return: ["history", "metrics"] });
    const bare = await post("/train", ALICE, { ...body, return: [] });
    const f = full.json();
    const l = lean.json();
    TrainAnswerSchema.parse(l);
    expect(Object.keys(f)).toEqual(
      expect.arrayContaining([
        "weights",
        "gradients",
        "history",
        "metrics",
        "confusionMatrix",
        "telemetry",
        "optimizerState",
      ]),
    );
    expect(Object.keys(l).sort()).toEqual(
      [
        "durationMs",
        "engineVersion",
        "epochsRun",
        "history",
        "initialEpoch",
        "metrics",
        "seed",
        "weightsSha256",
      ].sort(),
    );
    expect(Object.keys(bare.json()).sort()).toEqual(
      ["durationMs", "engineVersion", "epochsRun", "initialEpoch", "seed", "weightsSha256"].sort(),
    );
    expect(l.weightsSha256).toBe(f.weightsSha256);
    expect(bare.json().weightsSha256).toBe(f.weightsSha256);
    expect(l.history).toEqual(f.history);
    // No final gradient computed: the metrics come from the same forward pass, bit for bit.
    expect(l.metrics).toEqual(f.metrics);
    expect(lean.body.length).toBeLessThan(full.body.length / 3);
    // Each part alone.
    const weightsOnly = (await post("/train", ALICE, { ...body, return: ["weights"] })).json();
    expect(weightsOnly.weights).toEqual(f.weights);
    expect(weightsOnly.gradients).toBeUndefined();
    const gradientsOnly = (await post("/train", ALICE, { ...body, return: ["gradients"] })).json();
    expect(gradientsOnly.gradients).toEqual(f.gradients);
    expect(gradientsOnly.weights).toBeUndefined();
  });

  it("return on a job: its result is lean, its model and events whole", async () => {
    const fullBody = irisJob(9);
    const body = { ...fullBody, return: ["metrics"] };
    const id = await job(ALICE, body);
    const done = await ended(ALICE, id);
    const sync = (await post("/train", ALICE, fullBody)).json();
    expect(Object.keys(done.result!).sort()).toEqual(
      [
        "durationMs",
        "engineVersion",
        "epochsRun",
        "initialEpoch",
        "metrics",
        "modelId",
        "seed",
        "weightsSha256",
      ].sort(),
    );
    expect(done.result!.weightsSha256).toBe(sync.weightsSha256);
    expect(done.result!.metrics).toEqual(sync.metrics);
    const weights = (await app.store.models.weights(done.modelId!, alice))!;
    expect(nested(weights)).toEqual(sync.weights);
    expect((await app.store.models.get(done.modelId!))!.metrics).toMatchObject({
      final: { loss: sync.history.loss.at(-1) },
    });
  });

  it("refuses a broken return or saveModel, naming the field", async () => {
    const bad = await post("/train", ALICE, { ...irisJob(1), return: ["weights", "everything"] });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().errors[0].path).toBe("return[1]");
    expect(bad.json().errors[0].message).toMatch(/weights/);
    const notList = await post("/jobs", ALICE, { ...irisJob(1), return: "weights" });
    expect(notList.statusCode).toBe(400);
    expect(notList.json().errors[0].path).toBe("return");
    const save = await post("/train", ALICE, { ...irisJob(1), saveModel: "yes" });
    expect(save.statusCode).toBe(400);
    expect(save.json().errors[0].path).toBe("saveModel");
  });
});

describe("MODEL_RETENTION_DAYS", () => {
  it("deletes models created before it when the service starts, whatever their job became, and keeps the rest", async () => {
    const dir = mkdtempSync(join(tmpdir(), "model-retention-"));
    let app = await buildTestApp({ DATA_DIR: dir });
    try {
      const train = async () =>
        (
          await app.inject({ method: "POST", url: "/train", payload: { ...irisJob(2), saveModel: true } })
        ).json().modelId as string;
      const old = await train();
      const recent = await train();
      await app.close();
      const db = new Database(join(dir, "service.sqlite"));
      db.prepare("UPDATE models SET created_at = '2020-01-01T00:00:00.000Z' WHERE id = ?").run(old);
      db.close();
      // JOB_RETENTION_DAYS alone leaves models alone.
      app = await buildTestApp({ DATA_DIR: dir, JOB_RETENTION_DAYS: "30" });
      expect(await app.store.models.get(old)).toBeDefined();
      await app.close();
      app = await buildTestApp({ DATA_DIR: dir, MODEL_RETENTION_DAYS: "30" });
      expect(await app.store.models.get(old)).toBeUndefined();
      expect(await app.store.models.weights(old)).toBeUndefined();
      expect((await app.store.models.get(recent))?.source).toBe("train");
    } finally {
      await app.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
