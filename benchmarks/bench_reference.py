"""Speed of the reference layers, forward + backward, against reference.naive and PyTorch.

Run (this machine sets OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE, which halve matmul speed):

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_reference.py

Each timing is the minimum over ``--repeats`` batches of forward + backward
(``time.perf_counter``, batch sized to last at least ``--min-batch`` seconds),
divided by the batch size. Reference and PyTorch each run their batches in a
block of their own, and the blocks alternate twice, so a machine that turns
busy for a while slows both alike; a machine busy throughout skews everything
(the load average is printed before and after). Inputs and upstream gradients
are created once per case. PyTorch, when importable, runs on the CPU in float64
with ``torch.set_num_threads(2)`` on NCHW contiguous tensors; its backward is
``torch.autograd.grad`` of the same scalar loss ``sum(G * output)``, and its
results are checked against the reference before timing. reference.naive is
timed once, on the first input only (``--naive all`` for every input; it takes
minutes). Ratios: ``naive / ref`` (how much faster the reference is) and
``ref / torch`` (below 1 means the reference is faster). With PyTorch, a last table
times the three matrix products of each convolution alone, NumPy's BLAS against
PyTorch's (MKL), and divides NumPy's by PyTorch's time for the whole layer: a floor
the reference cannot go below with NumPy's BLAS.
This is a benchmark, not a test.
"""

from __future__ import annotations

import argparse
import functools
import math
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import reference  # noqa: E402
from reference import naive  # noqa: E402

try:
    import torch
    import torch.nn.functional as F
except ImportError:  # PyTorch is optional: the torch columns are left empty
    torch = None

# NHWC input shape -> (n_C, f, stride, pad)
CONV_CASES = [
    ((8, 32, 32, 3), 16, 3, 1, 1),
    ((32, 28, 28, 16), 32, 3, 1, 1),
    ((4, 16, 16, 3), 8, 5, 2, 2),
    ((16, 14, 14, 32), 64, 3, 1, 1),
]
# Seconds between blocks: OpenBLAS threads spin for up to 2**28 cycles (~0.1 s here) after a
# call, and would steal a core from the next block (PyTorch's OpenMP threads spin too).
_IDLE = 0.25
# (f, stride) pooled over each conv input, in both modes
POOL_CASES = [(2, 2), (3, 1)]
MODES = ("max", "average")


def batch_size(fn: Callable[[], object], min_batch: float) -> int:
    """Calls per timed batch so that one batch lasts at least ``min_batch`` seconds."""
    fn()  # warm-up
    number = 1
    while True:
        start = time.perf_counter()
        for _ in range(number):
            fn()
        elapsed = time.perf_counter() - start
        if elapsed >= min_batch:
            return number
        number = max(number + 1, int(number * min_batch / max(elapsed, 1e-7) * 1.2))


def best_times(fns: dict[str, Callable[[], object]], repeats: int, min_batch: float, rounds: int = 2):
    """Seconds per call of each of ``fns``: min over ``rounds * repeats`` batches.

    Each function runs its batches in a block of its own (libraries' worker threads
    spin for a while after a call and would slow the other library), and the blocks
    alternate over ``rounds``, so a machine that turns busy for a while slows both alike.
    """
    numbers = {name: batch_size(fn, min_batch) for name, fn in fns.items()}
    best = dict.fromkeys(fns, float("inf"))
    for _ in range(rounds):
        for name, fn in fns.items():
            time.sleep(_IDLE)  # let the other library's threads go idle
            fn()
            for _ in range(repeats):
                start = time.perf_counter()
                for _ in range(numbers[name]):
                    fn()
                best[name] = min(best[name], (time.perf_counter() - start) / numbers[name])
    return best


def once(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def conv_fns(shape, n_C, f, stride, pad, rng):
    A = rng.standard_normal(shape)
    W = rng.standard_normal((f, f, shape[3], n_C))
    b = rng.standard_normal((1, 1, 1, n_C))
    hp = {"stride": stride, "pad": pad}
    Z, _ = reference.conv_forward(A, W, b, hp)
    G = rng.standard_normal(Z.shape)

    def ref():
        _, cache = reference.conv_forward(A, W, b, hp)
        return reference.conv_backward(G, cache)

    def slow():
        _, cache = naive.conv_forward(A, W, b, hp)
        return naive.conv_backward(G, cache)

    tch = None
    if torch is not None:
        tA = torch.from_numpy(A).permute(0, 3, 1, 2).contiguous().requires_grad_()
        tW = torch.from_numpy(W).permute(3, 2, 0, 1).contiguous().requires_grad_()
        tb = torch.from_numpy(b.reshape(n_C)).clone().requires_grad_()
        tG = torch.from_numpy(G).permute(0, 3, 1, 2).contiguous()

        def tch():
            out = F.conv2d(tA, tW, tb, stride=stride, padding=pad)
            return torch.autograd.grad(out, (tA, tW, tb), tG)

        dA, dW, db = ref()
        tdA, tdW, tdb = tch()
        torch_Z = F.conv2d(tA, tW, tb, stride=stride, padding=pad).detach()
        _check("Z", Z, torch_Z.permute(0, 2, 3, 1).numpy())
        _check("dA_prev", dA, tdA.permute(0, 2, 3, 1).numpy())
        _check("dW", dW, tdW.permute(2, 3, 1, 0).numpy())
        _check("db", db.reshape(-1), tdb.numpy())
    return ref, slow, tch


def pool_fns(shape, f, stride, mode, rng):
    A = rng.standard_normal(shape)
    hp = {"f": f, "stride": stride}
    out, _ = reference.pool_forward(A, hp, mode)
    G = rng.standard_normal(out.shape)

    def ref():
        _, cache = reference.pool_forward(A, hp, mode)
        return reference.pool_backward(G, cache, mode)

    def slow():
        _, cache = naive.pool_forward(A, hp, mode)
        return naive.pool_backward(G, cache, mode)

    tch = None
    if torch is not None:
        pool = F.max_pool2d if mode == "max" else F.avg_pool2d
        tA = torch.from_numpy(A).permute(0, 3, 1, 2).contiguous().requires_grad_()
        tG = torch.from_numpy(G).permute(0, 3, 1, 2).contiguous()

        def tch():
            return torch.autograd.grad(pool(tA, f, stride), (tA,), tG)

        _check("A", out, pool(tA, f, stride).detach().permute(0, 2, 3, 1).numpy())
        _check("dA_prev", ref(), tch()[0].permute(0, 2, 3, 1).numpy())
    return ref, slow, tch


def _check(name: str, ours: np.ndarray, theirs: np.ndarray) -> None:
    if ours.shape != theirs.shape or not np.allclose(ours, theirs, rtol=1e-10, atol=1e-10):
        raise SystemExit(f"reference and PyTorch disagree on {name}: not a fair benchmark")


def geomean(values: list[float]) -> float:
    return math.exp(sum(map(math.log, values)) / len(values)) if values else float("nan")


def print_environment() -> None:
    print(f"numpy {np.__version__}", end="")
    if torch is not None:
        torch.set_num_threads(2)
        print(f", torch {torch.__version__} (threads={torch.get_num_threads()})", end="")
    else:
        print(", torch not importable (torch columns empty)", end="")
    unset = [k for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if k in os.environ]
    print(f"; set: {unset}" if unset else "; OPENBLAS_CORETYPE/L2_SIZE unset", end="")
    print(f"; {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} (other processes skew the timings)")
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        print("threadpoolctl not importable")
        return
    for pool in threadpool_info():
        print(
            f"  {pool.get('internal_api')} {pool.get('version')} "
            f"core={pool.get('architecture')} threads={pool.get('num_threads')} "
            f"({Path(pool.get('filepath', '')).name})"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--min-batch", type=float, default=0.05, help="seconds per timed batch")
    parser.add_argument("--naive", choices=("first", "all", "none"), default="first")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", choices=("conv", "pool"), help="time one layer only")
    args = parser.parse_args(argv)
    print_environment()
    rng = np.random.default_rng(args.seed)

    cases = []
    for index, (shape, n_C, f, stride, pad) in enumerate(CONV_CASES):
        label = f"conv {shape}->{n_C} f{f} s{stride} p{pad}"
        cases.append(("conv", label, index, conv_fns(shape, n_C, f, stride, pad, rng)))
    for index, (shape, *_rest) in enumerate(CONV_CASES):
        for f, stride in POOL_CASES:
            for mode in MODES:
                label = f"pool {mode:<7} {shape} f{f} s{stride}"
                cases.append(("pool", label, index, pool_fns(shape, f, stride, mode, rng)))

    header = f"{'case':<42} {'ref ms':>9} {'naive ms':>10} {'torch ms':>9} {'naive/ref':>10} {'ref/torch':>10}"
    print(header)
    print("-" * len(header))
    vs_torch: dict[str, list[float]] = {"conv": [], "pool": []}
    vs_naive: dict[str, list[float]] = {"conv": [], "pool": []}
    for kind, label, index, (ref, slow, tch) in cases:
        if args.only and kind != args.only:
            continue
        fns = {"ref": ref} if tch is None else {"ref": ref, "torch": tch}
        times = best_times(fns, args.repeats, args.min_batch)
        t_ref, t_torch = times["ref"], times.get("torch")
        time_naive = args.naive == "all" or (args.naive == "first" and index == 0)
        t_naive = once(slow) if time_naive else None
        cells = [f"{label:<42}", f"{t_ref * 1e3:9.3f}"]
        cells.append(f"{t_naive * 1e3:10.1f}" if t_naive is not None else f"{'':>10}")
        cells.append(f"{t_torch * 1e3:9.3f}" if t_torch is not None else f"{'':>9}")
        if t_naive is not None:
            vs_naive[kind].append(t_naive / t_ref)
            cells.append(f"{t_naive / t_ref:10.0f}")
        else:
            cells.append(f"{'':>10}")
        if t_torch is not None:
            vs_torch[kind].append(t_ref / t_torch)
            cells.append(f"{t_ref / t_torch:10.2f}")
        print(" ".join(cells), flush=True)
    print("-" * len(header))
    for kind in ("conv", "pool"):
        print(
            f"geometric mean {kind}: naive/ref {geomean(vs_naive[kind]):.0f}x "
            f"({len(vs_naive[kind])} cases), ref/torch {geomean(vs_torch[kind]):.2f} "
            f"({len(vs_torch[kind])} cases)"
        )
    both = vs_torch["conv"] + vs_torch["pool"]
    if both:
        print(f"geometric mean all: ref/torch {geomean(both):.2f} ({len(both)} cases)")
    if torch is not None and args.only != "pool":
        print_gemm_floor(args, rng)
    print(f"load average at the end {os.getloadavg()[0]:.2f} (this benchmark adds about 1)")


def _three_products(cols, W_b, dZ):
    """Z = cols @ W_b, dW_b = cols.T @ dZ, dcols = dZ @ W_b.T (NumPy arrays or torch tensors)."""
    return cols @ W_b, cols.T @ dZ, dZ @ W_b.T


def print_gemm_floor(args: argparse.Namespace, rng: np.random.Generator) -> None:
    """The convolutions' three matrix products alone, NumPy's BLAS against PyTorch's (MKL).

    An im2col convolution, forward + backward, does three products of the im2col matrix
    (rows m*n_H*n_W, columns f*f*n_C_prev + 1): Z = cols @ W, dW = cols.T @ dZ and
    dcols = dZ @ W.T. Their time with NumPy's BLAS, divided by PyTorch's time for the
    whole layer, is the ratio a NumPy reference cannot go below whatever it does around
    them (it can only change their shapes: see reference._shifted).
    """
    print()
    header = f"{'products of':<42} {'numpy ms':>9} {'torch ms':>9} {'np/torch':>9} {'np / torch layer':>17}"
    print(header)
    print("-" * len(header))
    for shape, n_C, f, stride, pad in CONV_CASES:
        m, n_H_prev, n_W_prev, n_C_prev = shape
        n_H = (n_H_prev + 2 * pad - f) // stride + 1
        n_W = (n_W_prev + 2 * pad - f) // stride + 1
        cols = rng.standard_normal((m * n_H * n_W, f * f * n_C_prev + 1))
        W_b = rng.standard_normal((cols.shape[1], n_C))
        dZ = rng.standard_normal((cols.shape[0], n_C))
        fns = {
            "numpy": functools.partial(_three_products, cols, W_b, dZ),
            "torch": functools.partial(_three_products, *(torch.from_numpy(x) for x in (cols, W_b, dZ))),
            "layer": conv_fns(shape, n_C, f, stride, pad, rng)[2],
        }
        times = best_times(fns, args.repeats, args.min_batch)
        label = f"conv {shape}->{n_C} f{f} s{stride} p{pad}"
        print(
            f"{label:<42} {times['numpy'] * 1e3:9.3f} {times['torch'] * 1e3:9.3f} "
            f"{times['numpy'] / times['torch']:9.2f} {times['numpy'] / times['layer']:17.2f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
