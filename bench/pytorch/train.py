"""PyTorch side of `npm run bench` (bench/pytorch.ts writes its input, reads its output).

Trains the bench's models as PyTorch does it at its fastest plain path: the same layers, the same
initial weights (already in PyTorch's layout, see bench/layout.ts), the same batches in the same
order, plain SGD (`zero_grad`, forward, `cross_entropy` with the one-hot targets, `backward`,
`step`), in float32 and float64, with the threads config.json names. Steady state: a warm-up, then
the median of several rounds of samples/s.

bench/pytorch.ts runs this once per thread count, with OMP_NUM_THREADS, OPENBLAS_NUM_THREADS and
MKL_NUM_THREADS set to it: `torch.set_num_threads` sets PyTorch's OpenMP pool only, and Debian's
PyTorch (BLAS_INFO=generic) runs its dense products in OpenBLAS' own pthread pool, which otherwise
keeps every core. Switching thread counts inside one process left one pool's threads spinning
against the other's: the MLP ran at a third of its speed and the CNN in float64 at a fifth.

Usage: python3 train.py <dir>; <dir>/config.json names little-endian float64 files in <dir>.
Prints one JSON object on stdout.

Also reports, per dtype, the loss of the first batch at the initial weights and of the second
batch after one SGD step: in float64 they must equal ours to ~1e-12, or the comparison is wrong.
"""

import json
import os
import sys
import time

import numpy
import torch
import torch.nn.functional as F


class LastLSTM(torch.nn.Module):
    """nn.LSTM over [batch, steps, features] (batch_first), returning the last step's h: Keras'
    LSTM without returnSequences."""

    def __init__(self, n_in, hidden):
        super().__init__()
        self.lstm = torch.nn.LSTM(n_in, hidden, batch_first=True)

    def forward(self, x):
        return self.lstm(x)[0][:, -1, :]


def build(layers, tensors, dtype):
    mods = []
    params = iter(tensors)
    for layer in layers:
        t = layer["type"]
        if t == "linear":
            m = torch.nn.Linear(layer["in"], layer["out"])
        elif t == "conv":
            m = torch.nn.Conv2d(layer["cin"], layer["cout"], layer["k"])
        elif t == "lstm":
            m = LastLSTM(layer["in"], layer["hidden"])
        elif t == "maxpool":
            m = torch.nn.MaxPool2d(layer["k"])
        elif t == "flatten":
            m = torch.nn.Flatten()
        elif t == "relu":
            m = torch.nn.ReLU()
        elif t == "sigmoid":
            m = torch.nn.Sigmoid()
        elif t == "tanh":
            m = torch.nn.Tanh()
        else:
            raise ValueError(f"unknown layer {t}")
        m = m.to(dtype)  # before the copy: a float32 module would round the float64 weights
        if t in ("linear", "conv"):
            with torch.no_grad():
                m.weight.copy_(next(params))
                m.bias.copy_(next(params))
        elif t == "lstm":
            with torch.no_grad():
                for p in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"):
                    getattr(m.lstm, p).copy_(next(params))
            # Keras has one bias: bias_hh stays at zero (trained, it would double the bias's step).
            m.lstm.bias_hh_l0.requires_grad_(False)
        mods.append(m)
    return torch.nn.Sequential(*mods)


def load(d, spec):
    return torch.from_numpy(numpy.fromfile(os.path.join(d, spec["file"]), dtype="<f8").reshape(spec["shape"]))


def loaded_openblas():
    """The OpenBLAS library this process loaded (PyTorch's products run on it), or None."""
    try:
        with open("/proc/self/maps") as f:
            paths = {line.split()[-1] for line in f if "openblas" in line.lower()}
    except OSError:
        return None
    paths = sorted(p for p in paths if p.startswith("/"))
    return paths[0] if paths else None


def run(d, cfg, w):
    tensors = [load(d, t) for t in w["tensors"]]
    x64 = load(d, w["x"])
    y64 = load(d, w["y"])
    b = w["batch"]
    batches = w["n"] // b
    out = {"name": w["name"], "firstLoss": {}, "secondLoss": {}, "samplesPerSecond": {}, "rounds": {}}
    for dname in cfg["dtypes"]:
        dtype = torch.float32 if dname == "float32" else torch.float64
        xs = [x64[i * b : (i + 1) * b].to(dtype).contiguous() for i in range(batches)]
        ys = [y64[i * b : (i + 1) * b].to(dtype).contiguous() for i in range(batches)]
        torch.set_num_threads(1)
        model = build(w["layers"], tensors, dtype)
        opt = torch.optim.SGD(model.parameters(), lr=w["lr"])

        def step(j):
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(xs[j]), ys[j])
            loss.backward()
            opt.step()
            return loss

        out["firstLoss"][dname] = step(0).item()
        with torch.no_grad():
            out["secondLoss"][dname] = F.cross_entropy(model(xs[1 % batches]), ys[1 % batches]).item()

        counter = [0]

        def timed(ms):
            steps = 0
            t0 = time.perf_counter()
            t = t0
            while t - t0 < ms / 1000:
                step(counter[0] % batches)
                counter[0] += 1
                steps += 1
                t = time.perf_counter()
            return steps * b / (t - t0)

        for threads in cfg["threads"]:
            torch.set_num_threads(threads)
            timed(cfg["warmMs"])
        rounds = {str(t): [] for t in cfg["threads"]}
        for _ in range(cfg["rounds"]):
            for threads in cfg["threads"]:
                torch.set_num_threads(threads)
                rounds[str(threads)].append(timed(cfg["ms"]))
        out["rounds"][dname] = rounds
        out["samplesPerSecond"][dname] = {t: float(numpy.median(r)) for t, r in rounds.items()}
    return out


def main():
    d = sys.argv[1]
    with open(os.path.join(d, "config.json")) as f:
        cfg = json.load(f)
    torch.manual_seed(0)
    results = [run(d, cfg, w) for w in cfg["workloads"]]
    info = {
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "python": sys.version.split()[0],
        "openblas": loaded_openblas(),
    }
    json.dump({**info, "workloads": results}, sys.stdout)


main()
