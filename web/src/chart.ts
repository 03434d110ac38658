/** The live loss / accuracy curves, drawn with uPlot. */
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import type { Progress } from "./types.js";

type Column = (number | null)[];
type Field = "loss" | "valLoss" | "accuracy" | "valAccuracy";

const positive = (v: number | undefined) => (v !== undefined && v > 0 && Number.isFinite(v) ? v : null);
const finite = (v: number | undefined) => (v !== undefined && Number.isFinite(v) ? v : null);

export class LossChart {
  private plot: uPlot | undefined;
  private fields: Field[] = [];
  private columns: [number[], ...Column[]] = [[]];
  private pending = false;
  /** Accuracy series appear with the first accuracy (classification losses only). */
  private accuracyShown = false;

  constructor(readonly container: HTMLElement) {
    new ResizeObserver(() => this.plot?.setSize(this.size())).observe(container);
  }

  private size() {
    return { width: Math.max(300, this.container.clientWidth), height: 280 };
  }

  /** The value a legend shows: at the cursor, or the latest when the cursor is elsewhere. */
  private legendValue(column: number, digits: number) {
    return (_u: uPlot, v: number | null, _series: number, idx: number | null) => {
      if (idx === null) {
        const values = this.columns[column]!;
        v = values.length ? (values[values.length - 1] ?? null) : null;
      }
      return v === null || v === undefined ? "–" : column === 0 ? String(v) : v.toPrecision(digits);
    };
  }

  /** A new, empty chart for a run; validation series only when the run holds data out. */
  reset(opts: { validation: boolean; epochs: number }): void {
    this.plot?.destroy();
    this.fields = opts.validation ? ["loss", "valLoss", "accuracy", "valAccuracy"] : ["loss", "accuracy"];
    this.columns = [[], ...this.fields.map(() => [] as Column)];
    this.accuracyShown = false;
    const style: Record<Field, [string, string, string, number[] | undefined]> = {
      loss: ["loss", "#d62728", "loss", undefined],
      valLoss: ["val loss", "#ff9896", "loss", [6, 4]],
      accuracy: ["accuracy", "#1f77b4", "acc", undefined],
      valAccuracy: ["val accuracy", "#6baed6", "acc", [6, 4]],
    };
    const series: uPlot.Series[] = [
      { label: "epoch", value: this.legendValue(0, 0) },
      ...this.fields.map((field, i): uPlot.Series => {
        const [label, stroke, scale, dash] = style[field];
        return {
          label,
          stroke,
          scale,
          dash,
          width: 2,
          spanGaps: true,
          show: scale === "loss",
          points: { show: false },
          value: this.legendValue(i + 1, 4),
        };
      }),
    ];
    this.plot = new uPlot(
      {
        ...this.size(),
        series,
        scales: {
          x: { time: false, range: [0, Math.max(1, opts.epochs)] },
          loss: { distr: 3 },
          acc: { range: [0, 1] },
        },
        axes: [
          { label: "epoch", size: 40 },
          { scale: "loss", label: "loss (log scale)", size: 60 },
          { scale: "acc", label: "accuracy", side: 1, grid: { show: false }, size: 50 },
        ],
        legend: { live: true },
        cursor: { drag: { x: true, y: false } },
      },
      this.columns as uPlot.AlignedData,
      this.container,
    );
    this.publish();
  }

  push(p: Progress): void {
    this.columns[0].push(p.epoch);
    this.fields.forEach((field, i) => {
      (this.columns[i + 1] as Column).push(field.endsWith("oss") ? positive(p[field]) : finite(p[field]));
    });
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      this.draw();
    });
  }

  private draw(): void {
    if (!this.accuracyShown && p0(this.columns[this.fields.indexOf("accuracy") + 1])) {
      this.accuracyShown = true;
      this.fields.forEach((field, i) => {
        if (field.toLowerCase().endsWith("accuracy")) this.plot?.setSeries(i + 1, { show: true });
      });
    }
    this.plot?.setData(this.columns as uPlot.AlignedData);
    this.publish();
  }

  /** The numbers drawn, as data attributes (for a person's dev tools and for the browser test). */
  private publish(): void {
    const losses = (this.columns[1] ?? []).filter((v): v is number => v !== null);
    this.container.dataset.points = String(this.columns[0].length);
    this.container.dataset.firstLoss = losses.length ? String(losses[0]) : "";
    this.container.dataset.lastLoss = losses.length ? String(losses[losses.length - 1]) : "";
  }
}

/** Whether a column has a value yet. */
function p0(column: Column | undefined): boolean {
  return column?.some((v) => v !== null) ?? false;
}
