/**
 * The zod schemas of the wrapper layers (docs/backprop.md §23): `bidirectional` around a
 * recurrent layer and `timeDistributed` around a dense layer, joined into `LayerSchema` by
 * `model.ts` (which passes its dense schema in: this file cannot import `model.ts`, which imports
 * it). They validate into the engine's types of `src/engine/spec-wrappers.ts`; tfjs-layers' names
 * and defaults.
 */
import { z } from "zod";
import { LayerNameSchema } from "./layers.js";
import { GruLayerSchema, LstmLayerSchema, SimpleRnnLayerSchema } from "./layers-recurrent.js";

const RecurrentLayerSchema = z
  .discriminatedUnion("type", [SimpleRnnLayerSchema, LstmLayerSchema, GruLayerSchema])
  .describe("The recurrent layer run in both directions.");

/** The two wrapper schemas, the dense one wrapping `dense` (`DenseLayerSchema` of model.ts). */
export function wrapperLayerSchemas<D extends z.core.$ZodTypeDiscriminable>(dense: D) {
  const BidirectionalLayerSchema = z
    .strictObject({
      type: z.literal("bidirectional"),
      layer: RecurrentLayerSchema,
      mergeMode: z
        .enum(["concat", "sum", "mul", "ave"])
        .optional()
        .describe(
          'How the two directions\' outputs are joined: "concat" (default; width 2·units, forward first), "sum", "mul" or "ave".',
        ),
      name: LayerNameSchema.optional(),
    })
    .meta({
      id: "BidirectionalLayer",
      description:
        "A simpleRNN, lstm or gru read forwards and backwards (a copy with goBackwards flipped); with returnSequences the " +
        "backward copy's outputs are reversed in time before merging, as in Keras. Weights " +
        "`<name>/forward_<inner>/kernel`, …, then `<name>/backward_<inner>/…` (tfjs-layers' names; <inner> is the " +
        "wrapped layer's name, its type when omitted).",
    });

  const TimeDistributedLayerSchema = z
    .strictObject({
      type: z.literal("timeDistributed"),
      // A union of one, for its tag: another kind here gets "unknown layer type", with the kinds there are.
      layer: z.discriminatedUnion("type", [dense]).describe("The dense layer applied at every step."),
      name: LayerNameSchema.optional(),
    })
    .meta({
      id: "TimeDistributedLayer",
      description:
        "A dense layer applied to every step of [timesteps, features] with the same weights → [timesteps, units]. " +
        "Weights `<name>/kernel` [features, units] and `<name>/bias` [units] (tfjs-layers' names).",
    });
  return { BidirectionalLayerSchema, TimeDistributedLayerSchema };
}
