/**
 * Generators for the model registry's forms: `model` and `initialWeights` naming a stored model
 * (`{ modelId }`), `model` as a Keras topology (a generated model's own tfjs export), and
 * POST /models import bodies (model.json fields with base64 weights); valid, and broken in the
 * fields those forms add. A broken one must get a 4xx problem naming a field of the request.
 */
import type { ModelSpec } from "../../src/engine/index.js";
import { nestedToNamedTensors } from "../../src/service/convert.js";
import { toTfjs } from "../../src/service/models/formats/tfjs.js";
import { genWeights, genX } from "./gen-bodies.js";
import { genModel, type ModelPlan } from "./gen-model.js";
import type { Tree, TreeObject } from "./json-text.js";
import type { Rand } from "./rand.js";

/** A generated model, its weights by name, and its tfjs export (undefined when tfjs cannot express it). */
export interface ExportedPlan {
  plan: ModelPlan;
  weights: TreeObject;
  tfjs?: ReturnType<typeof toTfjs>;
}

export function genExported(r: Rand): ExportedPlan {
  const plan = genModel(r);
  const weights = genWeights(r, plan);
  try {
    const tensors = nestedToNamedTensors(weights as never, ["weights"]);
    return { plan, weights, tfjs: toTfjs(plan.model as unknown as ModelSpec, tensors) };
  } catch {
    return { plan, weights };
  }
}

/** Samples for a plan's model. */
export function genSamples(r: Rand, plan: ModelPlan): Tree[] {
  return Array.from({ length: r.int(1, 3) }, () => genX(r, plan));
}

/** A `model` field that looks like a stored model's reference but is not a usable one. */
export function brokenModelRef(r: Rand): Tree {
  return r.pick<Tree>([
    { modelId: "" },
    { modelId: "mdl_does_not_exist_000000" },
    { modelId: 5 },
    { modelId: null },
    { modelId: "x".repeat(101) },
    { modelId: "mdl_x", layers: [] },
    { modelId: ["mdl_x"] },
    { modelId: "mdl_does_not_exist_000000", loss: "meanSquaredError" },
    { modelId: "mdl_x", loss: "nope" },
    { modelId: "mdl_x", loss: 5 },
  ]);
}

/** A Keras topology with one thing wrong: a class, a layer, the config, the top-level class. */
export function breakTopology(r: Rand, topology: TreeObject): TreeObject {
  const t = structuredClone(topology) as {
    class_name?: Tree;
    config?: { layers?: TreeObject[] } & TreeObject;
  };
  const layers = t.config?.layers ?? [];
  const i = layers.length > 0 ? r.int(0, layers.length - 1) : 0;
  switch (r.int(0, 6)) {
    case 0:
      // Classes the import does not read (LSTM, GRU, Bidirectional… are read now).
      if (layers[i]) layers[i]!.class_name = r.pick<Tree>(["ConvLSTM2D", "Conv3D", "", 5, null, "dense"]);
      break;
    case 1:
      if (layers[i]) layers[i]!.config = r.pick<Tree>([null, 3, [], "x"]);
      break;
    case 2:
      t.class_name = r.pick<Tree>(["Functional", "Model", 1]);
      break;
    case 3:
      delete t.config;
      break;
    case 4:
      if (t.config) t.config.layers = r.pick<Tree>([[], "layers", null, [1, 2]]) as never;
      break;
    case 5:
      if (layers[i]) (layers[i]!.config as TreeObject).units = r.pick<Tree>([-1, 0, "8", 1e9, 2.5]);
      break;
    default:
      if (layers[i])
        (layers[i]!.config as TreeObject)[r.pick(["kernel_size", "pool_size", "rate"])] = r.pick<Tree>([
          0,
          -3,
          "two",
          [1, 2, 3],
        ]);
  }
  return t as TreeObject;
}

/** A valid POST /models JSON body from an export: the model.json's fields and base64 weights. */
export function importBody(e: ExportedPlan): TreeObject | undefined {
  if (!e.tfjs) return undefined;
  return {
    ...(JSON.parse(JSON.stringify(e.tfjs.modelJson)) as TreeObject),
    weightData: Buffer.from(e.tfjs.weightsBin).toString("base64"),
  };
}

/**
 * POST /models in the service's own form, `{ model, weights }`: valid (the plan's model and
 * weights) or broken in one place (a weight dropped or misshapen, the model broken, a stored
 * model's reference where a spec goes, an extra field).
 */
export function nativeImport(r: Rand, e: ExportedPlan, broken: boolean): TreeObject {
  const body = {
    model: structuredClone(e.plan.model) as unknown as TreeObject,
    weights: structuredClone(e.weights),
  };
  if (!broken) return body;
  const keys = Object.keys(body.weights);
  switch (r.int(0, 4)) {
    case 0:
      if (keys.length > 0) delete body.weights[r.pick(keys)];
      else body.weights = { "x/kernel": [1] };
      break;
    case 1:
      if (keys.length > 0) body.weights[r.pick(keys)] = r.pick<Tree>([[], [1, 2, 3], "w", null]);
      else body.weights = { "dense_0/kernel": [[1]] };
      break;
    case 2:
      // A kind the engine does not have (lstm, gru, embedding… exist now, so they would not break it).
      body.model = { ...body.model, layers: r.pick<Tree>([[], "dense", [{ type: "convLstm2d", units: 2 }]]) };
      break;
    case 3:
      body.model = { modelId: "mdl_x" };
      break;
    default:
      (body as TreeObject).seed = 1;
  }
  return body;
}

/** An import body broken in one of its fields: the base64, the manifest, the topology. */
export function breakImport(r: Rand, body: TreeObject): TreeObject {
  const b = structuredClone(body) as TreeObject & { weightsManifest: { weights: TreeObject[] }[] };
  const data = String(b.weightData);
  switch (r.int(0, 5)) {
    case 0:
      b.weightData = r.pick(["***", "abc", `${data}A`, data.slice(0, -8), 42 as unknown as string]);
      break;
    case 1:
      b.weightData = Buffer.from(Buffer.from(data, "base64").subarray(4)).toString("base64");
      break;
    case 2: {
      const w = b.weightsManifest[0]?.weights;
      if (w && w.length > 0) w[r.int(0, w.length - 1)]!.shape = r.pick<Tree>([[], [1000], [-1], "3"]);
      break;
    }
    case 3: {
      const w = b.weightsManifest[0]?.weights;
      if (w && w.length > 0) w[r.int(0, w.length - 1)]!.name = r.pick(["nope/kernel", "", "dense_9/bias"]);
      break;
    }
    case 4:
      b.modelTopology = breakTopology(r, b.modelTopology as TreeObject);
      break;
    default:
      delete (b as Record<string, unknown>)[r.pick(["modelTopology", "weightsManifest", "weightData"])];
  }
  return b;
}
