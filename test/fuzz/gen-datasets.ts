/** Fuzz generators: stored data sets (POST /datasets), JSON and CSV bodies, and CSV broken on purpose. */
import { nested } from "./gen-bodies.js";
import { sizeOf } from "./gen-model.js";
import type { TreeObject } from "./json-text.js";
import type { Rand } from "./rand.js";

/** A valid JSON body for POST /datasets: samples of one shape, labels or target vectors. */
export function genStoredDatasetJson(r: Rand): TreeObject {
  const shape = r.bool(0.7) ? [r.int(1, 4)] : [r.int(1, 3), r.int(1, 3), r.int(1, 2)];
  const n = r.int(1, 6);
  const flat = r.bool(0.2);
  const body: TreeObject = {
    x: Array.from({ length: n }, () =>
      flat ? Array.from({ length: sizeOf(shape) }, () => r.num(-2, 2)) : nested(shape, () => r.num(-2, 2)),
    ),
  };
  const classes = r.bool(0.5) ? r.int(2, 3) : 0;
  const k = r.int(1, 3);
  body.y = Array.from({ length: n }, () =>
    classes ? r.int(0, classes - 1) : k === 1 ? r.num(-2, 2) : Array.from({ length: k }, () => r.num(-2, 2)),
  );
  if (flat || r.bool(0.2)) body.inputShape = shape;
  if (classes && r.bool(0.5)) body.classes = Array.from({ length: classes }, (_, i) => `class ${i}`);
  if (r.bool(0.3)) body.name = r.pick(["xor", "my data", "ü"]);
  return body;
}

const CSV_NAMES = ["a", "b", "sepal length", "petal_width", "species", "x1", "y"];

/** A valid CSV body: a header row, 1–5 numeric rows, the label last (numbers or class names). */
export function genCsv(r: Rand): { text: string; query: string } {
  const cols = r.int(2, 4);
  const header = CSV_NAMES.slice(0, cols);
  const named = r.bool(0.4);
  const rows = Array.from({ length: r.int(1, 5) }, () => [
    ...Array.from({ length: cols - 1 }, () => String(Math.round(r.num(-5, 5) * 100) / 100)),
    named ? r.pick(["setosa", "versicolor", "virginica"]) : String(r.int(0, 2)),
  ]);
  const eol = r.pick(["\n", "\r\n"]);
  const text = [header, ...rows].map((row) => row.join(",")).join(eol) + (r.bool(0.7) ? eol : "");
  const query = r.bool(0.3)
    ? `?label=${encodeURIComponent(header[cols - 1]!)}`
    : r.bool(0.2)
      ? "?name=csv"
      : "";
  return { text, query };
}

/** CSV broken in one or two ways: ragged rows, bad cells, duplicate or odd headers, bad quotes. */
export function breakCsv(
  r: Rand,
  csv: { text: string; query: string },
): { text: string; query: string; kinds: string[] } {
  let { text, query } = csv;
  const kinds: string[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = r.int(1, 2); i > 0 && lines.length > 0; i--) {
    const row = r.int(0, lines.length - 1);
    switch (r.int(0, 8)) {
      case 0:
        lines[row] = (lines[row] ?? "").split(",").slice(0, -1).join(",");
        kinds.push("ragged-array");
        break;
      case 1:
        lines[row] = `${lines[row]},${r.pick(["1", "", "extra"])}`;
        kinds.push("ragged-array");
        break;
      case 2:
        lines[Math.max(1, row)] = (lines[Math.max(1, row)] ?? "").replace(
          /^[^,]*/,
          r.pick(["abc", "1e999", "NaN", "-0", "Infinity", "0x10", " ", "1,5"]),
        );
        kinds.push(r.pick(["wrong-type", "nan-infinity"]));
        break;
      case 3:
        lines[0] = (lines[0] ?? "").replace(/^[^,]*,[^,]*/, (m) => `${m.split(",")[0]},${m.split(",")[0]}`);
        kinds.push("duplicate-header");
        break;
      case 4:
        lines[0] = (lines[0] ?? "").replace(/^[^,]*/, r.pick(["__proto__", "constructor", "", "toString"]));
        kinds.push("proto-key");
        break;
      case 5:
        lines[row] = `"${lines[row]}`;
        kinds.push("truncated-json");
        break;
      case 6:
        text = "";
        lines.length = 0;
        kinds.push("empty-body");
        break;
      case 7:
        query = r.pick([
          "?label=nope",
          "?label=",
          "?label=__proto__",
          "?name=",
          "?zzz=1",
          `?label=${"x".repeat(300)}`,
        ]);
        kinds.push("unknown-key");
        break;
      default:
        lines.push(Array.from({ length: r.pick([2, 50, 2000]) }, () => "1").join(","));
        kinds.push("huge-size");
    }
  }
  return { text: lines.length ? lines.join("\n") : text, query, kinds };
}
