/**
 * bidirectional and timeDistributed as Keras / tfjs-layers `Bidirectional` and `TimeDistributed`
 * configs (docs/models.md): the wrapped layer's config inside, named as the engine names it, so
 * tfjs names the weights as the engine does (`<bi>/forward_<inner>/kernel`, `<td>/kernel`) and
 * they are written unchanged.
 */
import type { BidirectionalSpec, DenseSpec, TimeDistributedSpec } from "../../../engine/index.js";
import { kerasRecurrent } from "./tfjs-recurrent.js";

type KerasLayer = { class_name: string; config: Record<string, unknown> };

/**
 * The Keras class name and config of a wrapper layer.
 * @param dense writes a dense spec's config on `[features]` (tfjs-layers.ts' own, passed in).
 * @returns a reason instead when tfjs-layers cannot load the wrapped layer, with the field's path
 *   under the layer (`["layer", "resetAfter"]`).
 */
export function kerasWrapper(
  l: BidirectionalSpec | TimeDistributedSpec,
  inShape: readonly number[],
  dense: (inner: DenseSpec, inShape: number[]) => KerasLayer,
): KerasLayer | { refuse: string; field: string[] } {
  if (l.type === "timeDistributed") {
    const inner = dense(l.layer, [inShape[inShape.length - 1]!]);
    return {
      class_name: "TimeDistributed",
      config: {
        layer: {
          class_name: inner.class_name,
          config: { ...inner.config, name: l.layer.name ?? "dense", trainable: true },
        },
      },
    };
  }
  const k = kerasRecurrent(l.layer);
  if ("refuse" in k) return { refuse: k.refuse, field: ["layer", k.field] };
  return {
    class_name: "Bidirectional",
    config: {
      merge_mode: l.mergeMode ?? "concat",
      layer: {
        class_name: k.class_name,
        config: { name: l.layer.name ?? l.layer.type, trainable: true, ...k.config },
      },
    },
  };
}
