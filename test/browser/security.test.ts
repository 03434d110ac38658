/**
 * The Content-Security-Policy and API keys in a real browser (headless Chromium, as
 * playground.test.ts): Swagger UI and the playground load with no CSP violation, and Swagger UI's
 * "Authorize" sends the key with "Try it out" (401 before, 200 after).
 */
import type { FastifyInstance } from "fastify";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { browserTestsRun, servePlayground } from "./chromium.js";

const KEY = "browser-key-0123456789abcdef";

describe.skipIf(!browserTestsRun)("CSP and API keys in headless Chromium", () => {
  let app: FastifyInstance;
  let browser: Browser;
  let base: string;

  beforeAll(async () => {
    ({ app, base, browser } = await servePlayground({ API_KEYS: KEY }));
  }, 40_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  /** A page that records CSP violations (the event the browser fires for each blocked load). */
  async function open(path: string, init?: string): Promise<{ page: Page; violations: string[] }> {
    const page = await browser.newPage();
    if (init) await page.addInitScript({ content: init });
    page.setDefaultTimeout(15_000);
    const violations: string[] = [];
    await page.exposeFunction("reportViolation", (v: string) => violations.push(v));
    // As text: this runs in the page, whose DOM types the Node test project does not load.
    await page.addInitScript({
      content:
        'document.addEventListener("securitypolicyviolation", (e) => ' +
        'window.reportViolation(e.violatedDirective + " " + e.blockedURI));',
    });
    page.on("console", (m) => {
      if (m.type() === "error" && /Content Security Policy/i.test(m.text())) violations.push(m.text());
    });
    await page.goto(`${base}${path}`);
    return { page, violations };
  }

  it("Swagger UI: no CSP violation; Try it out is 401 without a key and 200 after Authorize", async () => {
    const { page, violations } = await open("/docs");
    const op = page.locator("#operations-training-post_train");
    await op.locator(".opblock-summary").first().click();
    await op.locator("button.try-out__btn").click();
    const execute = async () => {
      await op.locator("button.execute").click();
      const status = op.locator(".live-responses-table tbody .response-col_status").first();
      await status.waitFor();
      return (await status.textContent())?.trim();
    };
    expect(await execute()).toBe("401");
    await op.locator("button.btn-clear").click();

    await page.locator("button.authorize").first().click();
    const dialog = page.locator(".modal-ux");
    await dialog.locator("input").first().fill(KEY); // bearerAuth
    await dialog.locator("button.authorize").first().click();
    await dialog.locator("button.close-modal").click();
    expect(await execute()).toBe("200");
    expect(violations).toEqual([]);
    await page.close();
  }, 40_000);

  it("the playground loads with no CSP violation, its API calls carrying the key it keeps", async () => {
    // The page keeps the key it is given in localStorage (web/src/api.ts).
    const { page, violations } = await open(
      "/",
      `localStorage.setItem("playground.apiKey", ${JSON.stringify(KEY)});`,
    );
    await page.waitForSelector("body[data-ready=true]");
    expect(violations).toEqual([]);
    await page.close();
  }, 30_000);

  it("the playground's Save model and ONNX download send the key (a bare link could not: 401)", async () => {
    const { page, violations } = await open(
      "/",
      `localStorage.setItem("playground.apiKey", ${JSON.stringify(KEY)});`,
    );
    const keys: string[] = [];
    page.on("request", (req) => {
      if (new URL(req.url()).pathname.startsWith("/models")) keys.push(req.headers()["x-api-key"] ?? "none");
    });
    await page.waitForSelector("body[data-ready=true]");
    await page.fill("#epochs", "5");
    await page.click("#train");
    await page.waitForSelector("#status[data-state=succeeded]");
    await page.waitForSelector("#regions-note[data-verified=true]");
    await page.locator("#frame").fill("0"); // epoch 1's weights: not the job's, so stored anew
    await page.click("#save-model");
    await page.waitForSelector("#model-info[data-model-id]");
    const id = (await page.getAttribute("#model-info", "data-model-id"))!;
    const [download] = await Promise.all([page.waitForEvent("download"), page.click("#download-onnx")]);
    expect(download.suggestedFilename()).toBe(`${id}.onnx`);
    expect(keys).toEqual([KEY, KEY]); // POST /models, GET /models/{id}/onnx
    expect((await app.inject({ method: "GET", url: `/models/${id}/onnx` })).statusCode).toBe(401);
    expect(
      (await app.inject({ method: "GET", url: `/models/${id}/onnx`, headers: { "x-api-key": KEY } }))
        .statusCode,
    ).toBe(200);
    expect(await page.isHidden("#model-error")).toBe(true);
    expect(violations).toEqual([]);
    await page.close();
  }, 40_000);
});
