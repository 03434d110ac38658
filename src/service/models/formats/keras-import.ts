/**
 * Keras/tfjs `Sequential` topologies into the engine's language (docs/models.md), and a tfjs
 * weights manifest with its binary into named tensors.
 */
import { describeModel, EngineError, type LayerSpec, type ModelSpec } from "../../../engine/index.js";
import { ModelSpecSchema } from "../../../schemas/model.js";
import { fieldError, InvalidRequestError, UnprocessableError } from "../../errors.js";
import { isKerasClass, KERAS_CLASSES, LayerOptionError, layerFromKeras } from "./keras-layers.js";
import { KerasValueError, lossFromKeras } from "./keras-names.js";
import { kerasPath } from "./keras-paths.js";

export { tfjsWeightsToTensors } from "./tfjs-weights.js";

type Path = readonly (string | number)[];

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

const unprocessable = (path: Path, message: string) =>
  new UnprocessableError(message, [fieldError(path, message)]);

/** The Keras class names `kerasToSpec` reads, for messages. */
const SUPPORTED = `${Object.keys(KERAS_CLASSES).join(", ")} (and InputLayer first)`;

/** The per-sample input shape of a Keras batch shape `[null, ...]`, or undefined when absent. */
function batchShape(cfg: Record<string, unknown>, path: Path): { shape: unknown[]; key: string } | undefined {
  for (const key of ["batch_input_shape", "batch_shape"]) {
    const v = cfg[key];
    if (v === undefined || v === null) continue;
    if (!Array.isArray(v) || v.length < 2)
      throw unprocessable(
        [...path, key],
        `expected [null, ...the shape of one sample], got ${JSON.stringify(v)}`,
      );
    return { shape: v.slice(1), key };
  }
  return undefined;
}

/**
 * A Keras `Sequential` topology (`{ class_name: "Sequential", config: { layers } }`, as in a
 * `model.json`'s `modelTopology` or Keras' `model.to_json()`; or that Sequential wrapped as
 * `tensorflowjs_converter` writes a Python Keras model, `{ keras_version, model_config,
 * training_config }`, whose errors then name `model_config…`) as a `ModelSpec`. The input shape is
 * the first layer's `batch_input_shape` / `batch_shape`, or an `InputLayer`'s. A key a layer does
 * not carry takes Keras' default. The loss is `loss` when given, else the topology's own
 * `training_config.loss`, else none (`ModelSpec.loss` is then "meanSquaredError" and `lossGiven`
 * false: fine for inference, the caller refuses it for training).
 * @param givenAt the path of the topology in the request (e.g. `["model"]`): errors name
 *   `[...at, "config", "layers", 3, "class_name"]` and list what is supported, or
 *   `[..., "config", "<key>"]` for an option.
 * @param lossAt where `loss` stands in the request, for its errors (a loss read from the
 *   topology's `training_config` is named there).
 * @returns `path` maps a path of the spec (an `EngineError`'s, e.g. MAX_PARAMS at `layers[3]`) to
 *   the topology's (`…config.layers[4]`), for the checks the caller makes afterwards.
 * @throws UnprocessableError (422) for an unsupported class_name or option, a result
 *   `ModelSpecSchema` refuses or whose shapes do not fit (mapped to the Keras keys); InvalidRequestError (400) for a topology
 *   that is not a Sequential config.
 */
export function kerasToSpec(
  given: unknown,
  givenAt: Path,
  loss?: unknown,
  lossAt: Path = ["trainingConfig", "loss"],
): { spec: ModelSpec; lossGiven: boolean; path: (specPath: readonly PropertyKey[]) => Path } {
  const { topology, at, trainingAt, kerasVersion } = unwrap(given, givenAt);
  if (!isObject(topology) || topology.class_name !== "Sequential")
    throw new InvalidRequestError("expected a Keras Sequential topology", [
      fieldError([...at, "class_name"], 'expected "Sequential" (a Keras Sequential model\'s topology)'),
    ]);
  const config = topology.config;
  // Keras 2.0–2.2 wrote a Sequential's config as the list of its layers.
  const rawLayers = Array.isArray(config) ? config : isObject(config) ? config.layers : undefined;
  if (!Array.isArray(rawLayers) || rawLayers.length === 0)
    throw new InvalidRequestError("expected the Sequential's layers", [
      fieldError([...at, "config", "layers"], "expected a non-empty array of { class_name, config }"),
    ]);
  const layersAt = [...at, "config", "layers"];
  let inputShape: unknown[] | undefined;
  let inputAt: Path = [...layersAt, 0, "config", "batch_input_shape"];
  const layers: LayerSpec[] = [];
  const origin: number[] = [];
  rawLayers.forEach((raw, i) => {
    const path = [...layersAt, i];
    if (!isObject(raw) || typeof raw.class_name !== "string")
      throw unprocessable(
        [...path, "class_name"],
        `expected a layer { class_name, config }; supported: ${SUPPORTED}`,
      );
    const cfg = isObject(raw.config) ? raw.config : {};
    if (inputShape === undefined) {
      const b = batchShape(cfg, [...path, "config"]);
      if (b) {
        inputShape = b.shape;
        inputAt = [...path, "config", b.key];
      }
    }
    if (raw.class_name === "InputLayer") {
      if (i !== 0) throw unprocessable([...path, "class_name"], "an InputLayer can only be the first layer");
      return;
    }
    const cls = raw.class_name;
    if (!isKerasClass(cls))
      throw unprocessable(
        [...path, "class_name"],
        `unsupported layer class ${JSON.stringify(cls)}; supported: ${SUPPORTED}`,
      );
    try {
      layers.push(layerFromKeras(cls, cfg, kerasVersion));
    } catch (e) {
      if (e instanceof LayerOptionError) throw unprocessable([...path, "config", ...e.key], e.message);
      throw e;
    }
    origin.push(i);
  });
  if (inputShape === undefined)
    throw unprocessable(
      inputAt,
      "expected the input's batch shape [null, ...] on the first layer (or an InputLayer)",
    );
  let lossCandidate: unknown = "meanSquaredError";
  const training = isObject(given) ? given.training_config : undefined;
  const fromTopology = (loss === undefined || loss === null) && isObject(training);
  const lossGiven = fromTopology ? training.loss : loss;
  // A loss read from the topology's own training_config is named there, not where the caller's stands.
  const lossPath = fromTopology ? [...trainingAt, "loss"] : lossAt;
  if (lossGiven !== undefined && lossGiven !== null) {
    try {
      lossCandidate = lossFromKeras(lossGiven);
    } catch (e) {
      if (e instanceof KerasValueError) throw unprocessable([...lossPath, ...e.key], e.message);
      throw e;
    }
  }
  const places = { at, layersAt, rawLayers, origin, inputAt, lossAt: lossPath, loss: lossGiven };
  const path = (specPath: readonly PropertyKey[]): Path => kerasPath(places, specPath);
  const parsed = ModelSpecSchema.safeParse({ inputShape, layers, loss: lossCandidate });
  if (!parsed.success) {
    const errors = parsed.error.issues.flatMap((issue) =>
      // An option a loss or layer does not have is named as the client wrote it (`ignore_class`).
      issue.code === "unrecognized_keys"
        ? issue.keys.map((key) => {
            const p = path([...issue.path, key]);
            return fieldError(p, `Unrecognized key: ${JSON.stringify(p[p.length - 1])}`);
          })
        : [fieldError(path(issue.path), issue.message)],
    );
    throw new UnprocessableError(
      `the topology is not a model this service can build: ${errors.map((e) => `${e.path}: ${e.message}`).join("; ")}`,
      errors,
    );
  }
  try {
    describeModel(parsed.data as ModelSpec);
  } catch (e) {
    // Shapes that do not fit (a Conv2D on a vector, a duplicate name), named by the Keras key.
    if (e instanceof EngineError) throw unprocessable(path(e.path), e.message);
    throw e;
  }
  return {
    spec: parsed.data as ModelSpec,
    lossGiven: lossGiven !== undefined && lossGiven !== null,
    path: (p) => [...path(p)],
  };
}

/**
 * The Sequential inside what `tensorflowjs_converter` writes for a Python Keras model
 * (`{ keras_version, backend, model_config: { class_name, config }, training_config }`), with
 * its path; a topology without `model_config` is itself. `trainingAt`: where `training_config`
 * stands (beside `model_config`, or in the topology).
 */
function unwrap(
  given: unknown,
  at: Path,
): { topology: unknown; at: Path; trainingAt: Path; kerasVersion: string } {
  const version = (o: unknown) =>
    isObject(o) && typeof o.keras_version === "string" ? o.keras_version : undefined;
  const trainingAt = [...at, "training_config"];
  if (isObject(given) && "model_config" in given && !("class_name" in given))
    return {
      topology: given.model_config,
      at: [...at, "model_config"],
      trainingAt,
      kerasVersion: version(given) ?? version(given.model_config) ?? "",
    };
  return { topology: given, at, trainingAt, kerasVersion: version(given) ?? "" };
}

/** Whether a `model` field holds a Keras topology rather than the engine's `ModelSpec`. */
export function isKerasTopology(model: unknown): boolean {
  return isObject(model) && ("class_name" in model || "model_config" in model);
}
