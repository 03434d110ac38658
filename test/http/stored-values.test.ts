/**
 * A job or data set whose stored JSON was edited straight in the SQLite file still answers, with a
 * problem naming the job (or data set) and the column, inside the OpenAPI document: GET /jobs/{id}
 * and GET /jobs show the job with `/problems/stored-job-invalid` as its error; GET /datasets/{id}
 * is a 500 `/problems/stored-dataset-invalid`.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { irisJob } from "../fixtures.js";
import { buildTestApp } from "./helper.js";

describe("stored values that no longer fit", () => {
  let dir: string;
  let app: FastifyInstance;
  let db: Database.Database;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "stored-values-"));
    app = await buildTestApp({ DATA_DIR: dir, MAX_CONCURRENT_JOBS: "1" });
    db = new Database(join(dir, "service.sqlite"));
  });
  afterAll(async () => {
    db?.close();
    await app?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("show a finished job with a problem naming the job and the column, in GET and list", async () => {
    const created = await app.inject({ method: "POST", url: "/jobs", payload: irisJob(5) });
    expect(created.statusCode).toBe(202);
    const id = created.json().id as string;
    let job = created.json();
    for (let t = 0; t < 400 && job.status !== "succeeded"; t++) {
      await new Promise((r) => setTimeout(r, 25));
      job = (await app.inject({ method: "GET", url: `/jobs/${id}` })).json();
    }
    expect(job).toMatchObject({ status: "succeeded", progress: { epoch: 5, epochs: 5 } });
    expect(job.error).toBeUndefined();

    db.prepare("UPDATE jobs SET progress = ? WHERE id = ?").run('{"epoch": 5, "loss": [1]}', id);
    const res = await app.inject({ method: "GET", url: `/jobs/${id}` });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({
      id,
      status: "succeeded",
      progress: { epoch: 5, epochs: 5 },
      error: { type: "/problems/stored-job-invalid", title: "Stored job no longer valid", status: 422 },
    });
    expect(body.progress).toEqual({ epoch: 5, epochs: 5 });
    expect(body.error.detail).toMatch(
      new RegExp(`^the stored progress of job ${id} does not fit its schema at loss: `),
    );
    // The result is its own column, still there.
    expect(body.result.epochsRun).toBe(5);

    const list = await app.inject({ method: "GET", url: "/jobs" });
    expect(list.statusCode).toBe(200);
    const listed = list.json().jobs.find((j: { id: string }) => j.id === id);
    expect(listed.error.detail).toBe(body.error.detail);
  });

  it("answer a data set whose column no longer fits with a 500 naming it", async () => {
    const stored = await app.inject({
      method: "POST",
      url: "/datasets",
      payload: { name: "tiny", x: [[1], [2]], y: [0, 1] },
    });
    expect(stored.statusCode).toBe(201);
    const id = stored.json().id as string;
    db.prepare("UPDATE datasets SET target_shape = ? WHERE id = ?").run("[-1]", id);
    const res = await app.inject({ method: "GET", url: `/datasets/${id}` });
    expect(res.statusCode).toBe(500);
    expect(res.json()).toMatchObject({ type: "/problems/stored-dataset-invalid", status: 500 });
    expect(res.json().detail).toMatch(
      new RegExp(`^the stored target_shape of data set ${id} does not fit its schema at 0: `),
    );
  });
});
