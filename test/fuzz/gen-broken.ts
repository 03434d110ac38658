/**
 * Fuzz generators: breakage. Mutations that break one or several fields of a valid body, or the
 * whole envelope (body text, content type, top-level value), and the wire form of a request.
 */
import type { Generated } from "./gen-bodies.js";
import { ACTIVATIONS } from "./gen-model.js";
import {
  cloneTree,
  getOwn,
  isObject,
  Raw,
  setOwn,
  type Tree,
  type TreeObject,
  toJsonText,
} from "./json-text.js";
import type { Rand } from "./rand.js";

/** What a request looks like on the wire. */
export interface WireRequest {
  method: string;
  url: string;
  /** `undefined`: no content-type header at all. */
  contentType: string | undefined;
  text: string;
  /** Kinds of breakage applied (empty for a valid request). */
  kinds: string[];
  /** Other request headers. */
  headers?: Record<string, string>;
}

const deep = (depth: number, open: string, close: string, leaf = "0") =>
  new Raw(open.repeat(depth) + leaf + close.repeat(depth));

/** Values that do not belong, by kind. */
const REPLACEMENTS: { kind: string; values: (() => Tree)[] }[] = [
  {
    kind: "wrong-type",
    values: [
      () => "abc",
      () => "",
      () => true,
      () => false,
      () => null,
      () => ({}),
      () => [],
      () => ({ a: 1 }),
      () => [1, "2", null],
      () => "\u0000\u{1F600}",
      () => "x".repeat(5000),
    ],
  },
  {
    kind: "string-number",
    values: [() => "3", () => "0.5", () => "1e999", () => "NaN", () => "-0", () => "[1]"],
  },
  {
    kind: "nan-infinity",
    values: [
      () => new Raw("1e999"),
      () => new Raw("-1e999"),
      () => new Raw("1E400"),
      () => new Raw("NaN"),
      () => new Raw("Infinity"),
      () => new Raw("-Infinity"),
      () => [new Raw("1e999"), 1],
    ],
  },
  {
    kind: "negative-zero",
    values: [() => new Raw("-0"), () => new Raw("-0.0"), () => 0, () => new Raw("0e999")],
  },
  { kind: "negative", values: [() => -1, () => -0.5, () => -1e9, () => -(2 ** 31), () => new Raw("-1e308")] },
  {
    kind: "huge-number",
    values: [
      () => 1e308,
      () => 2 ** 53 + 2,
      () => 2 ** 32,
      () => 1e21,
      () => 5e-324,
      () => 2.5,
      () => 4096,
      () => 4097,
      () => 1024,
      () => 1025,
      () => 32,
      () => 33,
      () => 10_000,
      () => 10_001,
      () => 65_537,
      () => 1e6,
      () => 1_000_001,
      () => new Raw("123456789012345678901234567890"),
    ],
  },
  {
    kind: "deep-nesting",
    values: [
      () => deep(3, "[", "]"),
      () => deep(8, "[", "]"),
      () => deep(31, "[", "]"),
      () => deep(33, "[", "]"),
      () => deep(200, "[", "]"),
      () => deep(5000, "[", "]"),
      () => deep(40, '{"a":', "}"),
      () => deep(3000, '{"a":[', "]}"),
    ],
  },
  {
    // More bad entries than an answer lists (it lists 100 and counts the rest).
    kind: "many-bad-entries",
    values: [
      () => Array.from({ length: 3000 }, () => "a"),
      () => Array.from({ length: 3000 }, () => null),
      () => [Array.from({ length: 3000 }, () => true)],
      () => Array.from({ length: 3000 }, (_, i) => (i % 2 === 0 ? 1 : { a: i })),
      () => Object.fromEntries(Array.from({ length: 3000 }, (_, i) => [`k${i}`, "a"])),
    ],
  },
  {
    kind: "ragged-array",
    values: [
      () => [[1, 2], [3]],
      () => [1, [2, 3]],
      () => [[1, 2], 3],
      () => [[[1]], [1]],
      () => [[], [1]],
      () => [[1, 2], [3, 4, 5], []],
    ],
  },
];

const UNKNOWN_KEYS = [
  "extra",
  "colour",
  "",
  " ",
  "Units",
  "units",
  "type",
  "prototype",
  "toString",
  "valueOf",
];
const PROTO_KEYS = ["__proto__", "constructor", "hasOwnProperty", "__defineGetter__", "__lookupSetter__"];

/** Every path to a node under `tree` (objects and arrays, not into `Raw`), capped for huge arrays. */
export function paths(tree: Tree): (string | number)[][] {
  const out: (string | number)[][] = [];
  const walk = (v: Tree, p: (string | number)[]) => {
    out.push(p);
    if (v === null || typeof v !== "object" || v instanceof Raw) return;
    if (Array.isArray(v)) {
      const n = Math.min(v.length, 8);
      for (let i = 0; i < n; i++) walk(v[i]!, [...p, i]);
    } else for (const k of Object.keys(v)) walk(getOwn(v, k) as Tree, [...p, k]);
  };
  walk(tree, []);
  return out;
}

export function at(tree: Tree, path: readonly (string | number)[]): Tree {
  let v = tree;
  for (const seg of path)
    v = (Array.isArray(v) ? v[seg as number] : getOwn(v as TreeObject, String(seg))) as Tree;
  return v;
}

export function put(tree: Tree, path: readonly (string | number)[], value: Tree): Tree {
  if (path.length === 0) return value;
  const parent = at(tree, path.slice(0, -1));
  const last = path[path.length - 1]!;
  if (Array.isArray(parent)) parent[last as number] = value;
  else setOwn(parent as TreeObject, String(last), value);
  return tree;
}

/** A path, chosen top-level field first so that big data arrays do not swamp the choice. */
function pickPath(r: Rand, tree: Tree, filter: (v: Tree, p: (string | number)[]) => boolean) {
  const all = paths(tree).filter((p) => filter(at(tree, p), p));
  if (all.length === 0) return undefined;
  const tops = [...new Set(all.map((p) => String(p[0] ?? "")))];
  const top = r.pick(tops);
  const within = all.filter((p) => String(p[0] ?? "") === top);
  return r.pick(within);
}

const LIMIT_FOR: Record<string, number> = {
  units: 4096,
  filters: 1024,
  kernelSize: 32,
  poolSize: 32,
  strides: 32,
  epochs: 1_000_000,
  batchSize: 65_536,
};

/** Sets every size in the model to its largest allowed value (or one beyond). */
function maximize(r: Rand, body: TreeObject): void {
  const model = getOwn(body, "model");
  if (!isObject(model)) return;
  const beyond = r.bool(0.3) ? 1 : 0;
  if (Array.isArray(model.inputShape))
    model.inputShape = model.inputShape.map((d) => (typeof d === "number" ? 4096 + beyond : d));
  if (Array.isArray(model.layers))
    for (const layer of model.layers) {
      if (!isObject(layer)) continue;
      for (const key of Object.keys(layer))
        if (LIMIT_FOR[key] !== undefined && r.bool(0.8)) layer[key] = LIMIT_FOR[key] + beyond;
    }
}

/** Replaces, deletes or adds one field somewhere in `body`; returns the kind of breakage. */
function mutateField(r: Rand, body: TreeObject): string {
  const choice = r.int(0, 99);
  if (choice < 45) {
    const group = r.pick(REPLACEMENTS);
    const path = pickPath(r, body, (_v, p) => p.length > 0);
    if (!path) return "none";
    put(body, path, r.pick(group.values)());
    return group.kind;
  }
  if (choice < 57) {
    const path = pickPath(r, body, (_v, p) => p.length > 0 && typeof p[p.length - 1] === "string");
    if (!path) return "none";
    const parent = at(body, path.slice(0, -1)) as TreeObject;
    delete parent[String(path[path.length - 1])];
    return "delete-key";
  }
  if (choice < 72) {
    const path = pickPath(r, body, (v) => isObject(v));
    if (!path) return "none";
    const target = at(body, path) as TreeObject;
    const proto = r.bool(0.5);
    const key = r.pick(proto ? PROTO_KEYS : UNKNOWN_KEYS);
    const value: Tree =
      key === "constructor" && r.bool(0.6)
        ? { prototype: { polluted: true } }
        : r.pick([1, "x", null, { polluted: true }, [0]]);
    setOwn(target, key, value);
    return proto ? "proto-key" : "unknown-key";
  }
  if (choice < 84) {
    // Huge sizes: a layer stack at or beyond 64, or arrays grown far beyond their shape.
    const model = getOwn(body, "model");
    if (r.bool(0.5) && isObject(model) && Array.isArray(model.layers) && model.layers.length > 0) {
      const count = r.pick([63, 64, 65, 200]);
      const layers = model.layers;
      const hidden = layers.slice(0, -1);
      const filler: Tree = hidden.find((l) => isObject(l) && l.type === "activation") ?? {
        type: "activation",
        activation: r.pick(ACTIVATIONS.filter((a) => a !== "softmax")),
      };
      const grown = Array.from({ length: count - layers.length + 1 }, () => cloneTree(filler));
      model.layers = [...grown, ...layers];
      return "huge-size";
    }
    const path = pickPath(r, body, (v, p) => Array.isArray(v) && v.length > 0 && p.length > 0);
    if (!path) return "none";
    const arr = at(body, path) as Tree[];
    const factor = r.pick([2, 16, 300]);
    put(
      body,
      path,
      Array.from({ length: arr.length * factor }, (_, i) => cloneTree(arr[i % arr.length]!)),
    );
    return "huge-size";
  }
  if (choice < 92) {
    maximize(r, body);
    return "huge-size";
  }
  if (choice < 95 && isObject(getOwn(body, "dataset"))) {
    // The training answer's options broken: a part that is not one, a list that is not, a flag that is not.
    if (r.bool(0.6))
      body.return = r.pick<Tree>([
        ["weights", "everything"],
        "weights",
        ["Weights"],
        [1],
        [null],
        Array.from({ length: 9 }, () => "history"),
        { weights: true },
      ]);
    else body.saveModel = r.pick<Tree>(["true", 1, null, "yes", []]);
    return "answer-options";
  }
  // Zero and negative sizes across the model.
  const model = getOwn(body, "model");
  if (!isObject(model) || !Array.isArray(model.layers)) return "none";
  const dropouts = model.layers.filter((l) => isObject(l) && l.type === "dropout") as TreeObject[];
  if (dropouts.length > 0 && r.bool(0.5)) {
    // Dropout past its limits: rate 1 or outside [0, 1), a seed outside uint32.
    const layer = r.pick(dropouts);
    if (r.bool(0.6)) layer.rate = r.pick([1, -0.1, 1.0000001, 1e300, new Raw("-0.5")]);
    else layer.seed = r.pick([2 ** 32, -1, 1.5, 1e300]);
    return "dropout-limit";
  }
  // A recurrent layer's (or a bidirectional layer's wrapped one's) dropout rates past their limits.
  const cells = model.layers
    .flatMap((l) => (!isObject(l) ? [] : l.type === "bidirectional" && isObject(l.layer) ? [l.layer] : [l]))
    .filter((l) => ["simpleRNN", "lstm", "gru"].includes(l.type as string));
  if (cells.length > 0 && r.bool(0.5)) {
    const layer = r.pick(cells);
    layer[r.pick(["dropout", "recurrentDropout"])] = r.pick<Tree>([
      1,
      -0.1,
      1.0000001,
      1e300,
      new Raw("-0.5"),
      "0.5",
      null,
    ]);
    return "recurrent-dropout-limit";
  }
  const v = r.pick([0, -1, new Raw("-0"), 0.5]);
  for (const layer of model.layers)
    if (isObject(layer))
      for (const key of ["units", "filters", "kernelSize", "poolSize", "strides"])
        if (key in layer && r.bool(0.6)) layer[key] = v;
  if (Array.isArray(model.inputShape) && r.bool(0.4)) model.inputShape = [v];
  return "zero-size";
}

const WRONG_CONTENT_TYPES = [
  "text/plain",
  "application/x-www-form-urlencoded",
  "multipart/form-data; boundary=x",
  "application/xml",
  "application/problem+json",
  "application/octet-stream",
  "",
  "json",
  "application/json-patch+json",
];
const OK_CONTENT_TYPES = [
  "application/json",
  "application/json; charset=utf-8",
  "Application/JSON",
  "application/json;charset=UTF-8",
];

/** Breaks the envelope instead of a field: body text, content type, top-level value. */
function mutateEnvelope(r: Rand, req: WireRequest): void {
  switch (r.int(0, 7)) {
    case 0:
      req.text = "";
      req.kinds.push("empty-body");
      if (r.bool(0.5)) req.contentType = undefined;
      return;
    case 1:
      req.contentType = undefined;
      req.kinds.push("no-content-type");
      return;
    case 2:
      req.contentType = r.pick(WRONG_CONTENT_TYPES);
      req.kinds.push("wrong-content-type");
      return;
    case 3:
      req.text = req.text.slice(0, r.int(0, Math.max(0, req.text.length - 1)));
      req.kinds.push("truncated-json");
      return;
    case 4:
      req.text = req.text + r.pick(["}", "]", ",", " x", "\u0000", '{"a":1}']);
      req.kinds.push("trailing-garbage");
      return;
    case 5:
      req.text = r.pick(["null", "[]", "0", "-0", '"text"', "true", "[{}]", "1e999", "{}"]);
      req.kinds.push("not-an-object");
      return;
    case 6:
      req.text = `\uFEFF${req.text}`;
      req.kinds.push("bom");
      return;
    default:
      req.text = `{${'"a":1,'.repeat(r.int(1, 3))}${req.text.slice(1)}`;
      req.kinds.push("unknown-key");
      return;
  }
}

/** The wire form of a valid body. */
export function wire(route: string, body: Tree, r?: Rand): WireRequest {
  return {
    method: "POST",
    url: route,
    contentType: r ? r.pick(OK_CONTENT_TYPES) : "application/json",
    text: toJsonText(body),
    kinds: [],
  };
}

/** A broken request: 1–3 field mutations, and/or an envelope mutation. */
export function breakRequest(r: Rand, valid: Generated): WireRequest {
  const body = cloneTree(valid.body) as TreeObject;
  const kinds: string[] = [];
  const envelopeOnly = r.bool(0.15);
  if (!envelopeOnly) {
    const n = r.pick([1, 1, 1, 2, 2, 3]);
    for (let i = 0; i < n; i++) {
      const kind = mutateField(r, body);
      if (kind !== "none") kinds.push(kind);
    }
  }
  const req = wire(valid.route, body, r);
  req.kinds = kinds;
  if (envelopeOnly || r.bool(0.05)) mutateEnvelope(r, req);
  if (req.kinds.length === 0) req.kinds.push("none");
  return req;
}
