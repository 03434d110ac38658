import { describe, expect, it } from "vitest";
import { describeModel, type ModelSpec } from "../../src/engine/index.js";
import { InvalidRequestError, type ProblemError, UnprocessableError } from "../../src/service/errors.js";
import { datasetFromCsv, datasetFromJson } from "../../src/service/store/dataset-ingest.js";
import type { StoredDataset } from "../../src/service/store/dataset-store.js";
import { storedTrainingData } from "../../src/service/store/training-data.js";

function thrown(f: () => unknown): ProblemError {
  try {
    f();
  } catch (err) {
    return err as ProblemError;
  }
  throw new Error("did not throw");
}

const IRIS_HEAD = "sepal_length,sepal_width,petal_length,petal_width,species\n";

describe("CSV data sets (csv-parse)", () => {
  it("maps class names to indices in order of first appearance and returns the mapping", () => {
    const d = datasetFromCsv(
      `${IRIS_HEAD}5.1,3.5,1.4,0.2,setosa\n7.0,3.2,4.7,1.4,versicolor\n\n4.9,3.0,1.4,0.2,setosa\n6.3,3.3,6.0,2.5,virginica\n`,
    );
    expect(d.samples).toBe(4);
    expect(d.inputShape).toEqual([4]);
    expect(d.targetShape).toEqual([]);
    expect(d.classes).toEqual(["setosa", "versicolor", "virginica"]);
    expect(Array.from(d.y)).toEqual([0, 1, 0, 2]);
    expect(Array.from(d.x.subarray(4, 8))).toEqual([7.0, 3.2, 4.7, 1.4]);
    expect(d.columns).toEqual({
      features: ["sepal_length", "sepal_width", "petal_length", "petal_width"],
      label: "species",
    });
  });

  it("takes any column as the label; numeric labels stay numbers; quoted fields and a BOM are fine", () => {
    const d = datasetFromCsv('\uFEFFy,"a, b",c\n1.5,"2",3\n-2,4,5e-1\n', { label: "y", name: "reg" });
    expect(d.classes).toBeUndefined();
    expect(Array.from(d.y)).toEqual([1.5, -2]);
    expect(Array.from(d.x)).toEqual([2, 3, 4, 0.5]);
    expect(d.columns).toEqual({ features: ["a, b", "c"], label: "y" });
    expect(d.name).toBe("reg");
  });

  it("400 for CSV that does not parse, naming the line", () => {
    const err = thrown(() => datasetFromCsv('a,b\n1,2\n3,"4\n'));
    expect(err).toBeInstanceOf(InvalidRequestError);
    expect(err.message).toMatch(/not valid CSV \(line 3\)/);
    expect(err.errors?.[0]?.path).toBe("line[3]");
  });

  it("400 for a ragged row, naming its line and the counts", () => {
    const err = thrown(() => datasetFromCsv("a,b,c\n1,2,3\n4,5\n"));
    expect(err).toBeInstanceOf(InvalidRequestError);
    expect(err.message).toBe("line 3 has 2 fields; the header has 3 columns");
    expect(err.errors).toEqual([{ path: "line[3]", message: "2 fields, expected 3" }]);
  });

  it("422 for a label column that does not exist, listing the columns", () => {
    const err = thrown(() => datasetFromCsv("a,b\n1,2\n", { label: "species" }));
    expect(err).toBeInstanceOf(UnprocessableError);
    expect(err.message).toBe('there is no column "species" to use as the label; the columns are "a", "b"');
    expect(err.errors?.[0]?.path).toBe("querystring.label");
  });

  it("422 for non-numeric features, naming line and column of each", () => {
    const err = thrown(() => datasetFromCsv(`${IRIS_HEAD}5.1,3.5,1.4,0.2,setosa\n5.0,abc,1.4,,setosa\n`));
    expect(err).toBeInstanceOf(UnprocessableError);
    expect(err.message).toBe(
      '2 cells cannot be used: line[3].sepal_width: "abc" is not a number (see errors)',
    );
    expect(err.errors).toEqual([
      { path: "line[3].sepal_width", message: '"abc" is not a number' },
      { path: "line[3].petal_width", message: "empty; features must be numbers" },
    ]);
  });

  it("400 for no rows, duplicate or missing column names", () => {
    expect(thrown(() => datasetFromCsv("")).message).toMatch(/empty/);
    expect(thrown(() => datasetFromCsv("a,b\n")).message).toMatch(/no data rows/);
    expect(thrown(() => datasetFromCsv("a,a\n1,2\n")).message).toMatch(/names the column "a" twice/);
    expect(thrown(() => datasetFromCsv("a,,c\n1,2,3\n")).message).toMatch(
      /column 2 of the header row has no name/,
    );
  });
});

describe("JSON data sets", () => {
  it("reads the shapes from the first sample and target", () => {
    const d = datasetFromJson({
      x: [
        [[1], [2]],
        [[3], [4]],
      ],
      y: [
        [1, 0],
        [0, 1],
      ],
    });
    expect(d.inputShape).toEqual([2, 1]);
    expect(d.targetShape).toEqual([2]);
    expect(Array.from(d.x)).toEqual([1, 2, 3, 4]);
  });

  it("422 naming the sample whose shape differs from the first", () => {
    const err = thrown(() => datasetFromJson({ x: [[1, 2], [3, 4], [5]], y: [0, 1, 0] }));
    expect(err).toBeInstanceOf(UnprocessableError);
    expect(err.errors?.[0]?.path).toBe("x[2]");
  });

  it("422 for labels that are not indices of the classes", () => {
    const err = thrown(() => datasetFromJson({ x: [[0], [1]], y: [0, 2], classes: ["a", "b"] }));
    expect(err.errors).toEqual([{ path: "y[1]", message: "2 is not a class index in [0, 2) (2 classes)" }]);
  });
});

describe("stored data sets for training", () => {
  const stored = (over: Partial<StoredDataset> = {}): StoredDataset => ({
    id: "ds_1",
    name: null,
    format: "csv",
    createdAt: "",
    samples: 3,
    inputShape: [2],
    targetShape: [],
    classes: ["a", "b", "c"],
    x: Float64Array.from([1, 2, 3, 4, 5, 6]),
    y: Float64Array.from([2, 0, 1]),
    ...over,
  });
  const model = (units: number, loss: ModelSpec["loss"]): ModelSpec => ({
    inputShape: [2],
    layers: [{ type: "dense", units, activation: loss === "meanSquaredError" ? "linear" : "softmax" }],
    loss,
  });

  it("gives labels to the sparse loss and one-hot vectors to the categorical one", () => {
    const sparse = storedTrainingData(
      stored(),
      describeModel(model(3, "sparseCategoricalCrossentropy")),
      "sparseCategoricalCrossentropy",
    );
    expect(Array.from(sparse.y)).toEqual([2, 0, 1]);
    const onehot = storedTrainingData(
      stored(),
      describeModel(model(3, "categoricalCrossentropy")),
      "categoricalCrossentropy",
    );
    expect(Array.from(onehot.y)).toEqual([0, 0, 1, 1, 0, 0, 0, 1, 0]);
  });

  it("422 at dataset.id when the model does not fit", () => {
    const wrongInput = thrown(() =>
      storedTrainingData(
        stored({ inputShape: [3], x: new Float64Array(9) }),
        describeModel(model(3, "sparseCategoricalCrossentropy")),
        "sparseCategoricalCrossentropy",
      ),
    );
    expect(wrongInput.errors?.[0]?.path).toBe("dataset.id");
    const wrongClasses = thrown(() =>
      storedTrainingData(
        stored(),
        describeModel(model(2, "categoricalCrossentropy")),
        "categoricalCrossentropy",
      ),
    );
    expect(wrongClasses.message).toMatch(/3 classes.*needs 3 output units, not 2/);
  });
});
