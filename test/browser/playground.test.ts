/**
 * The playground and Swagger UI in a real browser: headless Chromium (Debian's `chromium`
 * package; .ci/run installs it) driven by playwright-core. Skipped, with a message, only where
 * Chromium is missing outside CI. Screenshots go to test-results/ (git-ignored).
 */
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { browserTestsRun, servePlayground } from "./chromium.js";

/** The canvas API the test reads in the page (the tests compile without the DOM types). */
interface Canvas {
  toDataURL(): string;
  getContext(
    kind: "2d",
  ): { getImageData(x: number, y: number, w: number, h: number): { data: Iterable<number> } } | null;
}

/** An element's box, read in the page. */
interface Box {
  getBoundingClientRect(): { right: number };
}

const RESULTS = join(import.meta.dirname, "..", "..", "test-results");
describe.skipIf(!browserTestsRun)("in headless Chromium", () => {
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

  /** A page that records page errors and every URL it requests. */
  async function open(path: string): Promise<{ page: Page; errors: string[]; urls: string[] }> {
    const page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
    page.setDefaultTimeout(15_000);
    const errors: string[] = [];
    const urls: string[] = [];
    page.on("pageerror", (err) => errors.push(err.message));
    page.on("request", (req) => urls.push(req.url()));
    await page.goto(`${base}${path}`);
    return { page, errors, urls };
  }

  it("refuses an empty numeric field or a validation split of 1 before sending, naming the field", async () => {
    const { page, errors, urls } = await open("/");
    await page.waitForSelector("body[data-ready=true]");
    const posted = () => urls.filter((u) => u.endsWith("/jobs")).length;

    await page.fill("#learning-rate", "");
    await page.click("#train");
    await page.waitForSelector("#error:not([hidden])");
    expect(await page.textContent("#error")).toBe(
      "learning rate is empty: enter a number (the default is 0.03)",
    );
    expect(posted()).toBe(0);

    await page.fill("#learning-rate", "0.03");
    await page.fill("#validation-split", "1");
    await page.click("#train");
    await page.waitForSelector("#error:has-text('validation split')");
    expect(await page.textContent("#error")).toBe("validation split must be between 0 and 0.9; got 1");
    expect(posted()).toBe(0);

    // Fixed, the same form trains.
    await page.fill("#validation-split", "0");
    await page.click("#train");
    await page.waitForSelector("#status[data-state=succeeded]");
    expect(posted()).toBe(1);
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);

  it("the playground trains xor: the loss falls on the chart, the regions change, gradients are inspected, weights round-trip", async () => {
    const { page, errors, urls } = await open("/");
    await page.waitForSelector("body[data-ready=true]");
    expect(await page.inputValue("#dataset")).toBe("builtin:xor");

    await page.click("#train");
    await page.waitForSelector("#status[data-state=succeeded]");
    // every shadow frame drawn and the last one checked against the job's weights
    await page.waitForSelector("#regions-note[data-verified=true]");

    // the loss curve: one point per epoch, falling by far
    const chart = page.locator("#chart");
    expect(await chart.getAttribute("data-points")).toBe("300");
    const first = Number(await chart.getAttribute("data-first-loss"));
    const last = Number(await chart.getAttribute("data-last-loss"));
    expect(last).toBeLessThan(first / 100);
    expect(await page.locator("#chart canvas").count()).toBeGreaterThan(0);
    expect(await page.textContent("#status")).toMatch(/succeeded · epoch 300\/300 .* accuracy 1\.00/);

    // the decision regions: several frames drawn, and the picture at the first differs from the last
    const regions = page.locator("#regions");
    expect(Number(await regions.getAttribute("data-frames-drawn"))).toBeGreaterThanOrEqual(10);
    expect(await regions.getAttribute("data-epoch")).toBe("300");
    const picture = () => regions.evaluate((c) => (c as unknown as Canvas).toDataURL());
    const lastPicture = await picture();
    await page.locator("#frame").fill("0");
    expect(await page.textContent("#frame-label")).toBe("epoch 1 of 300");
    const firstPicture = await picture();
    expect(firstPicture).not.toBe(lastPicture);
    // the trained model separates xor: the corner (1, 0) is class 1's colour (orange), (1, 1) class 0's (blue)
    const max = await page.locator("#frame").getAttribute("max");
    await page.locator("#frame").fill(max!);
    const colourNear = (fx: number, fy: number) =>
      regions.evaluate(
        (c, [x, y]) => [...(c as unknown as Canvas).getContext("2d")!.getImageData(x!, y!, 1, 1).data],
        [Math.round(fx * 440), Math.round(fy * 440)],
      );
    const [r10, , b10] = await colourNear(0.93, 0.8); // just inside (1, 0)'s region, beside its marker
    const [r11, , b11] = await colourNear(0.93, 0.2);
    expect(r10).toBeGreaterThan(b10!);
    expect(b11).toBeGreaterThan(r11!);

    // the gradient inspector on sample #1 (0, 1): heat maps with values on hover, the numerical check
    await page.selectOption("#sample", "1");
    await page.waitForSelector("#numerical[data-max-rel-error]");
    expect(Number(await page.getAttribute("#numerical", "data-max-rel-error"))).toBeLessThan(1e-2);
    expect(await page.locator("#inspection figure.heatmap").count()).toBe(10); // x + 3 × (∂kernel, ∂bias, output)
    const kernel = page.locator("#inspection figure.heatmap canvas").nth(1);
    await kernel.hover({ position: { x: 5, y: 5 } });
    expect(await page.textContent("#heatmap-tooltip")).toMatch(
      /^∂L\/∂dense_0\/kernel\[0\]\[0\] = -?\d.*\nfinite differences: -?\d.*\nweight: -?\d/,
    );
    await page.mouse.move(0, 0);
    await page.screenshot({ path: join(RESULTS, "playground.png"), fullPage: true });

    // download the weights, upload them again and train from them: the new run starts where the first ended
    const [download] = await Promise.all([page.waitForEvent("download"), page.click("#download-weights")]);
    const file = join(RESULTS, "weights.json");
    await download.saveAs(file);
    const weights = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
    expect(Object.keys(weights).sort()).toEqual([
      "dense_0/bias",
      "dense_0/kernel",
      "dense_1/bias",
      "dense_1/kernel",
      "dense_2/bias",
      "dense_2/kernel",
    ]);
    await page.setInputFiles("#upload-weights", file);
    await page.waitForSelector("#use-initial:checked");
    expect(await page.textContent("#weights-info")).toContain("6 tensors");
    await page.fill("#epochs", "20");
    await page.click("#train");
    await page.waitForSelector("#status[data-state=succeeded]");
    expect(Number(await chart.getAttribute("data-first-loss"))).toBeLessThan(last * 2);

    expect(errors).toEqual([]);
    expect(urls.filter((url) => !url.startsWith(`${base}/`) && !url.startsWith("blob:"))).toEqual([]);
    await page.close();
  }, 60_000);

  it("the playground on iris (4 inputs) and on a stored generated set: no regions for iris, the job's weights inspected, bad uploads named", async () => {
    const { page, errors } = await open("/");
    await page.waitForSelector("body[data-ready=true]");

    // a generated set stored with POST /datasets is selected by id, its points remembered and drawn
    await page.selectOption("#dataset", "gen:circle");
    expect(await page.textContent("#dataset-info")).toBe(
      "200 points generated here (seed 1), sent inline as {x, y}.",
    );
    await page.click("#store-dataset");
    await page.waitForSelector("#dataset-info:has-text('Stored data set')");
    expect(await page.inputValue("#dataset")).toMatch(/^stored:/);
    expect(await page.textContent("#dataset-info")).toMatch(/^Stored data set \S+: 200 samples\.$/);
    expect(await page.locator("#regions").isVisible()).toBe(true);
    expect(await page.locator("#sample option").count()).toBe(200);
    expect(await page.textContent("#legend")).toBe("insideoutside");

    // iris: 4 inputs, so no regions; the output layer follows the loss and the 3 classes
    await page.selectOption("#dataset", "builtin:iris");
    expect(await page.locator("#regions").isVisible()).toBe(false);
    expect(await page.textContent("#regions-note")).toBe(
      "Decision regions need 2 inputs; this data set's inputShape is [4].",
    );
    expect(await page.textContent("#output-layer")).toBe(
      "input [4] → … → dense_2(3, softmax) (output, set by the loss and the classes)",
    );
    await page.selectOption("#loss", "binaryCrossentropy");
    expect(await page.textContent("#output-layer")).toContain("dense_2(1, sigmoid)");
    await page.selectOption("#loss", "sparseCategoricalCrossentropy");
    expect(await page.locator("#manual-x").isVisible()).toBe(true);

    await page.fill("#epochs", "20");
    await page.click("#train");
    await page.waitForSelector("#status[data-state=succeeded]");
    expect(await page.textContent("#job-note")).toMatch(
      /^Job \S+ succeeded: 20 epochs, weights SHA-256 [0-9a-f]{16}…$/,
    );
    expect(await page.isDisabled("#download-weights")).toBe(false);
    expect(await page.textContent("#inspect-weights")).toBe("with the job's final weights");

    // the inspector on the manual sample, at the job's weights
    await page.click("#inspect");
    await page.waitForSelector("#numerical[data-max-rel-error]");
    expect(Number(await page.getAttribute("#numerical", "data-max-rel-error"))).toBeLessThan(1e-2);
    expect(await page.locator("#inspection figure.heatmap").count()).toBe(10);
    expect(await page.textContent("#inspection p.hint")).toMatch(/^Loss \d\S* at the job's final weights\./);

    // a file without weights is named in the error box
    await page.setInputFiles("#upload-weights", {
      name: "empty.json",
      mimeType: "application/json",
      buffer: Buffer.from("{}"),
    });
    await page.waitForSelector("#error:not([hidden])");
    expect(await page.textContent("#error")).toBe(
      'the file holds no weights: expected { "dense_0/kernel": [[…]], … } or { weights: … }',
    );
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);

  it("the model panel's vocabulary: gelu with L2, a prelu layer and rmsprop are sent, the chart draws, the inspector shows ∂L/∂alpha; screenshots at 1280 and 800 px", async () => {
    const { page, errors } = await open("/");
    await page.waitForSelector("body[data-ready=true]");
    const row = (n: number, cls: string) => page.locator(`.layer-row:nth-child(${n}) .${cls}`);
    await row(1, "activation").selectOption("gelu");
    await row(1, "l2").fill("0.01");
    await row(2, "activation").selectOption("prelu");
    await page.selectOption("#optimizer", "rmsprop");
    await page.fill("#epochs", "100");
    // the rows are named as the service names the layers: prelu_2 follows the linear dense_1
    expect(await page.locator(".layer-name").allTextContents()).toEqual(["dense_0", "dense_1"]);
    expect(await row(2, "layer-after").textContent()).toBe("→ prelu_2");
    expect(await page.textContent("#output-layer")).toContain("dense_3(2, softmax)");
    expect(await page.locator("#momentum-label").isVisible()).toBe(false);

    const posted = page.waitForRequest((req) => req.method() === "POST" && req.url().endsWith("/jobs"));
    await page.click("#train");
    const body = (await posted).postDataJSON() as { model: { layers: unknown[] }; optimizer: unknown };
    expect(body.model.layers).toEqual([
      { type: "dense", units: 8, activation: "gelu", kernelRegularizer: { l2: 0.01 } },
      { type: "dense", units: 8, activation: "linear" },
      { type: "prelu" },
      { type: "dense", units: 2, activation: "softmax" },
    ]);
    expect(body.optimizer).toEqual({ type: "rmsprop", learningRate: 0.03 });
    await page.waitForSelector("#status[data-state=succeeded]");
    await page.waitForSelector("#regions-note[data-verified=true]"); // the shadow resumed rmsprop exactly
    const chart = page.locator("#chart");
    expect(await chart.getAttribute("data-points")).toBe("100");
    expect(Number(await chart.getAttribute("data-last-loss"))).toBeLessThan(
      Number(await chart.getAttribute("data-first-loss")) / 2,
    );
    expect(await page.locator("#chart canvas").count()).toBeGreaterThan(0);

    // the inspector: prelu_2's alpha gradient beside the kernels and biases, checked numerically
    expect(await page.locator("#training-label").isVisible()).toBe(false); // no dropout, no batch norm
    await page.selectOption("#sample", "2");
    await page.waitForSelector("#numerical[data-max-rel-error]");
    expect(Number(await page.getAttribute("#numerical", "data-max-rel-error"))).toBeLessThan(1e-2);
    const prelu = page.locator("#inspection .layer-block", {
      has: page.locator("h3", { hasText: "prelu_2" }),
    });
    const captions = await prelu.locator("figcaption").allTextContents();
    expect(captions).toEqual([
      expect.stringMatching(/^∂L\/∂alpha 8 · max \|v\| \d/),
      expect.stringMatching(/^output \(activations\) 8 ·/),
    ]);
    expect(Number(captions[0]!.split("max |v| ")[1])).toBeGreaterThan(0); // some unit's input is negative
    await prelu
      .locator("canvas")
      .first()
      .hover({ position: { x: 5, y: 5 } });
    expect(await page.textContent("#heatmap-tooltip")).toMatch(
      /^∂L\/∂prelu_2\/alpha\[0\] = -?\d.*\nfinite differences: -?\d.*\nweight: -?\d/,
    );
    await page.mouse.move(0, 0);
    for (const width of [1280, 800]) {
      await page.setViewportSize({ width, height: 900 });
      // nothing sticks out of the form: the widest control fits its panel
      const form = (await page.locator("#setup").boundingBox())!;
      const rights = await page
        .locator("#setup select, #setup input, #setup button")
        .evaluateAll((els) => els.map((e) => (e as unknown as Box).getBoundingClientRect().right));
      const overflow = Math.max(...rights) - (form.x + form.width);
      expect(overflow).toBeLessThan(0);
      await page.screenshot({ path: join(RESULTS, `playground-${width}.png`), fullPage: true });
    }
    expect(errors).toEqual([]);
    await page.close();
  }, 90_000);

  it("dropout and batch normalisation: trained by the service, the bodies of /jobs and /gradients, gamma, beta, the moving statistics, the mask and the one-sample warning in the inspector", async () => {
    const { page, errors } = await open("/");
    await page.waitForSelector("body[data-ready=true]");
    const bodies: Record<string, unknown[]> = { jobs: [], gradients: [] };
    page.on("request", (req) => {
      if (req.method() !== "POST") return;
      if (req.url().endsWith("/jobs")) bodies.jobs!.push(req.postDataJSON());
      if (req.url().endsWith("/gradients")) bodies.gradients!.push(req.postDataJSON());
    });
    await page.selectOption("#dataset", "builtin:iris");
    await page.locator(".layer-row:nth-child(2) button").click(); // one hidden layer
    await page.locator(".layer-row .units").fill("3");
    await page.locator(".layer-row .batch-norm").check();
    await page.locator(".layer-row .dropout").fill("0.25");
    expect(await page.textContent(".layer-row .layer-after")).toBe("→ batchNormalization_1 → dropout_2");
    expect(await page.textContent("#output-layer")).toContain("dense_3(3, softmax)");
    await page.selectOption("#optimizer", "sgd");
    await page.check("#nesterov");
    await page.fill("#epochs", "20");
    await page.click("#train");
    await page.waitForSelector("#status[data-state=succeeded]", { timeout: 30_000 });
    const layers = [
      { type: "dense", units: 3, activation: "tanh" },
      { type: "batchNormalization" },
      { type: "dropout", rate: 0.25 },
      { type: "dense", units: 3, activation: "softmax" },
    ];
    expect(bodies.jobs).toMatchObject([
      { model: { layers }, optimizer: { type: "sgd", learningRate: 0.03, momentum: 0.9, nesterov: true } },
    ]);

    // the inspector sends `training` (on by default, then off) and draws what the answer holds
    expect(await page.locator("#training-label").isVisible()).toBe(true);
    const block = (name: string) =>
      page.locator("#inspection .layer-block", { has: page.locator("h3", { hasText: name }) });
    await page.click("#inspect");
    await page.waitForSelector("#numerical[data-max-rel-error]");
    // training mode: the mask the service drew (0 or 1/(1 − 0.25)), checked numerically with it
    expect(Number(await page.getAttribute("#numerical", "data-max-rel-error"))).toBeLessThan(1e-4);
    expect(await block("dropout_2").locator("figcaption").allTextContents()).toEqual([
      expect.stringMatching(/^dropout mask 3 · max \|v\| 1\.33/),
      expect.stringMatching(/^output \(activations\) 3 ·/),
    ]);
    // one sample of a dense layer's 3 features: the service's warning, above the heat maps
    const warning = page.locator("#inspection > p.inspection-warning");
    expect(await warning.count()).toBe(1);
    expect(await warning.getAttribute("data-layer")).toBe("batchNormalization_1");
    expect(await warning.textContent()).toMatch(
      /its output is its beta and no gradient flows below it.*training: false/,
    );
    expect(await page.locator("#inspection > p.inspection-warning + .layer-block h3").textContent()).toBe(
      "input",
    );
    await page.uncheck("#training");
    await page.click("#inspect");
    await page.waitForSelector("#inspection p.hint:has-text('inference mode')");
    expect(await warning.count()).toBe(0);
    expect(bodies.gradients).toMatchObject([{ model: { layers }, training: true }, { training: false }]);
    expect(await block("batchNormalization_1").locator("figcaption").allTextContents()).toEqual([
      expect.stringMatching(/^∂L\/∂gamma 3 ·/),
      expect.stringMatching(/^∂L\/∂beta 3 ·/),
      "moving_mean",
      "moving_variance",
      expect.stringMatching(/^output \(activations\) 3 ·/),
    ]);
    expect(await block("batchNormalization_1").locator(".not-trainable").allTextContents()).toEqual([
      "moving_meannot trainable (no gradient)",
      "moving_variancenot trainable (no gradient)",
    ]);
    // inference: no mask
    expect(await block("dropout_2").locator("figcaption").allTextContents()).toEqual([
      expect.stringMatching(/^output \(activations\) 3 ·/),
    ]);
    await page.screenshot({ path: join(RESULTS, "playground-batchnorm-dropout.png"), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);

  it("Swagger UI at /docs: Try it out on POST /train with the documented example answers 200 with weights", async () => {
    const { page, errors } = await open("/docs");
    const op = page.locator("#operations-training-post_train");
    await op.locator(".opblock-summary").first().click();
    await op.locator("button.try-out__btn").click();
    await op.locator("button.execute").click();
    const status = op.locator(".live-responses-table tbody .response-col_status").first();
    await status.waitFor();
    expect((await status.textContent())?.trim()).toBe("200");
    const body = await op
      .locator(".live-responses-table tbody .response-col_description")
      .first()
      .textContent();
    expect(body).toContain('"weights"');
    expect(body).toContain('"dense_0/kernel"');
    await status.scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(RESULTS, "swagger-try-it-out.png") });
    expect(errors).toEqual([]);
    await page.close();
  }, 40_000);
});
