import { z } from "zod";
import type { $ZodType } from "zod/v4/core";
import { MODEL_MEMO_LIMITS, memoizeAccepted } from "./accepted-memo.js";
import { NamedTensorsInputSchema } from "./common.js";
import { LossSchema, ModelSpecSchema } from "./model.js";

/**
 * The other forms a request's `model` and `initialWeights` take: a stored model named by id, and a
 * Keras/tfjs `Sequential` topology as a `model.json` holds it. The service resolves them into a
 * `ModelSpec` and weights before planning (src/service/models/resolve.ts).
 */

/** A stored model's id as a request names it. */
const ModelIdSchema = z.string().min(1).max(100).describe("A stored model's id (`mdl_…`, see GET /models).");

/** `{ modelId }`: a stored model named in a request (`model`, `initialWeights`). */
export const ModelRefSchema = z.strictObject({ modelId: ModelIdSchema }).meta({
  id: "ModelRef",
  description: "A stored model, by id: its spec (and, where weights go, its weights).",
});

/** `{ modelId, loss? }`: a stored model as a request's `model`, optionally trained with another loss. */
export const ModelByIdSchema = z
  .strictObject({
    modelId: ModelIdSchema,
    loss: LossSchema.optional().describe(
      "The loss to train with instead of the stored one (fine-tuning); required to train a model imported without a loss.",
    ),
  })
  .meta({
    id: "ModelById",
    description:
      "A stored model, by id: its spec (and, where weights go, its weights), optionally with another loss.",
  });

/** One layer of a Keras topology: the class and its options are checked by the import (422 naming them). */
const KerasLayerSchema = z.looseObject({
  class_name: z
    .string()
    .describe("The Keras class: `Dense`, `Conv2D`, `MaxPooling2D`, `BatchNormalization`, …"),
  config: z.looseObject({}).describe("Its options, snake_case as Keras writes them."),
});

/** A Keras `Sequential` config: `{ class_name, config: { layers } }`. */
const KerasSequentialConfigSchema = z.looseObject({
  class_name: z.string().describe('"Sequential" (the only class this service imports).'),
  config: z
    .looseObject({ name: z.string().optional(), layers: z.array(KerasLayerSchema) })
    .describe("`{ name?, layers: [{ class_name, config }, …] }` with snake_case keys."),
  loss: z
    .unknown()
    .optional()
    .describe('The loss (a Keras name such as "categorical_crossentropy"), else `training_config.loss`.'),
});

/**
 * The Sequential as `tensorflowjs_converter` wraps a Python Keras model in `modelTopology`:
 * `{ keras_version, backend, model_config, training_config: { loss, … } }`.
 */
const KerasConvertedSchema = z.looseObject({
  model_config: KerasSequentialConfigSchema.omit({ loss: true }).describe(
    "The Sequential: `{ class_name, config: { layers } }`.",
  ),
  training_config: z
    .looseObject({ loss: z.unknown().optional() })
    .optional()
    .describe("Keras' compile arguments; `loss` is the model's loss."),
  loss: z.unknown().optional().describe("The loss, else `training_config.loss`."),
});

/**
 * A Keras `Sequential` topology, checked only as far as its structure (objects where objects go);
 * the classes and options are the import's to judge (kerasToSpec: 422 naming them). Either the
 * Sequential config itself or, with `model_config`, as `tensorflowjs_converter` wraps it.
 */
export const KerasSequentialSchema = dispatchUnion(
  [KerasSequentialConfigSchema, KerasConvertedSchema],
  (v) => (isConvertedKeras(v) ? KerasConvertedSchema : KerasSequentialConfigSchema),
  KerasSequentialConfigSchema,
  {
    id: "KerasSequential",
    description:
      "A Keras/tfjs `Sequential` topology, as `modelTopology` of a TensorFlow.js `model.json`: class names " +
      "(`Dense`, `Conv2D`, `MaxPooling2D`, …), snake_case config keys, `batch_input_shape` on the first layer; " +
      "or as `tensorflowjs_converter` writes a Python Keras model, `{ model_config, training_config }`. " +
      "Training needs a loss: `loss` beside `class_name` (or `model_config`), or `training_config.loss`.",
  },
);

/**
 * A union that validates with the one branch `pick` chooses from the value's keys, instead of
 * trying every branch: errors are those of the branch the client meant, with its own paths and
 * messages (an ordinary `ModelSpec` gets exactly the answers it got before the other forms
 * existed). The OpenAPI document still shows every branch (`anyOf`). `fallback` is the branch
 * of a value with none of the other forms' keys; the hints of keras-hints.ts read only it.
 * `meta` (an OpenAPI component's id and description) is given here: `.meta()` afterwards would
 * return a copy without the dispatch.
 */
export function dispatchUnion<const T extends readonly [$ZodType, ...$ZodType[]]>(
  options: T,
  pick: (value: unknown) => T[number],
  fallback: T[number],
  meta?: { id: string; description: string },
) {
  const plain = z.union(options);
  const union = meta ? plain.meta(meta) : plain;
  const zod = union._zod as unknown as {
    parse: (payload: unknown, ctx: unknown) => unknown;
    run: (payload: unknown, ctx: unknown) => unknown;
    def: { pick?: (value: unknown) => $ZodType; fallback?: $ZodType };
  };
  const parse = (payload: unknown, ctx: unknown) =>
    (pick((payload as { value: unknown }).value)._zod.run as (p: unknown, c: unknown) => unknown)(
      payload,
      ctx,
    );
  zod.parse = parse;
  zod.run = parse;
  zod.def.pick = pick;
  zod.def.fallback = fallback;
  return union;
}

export const hasKey = (value: unknown, key: string) =>
  typeof value === "object" && value !== null && !Array.isArray(value) && Object.hasOwn(value, key);

/** Whether a request's `model` or `initialWeights` names a stored model (`{ modelId }`). */
export const isModelRef = (value: unknown): value is { modelId: string } => hasKey(value, "modelId");

/** Whether a Keras topology is wrapped as `tensorflowjs_converter` writes it (`{ model_config }`). */
const isConvertedKeras = (value: unknown): boolean =>
  hasKey(value, "model_config") && !hasKey(value, "class_name");

/**
 * Whether a request's `model` is a Keras topology: `{ class_name, config }`, or `{ model_config }`
 * as `tensorflowjs_converter` wraps it.
 */
export const isKerasModel = (value: unknown): boolean =>
  hasKey(value, "class_name") || hasKey(value, "model_config");

/**
 * A request's `model`: the engine's `ModelSpec`, a stored model (`{ modelId }`) or a Keras
 * `Sequential` topology (`{ class_name, config }`), told apart by their keys. The values it accepted
 * lately are remembered (`memoizeAccepted`): the same `model` sent again is not validated again, and
 * gets the same deep-frozen output, which the summary and model caches key by identity
 * (docs/performance.md, "/gradients"). What it resolves to (a stored model is the owner's) is
 * looked up per request, after validation.
 */
export const [ModelFieldSchema, modelFieldMemo] = memoizeAccepted(
  dispatchUnion(
    [ModelSpecSchema, ModelByIdSchema, KerasSequentialSchema],
    (v) => (isModelRef(v) ? ModelByIdSchema : isKerasModel(v) ? KerasSequentialSchema : ModelSpecSchema),
    ModelSpecSchema,
  ),
  MODEL_MEMO_LIMITS,
);

/** A request's `initialWeights` / `weights`: nested arrays by name, or a stored model's weights (`{ modelId }`). */
export const WeightsFieldSchema = dispatchUnion(
  [NamedTensorsInputSchema, ModelRefSchema],
  (v) => (isModelRef(v) ? ModelRefSchema : NamedTensorsInputSchema),
  NamedTensorsInputSchema,
);

export type ModelField = z.output<typeof ModelFieldSchema>;
export type ModelRef = z.output<typeof ModelRefSchema>;
export type KerasSequentialInput = z.output<typeof KerasSequentialSchema>;
