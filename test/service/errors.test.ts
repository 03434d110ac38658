import { describe, expect, it } from "vitest";
import { formatPath } from "../../src/service/errors.js";

describe("formatPath", () => {
  it("writes paths as a JavaScript reader would", () => {
    expect(formatPath(["model", "layers", 1, "units"])).toBe("model.layers[1].units");
    expect(formatPath(["dataset", "x", 3, 0])).toBe("dataset.x[3][0]");
    expect(formatPath(["weights", "dense_0/kernel", 2])).toBe('weights["dense_0/kernel"][2]');
    expect(formatPath([])).toBe("");
    expect(formatPath([0])).toBe("[0]");
  });
});
