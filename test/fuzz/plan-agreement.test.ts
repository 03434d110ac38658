/**
 * One check for POST /train and POST /jobs (property-based): for any generated body — valid,
 * broken in its fields or envelope (`breakRequest`), or schema-valid but impossible (a schedule
 * whose boundaries decrease, early stopping on `valLoss` without validation data, an optimiser
 * state without weights, weights of another model, a split that leaves nothing to train on, …) —
 * both routes answer 2xx, or both the same 4xx with the same `errors[].path`s. The two budgets
 * are set equal (MAX_JOB_WORK = MAX_WORK), so the only difference left is which route it is.
 * A fault that only running can find (the least-squares fit of 1e308s overflowing) is the one
 * exception: the job is accepted, and must then fail with /train's problem.
 *
 * Reproduce a failure: fast-check prints the seed and path; rerun with FUZZ_SEED=<seed>.
 */
import fc from "fast-check";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildTestApp } from "../http/helper.js";
import { breakRequest, type Generated, genTrain, genWeights, type Rand, rand, wire } from "./generators.js";
import { cloneTree, type Tree, type TreeObject } from "./json-text.js";
import { type Answer, send } from "./oracle.js";

const SEED = Number(process.env.FUZZ_SEED ?? 14_2026);
const RUNS = Math.max(1, Math.round(120 * Number(process.env.FUZZ_RUNS ?? 1)));

let app: FastifyInstance;
/** Budgets far apart: most generated bodies are over MAX_WORK and under MAX_JOB_WORK. */
let small: FastifyInstance;
beforeAll(async () => {
  app = await buildTestApp({
    MAX_WORK: "5e7",
    MAX_JOB_WORK: "5e7",
    MAX_PARAMS: "50000",
    MAX_CONCURRENT_JOBS: "1",
  });
  small = await buildTestApp({
    MAX_WORK: "2000",
    MAX_JOB_WORK: "5e7",
    MAX_PARAMS: "50000",
    MAX_CONCURRENT_JOBS: "1",
  });
});
afterAll(async () => {
  await app.close();
  await small.close();
});

/** Breaks a valid body in a way its schema accepts and only the full check refuses. */
function breakSemantics(r: Rand, gen: Generated): TreeObject {
  const body = cloneTree(gen.body) as TreeObject;
  const n = Array.isArray((body.dataset as TreeObject).x)
    ? ((body.dataset as TreeObject).x as Tree[]).length
    : 150;
  const gradient = () => {
    if ((body.optimizer as TreeObject).type === "normalEquation") {
      body.optimizer = { type: "sgd", learningRate: 0.1 };
      body.epochs = 2;
    }
  };
  switch (r.int(0, 8)) {
    case 0:
      gradient();
      (body.optimizer as TreeObject).learningRate = {
        type: "piecewiseConstantDecay",
        boundaries: [5, r.int(0, 5)],
        values: [0.1, 0.05, 0.01],
      };
      break;
    case 1:
      gradient();
      delete body.validationSplit;
      body.earlyStopping = { monitor: "valLoss", patience: r.int(0, 3) };
      break;
    case 2: {
      gradient();
      const type = (body.optimizer as TreeObject).type as string;
      body.optimizerState = {
        type: r.bool(0.7) ? type : type === "sgd" ? "adam" : "sgd",
        iterations: r.int(0, 5),
        epochsCompleted: r.int(0, 5),
        shuffleRng: r.bool(0.8) ? [1, 2, 3, 4] : [0, 0, 0, 0],
        shuffleOrder: Array.from({ length: r.int(1, 6) }, (_, i) => i),
      };
      if (r.bool(0.5)) body.initialWeights = genWeights(r, gen.plan);
      else delete body.initialWeights;
      break;
    }
    case 3: {
      const weights = genWeights(r, gen.plan);
      const keys = Object.keys(weights);
      if (keys.length > 0 && r.bool(0.5)) delete weights[r.pick(keys)];
      else weights["nope/kernel"] = [[1]];
      body.initialWeights = weights;
      break;
    }
    case 4:
      body.validationSplit = r.pick([0.99, 0.9, 0.5]);
      break;
    case 5:
      body.optimizer = { type: "normalEquation" };
      break;
    case 6: {
      const data = body.dataset as TreeObject;
      if (Array.isArray(data.y) && data.y.length > 0)
        data.y[r.int(0, data.y.length - 1)] = r.pick([7, -1, 1.5]);
      break;
    }
    case 7:
      gradient();
      (body.optimizer as TreeObject).learningRate = {
        type: "cosineDecay",
        initialLearningRate: 0.1,
        decaySteps: 10,
        alpha: 0.1,
        warmupTarget: 0.2,
        warmupSteps: r.int(0, 3),
      };
      body.epochs = r.int(1, 3);
      break;
    default:
      body.batchSize = r.int(1, n + 2);
      body.shuffle = r.bool();
      break;
  }
  return body;
}

const pathsOf = (a: Answer): string[] => {
  try {
    return ((JSON.parse(a.body) as { errors?: { path: string }[] }).errors ?? []).map((e) => e.path);
  } catch {
    return [];
  }
};

/** The job's end, polled (a job accepted for a fault only running finds). */
async function endOf(
  app: FastifyInstance,
  id: string,
): Promise<{ status: string; error?: { status: number; errors?: { path: string }[] } }> {
  for (let i = 0; i < 500; i++) {
    const job = (await app.inject({ method: "GET", url: `/jobs/${id}` })).json();
    if (!["queued", "running"].includes(job.status)) return job;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`job ${id} did not end`);
}

/** A body generated for the property: valid, broken in its fields or envelope, or broken in its meaning. */
function genBody(r: Rand) {
  const gen = genTrain(r);
  const kind = r.int(0, 9);
  return kind < 3
    ? wire("/train", gen.body)
    : kind < 6
      ? breakRequest(r, gen)
      : wire("/train", breakSemantics(r, gen));
}

/** /train's 422 for a body over MAX_WORK alone (a valid body the job's budget takes). */
const overRequestBudget = (a: Answer): boolean =>
  a.status === 422 &&
  /\(MAX_WORK\)/.test(a.body) &&
  [["epochs"], ["model"], ["optimizer.type"]].some((p) => JSON.stringify(p) === JSON.stringify(pathsOf(a)));

describe("POST /train and POST /jobs check a body alike", () => {
  it(`agree on 2xx vs 4xx and on errors[].path for ${RUNS} generated bodies`, async () => {
    const seen = { accepted: 0, rejected: 0, runtime: 0 };
    await fc.assert(
      fc.asyncProperty(fc.gen(), async (g) => {
        const req = genBody(rand(g));
        const sync = await send(app, { ...req, url: "/train" });
        const job = await send(app, { ...req, url: "/jobs" });
        const context = `${req.text.slice(0, 600)}\n/train ${sync.status} ${sync.body.slice(0, 300)}\n/jobs ${job.status} ${job.body.slice(0, 300)}`;
        if (job.status === 202) {
          const id = (JSON.parse(job.body) as { id: string }).id;
          if (sync.status === 422) {
            // Only a fault found while running may pass the create: the job must fail with it.
            const end = await endOf(app, id);
            expect(end.status, context).toBe("failed");
            expect(end.error?.status, context).toBe(422);
            expect(
              (end.error?.errors ?? []).map((e) => e.path),
              context,
            ).toEqual(pathsOf(sync));
            expect(sync.body, context).toMatch(/least-squares/);
            seen.runtime++;
            return;
          }
          await app.inject({ method: "POST", url: `/jobs/${id}/cancel` });
          expect(sync.status, context).toBe(200);
          seen.accepted++;
          return;
        }
        expect(job.status, context).toBe(sync.status);
        expect(job.status, context).toBeGreaterThanOrEqual(400);
        expect(job.status, context).toBeLessThan(500);
        expect(pathsOf(job), context).toEqual(pathsOf(sync));
        seen.rejected++;
      }),
      { seed: SEED, numRuns: RUNS, endOnFailure: true },
    );
    // The generators reach both sides of the check.
    expect(seen.accepted).toBeGreaterThan(RUNS / 10);
    expect(seen.rejected).toBeGreaterThan(RUNS / 10);
  }, 60_000);
});

describe("a body over MAX_WORK and wrong in another way", () => {
  it(`gets the same 4xx from /train and /jobs whatever the budgets, for ${RUNS} generated bodies`, async () => {
    const seen = { accepted: 0, overBudget: 0, rejected: 0 };
    await fc.assert(
      fc.asyncProperty(fc.gen(), async (g) => {
        const req = genBody(rand(g));
        const sync = await send(small, { ...req, url: "/train" });
        const job = await send(small, { ...req, url: "/jobs" });
        const context = `${req.text.slice(0, 600)}\n/train ${sync.status} ${sync.body.slice(0, 300)}\n/jobs ${job.status} ${job.body.slice(0, 300)}`;
        if (job.status === 202) {
          const id = (JSON.parse(job.body) as { id: string }).id;
          await small.inject({ method: "POST", url: `/jobs/${id}/cancel` });
          if (sync.status === 422 && /least-squares/.test(sync.body) && !overRequestBudget(sync)) return;
          // Accepted as a job: valid, so /train either runs it or refuses it for its size alone.
          if (sync.status === 200) seen.accepted++;
          else {
            expect(overRequestBudget(sync), context).toBe(true);
            seen.overBudget++;
          }
          return;
        }
        // Rejected as a job: for what is wrong with it, as /train rejects it.
        expect(job.status, context).toBe(sync.status);
        expect(job.status, context).toBeGreaterThanOrEqual(400);
        expect(job.status, context).toBeLessThan(500);
        expect(pathsOf(job), context).toEqual(pathsOf(sync));
        seen.rejected++;
      }),
      { seed: SEED, numRuns: RUNS, endOnFailure: true },
    );
    // The generators reach every side: run, over the request's budget alone, rejected alike.
    expect(seen.accepted).toBeGreaterThan(0);
    expect(seen.overBudget).toBeGreaterThan(RUNS / 10);
    expect(seen.rejected).toBeGreaterThan(RUNS / 10);
  }, 60_000);
});
