import type { z } from "zod";
import { ProblemError } from "../errors.js";

/** Where a stored JSON value came from, for the problem that says it no longer parses. */
export interface StoredPlace {
  /** What holds it: "job", "checkpoint", "data set" (the problem's type is `/problems/stored-<kind>-invalid`). */
  kind: "job" | "checkpoint" | "dataset" | "model" | "webhook" | "tuning";
  /** The id of the job, data set or model. */
  id: string;
  /** The column (or field) holding the value. */
  column: string;
}

/**
 * A JSON value the service stored, read back through `schema` rather than cast: a value edited by
 * hand, cut short, or written by another version of the service is refused here, naming where it
 * was and the first field that does not fit, instead of reaching the code that reads it half-checked.
 * @param text the stored JSON text
 * @throws ProblemError (`/problems/stored-<kind>-invalid`; 422, a data set's 500) when the text is not
 *   JSON or does not fit.
 */
export function readStored<S extends z.ZodType>(schema: S, text: string, at: StoredPlace): z.output<S> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw storedInvalid(at, `is not JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  return checkStored(schema, value, at);
}

/**
 * A stored value already parsed from JSON (a checkpoint's summary), checked against `schema`.
 * @throws ProblemError (`/problems/stored-<kind>-invalid`, as `readStored`) when it does not fit.
 */
export function checkStored<S extends z.ZodType>(schema: S, value: unknown, at: StoredPlace): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw storedInvalid(
    at,
    `does not fit its schema${issue ? ` at ${issue.path.join(".") || "(root)"}: ${issue.message}` : ""}`,
  );
}

const TITLES: Record<StoredPlace["kind"], string> = {
  job: "Stored job no longer valid",
  checkpoint: "Stored checkpoint no longer valid",
  dataset: "Stored data set no longer valid",
  model: "Stored model no longer valid",
  webhook: "Stored webhook no longer valid",
  tuning: "Stored tuning job no longer valid",
};

/**
 * A job's stored values are its own: they fail it as a stored request does (422). A data set or
 * model (or webhook) that no longer reads is the service's fault on whatever request reads it (500).
 */
const STATUSES: Record<StoredPlace["kind"], number> = {
  job: 422,
  checkpoint: 422,
  dataset: 500,
  model: 500,
  webhook: 500,
  tuning: 500,
};

const NOUNS: Record<StoredPlace["kind"], string> = {
  job: "job",
  checkpoint: "job",
  dataset: "data set",
  model: "model",
  webhook: "webhook",
  tuning: "tuning job",
};

/** The problem for a stored value that no longer parses (see `readStored`). */
export function storedInvalid(at: StoredPlace, what: string): ProblemError {
  const where = at.kind === "checkpoint" ? `checkpoint ${at.column}` : at.column;
  return new ProblemError(
    STATUSES[at.kind],
    `/problems/stored-${at.kind}-invalid`,
    TITLES[at.kind],
    `the stored ${where} of ${NOUNS[at.kind]} ${at.id} ${what}`,
  );
}
