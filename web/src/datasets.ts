/**
 * Two-dimensional toy data sets in the spirit of TensorFlow Playground, generated here from a
 * seed and sent inline (or stored with POST /datasets), and the built-in xor's four points.
 */

export interface Points {
  x: number[][];
  labels: number[];
  classes: string[];
}

/** mulberry32: a small seeded generator, enough for toy data. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function gauss(r: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
}

const round = (v: number) => Math.round(v * 1e4) / 1e4;

/** Shuffled (so a validation split holds out every class), coordinates rounded to 4 decimals. */
function finish(x: number[][], labels: number[], classes: string[], r: () => number): Points {
  const order = x.map((_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return {
    x: order.map((i) => x[i]!.map(round)),
    labels: order.map((i) => labels[i]!),
    classes,
  };
}

type Generator = (n: number, noise: number, seed: number) => Points;

/**
 * `n` points from a generator seeded with `seed`: sample i is of class i mod classes.length,
 * placed by `point` (which draws its noise from `r`); then shuffled by `finish`.
 */
function byClass(
  n: number,
  seed: number,
  classes: string[],
  point: (c: number, i: number, r: () => number) => number[],
): Points {
  const r = rng(seed);
  const x: number[][] = [];
  const labels: number[] = [];
  for (let i = 0; i < n; i++) {
    const c = i % classes.length;
    x.push(point(c, i, r));
    labels.push(c);
  }
  return finish(x, labels, classes, r);
}

const BLOB_CENTRES = [
  [0, 3],
  [-2.6, -1.5],
  [2.6, -1.5],
];

export const GENERATORS: Record<string, { label: string; make: Generator }> = {
  spiral: {
    label: "two spirals",
    make: (n, noise, seed) =>
      byClass(n, seed, ["blue", "orange"], (c, i, r) => {
        const t = (Math.floor(i / 2) / Math.ceil(n / 2)) * 1.75 * 2 * Math.PI;
        const rad = (t / (1.75 * 2 * Math.PI)) * 5;
        const angle = t + c * Math.PI;
        return [rad * Math.sin(angle) + gauss(r) * noise, rad * Math.cos(angle) + gauss(r) * noise];
      }),
  },
  circle: {
    label: "disc in a ring",
    make: (n, noise, seed) =>
      byClass(n, seed, ["inside", "outside"], (c, _i, r) => {
        const rad = c === 0 ? r() * 2 : 3 + r() * 2;
        const angle = r() * 2 * Math.PI;
        return [rad * Math.sin(angle) + gauss(r) * noise, rad * Math.cos(angle) + gauss(r) * noise];
      }),
  },
  quadrants: {
    label: "noisy xor (quadrants)",
    make: (n, noise, seed) => {
      const r = rng(seed);
      const x: number[][] = [];
      const labels: number[] = [];
      for (let i = 0; i < n; i++) {
        const pad = 0.3;
        let a = r() * 10 - 5;
        let b = r() * 10 - 5;
        a += a > 0 ? pad : -pad;
        b += b > 0 ? pad : -pad;
        labels.push(a * b >= 0 ? 0 : 1);
        x.push([a + gauss(r) * noise, b + gauss(r) * noise]);
      }
      return finish(x, labels, ["same sign", "different sign"], r);
    },
  },
  gaussians: {
    label: "two Gaussian blobs",
    make: (n, noise, seed) =>
      byClass(n, seed, ["a", "b"], (c, _i, r) => {
        const centre = c === 0 ? 2 : -2;
        const spread = 0.8 + noise * 2;
        return [centre + gauss(r) * spread, centre + gauss(r) * spread];
      }),
  },
  blobs3: {
    label: "three blobs (3 classes)",
    make: (n, noise, seed) =>
      byClass(n, seed, ["red", "green", "blue"], (c, _i, r) => {
        const [cx, cy] = BLOB_CENTRES[c]!;
        const spread = 0.8 + noise * 2;
        return [cx! + gauss(r) * spread, cy! + gauss(r) * spread];
      }),
  },
};

/** The built-in xor (GET /datasets describes it: the truth table, label 1 when the inputs differ). */
export const XOR_POINTS: Points = {
  x: [
    [0, 0],
    [0, 1],
    [1, 0],
    [1, 1],
  ],
  labels: [0, 1, 1, 0],
  classes: ["0", "1"],
};

const STORED_KEY = (id: string) => `playground.dataset.${id}`;

/** The values of a data set this page stored (the API answers a stored set without its values). */
export function rememberStored(id: string, points: Points): void {
  try {
    localStorage.setItem(STORED_KEY(id), JSON.stringify(points));
  } catch {
    // storage full or disabled: the set still trains, it just cannot be drawn later
  }
}

export function recallStored(id: string): Points | undefined {
  const text = localStorage.getItem(STORED_KEY(id));
  return text ? (JSON.parse(text) as Points) : undefined;
}
