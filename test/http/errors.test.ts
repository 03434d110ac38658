/**
 * Every error answers application/problem+json (RFC 9457) with the right status and, for 400
 * and 422, the path of each bad field in the request body.
 */
import type { FastifyInstance, LightMyRequestResponse } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildTestApp, type ProblemBody, sgd, tinyModel } from "./helper.js";

let app: FastifyInstance;
beforeAll(async () => {
  app = await buildTestApp();
});
afterAll(async () => {
  await app.close();
});

const xs = [
  [0.1, 0.2],
  [0.3, -0.4],
  [-0.5, 0.6],
];

function trainBody(overrides: Record<string, unknown> = {}) {
  return {
    model: tinyModel(),
    dataset: { x: xs, y: [0, 1, 2] },
    optimizer: sgd,
    epochs: 2,
    seed: 1,
    ...overrides,
  };
}

/** The problem answered, after checking status and content type. */
function problem(res: LightMyRequestResponse, status: number): ProblemBody {
  expect(res.headers["content-type"]).toMatch(/^application\/problem\+json/);
  const body = res.json() as ProblemBody;
  expect(res.statusCode, JSON.stringify(body)).toBe(status);
  expect(body.status).toBe(status);
  expect(body.title).toBeTypeOf("string");
  expect(body.detail).toBeTypeOf("string");
  expect(body.type).toBeTypeOf("string");
  return body;
}

function paths(body: ProblemBody): string[] {
  return (body.errors ?? []).map((e) => e.path);
}

const post = (url: string, payload: unknown) =>
  app.inject({ method: "POST", url, payload: payload as object });

describe("400: the body does not match the schema", () => {
  it("names an unknown layer type", async () => {
    const model = tinyModel();
    model.layers[1] = { type: "dens", units: 3, activation: "softmax" };
    const body = problem(await post("/train", trainBody({ model })), 400);
    expect(body.type).toBe("/problems/invalid-request");
    expect(paths(body)).toEqual(["model.layers[1].type"]);
    expect(body.errors?.[0]?.message).toMatch(/dense/);
  });

  it("names an unknown loss", async () => {
    const body = problem(await post("/train", trainBody({ model: tinyModel("crossEntropy") })), 400);
    expect(paths(body)).toEqual(["model.loss"]);
  });

  it.each([0, -3, 2.5])("names units = %s (must be a positive integer)", async (units) => {
    const model = tinyModel();
    model.layers[0] = { type: "dense", units, activation: "tanh" };
    const body = problem(await post("/train", trainBody({ model })), 400);
    expect(paths(body)).toEqual(["model.layers[0].units"]);
  });

  it("lists every bad field at once, unknown keys included", async () => {
    const model = { ...tinyModel(), layers: [{ type: "dense", units: 0, colour: "red" }], loss: "nope" };
    const body = problem(await post("/train", trainBody({ model, epochs: 0, extra: true })), 400);
    expect(paths(body).sort()).toEqual(
      ["epochs", "extra", "model.layers[0].colour", "model.layers[0].units", "model.loss"].sort(),
    );
    expect(body.errors?.find((e) => e.path === "extra")?.message).toBe("unknown field");
  });

  it.each([
    [{ name: "xor", x: [[0, 0]], y: [0] }, "dataset", /not several: `name`, `x`, `y`/],
    [{ id: "ds_1", name: "xor" }, "dataset", /not several: `id`, `name`/],
    [{ name: "xor", bogus: 1 }, "dataset.bogus", /^unknown field$/],
    [{ x: [[0, 0]], y: [0], bogus: 2 }, "dataset.bogus", /^unknown field$/],
  ])(
    "says which data set forms are mixed, and names a field no form knows (%j)",
    async (dataset, path, message) => {
      const body = problem(await post("/train", trainBody({ dataset })), 400);
      expect(paths(body)).toEqual([path]);
      expect(body.errors?.[0]?.message).toMatch(message);
    },
  );

  it("names a missing required field", async () => {
    const { optimizer: _omitted, ...rest } = trainBody();
    const body = problem(await post("/train", rest), 400);
    expect(paths(body)).toEqual(["optimizer"]);
    expect(body.errors?.[0]?.message).toMatch(/missing/);
  });

  it("requires epochs unless the optimizer is normalEquation", async () => {
    const { epochs: _omitted, ...rest } = trainBody();
    const body = problem(await post("/train", rest), 400);
    expect(paths(body)).toEqual(["epochs"]);
  });

  it("names x and y of different lengths", async () => {
    const body = problem(await post("/train", trainBody({ dataset: { x: xs, y: [0, 1] } })), 400);
    expect(paths(body)).toEqual(["dataset.y"]);
    expect(body.errors?.[0]?.message).toMatch(/2 entries but x has 3 samples/);
  });

  it("names an empty data set", async () => {
    const body = problem(await post("/train", trainBody({ dataset: { x: [], y: [] } })), 400);
    expect(paths(body)).toEqual(["dataset.x"]);
    expect(body.errors?.[0]?.message).toMatch(/empty/);
  });

  it("names an unknown built-in data set", async () => {
    const body = problem(await post("/train", trainBody({ dataset: { name: "cifar10" } })), 400);
    expect(paths(body)).toEqual(["dataset.name"]);
  });

  it("rejects Infinity (JSON 1e999) in the samples, naming the value", async () => {
    const raw = JSON.stringify(trainBody()).replace("[0.3,-0.4]", "[0.3,1e999]");
    expect(raw).toContain("1e999");
    const res = await app.inject({
      method: "POST",
      url: "/train",
      headers: { "content-type": "application/json" },
      payload: raw,
    });
    const body = problem(res, 400);
    expect(paths(body)).toEqual(["dataset.x[1][1]"]);
    expect(body.errors?.[0]?.message).toMatch(/finite number, got Infinity/);
  });

  it("rejects -Infinity in a target and in weights", async () => {
    const raw = JSON.stringify({
      model: tinyModel("meanSquaredError"),
      dataset: {
        x: xs,
        y: [
          [0, 0, 1],
          [0, 1, 0],
          [1, 0, "__"],
        ],
      },
      optimizer: sgd,
      epochs: 1,
    }).replace('"__"', "-1e999");
    const res = await app.inject({
      method: "POST",
      url: "/train",
      headers: { "content-type": "application/json" },
      payload: raw,
    });
    expect(paths(problem(res, 400))).toEqual(["dataset.y[2][2]"]);
  });

  it("rejects a string where a sample value belongs", async () => {
    const body = problem(await post("/train", trainBody({ dataset: { x: [[1, "2"]], y: [0] } })), 400);
    expect(paths(body)).toEqual(["dataset.x[0][1]"]);
  });

  it("names a ragged weight array with its key", async () => {
    const body = problem(
      await post("/predict", {
        model: tinyModel(),
        weights: {
          "dense_0/kernel": [
            [1, 2, 3, 4],
            [5, 6],
          ],
        },
        x: [[0, 0]],
      }),
      400,
    );
    expect(paths(body)).toEqual(['weights["dense_0/kernel"][1]']);
    expect(body.errors?.[0]?.message).toMatch(/ragged/);
  });

  it("answers malformed JSON with 400", async () => {
    const res = await app.inject({
      method: "POST",
      url: "/train",
      headers: { "content-type": "application/json" },
      payload: '{"model": {',
    });
    const body = problem(res, 400);
    expect(body.type).toBe("/problems/malformed-json");
    expect(body.detail).toBe("the request body is not valid JSON (at line 1, column 12)");
    // Where, or at what, as V8 says it; never more of the body than one token.
    const at = async (payload: string) =>
      problem(
        await app.inject({
          method: "POST",
          url: "/train",
          headers: { "content-type": "application/json" },
          payload,
        }),
        400,
      ).detail;
    expect(await at('{"a": 1,\n "b": [1, 2}')).toBe(
      "the request body is not valid JSON (at line 2, column 12)",
    );
    expect(await at('{"a": }')).toBe('the request body is not valid JSON (at an unexpected "}")');
    expect(await at('{"a": 1} x')).toMatch(
      /^the request body is not valid JSON \((after the JSON value|at line 1, column 10)\)$/,
    );
  });

  it("answers an empty JSON body with 400", async () => {
    const res = await app.inject({
      method: "POST",
      url: "/train",
      headers: { "content-type": "application/json" },
      payload: "",
    });
    problem(res, 400);
  });
});

describe("422: well-formed but does not fit the model", () => {
  it("names a sample of the wrong length", async () => {
    const x = [
      [0.1, 0.2],
      [0.3, 0.4, 0.5],
      [0, 0],
    ];
    const body = problem(await post("/train", trainBody({ dataset: { x, y: [0, 1, 2] } })), 422);
    expect(body.type).toBe("/problems/unprocessable");
    expect(body.errors).toEqual([{ path: "dataset.x[1]", message: "expected 2 values (shape [2]), got 3" }]);
  });

  it("names a nested sample that does not match an image shape", async () => {
    const model = {
      inputShape: [2, 2, 1],
      layers: [{ type: "flatten" }, { type: "dense", units: 1 }],
      loss: "meanSquaredError",
    };
    const x = [
      [
        [[1], [2]],
        [[3], [4]],
      ],
      [[[1], [2]], [[3]]],
    ];
    const body = problem(await post("/train", trainBody({ model, dataset: { x, y: [1, 2] } })), 422);
    expect(paths(body)).toEqual(["dataset.x[1][1]"]);
    expect(body.errors?.[0]?.message).toMatch(/expected 2 entries along axis 1/);
  });

  it("names a target vector of the wrong size", async () => {
    const dataset = {
      x: xs,
      y: [
        [1, 0, 0],
        [0, 1],
        [0, 0, 1],
      ],
    };
    const body = problem(
      await post("/train", trainBody({ model: tinyModel("categoricalCrossentropy"), dataset })),
      422,
    );
    expect(body.errors).toEqual([{ path: "dataset.y[1]", message: "expected 3 values (shape [3]), got 2" }]);
  });

  it.each([3, -1, 1.5])("names label %s outside [0, units)", async (label) => {
    const body = problem(await post("/train", trainBody({ dataset: { x: xs, y: [0, label, 2] } })), 422);
    expect(paths(body)).toEqual(["dataset.y[1]"]);
    expect(body.errors?.[0]?.message).toMatch(/\[0, 3\)/);
  });

  it("names a one-hot vector sent for the sparse loss", async () => {
    const dataset = { x: xs, y: [0, [0, 1, 0], 2] };
    const body = problem(await post("/train", trainBody({ dataset })), 422);
    expect(paths(body)).toEqual(["dataset.y[1]"]);
    expect(body.errors?.[0]?.message).toMatch(/integer class label/);
  });

  it("names a layer whose shapes do not fit", async () => {
    const model = {
      inputShape: [2, 2, 1],
      layers: [{ type: "maxPooling2d", poolSize: 3 }, { type: "flatten" }, { type: "dense", units: 1 }],
      loss: "meanSquaredError",
    };
    const body = problem(
      await post("/train", trainBody({ model, dataset: { x: [[1, 2, 3, 4]], y: [1] } })),
      422,
    );
    expect(paths(body)[0]).toMatch(/^model\.layers\[0\]/);
  });

  it("names the model when normalEquation is asked of a network that is not linear regression", async () => {
    const body = problem(await post("/train", trainBody({ optimizer: { type: "normalEquation" } })), 422);
    expect(paths(body)[0]).toMatch(/^model\./);
  });

  it("names the loss when a cross-entropy follows an output that is not probabilities", async () => {
    const model = {
      inputShape: [2],
      layers: [{ type: "dense", units: 2 }],
      loss: "categoricalCrossentropy",
    };
    const body = problem(
      await post(
        "/train",
        trainBody({
          model,
          dataset: {
            x: xs,
            y: [
              [1, 0],
              [0, 1],
              [0, 1],
            ],
          },
        }),
      ),
      422,
    );
    expect(paths(body)).toEqual(["model.loss"]);
    expect(body.errors?.[0]?.message).toMatch(/needs probabilities.*activation softmax/);
  });

  it("counts pooling in the compute budget (a 32×32 max pool over 128×128, 10,000 epochs)", async () => {
    const side = 128;
    const body = problem(
      await post(
        "/train",
        trainBody({
          model: {
            inputShape: [side, side, 1],
            layers: [
              { type: "maxPooling2d", poolSize: 32, strides: 1, padding: "same" },
              { type: "flatten" },
              { type: "dense", units: 1 },
            ],
            loss: "meanSquaredError",
          },
          dataset: { x: [new Array(side * side).fill(0.5)], y: [1] },
          epochs: 10_000,
        }),
      ),
      422,
    );
    expect(body.detail).toMatch(/multiply-adds; the limit per request is/);
  });

  it("names a built-in data set that does not fit the model", async () => {
    const body = problem(await post("/train", trainBody({ dataset: { name: "iris" } })), 422);
    expect(paths(body)).toEqual(["dataset.name"]);
    expect(body.detail).toMatch(/iris has 4 values per sample/);
  });

  it("names the built-in data set, not a dataset.y the request lacks, for labels out of range", async () => {
    // Iris has 3 classes; a 2-unit model cannot take label 2.
    const model = {
      inputShape: [4],
      layers: [{ type: "dense", units: 2, activation: "softmax" }],
      loss: "sparseCategoricalCrossentropy",
    };
    const body = problem(await post("/train", trainBody({ model, dataset: { name: "iris" } })), 422);
    expect(paths(body)).toEqual(["dataset.name"]);
    expect(body.detail).toMatch(/label 2/);
  });

  describe("weights for another model", () => {
    const weights = {
      "dense_0/kernel": [
        [1, 0, 0, 0],
        [0, 1, 0, 0],
      ],
      "dense_0/bias": [0, 0, 0, 0],
      "dense_1/kernel": [
        [1, 0, 0],
        [0, 1, 0],
        [0, 0, 1],
        [0, 0, 0],
      ],
      "dense_1/bias": [0, 0, 0],
    };

    it("accepts the right ones", async () => {
      const res = await post("/predict", { model: tinyModel(), weights, x: [[1, 2]] });
      expect(res.statusCode).toBe(200);
    });

    it("names a missing key", async () => {
      const { "dense_1/bias": _missing, ...rest } = weights;
      const body = problem(await post("/predict", { model: tinyModel(), weights: rest, x: [[1, 2]] }), 422);
      expect(paths(body)).toEqual(['weights["dense_1/bias"]']);
    });

    it("names an unknown key", async () => {
      const body = problem(
        await post("/predict", {
          model: tinyModel(),
          weights: { ...weights, "dense_7/kernel": [[1]] },
          x: [[1, 2]],
        }),
        422,
      );
      expect(paths(body)).toEqual(['weights["dense_7/kernel"]']);
    });

    it("names a kernel of the wrong shape", async () => {
      const body = problem(
        await post("/predict", {
          model: tinyModel(),
          weights: { ...weights, "dense_0/kernel": [[1, 0, 0, 0]] },
          x: [[1, 2]],
        }),
        422,
      );
      expect(paths(body)).toEqual(['weights["dense_0/kernel"]']);
      expect(body.errors?.[0]?.message).toMatch(/\[2, 4\]/);
    });

    it("names wrong initialWeights on /train", async () => {
      const body = problem(
        await post("/train", trainBody({ initialWeights: { ...weights, "dense_1/bias": [0, 0] } })),
        422,
      );
      expect(paths(body)).toEqual(['initialWeights["dense_1/bias"]']);
    });

    it("names wrong weights on /gradients", async () => {
      const body = problem(
        await post("/gradients", {
          model: tinyModel(),
          weights: { ...weights, "dense_0/bias": [0, 0, 0] },
          x: [1, 2],
          y: 0,
        }),
        422,
      );
      expect(paths(body)).toEqual(['weights["dense_0/bias"]']);
    });
  });

  it("names the sample and label of /gradients without an index", async () => {
    const wrongX = problem(await post("/gradients", { model: tinyModel(), x: [1, 2, 3], y: 0 }), 422);
    expect(wrongX.errors).toEqual([{ path: "x", message: "expected 2 values (shape [2]), got 3" }]);
    const wrongY = problem(await post("/gradients", { model: tinyModel(), x: [1, 2], y: 5 }), 422);
    expect(paths(wrongY)).toEqual(["y"]);
  });

  it("names a sample of the wrong length on /predict", async () => {
    const body = problem(await post("/predict", { model: tinyModel(), weights: {}, x: [[1, 2], [3]] }), 422);
    expect(paths(body)).toEqual(["x[1]"]);
  });
});

describe("other statuses", () => {
  it("answers 415 for a content type other than JSON", async () => {
    const res = await app.inject({
      method: "POST",
      url: "/train",
      headers: { "content-type": "text/plain" },
      payload: "hello",
    });
    problem(res, 415);
  });

  it("answers 405 with Allow for a route that exists under another method", async () => {
    const res = await app.inject({ method: "GET", url: "/train" });
    const body = problem(res, 405);
    expect(res.headers.allow).toBe("POST");
    expect(body.detail).toBe("/train answers POST, not GET");
    expect(problem(await app.inject({ method: "DELETE", url: "/health" }), 405).detail).toMatch(/GET/);
  });

  it("answers 400 naming the path for a body nested too deeply (no stack overflow)", async () => {
    for (const url of ["/train", "/gradients", "/predict"]) {
      const deep = `${"[".repeat(5000)}0${"]".repeat(5000)}`;
      const res = await app.inject({
        method: "POST",
        url,
        headers: { "content-type": "application/json" },
        payload: `{"model": {"inputShape": [2], "layers": [], "loss": "meanSquaredError"}, "x": ${deep}}`,
      });
      const body = problem(res, 400);
      expect(body.detail).toMatch(/nested deeper than 32 levels/);
      expect(paths(body)[0]).toMatch(/^x\[0\]\[0\]/);
    }
  });

  it("answers 400 at parse naming an object of more than 10,000 keys (initialWeights, classWeight)", async () => {
    const many = (n: number, value: unknown) =>
      Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, value]));
    const base = {
      model: tinyModel(),
      dataset: { name: "xor" },
      optimizer: { type: "sgd", learningRate: 0.1 },
      epochs: 1,
    };
    for (const [field, url] of [
      ["initialWeights", "/train"],
      ["classWeight", "/train"],
      ["weights", "/gradients"],
    ] as const) {
      // The body's parse refuses it (that message is its own), so the schemas, which took 1–1.4 s
      // of the event loop to report 130,000 bad entries, never run.
      const res = await app.inject({
        method: "POST",
        url,
        payload: { ...base, [field]: many(130_000, "x") },
      });
      const body = problem(res, 400);
      expect(body.detail).toMatch(/an object of 130000 keys; at most 10000/);
      expect(paths(body)).toEqual([field]);
    }
    // 10,000 keys is still the schemas' to judge (here: names no layer has).
    const res = await app.inject({
      method: "POST",
      url: "/train",
      payload: { ...base, classWeight: many(10_000, 1) },
    });
    expect(problem(res, 400).detail).not.toMatch(/keys; at most/);
  });

  it("answers 400 naming a __proto__ or constructor.prototype key", async () => {
    const res = await app.inject({
      method: "POST",
      url: "/predict",
      headers: { "content-type": "application/json" },
      payload: '{"model": {}, "weights": {"__proto__": {"polluted": 1}}, "x": [[0]]}',
    });
    const body = problem(res, 400);
    expect(body.type).toBe("/problems/invalid-request");
    expect(paths(body)).toEqual(["weights.__proto__"]);
    const ctor = problem(
      await app.inject({
        method: "POST",
        url: "/train",
        headers: { "content-type": "application/json" },
        payload: '{"constructor": {"prototype": {"polluted": 1}}}',
      }),
      400,
    );
    expect(paths(ctor)).toEqual(["constructor"]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("answers 404 for an unknown route", async () => {
    const body = problem(await app.inject({ method: "GET", url: "/nope?x=1" }), 404);
    expect(body.detail).toBe("no route GET /nope");
  });

  it("answers 413 for a body over BODY_LIMIT", async () => {
    const small = await buildTestApp({ BODY_LIMIT: "2048" });
    try {
      const x = Array.from({ length: 200 }, () => [0.123456, 0.654321]);
      const res = await small.inject({
        method: "POST",
        url: "/train",
        payload: trainBody({ dataset: { x, y: x.map(() => 0) } }),
      });
      expect(problem(res, 413).detail).toBe(
        "the request body is larger than the server allows (BODY_LIMIT: 2048 bytes)",
      );
    } finally {
      await small.close();
    }
  });

  it("answers 422 for a request over the compute budget", async () => {
    const capped = await buildTestApp({ MAX_WORK: "100" });
    try {
      const body = problem(await capped.inject({ method: "POST", url: "/train", payload: trainBody() }), 422);
      expect(body.detail).toMatch(/multiply-adds.*MAX_WORK.*fewer epochs/);
      expect(paths(body)).toEqual(["epochs"]);
      // One epoch cannot shrink: the model is named, and a job is offered.
      const one = problem(
        await capped.inject({ method: "POST", url: "/train", payload: trainBody({ epochs: 1 }) }),
        422,
      );
      expect(paths(one)).toEqual(["model"]);
      expect(one.detail).toMatch(
        /^one epoch of training would take about .* \(MAX_WORK\): a smaller model \(fewer units, filters or layers\) or fewer samples, or run it as a job/,
      );
      expect(one.detail).not.toMatch(/fewer epochs/);
      const check = problem(
        await capped.inject({
          method: "POST",
          url: "/gradients",
          payload: { model: tinyModel(), x: [0.1, 0.2], y: 1, numericalCheck: true },
        }),
        422,
      );
      expect(paths(check)).toEqual(["numericalCheck"]);
      expect(check.detail).not.toMatch(/epochs/);
    } finally {
      await capped.close();
    }
  });

  it("answers 422 for a model over MAX_PARAMS", async () => {
    const capped = await buildTestApp({ MAX_PARAMS: "10" });
    try {
      const body = problem(await capped.inject({ method: "POST", url: "/train", payload: trainBody() }), 422);
      // Counted from the shapes before anything is allocated: the first layer already has 12.
      expect(body.detail).toMatch(
        /12 trainable parameters up to layer dense_0; the limit is 10 \(MAX_PARAMS\)/,
      );
      expect(paths(body)).toEqual(["model.layers[0]"]);
    } finally {
      await capped.close();
    }
  });

  it("hides the details of a 500 and gives the request id", async () => {
    const { buildApp } = await import("../../src/http/app.js");
    const { loadConfig } = await import("../../src/config.js");
    const broken = await buildApp({
      config: loadConfig({ POOL_SIZE: "1", DATA_DIR: ":memory:" }),
      logger: false,
      minThreads: 0,
    });
    broken.get("/boom", async () => {
      throw new Error("secret internals");
    });
    try {
      const res = await broken.inject({ method: "GET", url: "/boom", headers: { "x-request-id": "req-42" } });
      const body = problem(res, 500);
      expect(JSON.stringify(body)).not.toContain("secret");
      expect(body.detail).toContain("req-42");
      expect(res.headers["x-request-id"]).toBe("req-42");
    } finally {
      await broken.close();
    }
  });
});

describe("overflow is a 422, never a null in a 200", () => {
  const linear = { inputShape: [1], layers: [{ type: "dense", units: 1 }], loss: "meanSquaredError" };
  const huge = { "dense_0/kernel": [[1e308]], "dense_0/bias": [1e308] };

  it("POST /predict whose output overflows names the weights", async () => {
    const body = problem(await post("/predict", { model: linear, weights: huge, x: [[10]] }), 422);
    expect(paths(body)).toEqual(["weights"]);
    expect(body.detail).toMatch(/output of sample 0 is not finite/);
  });

  it("POST /gradients whose loss overflows names the weights", async () => {
    const body = problem(
      await post("/gradients", {
        model: linear,
        weights: { "dense_0/kernel": [[1]], "dense_0/bias": [0] },
        x: [1],
        y: -1e308,
      }),
      422,
    );
    expect(paths(body)).toEqual(["weights"]);
    expect(body.detail).toMatch(/the loss is not finite/);
  });
});

describe("messages that read right", () => {
  it("says how many values a piecewiseConstantDecay needs, and why", async () => {
    const body = problem(
      await post(
        "/train",
        trainBody({
          optimizer: {
            type: "sgd",
            learningRate: { type: "piecewiseConstantDecay", boundaries: [1, 2], values: [0.1, 0.2] },
          },
        }),
      ),
      422,
    );
    expect(paths(body)).toEqual(["optimizer.learningRate.values"]);
    expect(body.detail).toBe("values needs 3 entries, one more than the 2 boundaries; got 2");
  });

  it("speaks of the request headers in the plural", async () => {
    const created = await post("/jobs", trainBody({ epochs: 1 }));
    expect(created.statusCode, created.body).toBe(202);
    const res = await app.inject({
      method: "GET",
      url: `/jobs/${created.json().id}/events`,
      headers: { "last-event-id": "abc" },
    });
    const body = problem(res, 400);
    expect(body.detail).toMatch(/^the request headers do not match the schema: /);
  });
});
