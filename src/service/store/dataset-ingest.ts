import { CsvError, parse } from "csv-parse/sync";
import { formatShape, sizeOf } from "../../engine/index.js";
import type { FieldError } from "../../schemas/problem.js";
import type { StoreDatasetJson } from "../../schemas/stored-datasets.js";
import { nestedToTensor, samplesToArray } from "../convert.js";
import { fieldError, InvalidRequestError, UnprocessableError } from "../errors.js";
import type { NewDataset } from "./dataset-store.js";

/** At most this many bad cells are listed (a broken file could have millions). */
const MAX_CELL_ERRORS = 100;

/**
 * A data set sent as JSON: `x` samples (nested arrays of `inputShape`, or flat of its size) and
 * `y` targets (numbers, or nested arrays all of one shape). Shapes are read from the first sample
 * and target when not given.
 * @throws InvalidRequestError (400) naming `x[0]`/`y[0]` when the first is ragged;
 *   UnprocessableError (422) naming `x[i]`/`y[i]` when one does not have the shape, or a label
 *   that is not an index of `classes`.
 */
export function datasetFromJson(body: StoreDatasetJson): NewDataset {
  const n = body.x.length;
  const inputShape = body.inputShape ?? nestedToTensor(body.x[0]!, ["x", 0]).shape;
  if (inputShape.length === 0) inputShape.push(1); // one number per sample is one feature
  const targetShape = nestedToTensor(body.y[0]!, ["y", 0]).shape;
  const targetSize = sizeOf(targetShape);
  const x = samplesToArray(body.x, inputShape, (i) => ["x", i]);
  const y = samplesToArray(body.y, targetShape, (i) => ["y", i]);
  if (body.classes) {
    const k = body.classes.length;
    if (targetSize !== 1)
      throw unprocessable(
        `with classes, y must be one class label per sample; its entries have shape ${formatShape(targetShape)}`,
        ["y", 0],
      );
    const errors: FieldError[] = [];
    y.forEach((v, i) => {
      if ((!Number.isInteger(v) || v < 0 || v >= k) && errors.length < MAX_CELL_ERRORS)
        errors.push(fieldError(["y", i], `${v} is not a class index in [0, ${k}) (${k} classes)`));
    });
    if (errors.length > 0)
      throw new UnprocessableError(`y has labels outside the ${k} classes: ${errors[0]!.path}`, errors);
  }
  return {
    name: body.name ?? null,
    format: "json",
    samples: n,
    inputShape,
    targetShape,
    x,
    y,
    ...(body.classes ? { classes: body.classes } : {}),
  };
}

export interface CsvOptions {
  /** The target column's name (default: the last column). */
  label?: string;
  name?: string;
  /** The shape of one sample, filled row-major by the feature columns in order (default `[features]`). */
  inputShape?: number[] | undefined;
}

/**
 * A data set sent as CSV (RFC 4180, parsed by csv-parse): a header row naming the columns, one
 * sample per row. The `label` column is the target; every other column is a numeric feature
 * (`inputShape` `[features]`, or `options.inputShape`, whose size must be the number of features:
 * a sequence `[T, F]` as its T·F values step by step). A label column whose values are all numbers stays numeric; any
 * other is a class name, mapped to its index in order of first appearance (`classes`).
 * Lines are counted from 1, the header being line 1.
 * @throws InvalidRequestError (400) for text that is not CSV (an unclosed quote…), no header or
 *   no rows, duplicate column names, and ragged rows (naming the line); UnprocessableError (422)
 *   for a label column that does not exist, and non-numeric features or empty labels (naming
 *   line and column, `line[7].petal_width`).
 */
export function datasetFromCsv(text: string, options: CsvOptions = {}): NewDataset {
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parse(text, {
      bom: true,
      trim: true,
      skip_empty_lines: true,
      relax_column_count: true, // ragged rows are reported below, with line and counts
      info: true,
    }) as unknown as { record: string[]; info: { lines: number } }[];
  } catch (err) {
    if (!(err instanceof CsvError)) throw err;
    const line = typeof err.lines === "number" ? err.lines : undefined;
    const message = err.message.replace(/^[A-Za-z ]+: /, "");
    throw new InvalidRequestError(
      `the body is not valid CSV${line ? ` (line ${line})` : ""}: ${message}`,
      line ? [fieldError(["line", line], message)] : undefined,
    );
  }
  const [head, ...rows] = records;
  if (!head) throw new InvalidRequestError("the CSV is empty: expected a header row naming the columns");
  const columns = head.record;
  const seen = new Set<string>();
  columns.forEach((c, j) => {
    if (c === "")
      throw new InvalidRequestError(`column ${j + 1} of the header row has no name`, [
        fieldError(["line", 1], "a column without a name"),
      ]);
    if (seen.has(c))
      throw new InvalidRequestError(`the header row names the column "${c}" twice`, [
        fieldError(["line", 1], `duplicate column "${c}"`),
      ]);
    seen.add(c);
  });
  if (columns.length < 2)
    throw new InvalidRequestError(
      `the header row has ${columns.length} column; a data set needs at least one feature and a label`,
      [fieldError(["line", 1], "fewer than 2 columns")],
    );
  if (rows.length === 0) throw new InvalidRequestError("the CSV has a header row but no data rows");
  const label = options.label ?? columns[columns.length - 1]!;
  const labelAt = columns.indexOf(label);
  if (labelAt < 0)
    throw unprocessable(
      `there is no column "${label}" to use as the label; the columns are ${columns.map((c) => `"${c}"`).join(", ")}`,
      ["querystring", "label"],
    );
  for (const { record, info } of rows)
    if (record.length !== columns.length)
      throw new InvalidRequestError(
        `line ${info.lines} has ${record.length} field${record.length === 1 ? "" : "s"}; the header has ${columns.length} columns`,
        [fieldError(["line", info.lines], `${record.length} fields, expected ${columns.length}`)],
      );

  const features = columns.filter((_, j) => j !== labelAt);
  const n = rows.length;
  const f = features.length;
  const shape = options.inputShape ?? [f];
  const size = shape.reduce((a, b) => a * b, 1);
  if (size !== f)
    throw unprocessable(
      `inputShape [${shape.join(", ")}] holds ${size} values per sample; the CSV has ${f} feature column${f === 1 ? "" : "s"}`,
      ["querystring", "inputShape"],
    );
  const x = new Float64Array(n * f);
  const errors: FieldError[] = [];
  let bad = 0;
  const labels: string[] = new Array(n);
  rows.forEach(({ record, info }, i) => {
    let k = 0;
    record.forEach((cell, j) => {
      if (j === labelAt) {
        labels[i] = cell;
        if (cell === "") {
          bad++;
          if (errors.length < MAX_CELL_ERRORS)
            errors.push(fieldError(["line", info.lines, label], "the label is empty"));
        }
        return;
      }
      const v = cell === "" ? Number.NaN : Number(cell);
      if (!Number.isFinite(v)) {
        bad++;
        if (errors.length < MAX_CELL_ERRORS)
          errors.push(
            fieldError(
              ["line", info.lines, columns[j]!],
              cell === "" ? "empty; features must be numbers" : `${JSON.stringify(cell)} is not a number`,
            ),
          );
      }
      x[i * f + k++] = v;
    });
  });
  if (bad > 0) {
    const first = errors[0]!;
    throw new UnprocessableError(
      `${bad} cell${bad === 1 ? "" : "s"} cannot be used: ${first.path}: ${first.message}` +
        (bad > 1 ? " (see errors)" : ""),
      errors,
    );
  }
  const numeric = labels.every((l) => Number.isFinite(Number(l)));
  let classes: string[] | undefined;
  let y: Float64Array;
  if (numeric) y = Float64Array.from(labels, Number);
  else {
    const index = new Map<string, number>();
    y = Float64Array.from(labels, (l) => {
      let c = index.get(l);
      if (c === undefined) {
        c = index.size;
        index.set(l, c);
      }
      return c;
    });
    classes = [...index.keys()];
  }
  return {
    name: options.name ?? null,
    format: "csv",
    samples: n,
    inputShape: shape,
    targetShape: [],
    x,
    y,
    columns: { features, label },
    ...(classes ? { classes } : {}),
  };
}

function unprocessable(message: string, path: (string | number)[]): UnprocessableError {
  return new UnprocessableError(message, [fieldError(path, message)]);
}
