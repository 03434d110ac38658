import { EngineError } from "./errors.js";
import type { Layer } from "./layers/layer.js";

/**
 * Which of `layers` receive a time-step mask (docs/backprop.md §21.1), from their `masking` alone:
 * a "make" layer starts one (an embedding with `maskZero`), "pass" layers hand it on, a layer with
 * `outputMask()` may hand one on (counted as doing so), any other drops it.
 * @returns one flag per layer (index into `layers`), and whether a mask leaves the last layer.
 */
export function maskFlow(layers: readonly Layer[]): { receives: boolean[]; atOutput: boolean } {
  const receives: boolean[] = [];
  let flowing = false;
  for (const layer of layers) {
    receives.push(flowing);
    flowing =
      layer.masking === "make" || layer.outputMask !== undefined || (flowing && layer.masking === "pass");
  }
  return { receives, atOutput: flowing };
}

/**
 * Refuses a model whose mask reaches its output: Keras would then leave the masked steps out of
 * the loss, which the engine's losses do not do yet.
 * @param specLayerEnds for each spec layer, the index of its last internal layer (for the path).
 * @throws EngineError at `["layers", last]` naming the layer that makes the mask.
 */
export function checkMaskFlow(layers: readonly Layer[], specLayerEnds: readonly number[]): void {
  if (!maskFlow(layers).atOutput) return;
  const maker = layers.findLast((l) => l.masking === "make")?.name ?? "the embedding";
  throw new EngineError(
    `the time-step mask of ${maker} (maskZero) reaches the model's output, where Keras would leave the masked steps out of the loss; ` +
      "the engine does not weight the loss by a mask: end the model with a layer that consumes or drops it " +
      "(globalAveragePooling1d, globalMaxPooling1d, flatten, conv1d, …), or set maskZero false",
    ["layers", specLayerEnds.length - 1],
  );
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
