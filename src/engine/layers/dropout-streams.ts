import type { Rng } from "../rng.js";
import type { Floats } from "../tensor.js";
import { Bidirectional } from "./bidirectional.js";
import { Dropout } from "./dropout.js";
import type { Layer } from "./layer.js";
import { Recurrent } from "./recurrent.js";

/**
 * One generator of dropout masks (docs/backprop.md §18.3, §22.7): a dropout layer's, or a recurrent
 * layer's with `dropout`/`recurrentDropout` above 0 (each copy of a bidirectional layer its own).
 */
export interface DropoutStream {
  /** The key of its state in `OptimizerState.dropoutRng`: the layer's name (a copy's `<name>/forward_<inner>`). */
  readonly name: string;
  /** What holds the generator: `rng` is replaced when a run resumes, `seedStream` seeds it from a request's seed. */
  readonly holder: { rng: Rng; seedStream(seed: number): void };
  /**
   * The masks the last training forward applied, keyed as `/gradients`' `dropoutMasks`: a dropout
   * layer's under its name, shaped `[batch, ...inputShape]`; a recurrent layer's as
   * `<name>/dropout` `[batch, features]` and `<name>/recurrentDropout` `[batch, units]` (those of
   * its rates above 0).
   */
  masks(): { key: string; shape: number[]; data: Floats }[];
}

/** The model's dropout streams, in layer order (a bidirectional layer's forward copy, then its backward one). */
export function dropoutStreams(layers: readonly Layer[]): DropoutStream[] {
  const out: DropoutStream[] = [];
  const recurrent = (l: Recurrent) => {
    const d = l.dropout;
    if (!d) return;
    out.push({
      name: l.name,
      holder: d,
      masks: () => [
        ...(d.input ? [{ key: `${l.name}/dropout`, shape: [l.features], data: d.input }] : []),
        ...(d.state ? [{ key: `${l.name}/recurrentDropout`, shape: [l.units], data: d.state }] : []),
      ],
    });
  };
  for (const l of layers) {
    if (l instanceof Dropout) {
      const mask = () => l.lastMask();
      out.push({
        name: l.name,
        holder: l,
        masks: () => {
          const m = mask();
          return m ? [{ key: l.name, shape: l.inputShape, data: m }] : [];
        },
      });
    } else if (l instanceof Recurrent) recurrent(l);
    else if (l instanceof Bidirectional) {
      recurrent(l.fwd);
      recurrent(l.bwd);
    }
  }
  return out;
}

/** Seeds every dropout stream of the model from the request's `seed` (§18.3, §22.7). */
export function seedDropoutStreams(layers: readonly Layer[], seed: number): void {
  for (const s of dropoutStreams(layers)) s.holder.seedStream(seed);
}
