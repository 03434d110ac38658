/**
 * Where a fault found in the `ModelSpec` a Keras topology became (a `ModelSpecSchema` issue, an
 * `EngineError`) stands in the topology the client sent (docs/models.md, "Importing Keras/tfjs models").
 */
import { snake } from "./keras-names.js";

type Path = readonly (string | number)[];

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** What the topology's paths are made of: where its parts stand, and the raw values below them. */
export interface KerasPlaces {
  /** The topology (the request's `model`, or `model_config` inside a converter's wrapper). */
  at: Path;
  /** `[...at, "config", "layers"]`. */
  layersAt: Path;
  /** The raw layers, as sent. */
  rawLayers: readonly unknown[];
  /** `origin[j]`: the index in `rawLayers` of the spec's layer j (an InputLayer has none). */
  origin: readonly number[];
  /** The batch shape's path (`…config.batch_input_shape`): its entry 0 is the batch axis. */
  inputAt: Path;
  /** The loss's path, and the loss as sent. */
  lossAt: Path;
  loss: unknown;
}

/**
 * The Keras key a spec field was read from: its snake_case, except LeakyReLU's `alpha`, which
 * Keras 3 writes `negative_slope`.
 */
function kerasKey(field: string, cfg: Record<string, unknown>): string {
  if (field === "alpha" && !("alpha" in cfg) && "negative_slope" in cfg) return "negative_slope";
  return snake(field);
}

/**
 * `segments` below a spec option, in the Keras value they came from: inside a Keras object
 * (`{ class_name, config }`) `type` is `class_name` and an option `config.<snake_key>`; in a
 * plain object a key is its snake_case; an index stays an index.
 */
function below(value: unknown, segments: readonly PropertyKey[]): (string | number)[] {
  const out: (string | number)[] = [];
  let v = value;
  for (const seg of segments) {
    if (typeof seg === "number") {
      out.push(seg);
      v = Array.isArray(v) ? v[seg] : undefined;
    } else if (isObject(v) && typeof v.class_name === "string") {
      if (seg === "type") {
        out.push("class_name");
        v = v.class_name;
      } else {
        const cfg = isObject(v.config) ? v.config : {};
        const key = kerasKey(String(seg), cfg);
        out.push("config", key);
        v = cfg[key];
      }
    } else {
      const key = snake(String(seg));
      out.push(key);
      v = isObject(v) ? v[key] : undefined;
    }
  }
  return out;
}

/**
 * The topology's path for a spec path: `layers` → `…config.layers`; `layers[j]` → the Keras layer
 * it came from; `layers[j].type` → its `class_name`; `layers[j].<field>…` → `…config.<key>…`
 * (see `below`); `inputShape[d]` → the batch shape's entry d + 1; `loss…` → the loss as sent
 * (`…config.<key>` inside a loss object); anything else → the topology.
 */
export function kerasPath(places: KerasPlaces, specPath: readonly PropertyKey[]): (string | number)[] {
  const [head, ...rest] = specPath;
  if (head === "layers") {
    const [j, field, ...deep] = rest;
    const i = typeof j === "number" ? places.origin[j] : undefined;
    if (i === undefined) return [...places.layersAt];
    const layerAt = [...places.layersAt, i];
    if (typeof field !== "string") return layerAt;
    if (field === "type") return [...layerAt, "class_name"];
    const raw = places.rawLayers[i];
    const cfg = isObject(raw) && isObject(raw.config) ? raw.config : {};
    const key = kerasKey(field, cfg);
    return [...layerAt, "config", key, ...below(cfg[key], deep)];
  }
  if (head === "inputShape") {
    const [d] = rest;
    return typeof d === "number" ? [...places.inputAt, d + 1] : [...places.inputAt];
  }
  if (head === "loss") {
    // A name given as a string becomes `{ type, … }` only when it has options: none to descend into.
    return [...places.lossAt, ...(isObject(places.loss) ? below(places.loss, rest) : [])];
  }
  return [...places.at];
}
