import type { Layer } from "./layers/layer.js";

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
