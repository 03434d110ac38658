/**
 * Hints for names spelled the Keras or Python way (`"Dense"`, `"sparse_categorical_crossentropy"`,
 * `learning_rate`, `"mae"`): the one this API uses, found among the names the schema knows (so a
 * kind added to the schemas gets its hints with no change here).
 */

/**
 * A name with case, `_`, `-` and spaces dropped: `"MaxPooling2D"`, `"max_pooling2d"` and
 * `"maxPooling2d"` all read `maxpooling2d`.
 */
export function normalizeName(name: string): string {
  return name.replace(/[\s_-]/g, "").toLowerCase();
}

/**
 * Keras' and tfjs' other names for a kind, where spelling alone does not lead to ours (keys
 * normalised). Each maps to the candidates it may stand for; only a candidate the schema has is
 * ever suggested, so an entry for a kind not (yet) in the schemas is inert. Keras names that
 * differ from ours only in case and separators (`binary_crossentropy`, `log_cosh`, `RMSprop`,
 * `he_normal`) need no entry: `normalizeName` matches them.
 */
const KIND_ALIASES: Record<string, readonly string[]> = {
  // Losses and metrics (keras.losses / keras.metrics short names).
  mse: ["meanSquaredError"],
  mae: ["meanAbsoluteError"],
  mape: ["meanAbsolutePercentageError"],
  msle: ["meanSquaredLogarithmicError"],
  kld: ["kullbackLeiblerDivergence", "klDivergence"],
  kldivergence: ["kullbackLeiblerDivergence"],
  bce: ["binaryCrossentropy"],
  cce: ["categoricalCrossentropy"],
  scce: ["sparseCategoricalCrossentropy"],
  huberloss: ["huber"],
  cosinesimilarity: ["cosineProximity", "cosineSimilarity"],
  cosine: ["cosineProximity", "cosineSimilarity"],
  cosineproximity: ["cosineProximity", "cosineSimilarity"],
  acc: ["accuracy"],
  binaryaccuracy: ["accuracy"],
  categoricalaccuracy: ["accuracy"],
  sparsecategoricalaccuracy: ["accuracy"],
  rmse: ["rootMeanSquaredError"],
  r2score: ["r2"],
  rsquared: ["r2"],
  aucroc: ["auc"],
  // Layers (Keras class aliases).
  convolution2d: ["conv2d"],
  maxpool2d: ["maxPooling2d"],
  avgpool2d: ["averagePooling2d"],
  globalavgpool2d: ["globalAveragePooling2d"],
  globalmaxpool2d: ["globalMaxPooling2d"],
  convolution1d: ["conv1d"],
  maxpool1d: ["maxPooling1d"],
  avgpool1d: ["averagePooling1d"],
  globalavgpool1d: ["globalAveragePooling1d"],
  globalmaxpool1d: ["globalMaxPooling1d"],
  batchnorm: ["batchNormalization"],
  layernorm: ["layerNormalization"],
  cudnnlstm: ["lstm"],
  cudnngru: ["gru"],
  // Activations and initialisers.
  silu: ["swish"],
  none: ["linear"],
  xavieruniform: ["glorotUniform"],
  xaviernormal: ["glorotNormal"],
  kaimingnormal: ["heNormal"],
  kaiminguniform: ["heUniform"],
  zero: ["zeros"],
  one: ["ones"],
  // keras.initializers' short aliases: "uniform" is RandomUniform, "normal" RandomNormal.
  uniform: ["randomUniform"],
  normal: ["randomNormal"],
  // Optimisers.
  gradientdescent: ["sgd"],
};

/** Keras keyword arguments whose camelCase is not ours (keys normalised). */
const FIELD_ALIASES: Record<string, readonly string[]> = {
  lr: ["learningRate"],
  nbepoch: ["epochs"],
  outputdim: ["units"],
  nbfilter: ["filters"],
  bordermode: ["padding"],
  subsample: ["strides"],
  init: ["kernelInitializer"],
  inputdim: ["inputShape"],
  classname: ["type"],
  batchinputshape: ["inputShape"],
  // fit() arguments with another shape here.
  callbacks: ["earlyStopping"],
  initialepoch: ["optimizerState"],
  validationdata: ["validationSplit"],
};

/** Edit distance (insert, delete, substitute), for typo suggestions. */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++)
      row[j] = Math.min(
        (prev[j] as number) + 1,
        (row[j - 1] as number) + 1,
        (prev[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    prev = row;
  }
  return prev[b.length] as number;
}

/**
 * The known name `given` most likely means, or undefined: the one that reads the same once case
 * and separators are dropped (`"Conv2D"` → `conv2d`, `use_bias` → `useBias`), else a Keras alias
 * (`"mae"` → `meanAbsoluteError`) that `known` contains, else, for a field, the one a small typo
 * away (`learnigRate` → `learningRate`). Undefined for a name `known` has, and when two known
 * names fit equally.
 * `aliases` is "kinds" (enum values, tags) or "fields" (object keys).
 */
export function suggestName(
  given: string,
  known: readonly string[],
  aliases: "kinds" | "fields" = "kinds",
): string | undefined {
  if (known.includes(given) || given.length > 100) return undefined;
  const n = normalizeName(given);
  const same = known.filter((k) => normalizeName(k) === n);
  if (same.length === 1) return same[0];
  if (same.length > 1) return undefined;
  const table = aliases === "kinds" ? KIND_ALIASES : FIELD_ALIASES;
  const alias = Object.hasOwn(table, n) ? table[n]?.find((a) => known.includes(a)) : undefined;
  if (alias) return alias;
  // A kind one letter from ours is usually another kind (`elu`/`relu`, `adamw`/`adam`,
  // `conv1d`/`conv2d`): only field names get typo suggestions, and never across a digit.
  if (aliases === "kinds" || n.length < 4) return undefined;
  const digits = (t: string) => t.replace(/\D/g, "");
  const scored = known
    .filter((k) => digits(normalizeName(k)) === digits(n))
    .map((k) => ({ k, d: distance(n, normalizeName(k)) }));
  const best = Math.min(...scored.map((s) => s.d));
  const limit = Math.min(2, Math.floor(n.length / 3));
  const winners = scored.filter((s) => s.d === best);
  return best <= limit && winners.length === 1 ? winners[0]?.k : undefined;
}

/** `name` in snake_case, as Keras writes it: `maxPooling2d` → `max_pooling2d`, `leakyReLU` → `leaky_relu`. */
export function snakeCase(name: string): string {
  return name
    .replace(/([A-Z]+)([A-Z][a-z])/g, "$1_$2")
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .toLowerCase();
}

/** `name` as a Keras class: `maxPooling2d` → `MaxPooling2D`, `sgd` → `Sgd`. */
export function kerasClassCase(name: string): string {
  return name.charAt(0).toUpperCase() + name.slice(1).replace(/(\d)d\b/g, "$1D");
}

const quoteList = (names: readonly string[]) => names.map((n) => `\`${n}\``).join(", ");

/** A sent value for a message: short, JSON-quoted. */
function shown(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** "a" or "an" before `word` (by its first letter: `an activation`, `a loss`). */
export function article(word: string): "a" | "an" {
  return /^[aeiou]/i.test(word) ? "an" : "a";
}

/** What a kind field is called in a message: `loss`, `activation`, `layer type`, `optimizer type`. */
function kindLabel(path: readonly PropertyKey[]): string {
  const last = path.at(-1);
  if (typeof last !== "string") return "value";
  if (last !== "type") return last;
  const owner = path.at(-2);
  const ownerKey = typeof owner === "number" ? path.at(-3) : owner;
  if (typeof ownerKey !== "string") return "type";
  const singular = typeof owner === "number" && ownerKey.endsWith("s") ? ownerKey.slice(0, -1) : ownerKey;
  return `${singular} type`;
}

/**
 * The message for a value outside a closed list of names (an enum, a discriminated union's tag)
 * at `path`: the hint when there is one, and always the names there are.
 */
export function kindMessage(
  path: readonly PropertyKey[],
  value: unknown,
  known: readonly string[],
  elsewhere: readonly { names: readonly string[]; place: string }[] = [],
): string {
  const available = `available: ${quoteList(known)}`;
  if (value === undefined) return `required field is missing (expected one of ${quoteList(known)})`;
  const label = kindLabel(path);
  if (typeof value !== "string")
    return `expected ${article(label)} ${label} name, got ${shown(value)}; ${available}`;
  const hint = suggestName(value, known);
  if (hint) return `unknown ${label} ${shown(value)}: did you mean \`${hint}\`? ${available}`;
  const other = otherKind(value, elsewhere);
  return `unknown ${label} ${shown(value)}${other ? ` (${other})` : ""}; ${available}`;
}

/**
 * Where else `value` names a kind (Keras' `activation="leaky_relu"`, where ours is a layer):
 * `` `leakyReLU` is a `model.layers[i].type` ``, or undefined.
 */
function otherKind(value: string, elsewhere: readonly { names: readonly string[]; place: string }[]) {
  const found = new Map<string, string[]>();
  for (const { names, place } of elsewhere) {
    const name = names.includes(value) ? value : suggestName(value, names);
    const places = found.get(name ?? "") ?? [];
    // One place may hold several lists (recurrent layers' activations are a subset of the others'),
    // and a wrapped layer's field (`model.layers[i].layer.activation`) is said by the layer's own.
    const said = `\`${place.replace(".layer.", ".")}\``;
    if (name && !places.includes(said)) found.set(name, [...places, said]);
  }
  const said = [...found]
    .slice(0, 3)
    .map(([name, places]) => `\`${name}\` is ${article(places[0]?.slice(1) ?? "")} ${places.join(" or ")}`);
  return said.length > 0 ? said.join("; ") : undefined;
}

/**
 * The message for an unknown key: "did you mean" the field of this object it stands for, else
 * the field it stands for elsewhere (`input_shape` on a layer is `model.inputShape`), else
 * plain "unknown field". `here` are the fields of the object the key was sent in, `herePlace` its
 * place (`model.layers[i]`), `places` every field of the request schema and where it sits.
 */
export function unknownFieldMessage(
  key: string,
  here: readonly string[],
  places: ReadonlyMap<string, readonly string[]>,
  herePlace: string,
): string {
  const local = suggestName(key, here, "fields");
  if (local) return `unknown field; did you mean \`${local}\`?`;
  // Elsewhere only by spelling or alias: a typo match against every field would be noise.
  const n = normalizeName(key);
  const all = [...places.keys()];
  const elsewhere =
    all.find((k) => normalizeName(k) === n) ??
    (Object.hasOwn(FIELD_ALIASES, n) ? FIELD_ALIASES[n]?.find((a) => places.has(a)) : undefined);
  if (!elsewhere) return "unknown field";
  // Not where the key was sent: there, it belongs to another kind (`filters` on a dense layer).
  const others = (places.get(elsewhere) ?? []).filter(
    (w) => w !== `${herePlace ? `${herePlace}.` : ""}${elsewhere}`,
  );
  if (others.length === 0) return "unknown field";
  // A top-level field of another route (`seed` on /predict) is not the nested one of the same name.
  if (herePlace === "" && elsewhere === key) return `unknown field: this route takes no \`${key}\``;
  const where = others.map((w) => `\`${w}\``).join(" or ");
  if (elsewhere === key) return `unknown field here; it is set at ${where}`;
  return `unknown field; did you mean \`${elsewhere}\`? It is set at ${where}`;
}
