import type { Layer } from "./layers/layer.js";
import type { Model } from "./model.js";
import type { TrainWarning } from "./types.js";

/**
 * Which of `layers` receive a time-step mask (docs/backprop.md §21.1), from their `masking` alone:
 * a "make" layer starts one (an embedding with `maskZero`), "pass" layers hand it on, a layer with
 * `outputMask()` that receives one may hand it on (counted as doing so: a recurrent layer with
 * `returnSequences`), any other drops it.
 * @returns one flag per layer (index into `layers`), and whether a mask leaves the last layer.
 */
export function maskFlow(layers: readonly Layer[]): { receives: boolean[]; atOutput: boolean } {
  const receives: boolean[] = [];
  let flowing = false;
  for (const layer of layers) {
    receives.push(flowing);
    flowing =
      layer.masking === "make" ||
      (flowing &&
        (layer.masking === "pass" || (layer.masking === "consume" && layer.outputMask !== undefined)));
  }
  return { receives, atOutput: flowing };
}

/**
 * The spec layers (indices into `spec.layers`, by `specIndexOf` of an index into `layers`) that
 * read a time-step mask (docs/backprop.md §21.1): where an exporter must express the mask.
 */
export function maskConsumers(layers: readonly Layer[], specIndexOf: (i: number) => number): number[] {
  const { receives } = maskFlow(layers);
  const out = new Set<number>();
  layers.forEach((l, i) => {
    if (receives[i] && l.masking === "consume") out.add(specIndexOf(i));
  });
  return [...out];
}

/**
 * A `maskDropped` warning for each spec layer that receives a time-step mask and drops it without
 * reading it (no `masking`: conv1d, the 1-D poolings, globalMaxPooling1d, flatten, reshape;
 * docs/backprop.md §21.1), as Keras 3 drops it at layers without `supports_masking`: the layers
 * after it, and the loss, count the padding as real steps. None when no embedding makes a mask,
 * or when the mask is read (a recurrent layer, globalAveragePooling1d) or reaches the output.
 */
export function droppedMaskWarnings(model: Model): TrainWarning[] {
  const { layers } = model;
  const { receives } = maskFlow(layers);
  const out: TrainWarning[] = [];
  let maker = "";
  layers.forEach((l, i) => {
    if (l.masking === "make") maker = model.specLayerNames[model.specIndexOf(i)]!;
    if (!receives[i] || l.masking !== undefined) return;
    const s = model.specIndexOf(i);
    const name = model.specLayerNames[s]!;
    out.push({
      code: "maskDropped",
      layer: name,
      message:
        `${name} (${model.spec.layers[s]!.type}) drops the time-step mask that ${maker}'s maskZero makes, ` +
        "as Keras 3 does at a layer without mask support: it and the layers after it, and the loss, treat " +
        "the padding (id 0) as real steps. To leave the padding out, read the mask before it, with a " +
        "recurrent layer or globalAveragePooling1d (docs/backprop.md §21.1).",
    });
  });
  return out;
}
