/**
 * A tuning run on iris, the Swagger example (src/schemas/tuning-examples.ts): the learning rate
 * logUniform × the hidden width int, 12 trials two at a time, valLoss minimised; once with
 * random search and once with TPE (`bayesian`). Prints each trial, the best, and the wall time
 * from POST to the end (docs/tuning.md §6 has a run's numbers).
 * Run: `npx tsx bench/tuning.ts` (the app runs in this process: POOL_SIZE 2, MAX_CONCURRENT_JOBS 2).
 */
import { loadConfig } from "../src/config.js";
import { buildApp } from "../src/http/app.js";
import type { TuningJob } from "../src/schemas/tuning.js";
import { tuningExample } from "../src/schemas/tuning-examples.js";

const app = await buildApp({
  config: loadConfig({ DATA_DIR: ":memory:", POOL_SIZE: "2", MAX_CONCURRENT_JOBS: "2" }),
  logger: false,
});
await app.ready();
for (const algorithm of ["random", "bayesian"] as const) {
  const t0 = performance.now();
  const res = await app.inject({
    method: "POST",
    url: "/tuning-jobs",
    payload: { ...tuningExample, algorithm },
  });
  if (res.statusCode !== 202) throw new Error(res.body);
  const id = (res.json() as TuningJob).id;
  let job: TuningJob;
  for (;;) {
    job = (await app.inject({ method: "GET", url: `/tuning-jobs/${id}` })).json() as TuningJob;
    if (job.status !== "running") break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const wall = (performance.now() - t0) / 1000;
  console.log(`${algorithm}: ${job.status}, ${job.trials.length} trials, wall ${wall.toFixed(2)} s`);
  for (const t of job.trials)
    console.log(
      `  #${t.index} lr ${Number(t.parameters["optimizer.learningRate"]).toPrecision(3)} units ${t.parameters["model.layers[0].units"]}: ` +
        `${t.status}, valLoss ${t.objective?.toFixed(4)}, ${t.epochsRun} epochs`,
    );
  console.log(
    `  best: trial ${job.best?.trial}, valLoss ${job.best?.objective.toFixed(4)}, model ${job.best?.modelId}`,
  );
}
await app.close();
