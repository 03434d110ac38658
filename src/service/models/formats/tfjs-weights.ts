/**
 * A tfjs weights manifest and its binary (docs/models.md, "Importing Keras/tfjs models") into
 * the engine's named tensors.
 */
import {
  describeModel,
  type ModelSpec,
  type ModelSummary,
  type NamedTensors,
} from "../../../engine/index.js";
import { fieldError, UnprocessableError } from "../../errors.js";

type Path = readonly (string | number)[];

const unprocessable = (path: Path, message: string) =>
  new UnprocessableError(message, [fieldError(path, message)]);

/** One manifest entry, where it stands and where its values start in the data. */
interface Entry {
  name: string;
  shape: number[];
  offset: number;
  path: (string | number)[];
}

/** The entries of every group, in order, their offsets into the concatenated data. */
function readManifest(manifest: unknown, at: Path): { entries: Entry[]; bytes: number } {
  if (!Array.isArray(manifest))
    throw unprocessable(
      at,
      "expected the weights manifest: an array of { paths, weights: [{ name, shape, dtype }] }",
    );
  const entries: Entry[] = [];
  let bytes = 0;
  manifest.forEach((group, g) => {
    const weights = (group as { weights?: unknown } | null)?.weights;
    if (!Array.isArray(weights))
      throw unprocessable([...at, g, "weights"], "expected an array of { name, shape, dtype }");
    weights.forEach((w, k) => {
      const path = [...at, g, "weights", k];
      const { name, shape, dtype, quantization, group } = (w ?? {}) as Record<string, unknown>;
      if (typeof name !== "string") throw unprocessable([...path, "name"], "expected the weight's name");
      if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0))
        throw unprocessable([...path, "shape"], "expected an array of non-negative integers");
      const size = (shape as number[]).reduce((a, b) => a * b, 1);
      if (group === "optimizer" && (dtype === "float32" || dtype === "int32")) {
        // tfjs' `save({ includeOptimizer: true })` appends the optimiser's state: skipped, as the
        // model's weights are all that is read.
        bytes += 4 * size;
        return;
      }
      if (dtype !== "float32")
        throw unprocessable(
          [...path, "dtype"],
          `expected "float32" (the only dtype read), got ${JSON.stringify(dtype)}`,
        );
      if (quantization !== undefined && quantization !== null)
        throw unprocessable([...path, "quantization"], "quantised weights are not supported");
      entries.push({ name, shape: shape as number[], offset: bytes, path });
      bytes += 4 * size;
    });
  });
  return { entries, bytes };
}

/** `dense_Dense1/kernel_1` → `kernel` (tfjs adds `_<n>` to a variable name it has seen). */
const paramOf = (name: string): string => name.slice(name.lastIndexOf("/") + 1);
const layerOf = (name: string): string => name.slice(0, Math.max(0, name.lastIndexOf("/")));

/** A parameter name without the `_<n>` tfjs adds: `bias_1` → `bias`. */
const baseParam = (name: string): string => paramOf(name).replace(/_\d+$/, "");

/**
 * Each entry's weight when the manifest lists exactly the model's weights under other names: the
 * entry at place i is the i-th weight in the order the manifest uses (tfjs' `save`: every layer's
 * trainable weights, then the non-trainable ones; Keras: layer by layer), the order whose
 * parameter names match best. Within a layer, an entry is matched by its parameter name. An entry
 * is named wrongly when its layer prefix is not the one its layer's other entries share (the
 * prefix shared with the other layers' names when two disagree), or its parameter is not one of
 * its layer's: the error is at that entry, not at a later one that the misnaming would shift.
 * @throws UnprocessableError at `…weights[k].name`, saying the name expected there.
 */
function byPlace(entries: Entry[], summary: ModelSummary): Map<Entry, string> {
  const perLayer = summary.layers.flatMap((l) => [...l.params, ...(l.state ?? [])]);
  const tfjs = [...summary.layers.flatMap((l) => l.params), ...summary.layers.flatMap((l) => l.state ?? [])];
  const score = (order: { key: string }[]) =>
    order.filter((p, i) => paramOf(p.key) === baseParam(entries[i]!.name)).length;
  const order = score(tfjs) > score(perLayer) ? tfjs : perLayer;
  const layerAt = order.map((p) => layerOf(p.key));
  // The prefix each layer's entries share: the most frequent; a tie goes to one no other layer uses
  // and most like the other layers' (tfjs' `dense_Dense1`, `dense_Dense2`; Keras' `dense`, `dense_1`).
  const counts = new Map<string, Map<string, number>>();
  entries.forEach((e, i) => {
    const c = counts.get(layerAt[i]!) ?? new Map<string, number>();
    c.set(layerOf(e.name), (c.get(layerOf(e.name)) ?? 0) + 1);
    counts.set(layerAt[i]!, c);
  });
  const others = (layer: string) =>
    [...counts].filter(([l]) => l !== layer).flatMap(([, c]) => [...c.keys()]);
  // A prefix another layer's entries use is not this layer's; of the rest, the one most like them.
  const elsewhere = (prefix: string, layer: string) => (others(layer).includes(prefix) ? 1 : 0);
  const likeness = (prefix: string, layer: string) =>
    Math.max(
      0,
      ...others(layer)
        .filter((o) => o !== prefix)
        .map((o) => commonStart(o, prefix)),
    );
  const prefixOf = new Map<string, string>();
  for (const [layer, c] of counts) {
    const ranked = [...c].sort(
      (a, b) =>
        b[1] - a[1] ||
        elsewhere(a[0], layer) - elsewhere(b[0], layer) ||
        likeness(b[0], layer) - likeness(a[0], layer),
    );
    prefixOf.set(layer, ranked[0]![0]);
  }
  const result = new Map<Entry, string>();
  entries.forEach((e, i) => {
    const layer = layerAt[i]!;
    const prefix = prefixOf.get(layer)!;
    const params = order.filter((p) => layerOf(p.key) === layer).map((p) => paramOf(p.key));
    const param = baseParam(e.name);
    if (layerOf(e.name) !== prefix || !params.includes(param)) {
      const key = order[i]!.key;
      const want = `${prefix}/${paramOf(key)}`;
      throw unprocessable(
        [...e.path, "name"],
        `weight "${e.name}" is not named as the model's weight at its place: by layer order it is layer ${layer}'s ` +
          `${paramOf(key)}, expected "${want}"` +
          (want === key ? "" : ` (as the manifest names that layer's other weights) or "${key}"`),
      );
    }
    result.set(e, `${layer}/${param}`);
  });
  return result;
}

/** How many leading characters `a` and `b` share. */
function commonStart(a: string, b: string): number {
  let n = 0;
  while (n < a.length && n < b.length && a[n] === b[n]) n++;
  return n;
}

/**
 * tfjs weights (a manifest's groups in order over one binary: the data is the concatenation of
 * every group's files, float32 little-endian) into named tensors keyed as the engine keys them
 * (`<layer>/<param>`), in the engine's order, as float64. The optimiser's state that tfjs'
 * `save({ includeOptimizer: true })` appends (entries of `group: "optimizer"`) is skipped.
 *
 * Names are matched exactly first. When they are not the engine's (tfjs uniquifies names, e.g.
 * `dense_Dense1/kernel` for a layer the spec calls `dense_0`, or adds `_1` to the parameter) and
 * the manifest lists as many weights as the model has, each entry's place gives its layer (see
 * `byPlace`: a misnamed entry is the one named in the error); otherwise the manifest's layers are
 * taken in the order they first appear and mapped to the spec's layers that have weights, in
 * order, and each weight by its parameter name (a `_<n>` suffix ignored).
 * @param at the manifest's path in the request; `dataAt` the binary's.
 * @throws UnprocessableError naming `weightsManifest…` or `weightData` for a size mismatch, a
 *   dtype other than float32, a weight the spec does not have, or one it lacks, or a value that is
 *   NaN or infinite.
 */
export function tfjsWeightsToTensors(
  spec: ModelSpec,
  manifest: unknown,
  weightData: Uint8Array,
  at: Path,
  dataAt: Path = ["weightData"],
): NamedTensors {
  const { entries, bytes } = readManifest(manifest, at);
  if (bytes !== weightData.byteLength)
    throw unprocessable(
      dataAt,
      `the manifest describes ${bytes} bytes (${bytes / 4} float32 values), the data has ${weightData.byteLength}`,
    );
  const summary = describeModel(spec);
  const expected = summary.layers.flatMap((l) => [...l.params, ...(l.state ?? [])]);
  const keys = new Set(expected.map((p) => p.key));
  const exact = entries.every((e) => keys.has(e.name));
  const keyOf = new Map<Entry, string>();
  if (exact) for (const e of entries) keyOf.set(e, e.name);
  else if (entries.length === expected.length)
    for (const [e, key] of byPlace(entries, summary)) keyOf.set(e, key);
  else {
    // Weights missing or extra: each manifest layer (in the order first seen) is a weighted layer.
    const prefixes = [...new Set(entries.map((e) => layerOf(e.name)))];
    const weighted = summary.layers
      .filter((l) => l.params.length + (l.state?.length ?? 0) > 0)
      .map((l) => l.name);
    for (const e of entries) {
      const layer = weighted[prefixes.indexOf(layerOf(e.name))];
      const param = paramOf(e.name);
      const key = [`${layer}/${param}`, `${layer}/${param.replace(/_\d+$/, "")}`].find((k) => keys.has(k));
      if (layer === undefined || key === undefined)
        throw unprocessable(
          [...e.path, "name"],
          `weight "${e.name}" matches no weight of the model by name or by layer order; its weights are ${[...keys].map((k) => `"${k}"`).join(", ")}`,
        );
      keyOf.set(e, key);
    }
  }
  const view = new DataView(weightData.buffer, weightData.byteOffset, weightData.byteLength);
  const found = new Map<string, Float64Array>();
  for (const e of entries) {
    const key = keyOf.get(e)!;
    const want = expected.find((p) => p.key === key)!;
    if (found.has(key)) throw unprocessable([...e.path, "name"], `weight "${key}" is given twice`);
    if (want.shape.join() !== e.shape.join())
      throw unprocessable(
        [...e.path, "shape"],
        `weight "${key}" has shape [${e.shape.join(", ")}], the model expects [${want.shape.join(", ")}]`,
      );
    const data = new Float64Array(e.shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) {
      data[i] = view.getFloat32(e.offset + 4 * i, true);
      if (!Number.isFinite(data[i]!))
        throw unprocessable(
          e.path,
          `weight "${e.name}" holds ${data[i]} at index ${i}; weights must be finite`,
        );
    }
    found.set(key, data);
  }
  const missing = expected.filter((p) => !found.has(p.key));
  if (missing.length > 0)
    throw unprocessable(
      at,
      `the manifest lacks the weights ${missing.map((p) => `"${p.key}" [${p.shape.join(", ")}]`).join(", ")}`,
    );
  return Object.fromEntries(expected.map((p) => [p.key, { shape: [...p.shape], data: found.get(p.key)! }]));
}
