/**
 * Request generators for the fuzz suite: valid (small) models with fitting data and weights for
 * every engine route, and mutations that break one or several fields or the whole envelope.
 * Everything draws from fast-check's `gen()`, so a failing case is replayed from the seed and
 * shrunk (integers shrink towards their minimum: fewer layers, smaller shapes, earlier choices).
 *
 * The generators live by what they generate: `rand.ts` (the random source), `gen-model.ts` (layers
 * and models, with `gen-losses.ts` and `gen-weight-options.ts`), `gen-optimizers.ts`, `gen-bodies.ts`
 * (data and the routes' bodies), `gen-broken.ts` (breakage), `gen-extreme.ts` (valid but extreme)
 * and `gen-datasets.ts` (POST /datasets); this module gathers them for the tests.
 */
export {
  type Generated,
  genFor,
  genGradients,
  genPredict,
  genTrain,
  genWeights,
  genX,
  genY,
} from "./gen-bodies.js";
export { breakRequest, type WireRequest, wire } from "./gen-broken.js";
export { breakCsv, genCsv, genStoredDatasetJson } from "./gen-datasets.js";
export { extremeRequest } from "./gen-extreme.js";
export { LOSSES, type Loss } from "./gen-losses.js";
export {
  ACTIVATION_LAYERS,
  ACTIVATIONS,
  genModel,
  type ModelPlan,
  NORMALIZATION_LAYERS,
  type ParamShape,
  SHAPE_LAYERS,
} from "./gen-model.js";
export { type Rand, rand } from "./rand.js";
