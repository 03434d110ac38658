/**
 * The gradient inspector draws a recurrent model's dropout masks (headless Chromium, as
 * playground.test.ts): an lstm's `<layer>/dropout` and `<layer>/recurrentDropout`, and a
 * bidirectional layer's copies' `<bi>/forward_<inner>/…` and `<bi>/backward_<inner>/…`, in the
 * layer's block next to its gradients. The form builds dense models only, so the page's
 * POST /gradients body goes to the service with a recurrent model in its place (the sample, the
 * loss and the rest as the page sent them); the service's real answer is what the page draws.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import type { Browser, Route } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { browserTestsRun, servePlayground } from "./chromium.js";

const RESULTS = join(import.meta.dirname, "..", "..", "test-results");

/** iris' 4 features as 4 steps of 1 → lstm (dropout, recurrentDropout) → bidirectional gru → dense 3 softmax. */
const RECURRENT = [
  { type: "reshape", targetShape: [4, 1] },
  { type: "lstm", units: 3, dropout: 0.3, recurrentDropout: 0.3, returnSequences: true },
  { type: "bidirectional", layer: { type: "gru", units: 2, dropout: 0.25, recurrentDropout: 0.5 } },
  { type: "dense", units: 3, activation: "softmax" },
];

describe.skipIf(!browserTestsRun)("the inspector in headless Chromium", () => {
  let app: FastifyInstance;
  let browser: Browser;
  let base: string;

  beforeAll(async () => {
    mkdirSync(RESULTS, { recursive: true });
    ({ app, base, browser } = await servePlayground());
  }, 40_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  it("a recurrent model's dropout and recurrentDropout masks, also each bidirectional copy's, in training mode only", async () => {
    const page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
    page.setDefaultTimeout(15_000);
    const errors: string[] = [];
    page.on("pageerror", (err) => errors.push(err.message));
    await page.goto(`${base}/`);
    await page.waitForSelector("body[data-ready=true]");
    await page.selectOption("#dataset", "builtin:iris");

    let training = true;
    const answers: { dropoutMasks?: Record<string, unknown> }[] = [];
    await page.route(`${base}/gradients`, async (route: Route) => {
      const sent = route.request().postDataJSON() as { model: { inputShape: number[]; loss: unknown } };
      const body = { ...sent, model: { ...sent.model, layers: RECURRENT }, seed: 3, training };
      const response = await route.fetch({ postData: JSON.stringify(body) });
      answers.push(await response.json());
      await route.fulfill({ response });
    });
    const block = (name: string) =>
      page.locator("#inspection .layer-block", { has: page.locator("h3", { hasText: name }) });
    const masks = async (name: string) =>
      (await block(name).locator("figcaption").allTextContents()).filter((c) => c.includes(" mask "));

    await page.click("#inspect");
    await page.waitForSelector("#numerical[data-max-rel-error]");
    // The numerical check ran on the same masks.
    expect(Number(await page.getAttribute("#numerical", "data-max-rel-error"))).toBeLessThan(1e-4);
    expect(Object.keys(answers[0]!.dropoutMasks!)).toEqual([
      "lstm_1/dropout",
      "lstm_1/recurrentDropout",
      "bidirectional_2/forward_gru/dropout",
      "bidirectional_2/forward_gru/recurrentDropout",
      "bidirectional_2/backward_gru/dropout",
      "bidirectional_2/backward_gru/recurrentDropout",
    ]);
    // [features] and [units]; a kept value is 1/(1 − rate): 1.43 at 0.3, 1.33 at 0.25, 2 at 0.5.
    expect(await masks("lstm_1")).toEqual([
      expect.stringMatching(/^dropout mask 1 · max \|v\| (0|1\.43)$/),
      expect.stringMatching(/^recurrentDropout mask 3 · max \|v\| (0|1\.43)$/),
    ]);
    expect(await masks("bidirectional_2")).toEqual([
      expect.stringMatching(/^forward_gru\/dropout mask 3 · max \|v\| (0|1\.33)$/),
      expect.stringMatching(/^forward_gru\/recurrentDropout mask 2 · max \|v\| (0|2\.00)$/),
      expect.stringMatching(/^backward_gru\/dropout mask 3 · max \|v\| (0|1\.33)$/),
      expect.stringMatching(/^backward_gru\/recurrentDropout mask 2 · max \|v\| (0|2\.00)$/),
    ]);
    // The masks sit after the layer's gradients and before its output.
    const captions = await block("bidirectional_2").locator("figcaption").allTextContents();
    expect(captions.at(-1)).toMatch(/^output \(activations\) 4 ·/);
    expect(captions.findIndex((c) => c.includes(" mask "))).toBe(captions.length - 5);
    expect(captions.slice(0, -5).every((c) => c.startsWith("∂L/∂"))).toBe(true);
    // A mask's cell says which value it holds: the answer's, for the backward copy's first unit.
    const cell = block("bidirectional_2")
      .locator("figure", { hasText: "backward_gru/recurrentDropout mask" })
      .locator("canvas");
    await cell.hover({ position: { x: 2, y: 2 } });
    const value = (
      answers[0]!.dropoutMasks!["bidirectional_2/backward_gru/recurrentDropout"] as number[]
    )[0]!;
    expect(await page.textContent("#heatmap-tooltip")).toBe(
      `bidirectional_2/backward_gru/recurrentDropout mask[0] = ${value}${value === 0 ? " (dropped)" : ""}`,
    );
    await page.screenshot({ path: join(RESULTS, "inspector-recurrent-masks.png"), fullPage: true });

    // Inference: no masks, in the answer or on the page.
    training = false;
    await page.click("#inspect");
    await expect.poll(() => answers.length).toBe(2);
    expect(answers[1]!.dropoutMasks).toBeUndefined();
    await expect.poll(() => masks("lstm_1")).toEqual([]);
    expect(await masks("bidirectional_2")).toEqual([]);
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);
});
