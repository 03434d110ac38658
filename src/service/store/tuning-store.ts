import type { Problem } from "../../schemas/problem.js";
import type { ChoiceValue, TuningStatus } from "../../schemas/tuning.js";

export interface TuningRecord {
  seq: number;
  id: string;
  owner: string;
  status: TuningStatus;
  createdAt: string;
  finishedAt: string | null;
  seed: number;
  /** The POST /tuning-jobs body, JSON text, seed filled in. */
  request: string;
  /** The best succeeded trial's index once the job ended (null: none succeeded, or still running). */
  bestTrial: number | null;
  error: Problem | null;
}

/** How a trial stands: running (its job queued or running), or its outcome. */
export type TrialStatus = "running" | "succeeded" | "failed" | "cancelled" | "stopped";

export interface TrialRecord {
  index: number;
  /** Null when its job could not be created (the trial failed with that problem). */
  jobId: string | null;
  parameters: Record<string, ChoiceValue>;
  seed: number;
  status: TrialStatus;
  /** The objective at the last epoch it ran; null while running or when it failed. */
  objective: number | null;
  epochsRun: number;
  modelId: string | null;
  /** The objective per epoch it ran (the median rule's reference once it has ended). */
  curve: number[];
  error: Problem | null;
}

/** One server-sent event of a tuning job: `seq` is its id (1-based, in the order stored). */
export interface TuningEvent {
  seq: number;
  type: "trialStarted" | "trialEnded" | "trialStopped" | "newBest" | "succeeded" | "failed" | "cancelled";
  data: string;
}

/**
 * Where tuning jobs, their trials and their events are kept (`SqlTuningStore` on SQLite or
 * PostgreSQL). Writes for a tuning job apply only while it is running, so a cancel that was
 * stored first leaves nothing to overwrite.
 */
export interface TuningStore {
  insert(
    job: Omit<TuningRecord, "seq" | "status" | "finishedAt" | "bestTrial" | "error">,
  ): Promise<TuningRecord>;
  /** With `owner`, only when it belongs to them. */
  get(id: string, owner?: string): Promise<TuningRecord | undefined>;
  /** The owner's tuning jobs (in `status`, if given), newest first. @returns undefined when `after` names none of theirs. */
  list(
    limit: number,
    options: { after?: string; owner: string; status?: TuningStatus },
  ): Promise<{ items: TuningRecord[]; hasMore: boolean } | undefined>;
  /** Running tuning jobs, in the order they came (to resume after a restart). */
  unfinished(): Promise<TuningRecord[]>;
  /** The trials proposed so far, by index. */
  trials(id: string): Promise<TrialRecord[]>;
  /** Stores a trial (replacing what its index had), only while the tuning job runs. @returns whether it did. */
  saveTrial(id: string, trial: TrialRecord): Promise<boolean>;
  /** running → `end.status`. @returns false when it was not running (nothing written). */
  finish(
    id: string,
    end: {
      status: Exclude<TuningStatus, "running">;
      finishedAt: string;
      bestTrial: number | null;
      error?: Problem;
    },
  ): Promise<boolean>;
  /**
   * Appends an event unless one with `key` is stored (a resumed coordinator's repeats are dropped).
   * @returns the event, or undefined when the key was taken.
   */
  addEvent(
    id: string,
    key: string,
    type: TuningEvent["type"],
    data: unknown,
  ): Promise<TuningEvent | undefined>;
  /** The stored events after `afterSeq`, in order. */
  events(id: string, afterSeq: number): Promise<TuningEvent[]>;
  /**
   * Deletes the tuning jobs that ended before `cutoff` (ISO 8601), their trials and events with
   * them (JOB_RETENTION_DAYS, as for jobs: their trial jobs go by the same rule). @returns how many.
   */
  deleteFinishedBefore(cutoff: string): Promise<number>;
  /** The ids of the tuning job's trial jobs that are queued or running. */
  activeTrialJobs(id: string): Promise<string[]>;
}
