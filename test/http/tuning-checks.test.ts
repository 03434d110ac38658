/**
 * POST /tuning-jobs refuses a bad body before anything runs, naming the search space's field:
 * paths, ranges, the algorithm's ranges, the objective, and `base` with each range at its ends
 * (through POST /train's own check). Per-key ownership as for jobs.
 */
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tuningExample } from "../../src/schemas/tuning-examples.js";
import { ALICE, BOB } from "../fixtures.js";
import { buildTestApp } from "./helper.js";

let app: FastifyInstance;
beforeAll(async () => {
  app = await buildTestApp({ API_KEYS: `${ALICE},${BOB}` });
});
afterAll(async () => {
  await app.close();
});

const post = (body: object, key = ALICE) =>
  app.inject({ method: "POST", url: "/tuning-jobs", payload: body, headers: { "x-api-key": key } });

const withSpace = (searchSpace: object, extra: object = {}) => ({ ...tuningExample, searchSpace, ...extra });

/** The answer's status and the paths its errors name. */
async function refused(body: object) {
  const res = await post(body);
  const json = res.json();
  return { status: res.statusCode, paths: (json.errors ?? []).map((e: { path: string }) => e.path), json };
}

describe("POST /tuning-jobs checks the body first", () => {
  it("names a path that is not one, leads nowhere, or is the seed (400)", async () => {
    const lr = { type: "uniform", min: 0.001, max: 0.1 };
    for (const [path, why] of [
      ["optimizer..learningRate", /expected a path/],
      ["model.layers[7].units", /has 2 entries/],
      ["model.nothing.units", /base has no model.nothing/],
      ["optimizer.learningRate[0]", /not an array/],
      ["model.layers[01].units", /expected a path/],
      ["seed", /derived from the tuning job's seed/],
    ] as const) {
      const { status, paths, json } = await refused(withSpace({ [path]: lr }));
      expect(status, path).toBe(400);
      expect(paths).toEqual([path === "seed" ? "searchSpace.seed" : `searchSpace[${JSON.stringify(path)}]`]);
      expect(json.errors[0].message).toMatch(why);
    }
  });

  it("refuses a choice value listed twice (422 at the second), which a grid would try twice", async () => {
    const { status, paths, json } = await refused(
      withSpace(
        { "optimizer.type": { type: "choice", values: ["adam", "sgd", "adam"] } },
        { algorithm: "grid" },
      ),
    );
    expect(status).toBe(422);
    expect(paths).toEqual(['searchSpace["optimizer.type"].values[2]']);
    expect(json.errors[0].message).toBe('"adam" is already values[0]: list each value once');
  });

  it("names a fault of base itself under base, not on the first searched range", async () => {
    // 3 output units against iris' 3 classes is fine; a class weight for class 7 is not, and no
    // value of the learning rate or the width fixes it.
    const { status, paths, json } = await refused({
      ...tuningExample,
      base: { ...tuningExample.base, classWeight: { "7": 2 } },
    });
    expect(status).toBe(422);
    expect(paths[0]).toMatch(/^base\.classWeight/);
    expect(json.detail).toMatch(/^in base: /);
  });

  it("names the range types for an unknown one, without hints from other fields' names", async () => {
    const { status, json } = await refused(
      withSpace({ "optimizer.learningRate": { type: "normal", min: 0, max: 1 } }),
    );
    expect(status).toBe(400);
    expect(json.errors[0].message).toMatch(/^unknown .*"normal"; available: /);
    expect(json.errors[0].message).toMatch(/logUniform/);
    expect(json.errors[0].message).not.toMatch(/randomNormal|kernelInitializer/);
  });

  it("blames the parameter whose unknown key the fault names, not the first one", async () => {
    const { status, paths, json } = await refused(
      withSpace({
        "optimizer.learningRate": { type: "uniform", min: 0.01, max: 0.1 },
        "optimizer.momentumX": { type: "uniform", min: 0, max: 1 },
      }),
    );
    expect(status).toBe(422);
    expect(paths).toEqual(['searchSpace["optimizer.momentumX"].min']);
    expect(json.errors[0].message).toMatch(/momentumX/);
  });

  it("puts base's 404s under base (a data set or model id that is none of the key's)", async () => {
    for (const [base, path] of [
      [{ ...tuningExample.base, dataset: { id: "ds_nonexistent" } }, "base.dataset.id"],
      [
        { ...tuningExample.base, initialWeights: { modelId: "mdl_nonexistent" } },
        "base.initialWeights.modelId",
      ],
    ] as const) {
      const { status, paths } = await refused({ ...tuningExample, base });
      expect(status, path).toBe(404);
      expect(paths).toEqual([path]);
    }
  });

  it("refuses base.seed (400 at it): each trial's seed comes from the tuning job's", async () => {
    const { status, paths, json } = await refused({
      ...tuningExample,
      base: { ...tuningExample.base, seed: 7 },
    });
    expect(status).toBe(400);
    expect(paths).toEqual(["base.seed"]);
    expect(json.errors[0].message).toMatch(/set `seed` on the tuning job, beside base/);
  });

  it("names a path inside another parameter's, in either order (400 at the inner one)", async () => {
    const lr = { type: "uniform", min: 0.01, max: 0.1 };
    const cases = [
      ["optimizer", { type: "choice", values: ["adam"] }, "optimizer.learningRate", lr],
      [
        "model.layers[0]",
        { type: "choice", values: ["dense"] },
        "model.layers[0].units",
        { type: "int", min: 2, max: 8 },
      ],
      [
        "model",
        { type: "choice", values: ["m"] },
        "model.layers[1].activation",
        { type: "choice", values: ["softmax"] },
      ],
    ] as const;
    for (const [outer, outerRange, inner, innerRange] of cases)
      for (const space of [
        { [outer]: outerRange, [inner]: innerRange },
        { [inner]: innerRange, [outer]: outerRange },
      ]) {
        const { status, paths, json } = await refused(withSpace(space));
        expect(status, Object.keys(space).join(" then ")).toBe(400);
        expect(paths).toEqual([`searchSpace[${JSON.stringify(inner)}]`]);
        expect(json.errors[0].message).toContain(
          `inside another parameter, searchSpace[${JSON.stringify(outer)}]`,
        );
      }
    // Siblings are fine.
    const ok = await post(
      withSpace(
        {
          "optimizer.learningRate": lr,
          "optimizer.type": { type: "choice", values: ["adam", "sgd"] },
        },
        { maxTrials: 1 },
      ),
    );
    expect(ok.statusCode).toBe(202);
  });

  it("names an empty range or one the algorithm cannot take (422)", async () => {
    const cases = [
      [{ "optimizer.learningRate": { type: "uniform", min: 0.1, max: 0.1 } }, "random", "max"],
      [{ "optimizer.learningRate": { type: "logUniform", min: 0, max: 0.1 } }, "random", "min"],
      [{ "model.layers[0].units": { type: "int", min: 9, max: 8 } }, "random", "max"],
      [{ "optimizer.learningRate": { type: "uniform", min: 0.01, max: 0.1 } }, "grid", "type"],
    ] as const;
    for (const [space, algorithm, field] of cases) {
      const path = Object.keys(space)[0]!;
      const { status, paths } = await refused(withSpace(space, { algorithm }));
      expect(status).toBe(422);
      expect(paths).toEqual([`searchSpace[${JSON.stringify(path)}].${field}`]);
    }
  });

  it("puts each range's ends into base and runs POST /train's check on them (422 at the end that breaks it)", async () => {
    // A learning rate of −0.1 at the min corner; 4096 × 4096 weights past MAX_PARAMS (2,000,000)
    // where both widths are at their max (each alone is within it).
    const low = await refused(
      withSpace({ "optimizer.learningRate": { type: "uniform", min: -0.1, max: 0.1 } }),
    );
    expect(low.status).toBe(422);
    expect(low.paths).toEqual(['searchSpace["optimizer.learningRate"].min']);
    expect(low.json.errors[0].message).toMatch(/base\.optimizer\.learningRate/);
    const deep = {
      ...tuningExample.base,
      model: {
        ...tuningExample.base.model,
        layers: [
          { type: "dense", units: 8, activation: "tanh" },
          { type: "dense", units: 8, activation: "tanh" },
          { type: "dense", units: 3, activation: "softmax" },
        ],
      },
    };
    const high = await refused({
      ...tuningExample,
      base: deep,
      searchSpace: {
        "model.layers[0].units": { type: "int", min: 2, max: 4096 },
        "model.layers[1].units": { type: "int", min: 2, max: 4096 },
      },
    });
    expect(high.status).toBe(422);
    expect(high.paths).toEqual(['searchSpace["model.layers[1].units"].max']);
    expect(high.json.errors[0].message).toMatch(/MAX_PARAMS|parameters/);
    // A choice's middle value is tried too.
    const act = await refused(
      withSpace({ "model.layers[0].activation": { type: "choice", values: ["tanh", "sigmoidal", "relu"] } }),
    );
    expect(act.status).toBe(422);
    expect(act.paths).toEqual(['searchSpace["model.layers[0].activation"].values[1]']);
    // Fine at every end: accepted.
    const ok = await post(
      withSpace(
        { "model.layers[0].activation": { type: "choice", values: ["tanh", "relu"] } },
        { maxTrials: 1 },
      ),
    );
    expect(ok.statusCode).toBe(202);
  });

  it("wants an objective every epoch reports (422 at objective.metric)", async () => {
    const { validationSplit: _, ...noSplit } = tuningExample.base;
    const val = await refused({ ...tuningExample, base: noSplit });
    expect(val.status).toBe(422);
    expect(val.paths).toEqual(["objective.metric"]);
    const prec = await refused({ ...tuningExample, objective: { metric: "valPrecision", goal: "maximize" } });
    expect(prec.status).toBe(422);
    expect(prec.paths).toEqual(["objective.metric"]);
    const unknown = await refused({ ...tuningExample, objective: { metric: "score", goal: "maximize" } });
    expect(unknown.status).toBe(400);
    expect(unknown.paths).toEqual(["objective.metric"]);
  });

  it("wants accuracy only of a classifier's loss, as the epochs report it (422 at objective.metric)", async () => {
    // A one-output model on inline samples: y = x, targets 0 and 1 (a regression and a classifier alike).
    const base = (loss: string) => ({
      model: { inputShape: [1], layers: [{ type: "dense", units: 1, activation: "sigmoid" }], loss },
      dataset: { x: [[0], [1], [0], [1]], y: [[0], [1], [0], [1]] },
      optimizer: { type: "sgd", learningRate: 0.1 },
      epochs: 2,
    });
    const lr = { "optimizer.learningRate": { type: "uniform", min: 0.01, max: 0.1 } };
    const tuning = (b: object, searchSpace: object, metric = "accuracy") => ({
      base: b,
      searchSpace,
      objective: { metric, goal: "maximize" },
      maxTrials: 1,
    });
    for (const metric of ["accuracy", "valAccuracy"]) {
      const mse = await refused(tuning({ ...base("meanSquaredError"), validationSplit: 0.5 }, lr, metric));
      expect(mse.status, metric).toBe(422);
      expect(mse.paths).toEqual(["objective.metric"]);
      expect(mse.json.errors[0].message).toMatch(/classifiers' losses.*meanSquaredError/);
    }
    // A searched loss: the objective holds at every value the search puts in, not at base's own.
    const mixed = await refused(
      tuning(base("binaryCrossentropy"), {
        "model.loss": { type: "choice", values: ["binaryCrossentropy", "meanAbsoluteError", "hinge"] },
      }),
    );
    expect(mixed.status).toBe(422);
    expect(mixed.paths).toEqual(["objective.metric"]);
    expect(mixed.json.errors[0].message).toMatch(/meanAbsoluteError/);
    const classifiers = await post(
      tuning(base("meanSquaredError"), {
        "model.loss": { type: "choice", values: ["binaryCrossentropy", "hinge"] },
      }),
    );
    expect(classifiers.statusCode).toBe(202);
    expect((await post(tuning(base("binaryCrossentropy"), lr))).statusCode).toBe(202);
    // A regression's objective it does report.
    expect((await post(tuning(base("meanSquaredError"), lr, "loss"))).statusCode).toBe(202);
  });

  it("answers POST /train's errors for base itself", async () => {
    const { status, paths } = await refused({ ...tuningExample, base: { ...tuningExample.base, epochs: 0 } });
    expect(status).toBe(400);
    expect(paths).toEqual(["base.epochs"]);
  });

  it("shows a key only its own tuning jobs", async () => {
    const res = await post({ ...tuningExample, maxTrials: 1 });
    expect(res.statusCode).toBe(202);
    const id = res.json().id;
    const get = (key: string, url = `/tuning-jobs/${id}`) =>
      app.inject({ method: "GET", url, headers: { "x-api-key": key } });
    expect((await get(ALICE)).statusCode).toBe(200);
    expect((await get(BOB)).statusCode).toBe(404);
    expect((await get(BOB, `/tuning-jobs/${id}/events`)).statusCode).toBe(404);
    const cancel = await app.inject({
      method: "POST",
      url: `/tuning-jobs/${id}/cancel`,
      headers: { "x-api-key": BOB },
    });
    expect(cancel.statusCode).toBe(404);
    expect((await get(BOB, "/tuning-jobs")).json().tuningJobs).toEqual([]);
    expect((await get(ALICE, "/tuning-jobs")).json().tuningJobs.map((t: { id: string }) => t.id)).toContain(
      id,
    );
    // The trial is Alice's job.
    const trial = (await get(ALICE)).json().trials[0];
    if (trial) {
      expect((await get(ALICE, `/jobs/${trial.jobId}`)).statusCode).toBe(200);
      expect((await get(BOB, `/jobs/${trial.jobId}`)).statusCode).toBe(404);
    }
    expect((await get(ALICE, "/tuning-jobs/tun_none")).statusCode).toBe(404);
  });
});
