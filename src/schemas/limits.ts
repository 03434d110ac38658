/**
 * Hard limits enforced by the request schemas (400 when exceeded). They bound what a single
 * request can ask for; the compute budget per request is checked by the service (config).
 */
export const LIMITS = {
  maxLayers: 64,
  maxInputRank: 3,
  maxInputDim: 4096,
  maxUnits: 4096,
  maxFilters: 1024,
  maxKernelSize: 32,
  /**
   * A sanity cap on `epochs` (and `patience`); what a run may cost is the compute budget's to say
   * (MAX_WORK for POST /train, MAX_JOB_WORK for a job), so it is far above what either allows
   * for all but the smallest models.
   */
  maxEpochs: 1_000_000,
  maxBatchSize: 65_536,
  maxSamples: 1_000_000,
  maxNameLength: 64,
} as const;
