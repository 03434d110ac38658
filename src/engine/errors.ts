/**
 * An error in what the caller asked of the engine: a model whose shapes do not fit, weights
 * for another model, data that does not match the model. `path` locates the fault in the
 * caller's input (`["layers", 1, "units"]`, `["y", 5]`), so the service can name the field.
 * The service answers these with 422.
 */
export class EngineError extends Error {
  override readonly name = "EngineError";
  constructor(
    message: string,
    readonly path: (string | number)[] = [],
  ) {
    super(message);
  }
}
