import { createHash, randomBytes } from "node:crypto";
import { DEFAULT_PRIORITY, type Job, type JobList } from "../../schemas/jobs.js";
import type { TrainRequest } from "../../schemas/requests.js";
import type { EngineService } from "../engine-service.js";
import { ConflictError, fieldError, InvalidRequestError, ProblemError } from "../errors.js";
import {
  ACTIVE_STATUSES,
  type JobRecord,
  type JobStatus,
  type NewJob,
  type StopRule,
} from "../store/job-store.js";
import { storedProgress } from "./chunk-loop.js";

/** The part of pino the jobs use. */
export interface JobLogger {
  info(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** Who creates a job and how (POST /jobs: the API key's owner, headers and query). */
export interface NewJobOptions {
  /** The creating client (see `ownerOf`); only they see the job. */
  owner: string;
  /** Makes a retried create answer the first job (see `replayable`). */
  idempotencyKey?: string;
  /** 1 (runs first) … MAX_PRIORITY; default DEFAULT_PRIORITY (schemas/jobs.ts). */
  priority?: number;
  /** The tuning job creating it as one of its trials. */
  tuningJobId?: string;
  /** The median rule its runner applies (a trial of a tuning job with `earlyStopping: "median"`). */
  stopRule?: StopRule;
}

/**
 * A new job's record for `req`, checked as POST /train checks it (async: a stored data set is
 * looked up). The seed is fixed now, so a job resumed after a restart (or on another worker)
 * repeats the same run.
 * @throws (rejects with) the 400/404/422 errors of POST /train.
 */
export async function newJob(
  engine: EngineService,
  req: TrainRequest,
  { owner, idempotencyKey, priority = DEFAULT_PRIORITY, tuningJobId, stopRule }: NewJobOptions,
  hash: string | null,
): Promise<{ seeded: TrainRequest; job: NewJob }> {
  const { request: seeded, epochs } = await engine.prepareTrain(req, owner);
  return {
    seeded,
    job: {
      id: `job_${randomBytes(12).toString("hex")}`,
      owner,
      request: JSON.stringify(seeded),
      seed: seeded.seed!,
      datasetId: "id" in req.dataset ? req.dataset.id : null,
      priority,
      idempotencyKey: idempotencyKey ?? null,
      requestHash: hash,
      epochs,
      createdAt: new Date().toISOString(),
      tuningJobId: tuningJobId ?? null,
      stopRule: stopRule ?? null,
    },
  };
}

/** The hash of a job's body an idempotency key is kept with (equal bodies hash alike). */
export function requestHash(req: TrainRequest): string {
  return createHash("sha256").update(canonicalJson(req)).digest("hex");
}

/**
 * The job an idempotency key already names, to answer again, when it was created with the same
 * body (`hash`) and priority; undefined when the key names no job.
 * @throws ProblemError (422) when the key was used for another body or another priority.
 */
export function replayable(
  existing: JobRecord | undefined,
  hash: string | null,
  priority: number = DEFAULT_PRIORITY,
): JobRecord | undefined {
  if (!existing) return undefined;
  const other =
    existing.requestHash !== hash
      ? { what: "body", path: ["headers", "idempotency-key"] }
      : existing.priority !== priority
        ? { what: `priority (${existing.priority})`, path: ["querystring", "priority"] }
        : undefined;
  if (other)
    throw new ProblemError(
      422,
      "/problems/idempotency-key-reused",
      "Idempotency key reused",
      `the Idempotency-Key was used for job ${existing.id} with a different ${other.what}; use a new key for a new job`,
      [
        fieldError(
          other.path,
          `the Idempotency-Key was used for job ${existing.id} with another ${other.what}`,
        ),
      ],
    );
  return existing;
}

/** JSON with object keys sorted at every level, so equal bodies hash alike whatever their key order. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        )
      : v,
  );
}

/**
 * A job as the API shows it (both modes). `progress`: the live one when this process runs it,
 * else the stored one. A record whose JSON column no longer parses (`JobRecord.invalid`) shows
 * that problem as its `error`.
 */
export function jobView(record: JobRecord, progress: Job["progress"] = storedProgress(record)): Job {
  const self = `/jobs/${record.id}`;
  return {
    id: record.id,
    status: record.status,
    createdAt: record.createdAt,
    startedAt: record.startedAt,
    finishedAt: record.finishedAt,
    seed: record.seed,
    priority: record.priority,
    progress,
    checkpointEpoch: ACTIVE_STATUSES.includes(record.status) ? record.epochsDone : null,
    attempts: record.attempts,
    ...(record.datasetId ? { datasetId: record.datasetId } : {}),
    // A column that no longer parses shows as the job's error (its runner fails the job with it).
    ...(record.invalid ? { error: record.invalid } : record.error ? { error: record.error } : {}),
    ...(record.diverged ? { diverged: record.diverged } : {}),
    ...(record.modelId ? { modelId: record.modelId } : {}),
    ...(record.tuningJobId ? { tuningJobId: record.tuningJobId } : {}),
    links: { self, events: `${self}/events`, cancel: `${self}/cancel` },
  };
}

/**
 * One page of `GET /jobs` with the link to the next (both modes).
 * @param page the store's page, or null when `after` names no job
 * @throws InvalidRequestError (400) when `after` names no job.
 */
export function jobList(
  query: { limit: number; after?: string; status?: JobStatus },
  page: { items: JobRecord[]; hasMore: boolean } | null | undefined,
  view: (record: JobRecord) => Job,
): JobList {
  if (!page)
    throw new InvalidRequestError(`no job ${query.after} to list after`, [
      { path: "querystring.after", message: "not the id of a job" },
    ]);
  const last = page.items.at(-1);
  const params = new URLSearchParams({ limit: String(query.limit) });
  if (query.status) params.set("status", query.status);
  // The position, not the id: the next page is found even once this job is deleted.
  if (last) params.set("cursor", String(last.seq));
  return { jobs: page.items.map(view), hasMore: page.hasMore, next: page.hasMore ? `/jobs?${params}` : null };
}

/** @throws ConflictError (409) when the job has already finished. */
export function checkCancellable(record: JobRecord): void {
  if (!ACTIVE_STATUSES.includes(record.status))
    throw new ConflictError(
      `job ${record.id} has already ${record.status === "cancelled" ? "been cancelled" : record.status}`,
    );
}

/** Seconds since `startedAt` (ISO 8601), or undefined. */
export function seconds(startedAt: string | null): number | undefined {
  return startedAt ? (Date.now() - Date.parse(startedAt)) / 1000 : undefined;
}
