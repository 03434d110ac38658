/**
 * The playground's page and bundle as served (no browser needed): esbuild bundles web/ into
 * memory on first request; everything the page loads comes from this service.
 */
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bundlePlayground } from "../../src/http/routes/playground.js";
import { buildTestApp } from "../http/helper.js";

describe("the playground's assets", () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = await buildTestApp();
  });
  afterAll(async () => {
    await app.close();
  });

  it("GET / is the page (no longer a redirect to /docs), loading only local assets", async () => {
    const res = await app.inject({ method: "GET", url: "/" });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(res.body).toContain('<script type="module" src="/playground/app.js">');
    expect(res.body).toContain('<link rel="stylesheet" href="/playground/app.css" />');
    const sources = [...res.body.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    const remote = sources.filter((s) => /^(https?:)?\/\//.test(s) && !s.startsWith("https://github.com/"));
    expect(remote).toEqual([]);
    expect(res.body).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/); // no inline script (CSP script-src 'self')
  });

  it("serves the bundled script (the page and uPlot) and its CSS, with ETags", async () => {
    const js = await app.inject({ method: "GET", url: "/playground/app.js" });
    expect(js.statusCode).toBe(200);
    expect(js.headers["content-type"]).toBe("text/javascript; charset=utf-8");
    expect(js.body).toContain("/jobs/");
    expect(js.body).toMatch(/^\/\*! uPlot 1\.\d+\.\d+ \(c\) Leon Sorokin, MIT License/);
    expect(js.body).not.toMatch(/^\s*import\s/m); // one self-contained bundle
    const css = await app.inject({ method: "GET", url: "/playground/app.css" });
    expect(css.statusCode).toBe(200);
    expect(css.headers["content-type"]).toBe("text/css; charset=utf-8");
    expect(css.body).toContain(".uplot");
    const again = await app.inject({
      method: "GET",
      url: "/playground/app.js",
      headers: { "if-none-match": js.headers.etag as string },
    });
    expect(again.statusCode).toBe(304);
  });

  it("bundles only web/src and uPlot: the API types from src/schemas are type-only imports", async () => {
    const { metafile } = await bundlePlayground();
    const inputs = Object.keys(metafile.inputs);
    expect(inputs).toContain("src/main.ts");
    expect(inputs).toContain("src/panels/training.ts");
    expect(inputs.filter((f) => !f.startsWith("src/") && !/(^|\/)node_modules\/uplot\//.test(f))).toEqual([]);
  });

  it("keeps the playground's routes out of the OpenAPI document", async () => {
    const doc = (await app.inject({ method: "GET", url: "/docs/json" })).json() as { paths: object };
    expect(Object.keys(doc.paths).filter((p) => p === "/" || p.startsWith("/playground"))).toEqual([]);
  });
});
