/**
 * What the panels share: the data set chosen, the weights on screen, the uploaded weights and
 * the run in progress. Each panel reads it; the panel named beside a field writes it.
 */
import type { Points } from "./datasets.js";
import type { DatasetRef, Job, Tensors, TrainBody } from "./types.js";

/** A data set as the form offers it: built in, stored, or generated here. */
export interface Source {
  key: string;
  label: string;
  dataset: DatasetRef | "inline";
  inputShape: number[];
  /** Class names; undefined for a regression target. */
  classes: string[] | undefined;
  points: Points | undefined;
  description: string;
}

/** The body the form builds: always with its epochs. */
export type RunBody = TrainBody & { epochs: number };

/** A job followed by the page, and the shadow run that draws its regions. */
export interface Run {
  job: Job;
  body: RunBody & { seed: number };
  abort: AbortController;
  /** The latest epoch the job's event stream has reported. */
  jobEpoch: number;
  final?: "succeeded" | "failed" | "cancelled";
  finalSha?: string;
  shadowSha?: string;
  shadowDone: boolean;
  shadowPromise?: Promise<void>;
  /** The model the job stored when it succeeded (its result's `modelId`). */
  modelId?: string;
}

export const state: {
  /** The data panel's choice. */
  source: Source | undefined;
  /** The training panel's job. */
  run: Run | undefined;
  /** The weights panel's upload. */
  uploaded: Tensors | undefined;
  /** The weights of the frame on screen (the inspector and the download use them). */
  currentWeights: Tensors | undefined;
  currentLabel: string;
  /** Their SHA-256 when the service gave it (a job's or a shadow chunk's `weightsSha256`). */
  currentSha: string | undefined;
} = {
  source: undefined,
  run: undefined,
  uploaded: undefined,
  currentWeights: undefined,
  currentLabel: "",
  currentSha: undefined,
};

/** Whether the data set's samples are points of the plane (the regions are drawn then). */
export const is2D = () => state.source?.inputShape.length === 1 && state.source.inputShape[0] === 2;

/** "the weights of epoch 70 of 500", "the job's final weights", "the uploaded weights". */
export function weightsPhrase(label: string): string {
  return label.startsWith("epoch")
    ? `the weights of ${label}`
    : label.startsWith("the")
      ? label
      : `the ${label}`;
}
