/**
 * The job lifecycle over either pair of adapters, through the HTTP API: the embedded one (SQLite
 * store, in-process queue and events) and the distributed one (PostgreSQL, BullMQ and Redis, an
 * API process and a worker process). A test body takes a `LifecycleAdapter` and asserts the same
 * of both; `inspect` and `leftovers` read what the store and the queue hold, beside the API.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import type { FastifyInstance } from "fastify";
import { Redis } from "ioredis";
import pg from "pg";
import { ALICE, BOB } from "../fixtures.js";
import { buildTestApp } from "../http/helper.js";
import { Cluster, databaseUrl, redisUrl } from "./cluster.js";

/** What a test sees of a job's stored record. */
export interface StoredJob {
  status: string;
  epochsDone: number;
  checkpoint: boolean;
  events: { seq: number; type: string; data: string }[];
}

/** A job as the API answers it (or, for an error, a problem: then `status` is a number). */
export interface JobJson {
  id: string;
  status: string;
  checkpointEpoch: number | null;
  progress: { epoch: number; epochs: number };
  [field: string]: unknown;
}

export interface LifecycleAdapter {
  name: string;
  /** One API call (as ALICE unless `headers` name another key): status, parsed JSON body, headers. */
  request(
    method: "GET" | "POST",
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<{ status: number; json: JobJson; headers: Record<string, string | undefined> }>;
  /** The job's row, checkpoint and events as stored. */
  inspect(id: string): Promise<StoredJob>;
  /** Keys the queue or the event bus still holds for these jobs (none once they ended). */
  leftovers(ids: string[]): Promise<string[]>;
  close(): Promise<void>;
}

/**
 * What both adapters run with: checkpoints every few epochs however fast; two clients (ALICE,
 * whose key `request` sends unless told otherwise, and BOB), each running at most 3 jobs of the 4
 * that run at once.
 */
const SETTINGS = {
  CHECKPOINT_EVERY: "3",
  CHECKPOINT_MIN_MS: "0",
  API_KEYS: `${ALICE},${BOB}`,
  MAX_JOBS_PER_CLIENT: "3",
  POOL_SIZE: "2",
};
/** Jobs running at once in either adapter. */
export const SLOTS = 4;

/** SQLite in a temporary DATA_DIR, jobs run in this process. */
export async function embedded(env: Record<string, string> = {}): Promise<LifecycleAdapter> {
  const dataDir = mkdtempSync(join(tmpdir(), "lifecycle-"));
  const app: FastifyInstance = await buildTestApp({
    DATA_DIR: dataDir,
    MAX_CONCURRENT_JOBS: String(SLOTS),
    ...SETTINGS,
    ...env,
  });
  const db = new Database(join(dataDir, "service.sqlite"), { readonly: true });
  return {
    name: "embedded (SQLite, in-process queue and events)",
    async request(method, path, body, headers = {}) {
      const res = await app.inject({
        method,
        url: path,
        headers: { "x-api-key": ALICE, ...headers },
        ...(body === undefined ? {} : { payload: body as object }),
      });
      const head = Object.fromEntries(Object.entries(res.headers).map(([k, v]) => [k, v?.toString()]));
      return { status: res.statusCode, json: res.json() as JobJson, headers: head };
    },
    async inspect(id) {
      const row = db.prepare("SELECT status, epochs_done FROM jobs WHERE id = ?").get(id) as {
        status: string;
        epochs_done: number;
      };
      const checkpoint = db.prepare("SELECT 1 FROM checkpoints WHERE job_id = ?").get(id) !== undefined;
      const events = db
        .prepare("SELECT seq, type, data FROM job_events WHERE job_id = ? ORDER BY seq")
        .all(id) as StoredJob["events"];
      return { status: row.status, epochsDone: row.epochs_done, checkpoint, events };
    },
    async leftovers(ids) {
      const stats = (await app.inject({ method: "GET", url: "/metrics", headers: { "x-api-key": ALICE } }))
        .body;
      const out: string[] = [];
      const depth = /^training_job_queue_depth (\d+)$/m.exec(stats)?.[1];
      if (depth !== "0") out.push(`queue depth ${depth} (of ${ids.length} jobs)`);
      return out;
    },
    async close() {
      await app.close();
      db.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** An API process and a worker process over PostgreSQL and Redis (TEST_DATABASE_URL, TEST_REDIS_URL). */
export async function distributed(env: Record<string, string> = {}): Promise<LifecycleAdapter> {
  const cluster = new Cluster();
  const settings = { WORKER_CONCURRENCY: String(SLOTS), ...SETTINGS, ...env };
  const [api] = await Promise.all([cluster.api(settings), cluster.worker(settings)]);
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  await client.query(`SET search_path = ${cluster.schema}`);
  const redis = new Redis(redisUrl!);
  return {
    name: "distributed (PostgreSQL, BullMQ, Redis)",
    async request(method, path, body, headers = {}) {
      const res = await fetch(`${api.base}${path}`, {
        method,
        headers: {
          "x-api-key": ALICE,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
          ...headers,
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await res.text();
      return {
        status: res.status,
        json: JSON.parse(text) as JobJson,
        headers: Object.fromEntries(res.headers),
      };
    },
    async inspect(id) {
      const row = (await client.query("SELECT status, epochs_done FROM jobs WHERE id = $1", [id])).rows[0];
      const checkpoint =
        (await client.query("SELECT 1 FROM checkpoints WHERE job_id = $1", [id])).rowCount! > 0;
      const events = (
        await client.query("SELECT seq, type, data FROM job_events WHERE job_id = $1 ORDER BY seq", [id])
      ).rows as StoredJob["events"];
      return { status: row.status, epochsDone: row.epochs_done, checkpoint, events };
    },
    async leftovers(ids) {
      const out: string[] = [];
      for (const id of ids)
        for (const key of ["pending", "open", "jobs"].map((k) => `${cluster.prefix}:${k}:${id}`))
          if ((await redis.exists(key)) === 1) out.push(key);
      return out;
    },
    async close() {
      await client.end();
      redis.disconnect();
      await cluster.cleanup();
    },
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
