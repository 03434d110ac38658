/**
 * The data panel: built-in data sets (by name), stored ones (by id) and 2-D sets generated here
 * (sent inline, or stored with POST /datasets).
 */
import { api } from "../api.js";
import { GENERATORS, recallStored, rememberStored, XOR_POINTS } from "../datasets.js";
import { $, input, select } from "../dom.js";
import { type Source, state } from "../state.js";
import type {
  BuiltInName,
  DatasetInfo,
  DatasetsResponse,
  StoreDatasetBody,
  StoredDatasetInfo,
} from "../types.js";

let builtIns: DatasetInfo[] = [];
let stored: StoredDatasetInfo[] = [];

function generatorSource(key: string): Source {
  const gen = GENERATORS[key]!;
  const samples = Math.min(2000, Math.max(10, Math.round(Number(input("samples").value) || 200)));
  const noise = Math.max(0, Number(input("noise").value) || 0);
  const seed = Number(input("regenerate").dataset.seed ?? "1");
  const points = gen.make(samples, noise, seed);
  return {
    key: `gen:${key}`,
    label: gen.label,
    dataset: "inline",
    inputShape: [2],
    classes: points.classes,
    points,
    description: `${samples} points generated here (seed ${seed}), sent inline as {x, y}.`,
  };
}

function currentSource(): Source {
  const key = select("dataset").value;
  const [kind, name = ""] = key.split(/:(.*)/s) as [string, string];
  if (kind === "gen") return generatorSource(name);
  if (kind === "builtin") {
    const info = builtIns.find((d) => d.name === name)!;
    return {
      key,
      label: name,
      dataset: { name: name as BuiltInName },
      inputShape: info.inputShape,
      classes: info.classes,
      points: name === "xor" ? XOR_POINTS : undefined,
      description: info.description,
    };
  }
  const info = stored.find((d) => d.id === name)!;
  const points = recallStored(name);
  return {
    key,
    label: info.name ?? info.id,
    dataset: { id: name },
    inputShape: info.inputShape,
    classes: info.classes ?? points?.classes ?? undefined,
    points,
    description:
      `Stored data set ${info.id}: ${info.samples} samples.` +
      (points || info.inputShape.join() !== "2"
        ? ""
        : " The API does not return a stored set's values, so its points cannot be drawn here (only sets stored from this page are remembered)."),
  };
}

/** Reads the data set the form names into `state.source` and describes it. */
export function chooseSource(): void {
  const source = currentSource();
  state.source = source;
  $("generator-options").hidden = !source.key.startsWith("gen:");
  $("dataset-info").textContent = source.description;
}

/**
 * Fills the data set menu from GET /datasets and selects `selectKey` (or keeps the choice, or
 * xor); `changed` then updates the other panels.
 */
export async function loadDatasets(changed: () => void, selectKey?: string): Promise<void> {
  const answer = await api<DatasetsResponse>("GET", "/datasets?limit=50");
  builtIns = answer.datasets;
  stored = answer.stored;
  const sel = select("dataset");
  const previous = selectKey ?? sel.value;
  sel.replaceChildren();
  const group = (label: string, options: [string, string][]) => {
    if (options.length === 0) return;
    const g = document.createElement("optgroup");
    g.label = label;
    for (const [value, text] of options) g.append(new Option(text, value));
    sel.append(g);
  };
  group(
    "Built in (by name)",
    builtIns.map((d) => [`builtin:${d.name}`, `${d.name} (${d.samples} × [${d.inputShape.join(", ")}])`]),
  );
  group(
    "Generated here, 2-D (inline)",
    Object.entries(GENERATORS).map(([key, g]) => [`gen:${key}`, g.label]),
  );
  group(
    "Stored (by id)",
    stored.map((d) => [`stored:${d.id}`, `${d.name ?? d.id} (${d.samples} × [${d.inputShape.join(", ")}])`]),
  );
  sel.value = [...sel.options].some((o) => o.value === previous) ? previous : "builtin:xor";
  changed();
}

/** Stores the generated points with POST /datasets (remembering them to draw) and selects them. */
export async function storeGenerated(changed: () => void): Promise<void> {
  const source = state.source;
  if (!source?.points) return;
  const body: StoreDatasetBody = {
    name: `playground ${source.label}`,
    x: source.points.x,
    y: source.points.labels,
    classes: source.points.classes,
  };
  const created = await api<StoredDatasetInfo>("POST", "/datasets", body);
  rememberStored(created.id, source.points);
  await loadDatasets(changed, `stored:${created.id}`);
}

/** Draws a new sample of the generated data set. */
export function regenerate(): void {
  const button = $("regenerate");
  button.dataset.seed = String(Number(button.dataset.seed ?? "1") + 1);
}
