/** Heat maps of tensors on a canvas, with each value on hover. */
import type { Nested } from "./types.js";

export interface Matrix {
  rows: number;
  cols: number;
  values: number[];
  /** The index in the original tensor of cell (row, col). */
  index: (row: number, col: number) => number[];
}

function shapeOf(value: Nested): number[] {
  const shape: number[] = [];
  let v: Nested = value;
  while (Array.isArray(v)) {
    shape.push(v.length);
    v = v[0] ?? 0;
  }
  return shape;
}

function flatten(value: Nested): number[] {
  if (Array.isArray(value)) return value.flatMap(flatten);
  return [value ?? Number.NaN];
}

/** A tensor as a matrix: its last axis across, every other axis folded into rows (a vector is one row). */
export function toMatrix(value: Nested): Matrix {
  const shape = shapeOf(value);
  const values = flatten(value);
  const cols = shape.length === 0 ? 1 : shape[shape.length - 1]!;
  const rows = Math.max(1, values.length / Math.max(1, cols));
  const lead = shape.slice(0, -1);
  return {
    rows,
    cols,
    values,
    index: (row, col) => {
      if (shape.length === 0) return [];
      const idx: number[] = [];
      let r = row;
      for (let a = lead.length - 1; a >= 0; a--) {
        idx.unshift(r % lead[a]!);
        r = Math.floor(r / lead[a]!);
      }
      return [...idx, col];
    },
  };
}

/** A value in a cell's few characters: 0.53, -0.06, 3.3e-4. */
function short(v: number): string {
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a >= 0.01 && a < 100) return v.toFixed(2).replace(/^(-?)0\./, "$1.");
  return v.toExponential(0).replace("e-", "e−");
}

/** Blue for negative, white for 0, red for positive, scaled by the largest magnitude. */
function colour(v: number, max: number): string {
  if (!Number.isFinite(v)) return "#bbb";
  const t = max > 0 ? Math.min(1, Math.abs(v) / max) : 0;
  const [r, g, b] = v < 0 ? [33, 102, 172] : [178, 24, 43];
  const m = (c: number) => Math.round(255 + (c - 255) * t);
  return `rgb(${m(r)}, ${m(g)}, ${m(b)})`;
}

let tooltip: HTMLDivElement | undefined;

function tooltipElement(): HTMLDivElement {
  if (!tooltip) {
    tooltip = document.createElement("div");
    tooltip.className = "tooltip";
    tooltip.id = "heatmap-tooltip";
    document.body.append(tooltip);
  }
  return tooltip;
}

export const fmt = (v: number | null | undefined, digits = 4) =>
  v === null || v === undefined || Number.isNaN(v) ? "–" : v.toPrecision(digits);

/**
 * A captioned heat map. `describe` says what the value at a tensor index is (shown on hover);
 * small cells also show their value rounded.
 */
export function heatmap(
  caption: string,
  value: Nested,
  describe: (index: number[], v: number) => string,
  opts: { maxWidth?: number } = {},
): HTMLElement {
  const m = toMatrix(value);
  const max = Math.max(0, ...m.values.filter(Number.isFinite).map(Math.abs));
  const cell = Math.max(3, Math.min(36, Math.floor(Math.min((opts.maxWidth ?? 300) / m.cols, 220 / m.rows))));
  const figure = document.createElement("figure");
  figure.className = "heatmap";
  const canvas = document.createElement("canvas");
  const dpr = window.devicePixelRatio || 1;
  canvas.width = m.cols * cell * dpr;
  canvas.height = m.rows * cell * dpr;
  canvas.style.width = `${m.cols * cell}px`;
  canvas.style.height = `${m.rows * cell}px`;
  const ctx = canvas.getContext("2d")!;
  ctx.scale(dpr, dpr);
  for (let r = 0; r < m.rows; r++)
    for (let c = 0; c < m.cols; c++) {
      const v = m.values[r * m.cols + c]!;
      ctx.fillStyle = colour(v, max);
      ctx.fillRect(c * cell, r * cell, cell, cell);
      if (cell >= 30) {
        ctx.fillStyle = max > 0 && Math.abs(v) / max > 0.6 ? "#fff" : "#222";
        ctx.font = "9px ui-monospace, monospace";
        ctx.textAlign = "center";
        ctx.textBaseline = "middle";
        ctx.fillText(short(v), c * cell + cell / 2, r * cell + cell / 2, cell - 2);
      }
    }
  if (cell >= 8) {
    ctx.strokeStyle = "rgba(255, 255, 255, 0.9)";
    ctx.lineWidth = 1;
    for (let r = 0; r <= m.rows; r++) {
      ctx.beginPath();
      ctx.moveTo(0, r * cell);
      ctx.lineTo(m.cols * cell, r * cell);
      ctx.stroke();
    }
    for (let c = 0; c <= m.cols; c++) {
      ctx.beginPath();
      ctx.moveTo(c * cell, 0);
      ctx.lineTo(c * cell, m.rows * cell);
      ctx.stroke();
    }
  }
  canvas.addEventListener("mousemove", (event) => {
    const rect = canvas.getBoundingClientRect();
    const c = Math.min(m.cols - 1, Math.floor((event.clientX - rect.left) / cell));
    const r = Math.min(m.rows - 1, Math.floor((event.clientY - rect.top) / cell));
    const tip = tooltipElement();
    tip.textContent = describe(m.index(r, c), m.values[r * m.cols + c]!);
    tip.style.left = `${event.pageX + 14}px`;
    tip.style.top = `${event.pageY + 14}px`;
    tip.hidden = false;
  });
  canvas.addEventListener("mouseleave", () => {
    tooltipElement().hidden = true;
  });
  const label = document.createElement("figcaption");
  label.textContent = `${caption} `;
  const dims = document.createElement("span");
  dims.className = "dims";
  dims.textContent = `${m.rows > 1 ? `${m.rows}×` : ""}${m.cols} · max |v| ${fmt(max, 3)}`;
  label.append(dims);
  figure.append(label, canvas);
  return figure;
}

/** The value of a nested tensor at an index. */
export function at(value: Nested | undefined, index: number[]): number | null {
  let v: Nested | undefined = value;
  for (const i of index) v = Array.isArray(v) ? v[i] : undefined;
  return typeof v === "number" ? v : null;
}
