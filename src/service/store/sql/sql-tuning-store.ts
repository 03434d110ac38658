import { z } from "zod";
import { ProblemSchema } from "../../../schemas/problem.js";
import { ChoiceValueSchema, type TUNING_STATUSES, type TuningStatus } from "../../../schemas/tuning.js";
import { tuningEventPayload } from "../../webhooks/payload.js";
import { readStored } from "../stored-json.js";
import type { TrialRecord, TrialStatus, TuningEvent, TuningRecord, TuningStore } from "../tuning-store.js";
import { first, pageNewestFirst, type SqlDriver } from "./driver.js";
import { enqueueDeliveries } from "./sql-webhook-store.js";

interface TuningRow {
  seq: number | string;
  id: string;
  owner: string;
  status: (typeof TUNING_STATUSES)[number];
  created_at: string;
  finished_at: string | null;
  request: string;
  seed: number | string;
  best_trial: number | null;
  error: string | null;
}

interface TrialRow {
  idx: number;
  job_id: string | null;
  parameters: string;
  seed: number | string;
  status: TrialStatus;
  objective: number | string | null;
  epochs_run: number;
  model_id: string | null;
  curve: string;
  error: string | null;
}

const COLUMNS = "seq, id, owner, status, created_at, finished_at, request, seed, best_trial, error";
const TRIAL_COLUMNS = "idx, job_id, parameters, seed, status, objective, epochs_run, model_id, curve, error";
const ParametersSchema = z.record(z.string(), ChoiceValueSchema);
const CurveSchema = z.array(z.number());

function tuningRecord(row: TuningRow): TuningRecord {
  return {
    seq: Number(row.seq),
    id: row.id,
    owner: row.owner,
    status: row.status,
    createdAt: row.created_at,
    finishedAt: row.finished_at,
    seed: Number(row.seed),
    request: row.request,
    bestTrial: row.best_trial === null ? null : Number(row.best_trial),
    error:
      row.error === null
        ? null
        : readStored(ProblemSchema, row.error, { kind: "tuning", id: row.id, column: "error" }),
  };
}

function trialRecord(id: string, row: TrialRow): TrialRecord {
  const where = (column: string) => ({ kind: "tuning" as const, id: `${id} trial ${row.idx}`, column });
  return {
    index: Number(row.idx),
    jobId: row.job_id,
    parameters: readStored(ParametersSchema, row.parameters, where("parameters")),
    seed: Number(row.seed),
    status: row.status,
    objective: row.objective === null ? null : Number(row.objective),
    epochsRun: Number(row.epochs_run),
    modelId: row.model_id,
    curve: readStored(CurveSchema, row.curve, where("curve")),
    error: row.error === null ? null : readStored(ProblemSchema, row.error, where("error")),
  };
}

/** `TuningStore` in SQL, one text for SQLite and PostgreSQL. */
export class SqlTuningStore implements TuningStore {
  constructor(private readonly db: SqlDriver) {}

  async insert(job: Parameters<TuningStore["insert"]>[0]): Promise<TuningRecord> {
    await this.db.run(
      "INSERT INTO tuning_jobs (id, owner, status, created_at, request, seed) VALUES (?, ?, 'running', ?, ?, ?)",
      [job.id, job.owner, job.createdAt, job.request, job.seed],
    );
    return (await this.get(job.id))!;
  }

  async get(id: string, owner?: string): Promise<TuningRecord | undefined> {
    const row = first(await this.db.all<TuningRow>(`SELECT ${COLUMNS} FROM tuning_jobs WHERE id = ?`, [id]));
    return row && (owner === undefined || row.owner === owner) ? tuningRecord(row) : undefined;
  }

  async list(limit: number, options: { after?: string; owner: string; status?: TuningStatus }) {
    const page = await pageNewestFirst<TuningRow>(this.db, {
      table: "tuning_jobs",
      columns: COLUMNS,
      owner: options.owner,
      limit,
      after: options.after,
      ...(options.status ? { filter: { sql: "status = ?", param: options.status } } : {}),
    });
    return page && { items: page.rows.map(tuningRecord), hasMore: page.hasMore };
  }

  async unfinished(): Promise<TuningRecord[]> {
    const rows = await this.db.all<TuningRow>(
      `SELECT ${COLUMNS} FROM tuning_jobs WHERE status = 'running' ORDER BY seq`,
    );
    return rows.map(tuningRecord);
  }

  async trials(id: string): Promise<TrialRecord[]> {
    const rows = await this.db.all<TrialRow>(
      `SELECT ${TRIAL_COLUMNS} FROM tuning_trials WHERE tuning_job_id = ? ORDER BY idx`,
      [id],
    );
    return rows.map((r) => trialRecord(id, r));
  }

  async saveTrial(id: string, t: TrialRecord): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      // The tuning job's row locked first: a cancel (an UPDATE of it) waits, or went first.
      const running = await tx.all(
        `SELECT 1 FROM tuning_jobs WHERE id = ? AND status = 'running'${this.db.dialect.forUpdate}`,
        [id],
      );
      if (running.length === 0) return false;
      await tx.run(
        `INSERT INTO tuning_trials
           (tuning_job_id, idx, job_id, parameters, seed, status, objective, epochs_run, model_id, curve, error)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (tuning_job_id, idx) DO UPDATE SET job_id = excluded.job_id, status = excluded.status,
           objective = excluded.objective, epochs_run = excluded.epochs_run, model_id = excluded.model_id,
           curve = excluded.curve, error = excluded.error`,
        [
          id,
          t.index,
          t.jobId,
          JSON.stringify(t.parameters),
          t.seed,
          t.status,
          t.objective,
          t.epochsRun,
          t.modelId,
          JSON.stringify(t.curve),
          t.error === null ? null : JSON.stringify(t.error),
        ],
      );
      return true;
    });
  }

  /**
   * running → `end.status`, and in the same transaction the webhooks' deliveries of the end
   * (`tuning.<status>`, docs/reliability.md): an ended tuning job always has them.
   */
  async finish(id: string, end: Parameters<TuningStore["finish"]>[1]): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const changed = await tx.run(
        "UPDATE tuning_jobs SET status = ?, finished_at = ?, best_trial = ?, error = ? WHERE id = ? AND status = 'running'",
        [end.status, end.finishedAt, end.bestTrial, end.error ? JSON.stringify(end.error) : null, id],
      );
      if (changed === 0) return false;
      const row = first(await tx.all<TuningRow>(`SELECT ${COLUMNS} FROM tuning_jobs WHERE id = ?`, [id]))!;
      const trials = (
        await tx.all<TrialRow>(`SELECT ${TRIAL_COLUMNS} FROM tuning_trials WHERE tuning_job_id = ?`, [id])
      ).map((r) => trialRecord(id, r));
      await enqueueDeliveries(
        tx,
        { id, owner: row.owner, finishedAt: end.finishedAt },
        `tuning.${end.status}`,
        () => tuningEventPayload(tuningRecord(row), trials),
      );
      return true;
    });
  }

  async addEvent(
    id: string,
    key: string,
    type: TuningEvent["type"],
    data: unknown,
  ): Promise<TuningEvent | undefined> {
    const text = JSON.stringify(data);
    return this.db.transaction(async (tx) => {
      await tx.lock(`tuning ${id}`);
      const taken = await tx.all("SELECT 1 FROM tuning_events WHERE tuning_job_id = ? AND event_key = ?", [
        id,
        key,
      ]);
      if (taken.length > 0) return undefined;
      const last = first(
        await tx.all<{ seq: number | string | null }>(
          "SELECT MAX(seq) AS seq FROM tuning_events WHERE tuning_job_id = ?",
          [id],
        ),
      );
      const seq = Number(last?.seq ?? 0) + 1;
      await tx.run(
        "INSERT INTO tuning_events (tuning_job_id, seq, event_key, type, data) VALUES (?, ?, ?, ?, ?)",
        [id, seq, key, type, text],
      );
      return { seq, type, data: text };
    });
  }

  async events(id: string, afterSeq: number): Promise<TuningEvent[]> {
    const rows = await this.db.all<{ seq: number | string; type: TuningEvent["type"]; data: string }>(
      "SELECT seq, type, data FROM tuning_events WHERE tuning_job_id = ? AND seq > ? ORDER BY seq",
      [id, afterSeq],
    );
    return rows.map((r) => ({ seq: Number(r.seq), type: r.type, data: r.data }));
  }

  deleteFinishedBefore(cutoff: string): Promise<number> {
    return this.db.run("DELETE FROM tuning_jobs WHERE status <> 'running' AND finished_at < ?", [cutoff]);
  }

  async activeTrialJobs(id: string): Promise<string[]> {
    const rows = await this.db.all<{ id: string }>(
      "SELECT id FROM jobs WHERE tuning_job_id = ? AND status IN ('queued', 'running') ORDER BY seq",
      [id],
    );
    return rows.map((r) => r.id);
  }
}
