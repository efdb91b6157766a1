"""Time to a verdict on a library author's layer: ``check_vjp`` against ``torch.autograd.gradcheck``.

Both check the same numpy code: the class-based layers of ``examples/layers.py`` (``Conv2D``,
3x3 kernel, 8 filters, stride 1, pad 1; ``MaxPool2D``, 2x2 windows, stride 2), at the input
(2, 24, 24, 8) and at 4x as many numbers, (2, 48, 48, 8). PyTorch calls that code through a
``torch.autograd.Function`` whose forward runs the layer and keeps a snapshot of its state
(the attributes ``forward`` set) in ``ctx``, and whose backward restores it and runs the
layer's backward: gradcheck's perturbed forwards run between the forward and the backward,
and would otherwise leave their own state behind.

Four timings per layer and size, in one run, each the minimum over repeats:

- ``check_vjp`` (``mode="screen"``: each input along one random direction) and
  ``torch.autograd.gradcheck(fast_mode=True)`` (one random direction per input too);
- ``check_vjp(mode="full")`` (every element, two forward calls each) and
  ``torch.autograd.gradcheck(fast_mode=False)`` (every element, and one backward per output
  element for the analytic Jacobian).

The ratios printed are gradcheck's time over PyTorch's (below 1: gradcheck is faster). Each
verdict is printed too: both tools must pass the correct layers, and fail a wrong one (the
conv layer's dW off by 0.1% in one element), which is checked once per size.

Run with both OpenBLAS variables unset (see benchmarks/README.md)::

    pip install torch==2.13.0               # optional, not a project dependency
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_vjp.py
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_vjp.py --full all   # full modes at 4x too

Options: ``--repeats N`` (timed runs of each fast check, default 7), ``--full small|all|none``
(the sizes the full modes run at: by default the small one only; PyTorch's full mode takes
about three minutes on the small conv layer here, one backward per output element, and about
16 times as long at 4x the size, so ``--full all`` runs for about an hour), ``--torch-threads``.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "examples"))

from layers import Conv2D, MaxPool2D  # noqa: E402

from gradcheck import check_vjp  # noqa: E402

SIZES = {"small": (2, 24, 24, 8), "large": (2, 48, 48, 8)}
PAUSE = 0.25  # seconds between blocks: let BLAS and OpenMP worker threads stop spinning


class ConvGlue:
    """The glue of docs/usage.md for a Conv2D: parameters set on the layer, gradients read back."""

    def __init__(self, layer: Conv2D, wrong: bool = False) -> None:
        self.layer, self.wrong = layer, wrong

    def forward(self, x: np.ndarray, W: np.ndarray, b: np.ndarray) -> np.ndarray:
        self.layer.W, self.layer.b = W, b
        return self.layer.forward(x)

    def backward(self, G: np.ndarray, x: np.ndarray, W: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, ...]:
        dx = self.layer.backward(G)
        dW = self.layer.dW
        if self.wrong:
            dW = dW.copy()
            dW[0, 1, 2, 3] *= 1.001
        return dx, dW, self.layer.db


class PoolGlue:
    def __init__(self, layer: MaxPool2D) -> None:
        self.layer = layer

    def forward(self, x: np.ndarray) -> np.ndarray:
        return self.layer.forward(x)

    def backward(self, G: np.ndarray, x: np.ndarray) -> np.ndarray:
        return self.layer.backward(G)


def torch_function(glue, state_of: object):
    """A torch.autograd.Function that runs ``glue``'s numpy forward and backward, with the
    layer's state (its attribute dict, shallow-copied) kept in ctx between them."""
    import torch

    class Layer(torch.autograd.Function):
        @staticmethod
        def forward(ctx, *tensors):
            out = glue.forward(*[t.detach().numpy() for t in tensors])
            ctx.state = dict(state_of.__dict__)
            ctx.arrays = [t.detach().numpy() for t in tensors]
            return torch.from_numpy(np.ascontiguousarray(out))

        @staticmethod
        def backward(ctx, grad):
            state_of.__dict__.update(ctx.state)
            grads = glue.backward(grad.detach().numpy(), *ctx.arrays)
            grads = grads if isinstance(grads, tuple) else (grads,)
            return tuple(torch.from_numpy(np.ascontiguousarray(g)) for g in grads)

    return Layer.apply


def cases(size: str):
    """(name, glue, numpy inputs, names) for each layer at ``size``."""
    rng = np.random.default_rng(0)
    shape = SIZES[size]
    conv = Conv2D(shape[3], 8, 3, rng=rng)
    x = rng.standard_normal(shape)
    b = rng.standard_normal(8)
    yield f"conv {shape} 3x3->8", ConvGlue(conv), (x, conv.W.copy(), b), ["x", "W", "b"]
    # max pooling is checked away from its kinks, as docs/usage.md says: distinct values
    # 4 / n apart, so that no window holds two within a finite-difference step of each other
    n = int(np.prod(shape))
    tie_free = (rng.permutation(n).reshape(shape) - n / 2) * (4.0 / n)
    yield f"pool {shape} 2x2 s2", PoolGlue(MaxPool2D(2)), (tie_free,), ["x"]


def ours(glue, inputs, names, mode: str) -> Callable[[], bool]:
    return lambda: check_vjp(glue.forward, glue.backward, inputs, names=names, mode=mode).passed


def theirs(glue, inputs, fast: bool) -> Callable[[], bool]:
    import torch

    function = torch_function(glue, glue.layer)
    tensors = tuple(torch.from_numpy(a.copy()).requires_grad_() for a in inputs)
    return lambda: bool(torch.autograd.gradcheck(function, tensors, fast_mode=fast, raise_exception=False))


def timed(check: Callable[[], bool], repeats: int) -> tuple[float, bool]:
    """(best wall time in s, verdict) over ``repeats`` runs after one untimed warm-up run; with
    ``repeats=0``, the time of a single run (the full modes, which take seconds to minutes)."""
    if repeats == 0:
        started = time.perf_counter()
        verdict = check()
        return time.perf_counter() - started, verdict
    verdict = check()
    best = math.inf
    for _ in range(repeats):
        started = time.perf_counter()
        verdict = check() and verdict
        best = min(best, time.perf_counter() - started)
    return best, verdict


def alternate(a: Callable[[], bool], b: Callable[[], bool], repeats: int) -> tuple[tuple[float, bool], ...]:
    """Time ``a`` and ``b`` in alternating blocks (twice each), keeping each one's best."""
    best_a, best_b = (math.inf, True), (math.inf, True)
    for _ in range(2):
        for which in ("a", "b"):
            time.sleep(PAUSE)
            t, ok = timed(a if which == "a" else b, max(1, repeats // 2))
            if which == "a":
                best_a = (min(best_a[0], t), best_a[1] and ok)
            else:
                best_b = (min(best_b[0], t), best_b[1] and ok)
    return best_a, best_b


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--full", choices=("all", "small", "none"), default="small")
    parser.add_argument("--torch-threads", type=int, default=2)
    args = parser.parse_args(argv)
    try:
        import torch
    except ImportError:
        print("PyTorch is not installed: pip install torch==2.13.0 (not a project dependency)")
        return 1
    torch.set_num_threads(args.torch_threads)
    print(f"numpy {np.__version__}, torch {torch.__version__} ({torch.get_num_threads()} threads), "
          f"load average {os.getloadavg()[0]:.2f}")
    header = f"{'layer':36} {'mode':6} {'gradcheck s':>12} {'torch s':>10} {'ratio':>7}  verdicts"
    print(header)
    print("-" * len(header))
    ratios: dict[str, list[float]] = {"screen/fast": [], "full/full": []}
    for size in SIZES:
        for name, glue, inputs, names in cases(size):
            (t_ours, ok_ours), (t_torch, ok_torch) = alternate(
                ours(glue, inputs, names, "screen"), theirs(glue, inputs, fast=True), args.repeats)
            ratios["screen/fast"].append(t_ours / t_torch)
            print(f"{name:36} {'fast':6} {t_ours:12.4f} {t_torch:10.4f} {t_ours / t_torch:7.2f}  "
                  f"gradcheck {'pass' if ok_ours else 'FAIL'}, torch {'pass' if ok_torch else 'FAIL'}")
            if args.full == "all" or (args.full == "small" and size == "small"):
                time.sleep(PAUSE)
                t_ours, ok_ours = timed(ours(glue, inputs, names, "full"), 0)
                time.sleep(PAUSE)
                t_torch, ok_torch = timed(theirs(glue, inputs, fast=False), 0)
                ratios["full/full"].append(t_ours / t_torch)
                print(f"{name:36} {'full':6} {t_ours:12.2f} {t_torch:10.2f} {t_ours / t_torch:7.2f}  "
                      f"gradcheck {'pass' if ok_ours else 'FAIL'}, torch {'pass' if ok_torch else 'FAIL'}")
        rng = np.random.default_rng(1)
        conv = Conv2D(8, 8, 3, rng=rng)
        wrong = ConvGlue(conv, wrong=True)
        inputs = (rng.standard_normal(SIZES[size]), conv.W.copy(), rng.standard_normal(8))
        caught_ours = not ours(wrong, inputs, ["x", "W", "b"], "screen")()
        caught_torch = not theirs(wrong, inputs, fast=True)()
        print(f"{'conv ' + str(SIZES[size]) + ', dW[0,1,2,3] * 1.001':36} {'fast':6} {'':12} {'':10} {'':7}  "
              f"caught: gradcheck {'yes' if caught_ours else 'NO'}, torch {'yes' if caught_torch else 'NO'}")
    print("-" * len(header))
    for key, values in ratios.items():
        if values:
            geomean = math.exp(sum(math.log(v) for v in values) / len(values))
            print(f"{key}: geometric mean {geomean:.2f} over {len(values)} cases (max {max(values):.2f})")
    print(f"load average {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
