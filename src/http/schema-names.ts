import type { $ZodType } from "zod/v4/core";

/**
 * The names a zod schema knows, read from the schema itself at run time (so kinds added to the
 * schemas are known here without a list to keep in step): the alternatives of every enum and
 * discriminated union, and the fields of every object with where they sit.
 */

/** The parts of a zod 4 definition this module reads (all optional: one shape for every kind). */
interface Def {
  type: string;
  shape?: Record<string, $ZodType>;
  element?: $ZodType;
  innerType?: $ZodType;
  in?: $ZodType;
  options?: readonly $ZodType[];
  discriminator?: string;
  left?: $ZodType;
  right?: $ZodType;
  valueType?: $ZodType;
  items?: readonly $ZodType[];
  rest?: $ZodType | null;
  getter?: () => $ZodType;
  entries?: Record<string, unknown>;
  /** A union that validates with one branch chosen by the value's keys (schemas/model-refs.ts). */
  pick?: (value: unknown) => $ZodType;
  /** Its branch for a value with none of the other branches' keys. */
  fallback?: $ZodType;
}

const def = (s: $ZodType): Def => s._zod.def as unknown as Def;

/** Deeper than any request schema nests; stops a recursive (lazy) schema. */
const MAX_DEPTH = 40;

/** The schema a wrapper (optional, default, a pipe's input, lazy…) stands for. */
function unwrap(s: $ZodType): $ZodType {
  for (let i = 0; i < MAX_DEPTH; i++) {
    const d = def(s);
    if (d.innerType) s = d.innerType;
    else if (d.type === "pipe" && d.in) s = d.in;
    else if (d.type === "lazy" && d.getter) s = d.getter();
    else return s;
  }
  return s;
}

/** The string values a discriminated-union option accepts for `discriminator`. */
function tagsOf(option: $ZodType, discriminator: string): string[] {
  const values = (option._zod as { propValues?: Record<string, Set<unknown>> }).propValues?.[discriminator];
  return [...(values ?? [])].filter((v): v is string => typeof v === "string");
}

/** The options of a union a value can belong to: for a discriminated union, those its tag picks. */
function branches(d: Def, value: unknown): readonly $ZodType[] {
  const options = d.options ?? [];
  if (d.pick) return [d.pick(value)];
  if (!d.discriminator || typeof value !== "object" || value === null) return options;
  const tag = (value as Record<string, unknown>)[d.discriminator];
  const picked = options.filter((o) => tagsOf(o, d.discriminator as string).includes(tag as string));
  return picked.length > 0 ? picked : options;
}

/**
 * Every schema that validates the value at `path` in `data` (several where a union does not say
 * which branch applies; a union at the end is expanded into its branches when `expandEnd`).
 */
export function schemasAt(
  schema: $ZodType,
  data: unknown,
  path: readonly PropertyKey[],
  expandEnd = true,
): $ZodType[] {
  const out: $ZodType[] = [];
  const walk = (raw: $ZodType, value: unknown, i: number, depth: number): void => {
    if (depth > MAX_DEPTH) return;
    const s = unwrap(raw);
    const d = def(s);
    if (i === path.length && !expandEnd) {
      out.push(s);
      return;
    }
    if (d.type === "union") {
      for (const o of branches(d, value)) walk(o, value, i, depth + 1);
      return;
    }
    if (d.type === "intersection") {
      if (d.left) walk(d.left, value, i, depth + 1);
      if (d.right) walk(d.right, value, i, depth + 1);
      return;
    }
    if (i === path.length) {
      out.push(s);
      return;
    }
    const seg = path[i] as PropertyKey;
    const child = (value as Record<PropertyKey, unknown> | undefined)?.[seg];
    let next: $ZodType | undefined | null;
    if (d.type === "object") next = d.shape?.[String(seg)];
    else if (d.type === "array") next = d.element;
    else if (d.type === "record") next = d.valueType;
    else if (d.type === "tuple") next = d.items?.[Number(seg)] ?? d.rest;
    if (next) walk(next, typeof value === "object" && value !== null ? child : undefined, i + 1, depth + 1);
  };
  walk(schema, data, 0, 0);
  return out;
}

/** The field names of the objects at `path` (see `schemasAt`). */
export function fieldsAt(schema: $ZodType, data: unknown, path: readonly PropertyKey[]): string[] {
  const fields = schemasAt(schema, data, path).flatMap((s) => Object.keys(def(s).shape ?? {}));
  return [...new Set(fields)];
}

/**
 * The discriminated union that validates the value at `path`, if one does (also inside a plain
 * union, as when a value may be a number or a tagged object): its discriminator and every tag.
 */
export function tagsAt(
  schema: $ZodType,
  data: unknown,
  path: readonly PropertyKey[],
): { discriminator: string; tags: string[] } | undefined {
  const out: { discriminator: string; tags: string[] }[] = [];
  for (const s of schemasAt(schema, data, path, false)) collectUnions(s, out, 0);
  return out[0];
}

function collectUnions(s: $ZodType, out: { discriminator: string; tags: string[] }[], depth: number): void {
  const d = def(s);
  if (d.type !== "union" || depth > MAX_DEPTH) return;
  if (d.discriminator) {
    const disc = d.discriminator;
    out.push({ discriminator: disc, tags: (d.options ?? []).flatMap((o) => tagsOf(o, disc)) });
  } else for (const o of d.options ?? []) collectUnions(unwrap(o), out, depth + 1);
}

/**
 * The kinds of the tagged union at `path` (the one the value's own tag belongs to) that have the
 * field `key`, with the value's own kind: `{ kind: "simpleRNN", having: ["lstm", "gru"] }` for
 * `recurrentActivation` on a simpleRNN layer. Undefined when no tagged union validates the value
 * there, or its tag is not one of the union's.
 */
export function kindsWithField(
  schema: $ZodType,
  data: unknown,
  path: readonly PropertyKey[],
  key: string,
): { kind: string; having: string[] } | undefined {
  const value = valueAtPath(data, path);
  for (const s of schemasAt(schema, data, path, false)) {
    const d = def(s);
    if (d.type !== "union" || !d.discriminator) continue;
    const disc = d.discriminator;
    const tag = (value as Record<string, unknown> | undefined)?.[disc];
    const options = d.options ?? [];
    if (typeof tag !== "string" || !options.some((o) => tagsOf(o, disc).includes(tag))) continue;
    const having = options
      .filter((o) => Object.hasOwn(def(unwrap(o)).shape ?? {}, key))
      .flatMap((o) => tagsOf(o, disc))
      .filter((t) => t !== tag);
    return { kind: tag, having };
  }
  return undefined;
}

/** The value at `path` in `data` (undefined when absent). */
function valueAtPath(data: unknown, path: readonly PropertyKey[]): unknown {
  let v = data;
  for (const seg of path) {
    if (typeof v !== "object" || v === null) return undefined;
    v = (v as Record<PropertyKey, unknown>)[seg];
  }
  return v;
}

/**
 * What the value at `path` may be when a plain union (no discriminator) validates it, in words:
 * `{l1?, l2?} or one of "l1", "l2", "l1l2"` for a regulariser; undefined elsewhere.
 */
export function formsAt(schema: $ZodType, data: unknown, path: readonly PropertyKey[]): string | undefined {
  const union = schemasAt(schema, data, path, false).find(
    (s) => def(s).type === "union" && !def(s).discriminator && !def(s).pick,
  );
  if (!union) return undefined;
  const forms = (def(union).options ?? []).map((o) => {
    const d = def(unwrap(o));
    if (d.type === "enum")
      return `one of ${Object.values(d.entries ?? {})
        .map((v) => JSON.stringify(v))
        .join(", ")}`;
    if (d.type === "object")
      return `{${Object.entries(d.shape ?? {})
        .map(([k, v]) => `${k}${v._zod.optin === "optional" ? "?" : ""}`)
        .join(", ")}}`;
    return d.type;
  });
  // Objects first: the unknown key was sent in one.
  return forms.sort((a, b) => Number(!a.startsWith("{")) - Number(!b.startsWith("{"))).join(" or ");
}

/** Where a field sits: its path pattern, array items written `[i]` (`model.layers[i].units`). */
export type FieldPlaces = Map<string, string[]>;

/** A closed list of names (an enum, a discriminated union's tags) and where it is chosen. */
export interface NamePlace {
  names: string[];
  place: string;
}

const indexCache = new WeakMap<$ZodType, { fields: FieldPlaces; names: NamePlace[] }>();

/** Every field and every closed list of names in `schema`, with their places (cached per schema). */
function schemaIndex(schema: $ZodType): { fields: FieldPlaces; names: NamePlace[] } {
  const cached = indexCache.get(schema);
  if (cached) return cached;
  const fields: FieldPlaces = new Map();
  const names: NamePlace[] = [];
  const addNames = (list: string[], place: string) => {
    if (list.length > 0 && !names.some((n) => n.place === place && n.names.join() === list.join()))
      names.push({ names: list, place });
  };
  const walk = (raw: $ZodType, at: string, stack: $ZodType[]): void => {
    const s = unwrap(raw);
    if (stack.includes(s) || stack.length > MAX_DEPTH) return;
    const inner = [...stack, s];
    const d = def(s);
    if (d.type === "object")
      for (const [k, v] of Object.entries(d.shape ?? {})) {
        const place = at ? `${at}.${k}` : k;
        const list = fields.get(k) ?? [];
        if (!list.includes(place)) list.push(place);
        fields.set(k, list);
        walk(v, place, inner);
      }
    else if (d.type === "array" && d.element) walk(d.element, `${at}[i]`, inner);
    else if (d.type === "union" && d.fallback) walk(d.fallback, at, inner);
    else if (d.type === "union") {
      if (d.discriminator) {
        const disc = d.discriminator;
        addNames(
          (d.options ?? []).flatMap((o) => tagsOf(o, disc)),
          at ? `${at}.${disc}` : disc,
        );
      }
      for (const o of d.options ?? []) walk(o, at, inner);
    } else if (d.type === "intersection") {
      for (const o of [d.left, d.right]) if (o) walk(o, at, inner);
    } else if (d.type === "enum") {
      const values = Object.values(d.entries ?? {}).filter((v): v is string => typeof v === "string");
      addNames(values, at);
    }
  };
  walk(schema, "", []);
  const index = { fields, names };
  indexCache.set(schema, index);
  return index;
}

/** Every field name anywhere in `schema`, with the places it sits. */
export function fieldPlaces(schema: $ZodType): FieldPlaces {
  return schemaIndex(schema).fields;
}

/** Every closed list of names anywhere in `schema`, with the place it is chosen. */
export function namePlaces(schema: $ZodType): readonly NamePlace[] {
  return schemaIndex(schema).names;
}

/**
 * Every closed list of names in `schema`: each enum's values and each discriminated union's tags,
 * one list per place they are chosen from (duplicates removed).
 */
export function vocabularies(schema: $ZodType): string[][] {
  const lists = new Map(namePlaces(schema).map((n) => [JSON.stringify(n.names), n.names]));
  return [...lists.values()];
}

/**
 * The names a value at `path` may take: the values of the enums there and the tags of the
 * discriminated unions there (`model.loss`, `model.layers[0].type`: pass the path of the field).
 */
export function namesAt(schema: $ZodType, data: unknown, path: readonly PropertyKey[]): string[] {
  const names = new Set<string>();
  for (const s of schemasAt(schema, data, path)) {
    const d = def(s);
    if (d.type === "enum")
      for (const v of Object.values(d.entries ?? {})) if (typeof v === "string") names.add(v);
  }
  const key = path.at(-1);
  const union = typeof key === "string" ? tagsAt(schema, data, path.slice(0, -1)) : undefined;
  if (union && union.discriminator === key) for (const t of union.tags) names.add(t);
  return [...names];
}
