import { describe, expect, it } from "vitest";
import {
  arrayToNested,
  batchToNested,
  labelsToArray,
  namedTensorsToNested,
  nestedToTensor,
  samplesToArray,
  writeSample,
} from "../../src/service/convert.js";
import { InvalidRequestError, UnprocessableError } from "../../src/service/errors.js";

/** The error `fn` throws, checked to be of `kind`. */
function thrown<T extends Error>(fn: () => unknown, kind: new (...args: never[]) => T): T {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(kind);
    return err as T;
  }
  throw new Error("expected a throw");
}

describe("writeSample / samplesToArray", () => {
  it("takes nested samples of the shape and flat ones of its size, row-major", () => {
    const nested = [
      [[1], [2]],
      [[3], [4]],
    ];
    expect([...samplesToArray([nested, [5, 6, 7, 8]], [2, 2, 1], (i) => ["x", i])]).toEqual([
      1, 2, 3, 4, 5, 6, 7, 8,
    ]);
  });

  it("takes a bare number when the shape holds one value", () => {
    expect([...samplesToArray([1.5, [2.5]], [1], (i) => ["y", i])]).toEqual([1.5, 2.5]);
  });

  it("names the sample and says what was expected", () => {
    const err = thrown(
      () =>
        samplesToArray(
          [
            [1, 2, 3, 4],
            [1, 2, 3],
          ],
          [4],
          (i) => ["dataset", "x", i],
        ),
      UnprocessableError,
    );
    expect(err.errors).toEqual([{ path: "dataset.x[1]", message: "expected 4 values (shape [4]), got 3" }]);
    const one = thrown(() => samplesToArray([7], [2], (i) => ["x", i]), UnprocessableError);
    expect(one.errors?.[0]).toEqual({
      path: "x[0]",
      message: "expected 2 values (shape [2]), got one number",
    });
    // A shape far too large to allocate is refused from the samples' sizes alone (fuzz BUG-A).
    const huge = thrown(
      () => samplesToArray([[0], [1]], [4096, 4096, 4096], (i) => ["x", i]),
      UnprocessableError,
    );
    expect(huge.errors?.[0]?.path).toBe("x[0]");
  });

  it("names the deepest entry of a nested sample that does not match", () => {
    const out = new Float64Array(4);
    const err = thrown(
      () =>
        writeSample(
          [
            [1, 2],
            [3, [4]],
          ],
          [2, 2],
          out,
          0,
          ["x", 0],
        ),
      UnprocessableError,
    );
    expect(err.errors?.[0]?.path).toBe("x[0][1][1]");
    const short = thrown(() => writeSample([[1, 2], [3]], [2, 2], out, 0, ["x", 0]), UnprocessableError);
    expect(short.errors?.[0]?.path).toBe("x[0][1]");
    expect(short.message).toMatch(/expected 2 entries along axis 1/);
  });
});

describe("labelsToArray", () => {
  it("takes numbers and one-element arrays, names arrays", () => {
    expect([...labelsToArray([0, [2], 1], (i) => ["y", i])]).toEqual([0, 2, 1]);
    const err = thrown(() => labelsToArray([0, [0, 1]], (i) => ["dataset", "y", i]), UnprocessableError);
    expect(err.errors?.[0]?.path).toBe("dataset.y[1]");
  });
});

describe("nestedToTensor", () => {
  it("reads the shape from the nesting", () => {
    const t = nestedToTensor(
      [
        [1, 2, 3],
        [4, 5, 6],
      ],
      ["w"],
    );
    expect(t.shape).toEqual([2, 3]);
    expect([...t.data]).toEqual([1, 2, 3, 4, 5, 6]);
    expect(nestedToTensor(3, ["w"]).shape).toEqual([]);
    expect(nestedToTensor([], ["w"]).shape).toEqual([0]);
  });

  it("rejects ragged arrays with 400, naming the entry", () => {
    const err = thrown(
      () => nestedToTensor([[1, 2], [3]], ["weights", "dense_0/kernel"]),
      InvalidRequestError,
    );
    expect(err.status).toBe(400);
    expect(err.errors?.[0]?.path).toBe('weights["dense_0/kernel"][1]');
    const deeper = thrown(
      () =>
        nestedToTensor(
          [
            [1, 2],
            [3, [4]],
          ],
          ["w"],
        ),
      InvalidRequestError,
    );
    expect(deeper.errors?.[0]?.path).toBe("w[1][1]");
  });
});

describe("tensors back to JSON", () => {
  it("nests data in its shape and turns non-finite values into null", () => {
    const data = Float64Array.from([1, 2, 3, 4, 5, Number.NaN]);
    expect(arrayToNested(data, [2, 3])).toEqual([
      [1, 2, 3],
      [4, 5, null],
    ]);
    expect(arrayToNested(data, [3], 3)).toEqual([4, 5, null]);
    expect(arrayToNested(Float64Array.from([Number.POSITIVE_INFINITY]), [])).toBeNull();
    expect(batchToNested({ shape: [2, 1, 3], data })).toEqual([[[1, 2, 3]], [[4, 5, null]]]);
    expect(namedTensorsToNested({ "d/bias": { shape: [2], data: Float64Array.from([1, 2]) } })).toEqual({
      "d/bias": [1, 2],
    });
  });

  it("round-trips through nestedToTensor", () => {
    const value = [
      [
        [0.5, -1],
        [2, 3],
      ],
      [
        [4, 5],
        [6, 7],
      ],
    ];
    const t = nestedToTensor(value, []);
    expect(arrayToNested(t.data, t.shape)).toEqual(value);
  });
});
