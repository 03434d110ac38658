/** A layer's exact gradients against five-point central differences, for the layer-level checks. */
import type { Layer } from "../../src/engine/layers/layer.js";
import type { Rng } from "../../src/engine/rng.js";
import { worstError } from "./helpers.js";

/**
 * Central differences of `L = Σ dy ⊙ y` (a random `dy`) with respect to every parameter of `layer`
 * and every input value, against what `backward(dy)` gives: the worst relative error
 * `|a − n| / max(|a|, |n|, 1e-8)` of each. Five-point central stencil
 * `(−L(+2h) + 8L(+h) − 8L(−h) + L(−2h)) / 12h` (error O(h⁴)), so h = 1e-3 keeps both truncation and
 * rounding far below 1e-7 even for gradients of 1e-6.
 */
export function layerGradientErrors(layer: Layer, x: Float64Array, batch: number, rng: Rng) {
  const outSize = layer.outputShape.reduce((a, b) => a * b, 1);
  const dy = Float64Array.from({ length: batch * outSize }, () => rng.uniform(-1, 1));
  for (const p of layer.params()) p.grad.fill(0);
  layer.forward(x, batch);
  const dx = Float64Array.from(layer.backward(dy, batch));
  const L = () => {
    const y = layer.forward(x, batch);
    let s = 0;
    for (let j = 0; j < y.length; j++) s += y[j]! * dy[j]!;
    return s;
  };
  return {
    params: Math.max(...layer.params().map((p) => worstError(p.value, p.grad.slice(), L))),
    input: worstError(x, dx, L),
  };
}
