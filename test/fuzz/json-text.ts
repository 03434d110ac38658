/**
 * Request bodies as trees that may hold what `JSON.stringify` cannot write: raw number tokens
 * (`1e999`, `-0`, `NaN`), raw deep nesting, and own `__proto__` keys. `toJsonText` writes the
 * exact text sent; `resolvePath` checks that a problem's `errors[].path` names a field of it.
 */

/** Text written verbatim into the JSON body (`1e999`, `-0`, `NaN`, `[[[[0]]]]`). */
export class Raw {
  constructor(readonly text: string) {}
}

export type Tree = null | boolean | number | string | Raw | Tree[] | { [key: string]: Tree };
export type TreeObject = { [key: string]: Tree };

export function isObject(v: unknown): v is TreeObject {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Raw);
}

/** Sets an own enumerable property, also for `__proto__` (plain assignment would set the prototype). */
export function setOwn(o: TreeObject, key: string, value: Tree): void {
  Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });
}

export function getOwn(o: object, key: string): unknown {
  return Object.getOwnPropertyDescriptor(o, key)?.value;
}

export function hasOwn(o: object, key: string): boolean {
  return Object.hasOwn(o, key);
}

/** A deep copy that keeps `Raw` nodes and own `__proto__` keys. */
export function cloneTree(v: Tree): Tree {
  if (v === null || typeof v !== "object" || v instanceof Raw) return v;
  if (Array.isArray(v)) return v.map(cloneTree);
  const out: TreeObject = {};
  for (const key of Object.keys(v)) setOwn(out, key, cloneTree(getOwn(v, key) as Tree));
  return out;
}

/** The JSON text of `v`: `Raw` verbatim, `-0` as `-0`; recursion is shallow (deep nests are `Raw`). */
export function toJsonText(v: Tree): string {
  if (v instanceof Raw) return v.text;
  if (v === null) return "null";
  if (typeof v === "number") {
    if (Object.is(v, -0)) return "-0";
    if (!Number.isFinite(v)) throw new Error(`non-finite ${v} in a tree: use Raw("1e999")`);
    return JSON.stringify(v);
  }
  if (typeof v !== "object") return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(toJsonText).join(",")}]`;
  return `{${Object.keys(v)
    .map((k) => `${JSON.stringify(k)}:${toJsonText(getOwn(v, k) as Tree)}`)
    .join(",")}}`;
}

/** `JSON.parse`, or `undefined` for text that is not JSON. */
export function tryParse(text: string): { value: unknown } | undefined {
  try {
    return { value: JSON.parse(text) };
  } catch {
    return undefined;
  }
}

/**
 * Segments of a path as the service formats it (`model.layers[1].units`,
 * `weights["dense_0/kernel"][2]`, `""` for the root); `undefined` when it is not of that form.
 */
export function parsePath(path: string): (string | number)[] | undefined {
  const segs: (string | number)[] = [];
  let i = 0;
  const ident = /^[A-Za-z_$][\w$]*/;
  while (i < path.length) {
    if (path[i] === "[") {
      const num = /^\[(\d+)\]/.exec(path.slice(i));
      if (num) {
        segs.push(Number(num[1]));
        i += num[0].length;
        continue;
      }
      // A JSON string key in brackets: find its closing quote (skipping escapes), then "]".
      if (path[i + 1] !== '"') return undefined;
      let j = i + 2;
      while (j < path.length && path[j] !== '"') j += path[j] === "\\" ? 2 : 1;
      if (path[j + 1] !== "]") return undefined;
      try {
        segs.push(JSON.parse(path.slice(i + 1, j + 1)) as string);
      } catch {
        return undefined;
      }
      i = j + 2;
      continue;
    }
    if (segs.length > 0) {
      if (path[i] !== ".") return undefined;
      i++;
    }
    const m = ident.exec(path.slice(i));
    if (!m) return undefined;
    segs.push(m[0]);
    i += m[0].length;
  }
  return segs;
}

/**
 * Where `path` points in the request body `root`: `"exists"` (a value is there, the root
 * included), `"missing-key"` (every parent exists and the last key is absent from an object: a
 * required field that was not sent), or `"invalid"` (not a path into this body).
 */
export function resolvePath(root: unknown, path: string): "exists" | "missing-key" | "invalid" {
  const segs = parsePath(path);
  if (!segs) return "invalid";
  let at: unknown = root;
  for (let k = 0; k < segs.length; k++) {
    const seg = segs[k]!;
    const last = k === segs.length - 1;
    if (typeof seg === "number") {
      if (!Array.isArray(at) || seg >= at.length) return "invalid";
      at = at[seg];
      continue;
    }
    if (typeof at !== "object" || at === null || Array.isArray(at)) return "invalid";
    if (!hasOwn(at, seg)) return last ? "missing-key" : "invalid";
    at = getOwn(at, seg);
  }
  return "exists";
}
