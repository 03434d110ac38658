/**
 * Decision regions of a 2-D classifier: the model's outputs on a grid (from POST /predict),
 * coloured by class and confidence, under the data points.
 */
import type { Points } from "./datasets.js";
import type { Nested } from "./types.js";

/** Class colours (Tableau 10). */
export const PALETTE: [number, number, number][] = [
  [31, 119, 180],
  [255, 127, 14],
  [44, 160, 44],
  [214, 39, 40],
  [148, 103, 189],
  [140, 86, 75],
  [227, 119, 194],
  [127, 127, 127],
  [188, 189, 34],
  [23, 190, 207],
];

export const rgb = (c: [number, number, number]) => `rgb(${c[0]}, ${c[1]}, ${c[2]})`;

function mix(a: [number, number, number], b: [number, number, number], t: number): [number, number, number] {
  return [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];
}

const WHITE: [number, number, number] = [255, 255, 255];

export interface Bounds {
  x0: number;
  x1: number;
  y0: number;
  y1: number;
}

/** The points' extent with a margin, square so that the picture is not stretched. */
export function boundsOf(points: Points | undefined): Bounds {
  if (!points || points.x.length === 0) return { x0: -1, x1: 1, y0: -1, y1: 1 };
  const xs = points.x.map((p) => p[0] ?? 0);
  const ys = points.x.map((p) => p[1] ?? 0);
  const cx = (Math.min(...xs) + Math.max(...xs)) / 2;
  const cy = (Math.min(...ys) + Math.max(...ys)) / 2;
  const half = Math.max(Math.max(...xs) - Math.min(...xs), Math.max(...ys) - Math.min(...ys), 1e-9) * 0.62;
  return { x0: cx - half, x1: cx + half, y0: cy - half, y1: cy + half };
}

/** One number per output unit, whatever the nesting. */
function flat(value: Nested): number[] {
  if (Array.isArray(value)) return value.flatMap(flat);
  return [value ?? Number.NaN];
}

export class RegionView {
  private points: Points | undefined;
  private bounds: Bounds = boundsOf(undefined);
  private outputs: Nested[] | undefined;
  /** First samples that are not held out for validation: [0, trainCount). */
  private trainCount = 0;
  selected: number | undefined;

  constructor(
    readonly canvas: HTMLCanvasElement,
    readonly resolution = 50,
  ) {}

  setPoints(points: Points | undefined, validationSplit = 0): void {
    this.points = points;
    this.bounds = boundsOf(points);
    this.outputs = undefined;
    this.selected = undefined;
    const n = points?.x.length ?? 0;
    // Keras (and the service) holds out the last samples: floor(n·(1 − split)) train.
    this.trainCount = Math.floor(n * (1 - validationSplit));
    this.draw();
  }

  setValidationSplit(split: number): void {
    this.trainCount = Math.floor((this.points?.x.length ?? 0) * (1 - split));
    this.draw();
  }

  /** The grid's cell centres, row by row from the top: the samples to send to POST /predict. */
  gridSamples(): number[][] {
    const { x0, x1, y0, y1 } = this.bounds;
    const n = this.resolution;
    const samples: number[][] = [];
    for (let row = 0; row < n; row++)
      for (let col = 0; col < n; col++)
        samples.push([x0 + ((col + 0.5) / n) * (x1 - x0), y1 - ((row + 0.5) / n) * (y1 - y0)]);
    return samples;
  }

  setOutputs(outputs: Nested[] | undefined): void {
    this.outputs = outputs;
    this.draw();
  }

  /** The data point nearest a click, if within 12 px. */
  pick(event: MouseEvent): number | undefined {
    if (!this.points) return undefined;
    const rect = this.canvas.getBoundingClientRect();
    const px = ((event.clientX - rect.left) / rect.width) * this.canvas.width;
    const py = ((event.clientY - rect.top) / rect.height) * this.canvas.height;
    let best: number | undefined;
    let bestD = 12 * 12 * (this.canvas.width / rect.width) ** 2;
    this.points.x.forEach((p, i) => {
      const [sx, sy] = this.toScreen(p[0] ?? 0, p[1] ?? 0);
      const d = (sx - px) ** 2 + (sy - py) ** 2;
      if (d < bestD) {
        bestD = d;
        best = i;
      }
    });
    return best;
  }

  private toScreen(x: number, y: number): [number, number] {
    const { x0, x1, y0, y1 } = this.bounds;
    return [((x - x0) / (x1 - x0)) * this.canvas.width, ((y1 - y) / (y1 - y0)) * this.canvas.height];
  }

  /** The colour of one grid cell from the model's output there. */
  private cellColour(out: number[], classes: number, lo: number, hi: number): [number, number, number] {
    if (out.length >= 2) {
      let c = 0;
      for (let i = 1; i < out.length; i++) if ((out[i] ?? 0) > (out[c] ?? 0)) c = i;
      const k = out.length;
      const confidence = Math.min(1, Math.max(0, ((out[c] ?? 0) - 1 / k) / (1 - 1 / k)));
      return mix(WHITE, PALETTE[c % PALETTE.length]!, 0.12 + 0.6 * confidence);
    }
    const v = out[0] ?? 0;
    if (classes === 2) {
      // one sigmoid (or linear) unit: P(class 1)
      const p = Math.min(1, Math.max(0, v));
      return p < 0.5
        ? mix(WHITE, PALETTE[0]!, 0.12 + (0.5 - p) * 1.2)
        : mix(WHITE, PALETTE[1]!, 0.12 + (p - 0.5) * 1.2);
    }
    // regression: low values blue, high values orange
    const t = hi > lo ? (v - lo) / (hi - lo) : 0.5;
    return t < 0.5 ? mix(WHITE, PALETTE[0]!, (0.5 - t) * 1.5) : mix(WHITE, PALETTE[1]!, (t - 0.5) * 1.5);
  }

  draw(): void {
    const ctx = this.canvas.getContext("2d")!;
    const { width, height } = this.canvas;
    ctx.fillStyle = "#f4f5f7";
    ctx.fillRect(0, 0, width, height);
    const n = this.resolution;
    if (this.outputs && this.outputs.length === n * n) {
      const flatOutputs = this.outputs.map(flat);
      const scalars = flatOutputs.map((o) => o[0] ?? 0);
      const lo = Math.min(...scalars);
      const hi = Math.max(...scalars);
      const classes = this.points?.classes.length ?? 2;
      const small = document.createElement("canvas");
      small.width = n;
      small.height = n;
      const sctx = small.getContext("2d")!;
      const image = sctx.createImageData(n, n);
      flatOutputs.forEach((out, i) => {
        const [r, g, b] = out.some((v) => !Number.isFinite(v))
          ? ([200, 200, 200] as [number, number, number])
          : this.cellColour(out, classes, lo, hi);
        image.data.set([r, g, b, 255], i * 4);
      });
      sctx.putImageData(image, 0, 0);
      ctx.imageSmoothingEnabled = true;
      ctx.imageSmoothingQuality = "high";
      ctx.drawImage(small, 0, 0, width, height);
    }
    this.drawAxes(ctx);
    if (!this.points) return;
    const points = this.points;
    points.x.forEach((p, i) => {
      const [sx, sy] = this.toScreen(p[0] ?? 0, p[1] ?? 0);
      const colour = PALETTE[(points.labels[i] ?? 0) % PALETTE.length]!;
      ctx.beginPath();
      ctx.arc(sx, sy, points.x.length > 50 ? 4 : 7, 0, 2 * Math.PI);
      if (i < this.trainCount) {
        ctx.fillStyle = rgb(colour);
        ctx.fill();
        ctx.lineWidth = 1.2;
        ctx.strokeStyle = "#fff";
      } else {
        // held out for validation: a ring
        ctx.fillStyle = "#fff";
        ctx.fill();
        ctx.lineWidth = 2;
        ctx.strokeStyle = rgb(colour);
      }
      ctx.stroke();
    });
    if (this.selected !== undefined && points.x[this.selected]) {
      const p = points.x[this.selected]!;
      const [sx, sy] = this.toScreen(p[0] ?? 0, p[1] ?? 0);
      ctx.beginPath();
      ctx.arc(sx, sy, 11, 0, 2 * Math.PI);
      ctx.lineWidth = 2.5;
      ctx.strokeStyle = "#111";
      ctx.stroke();
    }
  }

  private drawAxes(ctx: CanvasRenderingContext2D): void {
    const { x0, x1, y0, y1 } = this.bounds;
    const step = niceStep((x1 - x0) / 6);
    ctx.font = "11px system-ui, sans-serif";
    ctx.fillStyle = "rgba(0, 0, 0, 0.55)";
    ctx.strokeStyle = "rgba(0, 0, 0, 0.08)";
    ctx.lineWidth = 1;
    for (let v = Math.ceil(x0 / step) * step; v <= x1; v += step) {
      const [sx] = this.toScreen(v, 0);
      ctx.beginPath();
      ctx.moveTo(sx, 0);
      ctx.lineTo(sx, this.canvas.height);
      ctx.stroke();
      ctx.fillText(formatTick(v), sx + 2, this.canvas.height - 4);
    }
    for (let v = Math.ceil(y0 / step) * step; v <= y1; v += step) {
      const [, sy] = this.toScreen(0, v);
      ctx.beginPath();
      ctx.moveTo(0, sy);
      ctx.lineTo(this.canvas.width, sy);
      ctx.stroke();
      ctx.fillText(formatTick(v), 3, sy - 3);
    }
  }
}

/** 1, 2 or 5 times a power of ten, at least `raw`. */
function niceStep(raw: number): number {
  const power = 10 ** Math.floor(Math.log10(raw));
  return ([1, 2, 5, 10].find((m) => m * power >= raw) ?? 10) * power;
}

function formatTick(v: number): string {
  return Math.abs(v) < 1e-9 ? "0" : String(Number(v.toPrecision(3)));
}
