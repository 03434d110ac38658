import type { FieldError } from "../../schemas/problem.js";
import type { ChoiceValue, SearchRange } from "../../schemas/tuning.js";
import { MAX_SEARCH_PARAMS } from "../../schemas/tuning.js";
import { fieldError, InvalidRequestError, UnprocessableError } from "../errors.js";

/** A path into a body as segments: `"model.layers[0].units"` → `["model", "layers", 0, "units"]`. */
export type Segments = (string | number)[];

/** One parameter of a search space: its path (as written and as segments) and its range. */
export interface Param {
  path: string;
  segments: Segments;
  range: SearchRange;
}

/** `searchSpace["<path>"]` and what follows, as an error's field path. */
export const at = (path: string, ...rest: (string | number)[]) => ["searchSpace", path, ...rest];

const SEGMENT = /^([A-Za-z_$][\w$]*)((?:\[(?:0|[1-9]\d{0,5})\])*)$/;

/**
 * The segments of a dotted path with array indices (`a.b[2].c`), or undefined when it is not one.
 * Keys are identifiers; an index is a non-negative integer in brackets, written without leading
 * zeros (`[01]` is refused, as JSON Pointer and JavaScript's own array indices refuse it).
 */
export function parsePath(path: string): Segments | undefined {
  if (path.length === 0 || path.length > 200) return undefined;
  const out: Segments = [];
  for (const part of path.split(".")) {
    const m = SEGMENT.exec(part);
    if (!m) return undefined;
    out.push(m[1]!);
    for (const index of m[2]!.matchAll(/\[(\d+)\]/g)) out.push(Number(index[1]));
  }
  return out;
}

/** Top-level fields a search may not vary: each trial's seed is derived from the tuning seed. */
const FIXED = new Set(["seed"]);

/**
 * The search space's parameters, in the body's order, each path checked against `base`: a path
 * parses, names no fixed field, and leads to an object (a key, present or not) or an array (an
 * index within it) through fields `base` has, and lies neither inside nor around another path (a
 * trial would put one value into the other). Each range is checked for its own bounds.
 * @throws InvalidRequestError (400) at `searchSpace["<path>"]` for a bad path (for two nested
 *   paths, at the inner one, whichever comes first); UnprocessableError
 *   (422) at `searchSpace["<path>"].min` / `.max` / `.step` / `.type` for a range that is empty or
 *   does not fit the algorithm (a grid takes only choice and int ranges), and at `.values[i]` for
 *   a choice value listed twice.
 */
export function parseSpace(
  space: Record<string, SearchRange>,
  base: unknown,
  algorithm: "grid" | "random" | "bayesian",
): Param[] {
  const entries = Object.entries(space);
  if (entries.length === 0 || entries.length > MAX_SEARCH_PARAMS)
    throw new InvalidRequestError(`a search space varies 1 … ${MAX_SEARCH_PARAMS} parameters`, [
      fieldError(["searchSpace"], `expected 1 … ${MAX_SEARCH_PARAMS} paths, got ${entries.length}`),
    ]);
  const params: Param[] = [];
  const seen = new Map<string, string>();
  for (const [path, range] of entries) {
    const segments = parsePath(path);
    const bad = (message: string): never => {
      throw new InvalidRequestError(`searchSpace["${path}"]: ${message}`, [fieldError(at(path), message)]);
    };
    if (!segments)
      return bad('expected a path into base such as "optimizer.learningRate" or "model.layers[0].units"');
    if (FIXED.has(String(segments[0])))
      bad("each trial's seed is derived from the tuning job's seed; set `seed` on the tuning job");
    const key = JSON.stringify(segments);
    if (seen.has(key)) bad(`the same field as searchSpace["${seen.get(key)}"]`);
    seen.set(key, path);
    for (const other of params) {
      if (isInside(segments, other.segments)) bad(insideMessage(other.path));
      if (isInside(other.segments, segments))
        throw new InvalidRequestError(`searchSpace["${other.path}"]: ${insideMessage(path)}`, [
          fieldError(at(other.path), insideMessage(path)),
        ]);
    }
    const problem = reach(base, segments);
    if (problem) bad(problem);
    checkRange(path, range, algorithm);
    params.push({ path, segments, range });
  }
  return params;
}

/** Whether `inner` is a path strictly inside `outer` (`outer` is a proper prefix of it). */
const isInside = (inner: Segments, outer: Segments) =>
  inner.length > outer.length && outer.every((seg, i) => inner[i] === seg);

const insideMessage = (outer: string) =>
  `lies inside another parameter, searchSpace["${outer}"], whose value replaces the field it is in: vary one or the other`;

/** Keys that would reach or replace an object's prototype. */
const UNSAFE_KEYS = new Set(["__proto__", "constructor", "prototype"]);

/** Why `segments` cannot be set in `body`, or undefined when its parent exists. */
function reach(body: unknown, segments: Segments): string | undefined {
  let node: unknown = body;
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i]!;
    const where = i === 0 ? "base" : `base.${formatSegments(segments.slice(0, i))}`;
    if (typeof seg === "number") {
      if (!Array.isArray(node)) return `${where} is not an array`;
      if (seg >= node.length) return `${where} has ${node.length} entries (index ${seg} is past its end)`;
    } else if (node === null || typeof node !== "object" || Array.isArray(node))
      return `${where} is not an object`;
    if (typeof seg === "string" && UNSAFE_KEYS.has(seg)) return `${seg} is not a field of the body`;
    if (i < segments.length - 1) {
      // Own fields only: nothing reached through a prototype.
      const own = Object.hasOwn(node as object, seg);
      node = own ? (node as Record<string | number, unknown>)[seg] : undefined;
      if (node === undefined) return `base has no ${formatSegments(segments.slice(0, i + 1))}`;
    }
  }
  return undefined;
}

/** Segments as a path is written: `["model", "layers", 0, "units"]` → `model.layers[0].units`. */
export const formatSegments = (s: Segments) =>
  s.map((x, i) => (typeof x === "number" ? `[${x}]` : i === 0 ? x : `.${x}`)).join("");

function checkRange(path: string, range: SearchRange, algorithm: string): void {
  const fail = (field: string, message: string): never => {
    throw new UnprocessableError(`searchSpace["${path}"].${field}: ${message}`, [
      fieldError(at(path, field), message),
    ]);
  };
  if (range.type === "choice") {
    // A value twice would be tried twice (twice the grid's trials for nothing) and weigh double
    // in a random or bayesian draw.
    const first = new Map<ChoiceValue, number>();
    range.values.forEach((v, i) => {
      const j = first.get(v);
      if (j !== undefined) {
        const message = `${JSON.stringify(v)} is already values[${j}]: list each value once`;
        throw new UnprocessableError(`searchSpace["${path}"].values[${i}]: ${message}`, [
          fieldError(at(path, "values", i), message),
        ]);
      }
      first.set(v, i);
    });
    return;
  }
  if (algorithm === "grid" && range.type !== "int")
    fail("type", "a grid takes choice and int ranges only (list the values to try as a choice)");
  if (range.type === "logUniform" && range.min <= 0)
    fail("min", "expected a number greater than 0 (logUniform)");
  if (range.type === "int") {
    if (range.max < range.min) fail("max", `expected at least min (${range.min})`);
    if (!Number.isSafeInteger(range.max - range.min)) fail("max", "the range is too wide");
  } else if (range.max <= range.min) fail("max", `expected a number greater than min (${range.min})`);
}

/** Values an int range takes: min, min + step, … ≤ max. */
export function intCount(range: Extract<SearchRange, { type: "int" }>): number {
  return Math.floor((range.max - range.min) / (range.step ?? 1)) + 1;
}

/** A parameter's lowest and highest value (a choice's first and last). */
export function extremes(range: SearchRange): [ChoiceValue, ChoiceValue] {
  if (range.type === "choice") return [range.values[0]!, range.values.at(-1)!];
  if (range.type === "int") return [range.min, range.min + (intCount(range) - 1) * (range.step ?? 1)];
  return [range.min, range.max];
}

/**
 * The points a body is checked at before anything runs, each with the parameter and end it
 * tries (undefined: every parameter at its min): every corner of the box when there are at most
 * 2⁴ of them, else each parameter's max with the others at their min; a choice also tries each
 * of its values with the others at their min.
 */
export function checkPoints(
  params: Param[],
): { values: ChoiceValue[]; blame?: [number, "min" | "max" | number] }[] {
  const lows = params.map((p) => extremes(p.range)[0]);
  const points: { values: ChoiceValue[]; blame?: [number, "min" | "max" | number] }[] = [{ values: lows }];
  if (params.length <= 4) {
    for (let mask = 1; mask < 1 << params.length; mask++) {
      const values = params.map((p, i) => extremes(p.range)[(mask >> i) & 1]!);
      // Blamed on the highest parameter at its max: with the lower corners passing, it is what broke it.
      points.push({ values, blame: [31 - Math.clz32(mask), "max"] });
    }
  } else
    params.forEach((p, i) => {
      const values = [...lows];
      values[i] = extremes(p.range)[1];
      points.push({ values, blame: [i, "max"] });
    });
  params.forEach((p, i) => {
    const range = p.range;
    if (range.type !== "choice") return;
    range.values.forEach((v, k) => {
      if (k === 0 || k === range.values.length - 1) return;
      const values = [...lows];
      values[i] = v;
      points.push({ values, blame: [i, k] });
    });
  });
  return points;
}

/** `base` with each parameter's value put in (a deep copy; `base` is left as it was). */
export function applyValues(base: unknown, params: Param[], values: readonly ChoiceValue[]): unknown {
  const body = structuredClone(base);
  params.forEach((p, i) => {
    let node = body as Record<string | number, unknown>;
    for (const seg of p.segments.slice(0, -1)) node = node[seg] as Record<string | number, unknown>;
    node[p.segments.at(-1)!] = values[i];
  });
  return body;
}

/** The field a check-point's fault is named at: `searchSpace["<path>"].min|max|values[k]`. */
export function blamedField(
  params: Param[],
  point: { blame?: [number, "min" | "max" | number] },
  faultPath: string | undefined,
  faultMessage = "",
): (string | number)[] {
  if (point.blame) {
    const [i, end] = point.blame;
    const p = params[i]!;
    if (typeof end === "number") return at(p.path, "values", end);
    return at(
      p.path,
      p.range.type === "choice" ? "values" : end,
      ...(p.range.type === "choice" ? [p.range.values.length - 1] : []),
    );
  }
  // Every parameter at its min: the one whose field the fault is at; else, for a fault at an
  // object holding parameters (an unknown key there), the one whose key the message names; else
  // the first.
  const inside = (q: Param) =>
    faultPath !== undefined && formatSegments(q.segments).startsWith(`${faultPath}.`);
  const named = (q: Param) => {
    const key = q.segments.at(-1);
    return typeof key === "string" && new RegExp(`\\b${key.replace(/[$]/g, "\\$")}\\b`).test(faultMessage);
  };
  const p =
    params.find((q) => faultPath?.startsWith(formatSegments(q.segments))) ??
    params.find((q) => inside(q) && named(q)) ??
    params[0]!;
  return p.range.type === "choice" ? at(p.path, "values", 0) : at(p.path, "min");
}

/** Turns the problem a check-point's body got into the 422 naming the search space's field. */
export function pointProblem(
  field: (string | number)[],
  errors: FieldError[] | undefined,
  detail: string,
): UnprocessableError {
  const first = errors?.[0];
  const why = first ? `base.${first.path}: ${first.message}` : detail;
  const values = field.slice(0, 2) as [string, string];
  return new UnprocessableError(`with searchSpace["${values[1]}"] at this value, ${why}`, [
    fieldError(field, `the body this value makes is rejected: ${why}`),
  ]);
}

/**
 * A trial's position in the search space: per parameter, a number in [0, 1) ("unit" space) for
 * uniform and logUniform ranges, or an index for choice and int ranges (docs/tuning.md §1).
 */
export type Point = number[];

/** Whether a parameter is searched by index (choice, int) rather than in unit space. */
export const isDiscrete = (p: Param) => p.range.type === "choice" || p.range.type === "int";

/** How many values a discrete parameter has (choice: its values; int: min, min + step, … ≤ max). */
export function levels(p: Param): number {
  if (p.range.type === "choice") return p.range.values.length;
  if (p.range.type === "int") return intCount(p.range);
  return Number.POSITIVE_INFINITY;
}
