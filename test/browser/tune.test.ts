/**
 * The playground's Tune panel in headless Chromium: a search over the form's body (learning
 * rate × the first hidden layer's width) runs as a tuning job, every trial lands on the chart,
 * and the status names the best trial as GET /tuning-jobs/{id} does. Skipped where Chromium is
 * missing outside CI (see chromium.ts).
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TuningJob } from "../../src/schemas/tuning.js";
import { browserTestsRun, servePlayground } from "./chromium.js";

const RESULTS = join(import.meta.dirname, "..", "..", "test-results");

describe.skipIf(!browserTestsRun)("the Tune panel in headless Chromium", () => {
  let app: FastifyInstance;
  let browser: Browser;
  let base: string;

  beforeAll(async () => {
    mkdirSync(RESULTS, { recursive: true });
    ({ app, base, browser } = await servePlayground({ MAX_CONCURRENT_JOBS: "2" }));
  }, 40_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  it("searches learning rate × width as a tuning job and draws every trial on one chart", async () => {
    const page = await browser.newPage({ viewport: { width: 1440, height: 1400 } });
    page.setDefaultTimeout(30_000);
    const errors: string[] = [];
    page.on("pageerror", (err) => errors.push(err.message));
    await page.goto(`${base}/`);
    await page.waitForSelector("body[data-ready=true]");
    await page.fill("#epochs", "15");
    await page.fill("#validation-split", "0.2");
    await page.fill("#tune-trials", "4");
    await page.selectOption("#tune-algorithm", "bayesian");
    await page.click("#tune");
    await page.waitForSelector("#tune-status[data-state=succeeded]");
    expect(await page.getAttribute("#tune-chart", "data-points")).toBe("4");
    const status = (await page.textContent("#tune-status"))!;
    const id = /^(tun_\w+)/.exec(status)![1]!;
    const job = (await app.inject({ method: "GET", url: `/tuning-jobs/${id}` })).json() as TuningJob;
    expect(job.status).toBe("succeeded");
    expect(job.algorithm).toBe("bayesian");
    expect(job.objective).toEqual({ metric: "valLoss", goal: "minimize" });
    expect(job.trials).toHaveLength(4);
    expect(status).toContain(`best trial #${job.best!.trial}, valLoss ${job.best!.objective.toFixed(4)}`);
    for (const t of job.trials) {
      const lr = Object.values(t.parameters)[0] as number;
      expect(lr).toBeGreaterThanOrEqual(0.001);
      expect(lr).toBeLessThanOrEqual(0.3);
    }
    await page.screenshot({ path: join(RESULTS, "playground-tune.png"), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  }, 90_000);
});
