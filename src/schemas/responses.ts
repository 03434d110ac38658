import { z } from "zod";
import { NamedTensorsOutputSchema, NestedOutputSchema, OutputNumberSchema } from "./common.js";
import { DatasetInfoSchema } from "./dataset.js";

const perEpoch = z.array(OutputNumberSchema);

export const HistorySchema = z
  .object({
    loss: perEpoch.describe("Mean training loss of each epoch."),
    accuracy: perEpoch.optional().describe("Training accuracy of each epoch (classification losses)."),
    valLoss: perEpoch.optional().describe("Validation loss at the end of each epoch."),
    valAccuracy: perEpoch.optional(),
    distanceToOptimum: perEpoch
      .optional()
      .describe(
        "Linear regression trained by sgd/adam: the distance ‖W − W*‖ (Frobenius, kernel and bias together) " +
          "from the weights at the end of each epoch to the least-squares optimum.",
      ),
  })
  .meta({ id: "History", description: "Per-epoch values, one entry per epoch run." });

export const MetricsSchema = z
  .object({
    loss: OutputNumberSchema,
    accuracy: OutputNumberSchema.optional(),
    valLoss: OutputNumberSchema.optional(),
    valAccuracy: OutputNumberSchema.optional(),
  })
  .meta({ id: "Metrics", description: "Loss (and accuracy, validation values) at the final weights." });

export const DivergenceSchema = z
  .object({
    epoch: z.number().int().describe("0-based epoch at which a non-finite loss first appeared."),
    batch: z.number().int().describe("0-based batch within that epoch."),
    message: z.string(),
  })
  .meta({
    id: "Divergence",
    description:
      "Present when training stopped because the loss became NaN or infinite; the weights are the last finite ones.",
  });

export const ClosedFormSolutionSchema = z
  .object({
    method: z
      .enum(["qr", "svd"])
      .describe("qr: full rank, the unique minimiser; svd: rank-deficient data, the minimum-norm minimiser."),
    rank: z.number().int().describe("Numerical rank of the design matrix [X 1]."),
    mse: OutputNumberSchema.describe("Training mean squared error at the solution."),
    r2: OutputNumberSchema.describe("Coefficient of determination on the training samples."),
  })
  .meta({ id: "ClosedFormSolution", description: "How normalEquation solved the least-squares problem." });

export const TrainResponseSchema = z
  .object({
    weights: NamedTensorsOutputSchema,
    history: HistorySchema,
    gradients: NamedTensorsOutputSchema.describe(
      "Gradient of the mean loss over the whole training set at the final weights.",
    ),
    metrics: MetricsSchema,
    seed: z.number().int().describe("The seed used (drawn when the request had none)."),
    epochsRun: z.number().int(),
    durationMs: z.number().describe("Time spent training in the worker, milliseconds."),
    diverged: DivergenceSchema.optional(),
    solution: ClosedFormSolutionSchema.optional().describe("Present for optimizer normalEquation."),
    optimum: NamedTensorsOutputSchema.optional().describe(
      "Linear regression trained by sgd/adam: the closed-form least-squares weights, keyed as `weights` " +
        "(omitted for problems too large to solve on the side).",
    ),
  })
  .meta({ id: "TrainResponse" });

export const NumericalReportSchema = z
  .object({
    method: z.enum(["central", "forward"]),
    epsilon: z.number(),
    gradients: NamedTensorsOutputSchema,
    maxAbsError: OutputNumberSchema.describe("max |analytic − numerical| over every parameter."),
    maxRelError: OutputNumberSchema.describe("max |a − n| / max(|a|, |n|) over every parameter."),
    worst: z
      .object({
        key: z.string(),
        index: z.array(z.number().int()),
        analytic: OutputNumberSchema,
        numerical: OutputNumberSchema,
        relError: OutputNumberSchema,
      })
      .describe("The parameter element with the largest relative error."),
  })
  .meta({
    id: "NumericalReport",
    description: "Finite-difference gradients and how far they are from backprop's.",
  });

export const GradientsResponseSchema = z
  .object({
    loss: OutputNumberSchema,
    output: NestedOutputSchema.describe("The model's output for the sample, shape outputShape."),
    gradients: NamedTensorsOutputSchema.describe(
      "∂loss/∂w for every parameter, same keys and shapes as weights.",
    ),
    activations: z
      .array(z.object({ layer: z.string(), output: NestedOutputSchema }))
      .describe("Output of every layer (after its activation), in order."),
    weights: NamedTensorsOutputSchema.describe("The weights used (handy when they were seeded)."),
    seed: z.number().int().describe("The seed used to initialise weights (drawn when absent)."),
    numerical: NumericalReportSchema.optional(),
  })
  .meta({ id: "GradientsResponse" });

export const PredictResponseSchema = z
  .object({
    outputs: z.array(NestedOutputSchema).describe("One output per sample, each of the model's output shape."),
  })
  .meta({ id: "PredictResponse" });

export const DatasetsResponseSchema = z
  .object({ datasets: z.array(DatasetInfoSchema) })
  .meta({ id: "DatasetsResponse" });

export const HealthResponseSchema = z.object({ status: z.literal("ok") }).meta({ id: "Health" });

export type TrainResponse = z.output<typeof TrainResponseSchema>;
export type GradientsResponse = z.output<typeof GradientsResponseSchema>;
export type PredictResponse = z.output<typeof PredictResponseSchema>;
