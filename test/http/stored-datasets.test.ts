/** POST/GET/DELETE /datasets: stored data sets from JSON and CSV, trained on by id. */

import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { namedRequestExamples } from "../../src/schemas/examples.js";
import { taggerModelExample } from "../../src/schemas/examples-datasets.js";
import { StoredDatasetSchema } from "../../src/schemas/stored-datasets.js";
import { irisCsv, xor, xorModel } from "../fixtures.js";
import { buildTestApp } from "./helper.js";

let app: FastifyInstance;
beforeAll(async () => {
  app = await buildTestApp({ MAX_CONCURRENT_JOBS: "1" });
});
afterAll(async () => {
  await app.close();
});

const postCsv = (csv: string, query = "") =>
  app.inject({
    method: "POST",
    url: `/datasets${query}`,
    payload: csv,
    headers: { "content-type": "text/csv" },
  });

describe("stored data sets", () => {
  it("stores JSON (201, Location) and trains on it by id exactly as on the same data inline", async () => {
    const res = await app.inject({ method: "POST", url: "/datasets", payload: { name: "xor", ...xor } });
    expect(res.statusCode, res.body).toBe(201);
    const stored = StoredDatasetSchema.parse(res.json());
    expect(stored).toMatchObject({
      name: "xor",
      format: "json",
      samples: 4,
      inputShape: [2],
      targetShape: [],
    });
    expect(stored.id).toMatch(/^ds_[0-9a-f]{24}$/);
    expect(res.headers.location).toBe(`/datasets/${stored.id}`);

    const body = { model: xorModel, optimizer: { type: "adam", learningRate: 0.05 }, epochs: 30, seed: 5 };
    const byId = await app.inject({
      method: "POST",
      url: "/train",
      payload: { ...body, dataset: { id: stored.id } },
    });
    const inline = await app.inject({ method: "POST", url: "/train", payload: { ...body, dataset: xor } });
    expect(byId.statusCode, byId.body).toBe(200);
    expect(byId.json().weightsSha256).toBe(inline.json().weightsSha256);

    const got = await app.inject({ method: "GET", url: `/datasets/${stored.id}` });
    expect(got.json()).toEqual(stored);
  });

  it("stores CSV with class names, returns the mapping, and trains a job on it", async () => {
    const res = await postCsv(irisCsv(), "?label=species&name=iris-csv");
    expect(res.statusCode, res.body).toBe(201);
    const stored = res.json();
    expect(stored).toMatchObject({
      name: "iris-csv",
      format: "csv",
      samples: 150,
      inputShape: [4],
      targetShape: [],
      classes: ["setosa", "versicolor", "virginica"],
      columns: { features: ["sepal length", "sepal width", "petal length", "petal width"], label: "species" },
    });
    const job = await app.inject({
      method: "POST",
      url: "/jobs",
      payload: {
        model: {
          inputShape: [4],
          layers: [
            { type: "dense", units: 8, activation: "tanh" },
            { type: "dense", units: 3, activation: "softmax" },
          ],
          loss: "categoricalCrossentropy", // one-hot from the stored labels
        },
        dataset: { id: stored.id },
        optimizer: { type: "adam", learningRate: 0.02 },
        epochs: 40,
        batchSize: 16,
        seed: 3,
      },
    });
    expect(job.statusCode, job.body).toBe(202);
    expect(job.json().datasetId).toBe(stored.id);
    let done = job.json();
    while (["queued", "running"].includes(done.status)) {
      await new Promise((r) => setTimeout(r, 20));
      done = (await app.inject({ method: "GET", url: `/jobs/${done.id}` })).json();
    }
    expect(done.status, JSON.stringify(done.error)).toBe("succeeded");
    expect(done.result.metrics.accuracy).toBeGreaterThan(0.8);
  });

  it("answers 400/422 naming the line and column for bad CSV", async () => {
    const cases: [string, string, number, string, RegExp][] = [
      ['a,b,y\n1,2,0\n3,"4,1\n', "", 400, "line[3]", /not valid CSV \(line 3\)/],
      ["a,b,y\n1,2,0\n3,4\n", "", 400, "line[3]", /line 3 has 2 fields; the header has 3 columns/],
      ["a,b,y\n1,2,0\n", "?label=species", 422, "querystring.label", /no column "species"/],
      ["a,b,y\n1,2,0\n3,x,1\n", "", 422, "line[3].b", /"x" is not a number/],
    ];
    for (const [csv, query, status, path, detail] of cases) {
      const res = await postCsv(csv, query);
      expect(res.statusCode, csv).toBe(status);
      expect(res.headers["content-type"]).toMatch(/^application\/problem\+json/);
      expect(res.json().errors[0].path).toBe(path);
      expect(res.json().detail).toMatch(detail);
    }
    const json = await app.inject({
      method: "POST",
      url: "/datasets",
      payload: { x: [[1, 2], [3]], y: [0, 1] },
    });
    expect(json.statusCode).toBe(422);
    expect(json.json().errors[0].path).toBe("x[1]");
    const plain = await app.inject({
      method: "POST",
      url: "/datasets",
      payload: "a,b\n1,2\n",
      headers: { "content-type": "text/plain" },
    });
    expect(plain.statusCode).toBe(415);
    // CSV is accepted here only: /train still takes JSON alone.
    const train = await app.inject({
      method: "POST",
      url: "/train",
      payload: "a\n1\n",
      headers: { "content-type": "text/csv" },
    });
    expect(train.statusCode).toBe(415);
  });

  it("lists stored data sets newest first beside the built-in ones, one page at a time", async () => {
    const a = (await app.inject({ method: "POST", url: "/datasets", payload: { name: "a", ...xor } })).json();
    const b = (await app.inject({ method: "POST", url: "/datasets", payload: { name: "b", ...xor } })).json();
    const page = (await app.inject({ method: "GET", url: "/datasets?limit=1" })).json();
    expect(page.datasets.map((d: { name: string }) => d.name)).toEqual([
      "iris",
      "xor",
      "mnist",
      "addingProblem",
      "sineWave",
    ]);
    expect(page.stored.map((d: { id: string }) => d.id)).toEqual([b.id]);
    expect(page.hasMore).toBe(true);
    const next = (await app.inject({ method: "GET", url: page.next })).json();
    expect(next.stored.map((d: { id: string }) => d.id)).toEqual([a.id]);
  });

  it("deletes a data set (204, then 404), but not while an unfinished job trains on it (409)", async () => {
    const { id } = (await app.inject({ method: "POST", url: "/datasets", payload: xor })).json();
    const job = (
      await app.inject({
        method: "POST",
        url: "/jobs",
        payload: {
          model: xorModel,
          dataset: { id },
          optimizer: { type: "sgd", learningRate: 0.1 },
          epochs: 10_000,
          batchSize: 1,
          seed: 1,
        },
      })
    ).json();
    const busy = await app.inject({ method: "DELETE", url: `/datasets/${id}` });
    expect(busy.statusCode).toBe(409);
    expect(busy.json().detail).toContain(job.id);
    await app.inject({ method: "POST", url: `/jobs/${job.id}/cancel` });
    const del = await app.inject({ method: "DELETE", url: `/datasets/${id}` });
    expect(del.statusCode).toBe(204);
    expect(del.body).toBe("");
    for (const [method, url] of [
      ["GET", `/datasets/${id}`],
      ["DELETE", `/datasets/${id}`],
    ] as const) {
      const res = await app.inject({ method, url });
      expect(res.statusCode).toBe(404);
      expect(res.json().type).toBe("/problems/not-found");
    }
    const train = await app.inject({
      method: "POST",
      url: "/train",
      payload: { model: xorModel, dataset: { id }, optimizer: { type: "sgd", learningRate: 0.1 }, epochs: 1 },
    });
    expect(train.statusCode).toBe(404);
    expect(train.json().detail).toBe(`there is no stored data set ${id} (POST /datasets stores one)`);
    expect(train.json().errors[0].path).toBe("dataset.id");
  });

  it("names ?label when a JSON body is sent with it", async () => {
    const res = await app.inject({
      method: "POST",
      url: "/datasets?label=a",
      payload: { x: [[0], [1]], y: [0, 1] },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().errors).toEqual([
      { path: "querystring.label", message: expect.stringMatching(/CSV bodies/) },
    ]);
  });

  it("stores one sequence per CSV row with ?inputShape=T,F and trains a simpleRNN on it by id as on the same data inline", async () => {
    // 3 samples of 2 steps × 2 features: columns a0, b0 (step 0), a1, b1 (step 1), then the target.
    const csv = "a0,b0,a1,b1,y\n0.1,0.2,0.3,0.4,1\n0.5,0.6,0.7,0.8,0\n-1,0,1,0,0.5\n";
    const res = await postCsv(csv, "?inputShape=2,2");
    expect(res.statusCode, res.body).toBe(201);
    const stored = StoredDatasetSchema.parse(res.json());
    expect(stored.inputShape).toEqual([2, 2]);
    const model = {
      inputShape: [2, 2],
      layers: [
        { type: "simpleRNN", units: 2 },
        { type: "dense", units: 1 },
      ],
      loss: "meanSquaredError",
    };
    const body = { model, optimizer: { type: "sgd", learningRate: 0.1 }, epochs: 3, seed: 2 };
    const byId = await app.inject({
      method: "POST",
      url: "/train",
      payload: { ...body, dataset: { id: stored.id } },
    });
    const inline = await app.inject({
      method: "POST",
      url: "/train",
      payload: {
        ...body,
        dataset: {
          x: [
            [
              [0.1, 0.2],
              [0.3, 0.4],
            ],
            [
              [0.5, 0.6],
              [0.7, 0.8],
            ],
            [
              [-1, 0],
              [1, 0],
            ],
          ],
          y: [1, 0, 0.5],
        },
      },
    });
    expect(byId.statusCode, byId.body).toBe(200);
    expect(byId.json().weightsSha256).toBe(inline.json().weightsSha256);
    const bad = await postCsv(csv, "?inputShape=3,2");
    expect(bad.statusCode).toBe(422);
    expect(bad.json().errors).toEqual([
      {
        path: "querystring.inputShape",
        message: "inputShape [3, 2] holds 6 values per sample; the CSV has 4 feature columns",
      },
    ]);
    expect((await postCsv(csv, "?inputShape=2,x")).statusCode).toBe(400);
    const json = await app.inject({
      method: "POST",
      url: "/datasets?inputShape=2",
      payload: { x: [[0], [1]], y: [0, 1] },
    });
    expect(json.statusCode).toBe(400);
    expect(json.json().errors[0].path).toBe("querystring.inputShape");
  });
  it("stores per-step labels [T] and trains a masked tagger on them by id exactly as on the same data inline", async () => {
    const x = [
      [3, 5, 1, 7, 0, 0],
      [2, 2, 6, 0, 0, 0],
      [1, 4, 4, 4, 5, 7],
      [6, 0, 0, 0, 0, 0],
    ];
    const y = [
      [0, 2, 1, 2, 0, 0],
      [1, 1, 2, 0, 0, 0],
      [0, 1, 1, 1, 2, 2],
      [2, 0, 0, 0, 0, 0],
    ];
    const res = await app.inject({ method: "POST", url: "/datasets", payload: { x, y, inputShape: [6] } });
    expect(res.statusCode, res.body).toBe(201);
    const stored = StoredDatasetSchema.parse(res.json());
    expect(stored.targetShape).toEqual([6]);
    const tagger = (steps: number) => ({
      inputShape: [steps],
      layers: [
        { type: "embedding", inputDim: 8, outputDim: 3, maskZero: true },
        { type: "lstm", units: 4, returnSequences: true },
        { type: "timeDistributed", layer: { type: "dense", units: 3, activation: "softmax" } },
      ],
      loss: "sparseCategoricalCrossentropy",
    });
    const body = { optimizer: { type: "adam", learningRate: 0.05 }, epochs: 4, batchSize: 2, seed: 9 };
    const train = (model: object, dataset: object) =>
      app.inject({ method: "POST", url: "/train", payload: { ...body, model, dataset } });
    const byId = await train(tagger(6), { id: stored.id });
    const inline = await train(tagger(6), { x, y });
    expect(byId.statusCode, byId.body).toBe(200);
    expect(inline.statusCode, inline.body).toBe(200);
    expect(byId.json().weightsSha256).toBe(inline.json().weightsSha256);
    expect(byId.json().history.loss).toEqual(inline.json().history.loss);

    // Labels that fit neither shape: per-step labels for a one-label model, one label per sample for a tagger.
    const oneLabel = {
      inputShape: [6],
      layers: [{ type: "dense", units: 3, activation: "softmax" }],
      loss: "sparseCategoricalCrossentropy",
    };
    const refused = await train(oneLabel, { id: stored.id });
    expect(refused.statusCode).toBe(422);
    expect(refused.json().errors).toEqual([
      {
        path: "dataset.id",
        message: `sparseCategoricalCrossentropy needs one class label per sample; data set ${stored.id} has targets of shape [6]`,
      },
    ]);
    const perSample = await app.inject({
      method: "POST",
      url: "/datasets",
      payload: { x, y: [0, 1, 2, 1] },
    });
    expect(perSample.statusCode, perSample.body).toBe(201);
    const short = await train(tagger(6), { id: perSample.json().id });
    expect(short.statusCode).toBe(422);
    expect(short.json().errors).toEqual([
      {
        path: "dataset.id",
        message:
          "sparseCategoricalCrossentropy needs one class label per step (shape [6]) for the model's sequence " +
          `output [6, 3]; data set ${perSample.json().id} has targets of shape []`,
      },
    ]);
  });
  it("stores each of Swagger UI's POST /datasets examples, and its tagger trains on the tagged sentences by id", async () => {
    const examples = namedRequestExamples["/datasets"]!;
    expect(Object.keys(examples)).toEqual(["xor", "taggedSequences"]);
    const ids: Record<string, string> = {};
    for (const [name, { value }] of Object.entries(examples)) {
      const res = await app.inject({ method: "POST", url: "/datasets", payload: value as object });
      expect(res.statusCode, `${name}: ${res.body}`).toBe(201);
      ids[name] = res.json().id;
    }
    const tagged = (await app.inject({ method: "GET", url: `/datasets/${ids.taggedSequences}` })).json();
    expect(tagged).toMatchObject({ samples: 6, inputShape: [10], targetShape: [10] });
    const res = await app.inject({
      method: "POST",
      url: "/train",
      payload: {
        model: taggerModelExample,
        dataset: { id: ids.taggedSequences },
        optimizer: { type: "adam", learningRate: 0.05 },
        epochs: 30,
        batchSize: 6,
        seed: 1,
        return: ["history", "metrics"],
      },
    });
    expect(res.statusCode, res.body).toBe(200);
    const { history, metrics } = res.json();
    // The loss over the 31 real steps falls from about ln 3 = 1.0986 as the tagger learns them all.
    expect(history.loss[0]).toBeCloseTo(Math.log(3), 1);
    expect(history.loss.at(-1)).toBeLessThan(0.05);
    expect(metrics.accuracy).toBe(1);
  });
});
