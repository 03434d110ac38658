/**
 * Keras' and tfjs-layers' `Bidirectional` and `TimeDistributed` configs as the engine's
 * `bidirectional` and `timeDistributed` (docs/models.md, "Importing Keras/tfjs models"): the
 * wrapped layer is read as any layer is, and must be a SimpleRNN, LSTM or GRU (Bidirectional) or a
 * Dense (TimeDistributed).
 */
import type { LayerSpec } from "../../../engine/index.js";
import { LayerOptionError } from "./keras-config.js";

/** The wrapped classes each wrapper takes. */
const WRAPPED: Record<"bidirectional" | "timeDistributed", readonly string[]> = {
  bidirectional: ["SimpleRNN", "LSTM", "GRU"],
  timeDistributed: ["Dense"],
};

/** A nested `{ class_name, config }`, or undefined. */
function nestedLayer(v: unknown): { cls: string; cfg: Record<string, unknown> } | undefined {
  if (typeof v !== "object" || v === null) return undefined;
  const o = v as { class_name?: unknown; config?: unknown };
  if (typeof o.class_name !== "string" || typeof o.config !== "object" || o.config === null) return undefined;
  return { cls: o.class_name, cfg: o.config as Record<string, unknown> };
}

/**
 * The wrapper's spec from its config's `layer` (and Bidirectional's `merge_mode` and Keras 3's
 * `backward_layer`, which must be the layer with go_backwards flipped).
 * @param read reads one layer config as `layerFromKeras` does.
 * @throws LayerOptionError naming the key under `config` (`["layer", "config", "units"]`).
 */
export function wrapperFromKeras(
  type: "bidirectional" | "timeDistributed",
  base: Record<string, unknown>,
  get: (key: string) => unknown,
  read: (cls: string, cfg: Record<string, unknown>) => LayerSpec,
): Record<string, unknown> {
  const cls = type === "bidirectional" ? "Bidirectional" : "TimeDistributed";
  const inner = nestedLayer(get("layer"));
  if (!inner) throw new LayerOptionError(`${cls}: layer must be a { class_name, config } object`, ["layer"]);
  if (!WRAPPED[type].includes(inner.cls))
    throw new LayerOptionError(
      `${cls}: wrapping ${JSON.stringify(inner.cls)} is not supported; supported: ${WRAPPED[type].join(", ")}`,
      ["layer", "class_name"],
    );
  let cfg = inner.cfg;
  let layer: LayerSpec;
  if (type === "bidirectional") {
    const back = get("backward_layer");
    if (back !== undefined && back !== null) {
      // Keras 3 writes both copies, the forward one named forward_<name>.
      const b = nestedLayer(back);
      const same = (x: Record<string, unknown>, goBackwards: boolean) =>
        JSON.stringify({ ...x, name: undefined, go_backwards: goBackwards });
      const fwdBack = cfg.go_backwards === true;
      if (!b || b.cls !== inner.cls || same(b.cfg, !fwdBack) !== same(cfg, !fwdBack))
        throw new LayerOptionError(
          `${cls}: backward_layer must be the layer with go_backwards flipped (the engine's backward copy)`,
          ["backward_layer"],
        );
      if (typeof cfg.name === "string" && cfg.name.startsWith("forward_"))
        cfg = { ...cfg, name: cfg.name.slice("forward_".length) };
    }
    // Keras sets the copies' zero_output_for_mask from return_sequences whatever the config says;
    // the engine's copies carry the state at a masked step as tfjs-layers' (docs/backprop.md §23.1).
    const { zero_output_for_mask: _, ...rest } = cfg;
    cfg = rest;
  }
  try {
    layer = read(inner.cls, cfg);
  } catch (e) {
    if (e instanceof LayerOptionError) throw new LayerOptionError(e.message, ["layer", "config", ...e.key]);
    throw e;
  }
  return type === "bidirectional"
    ? { ...base, layer, mergeMode: get("merge_mode") ?? "concat" }
    : { ...base, layer };
}
