/**
 * Stored data sets in the distributed mode, with real components: two API processes and one
 * worker against PostgreSQL and Redis (TEST_DATABASE_URL, TEST_REDIS_URL; skipped without them).
 * A data set stored through one API is seen by the other and trained on by the worker, owners
 * stay apart, and deleting it races cleanly with creating a job on it.
 */
import { afterAll, describe, expect, it } from "vitest";
import { ALICE, BOB, irisCsv, xor, xorModel } from "../fixtures.js";
import { Cluster, skipReason } from "./cluster.js";

if (skipReason) console.warn(skipReason);

const cluster = new Cluster();
afterAll(() => cluster.cleanup(), 30_000);

interface JobJson {
  id: string;
  status: string;
  datasetId?: string;
  error?: unknown;
  result?: { weightsSha256: string; metrics: { accuracy: number } };
}
interface Problem {
  status: number;
  detail: string;
  errors?: { path: string; message: string }[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(skipReason !== undefined)("stored data sets, distributed (PostgreSQL)", () => {
  it("are shared by every API and the workers, kept per owner, and not deleted under a job", async () => {
    const env = { API_KEYS: `${ALICE},${BOB}` };
    const [a, b] = await Promise.all([
      cluster.api(env),
      cluster.api(env),
      cluster.worker({ POOL_SIZE: "2", WORKER_CONCURRENCY: "2", CHECKPOINT_EVERY: "10" }),
    ]);
    const call = (base: string, key: string, path: string, init: RequestInit = {}) =>
      fetch(`${base}${path}`, {
        ...init,
        headers: { "x-api-key": key, ...(init.headers ?? {}) },
      });
    const post = (base: string, key: string, path: string, payload: unknown, headers = {}) =>
      call(base, key, path, {
        method: "POST",
        body: JSON.stringify(payload),
        headers: { "content-type": "application/json", ...headers },
      });
    const settle = async (base: string, id: string): Promise<JobJson> => {
      for (;;) {
        const job = (await (await call(base, ALICE, `/jobs/${id}`)).json()) as JobJson;
        if (job.status !== "queued" && job.status !== "running") return job;
        await sleep(50);
      }
    };
    const t0 = performance.now();

    // Stored through API a (CSV), seen through API b.
    const created = await call(a.base, ALICE, "/datasets?label=species&name=iris-csv", {
      method: "POST",
      body: irisCsv(),
      headers: { "content-type": "text/csv" },
    });
    expect(created.status, await created.clone().text()).toBe(201);
    const stored = (await created.json()) as { id: string; samples: number; classes: string[] };
    expect(stored).toMatchObject({ samples: 150, classes: ["setosa", "versicolor", "virginica"] });
    const { id } = stored;
    const got = await call(b.base, ALICE, `/datasets/${id}`);
    expect(got.status).toBe(200);
    expect(await got.json()).toEqual(stored);
    const listed = (await (await call(b.base, ALICE, "/datasets?limit=5")).json()) as {
      stored: { id: string }[];
    };
    expect(listed.stored.map((d) => d.id)).toEqual([id]);

    // Another owner sees nothing of it, on either API.
    expect((await call(b.base, BOB, `/datasets/${id}`)).status).toBe(404);
    expect((await call(a.base, BOB, `/datasets/${id}`, { method: "DELETE" })).status).toBe(404);
    const bobs = (await (await call(a.base, BOB, "/datasets")).json()) as { stored: unknown[] };
    expect(bobs.stored).toEqual([]);

    const body = {
      model: {
        inputShape: [4],
        layers: [
          { type: "dense", units: 8, activation: "tanh" },
          { type: "dense", units: 3, activation: "softmax" },
        ],
        loss: "categoricalCrossentropy", // one-hot from the stored labels
      },
      dataset: { id },
      optimizer: { type: "adam", learningRate: 0.02 },
      epochs: 600,
      batchSize: 2,
      seed: 11,
    };
    const bobJob = await post(b.base, BOB, "/jobs", body);
    expect(bobJob.status).toBe(404);
    expect(((await bobJob.json()) as Problem).errors?.[0]?.path).toBe("dataset.id");

    // A job through API b, run by the worker; the data set cannot go while it is unfinished.
    const jobRes = await post(b.base, ALICE, "/jobs", body);
    expect(jobRes.status, await jobRes.clone().text()).toBe(202);
    const job = (await jobRes.json()) as JobJson;
    expect(job.datasetId).toBe(id);
    const busy = await call(a.base, ALICE, `/datasets/${id}`, { method: "DELETE" });
    expect(busy.status).toBe(409);
    expect(((await busy.json()) as Problem).detail).toContain(job.id);
    const done = await settle(a.base, job.id);
    expect(done.status, JSON.stringify(done.error)).toBe("succeeded");
    expect(done.result!.metrics.accuracy).toBeGreaterThan(0.9);
    const sync = await post(a.base, ALICE, "/train", body);
    expect(sync.status).toBe(200);
    expect(done.result!.weightsSha256).toBe(((await sync.json()) as { weightsSha256: string }).weightsSha256);

    // Once the job has ended it can go, for every API and the engine.
    const del = await call(b.base, ALICE, `/datasets/${id}`, { method: "DELETE" });
    expect(del.status).toBe(204);
    expect((await call(a.base, ALICE, `/datasets/${id}`)).status).toBe(404);
    for (const path of ["/jobs", "/train"]) {
      const res = await post(a.base, ALICE, path, body);
      expect(res.status, path).toBe(404);
      const problem = (await res.json()) as Problem;
      expect(problem.errors?.[0]?.path).toBe("dataset.id");
      expect(problem.detail).toBe(`there is no stored data set ${id} (POST /datasets stores one)`);
    }

    // A delete racing a job's creation on two APIs: the job is counted (409) or refused (404), never
    // both; the delete starts a little later each round, so both orders come up.
    const outcomes: string[] = [];
    for (let round = 0; round < 8; round++) {
      const ds = (await (await post(a.base, ALICE, "/datasets", xor)).json()) as { id: string };
      const xorBody = {
        model: xorModel,
        dataset: { id: ds.id },
        optimizer: { type: "adam", learningRate: 0.05 },
        epochs: 20,
        seed: round,
      };
      const [made, gone] = await Promise.all([
        post(b.base, ALICE, "/jobs", xorBody),
        sleep(round * 2).then(() => call(a.base, ALICE, `/datasets/${ds.id}`, { method: "DELETE" })),
      ]);
      outcomes.push(`${made.status}/${gone.status}`);
      if (made.status === 202) {
        expect(gone.status).toBe(409);
        const raced = await settle(a.base, ((await made.json()) as JobJson).id);
        expect(raced.status, JSON.stringify(raced.error)).toBe("succeeded");
        expect((await call(a.base, ALICE, `/datasets/${ds.id}`, { method: "DELETE" })).status).toBe(204);
      } else {
        expect(made.status).toBe(404);
        expect(((await made.json()) as Problem).errors?.[0]?.path).toBe("dataset.id");
        expect(gone.status).toBe(204);
      }
    }

    // The same Idempotency-Key on both APIs at once: one job, the other answer replays it.
    const key = { "idempotency-key": `race-${cluster.id}` };
    const xorJob = {
      model: xorModel,
      dataset: xor,
      optimizer: { type: "sgd", learningRate: 0.1 },
      epochs: 5,
      seed: 1,
    };
    const twins = await Promise.all([
      post(a.base, ALICE, "/jobs", xorJob, key),
      post(b.base, ALICE, "/jobs", xorJob, key),
    ]);
    expect(twins.map((r) => r.status)).toEqual([202, 202]);
    const [j1, j2] = (await Promise.all(twins.map((r) => r.json()))) as JobJson[];
    expect(j1!.id).toBe(j2!.id);
    expect(twins.filter((r) => r.headers.get("idempotent-replayed") === "true").length).toBe(1);
    const reused = await post(b.base, ALICE, "/jobs", { ...xorJob, seed: 2 }, key);
    expect(reused.status).toBe(422);

    console.log(
      `distributed data sets: ${((performance.now() - t0) / 1000).toFixed(1)} s; delete/create races (job/delete ` +
        `status): ${outcomes.join(" ")}`,
    );
  }, 90_000);
});
