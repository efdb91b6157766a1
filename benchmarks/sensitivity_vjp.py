"""How small an error in one element ``check_vjp`` still catches, screen and per element.

For a gradient of 10,000 elements, the input of a linear layer (``Conv2D`` of
examples/layers.py, checked in x: 3x3 kernel, 8 -> 8 channels, x (2, 25, 25, 8)) and of a
non-linear one (``LayerNorm`` over the 8 channels, random gamma), one element k at a time
is made wrong by a relative error delta (``g[k] * (1 + delta)``), and the script finds the
smallest delta (to 1%, by bisection on log delta) at which

- the random-direction screen fails (``gradcheck.vjp.directional``, the default mode's
  first step; the forward's outputs do not depend on delta, so they are computed once per
  layer and the screen is re-judged for each delta);
- the per-element check of element k fails (``atol + rtol * |numeric|``, defaults
  ``rtol=1e-6``, ``atol=1e-8``: the full mode, and what decides after a failed screen).

A wrong element fails ``check_vjp`` when both do (the screen, then the per-element check
of the elements it localises), so the check's own threshold is the larger of the two.
Prints the median, 90th percentile and largest threshold over ``--elements`` random
elements (seeded), and the same in absolute terms, relative to the gradient's RMS.

    python benchmarks/sensitivity_vjp.py [--elements 50] [--seed 0]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "examples"))

from layers import Conv2D, LayerNorm  # noqa: E402

from gradcheck.vjp import directional  # noqa: E402
from gradcheck.vjp.elements import differences, element_step  # noqa: E402

SHAPE = (2, 25, 25, 8)  # 10,000 elements
RTOL, ATOL = 1e-6, 1e-8


def layers(rng: np.random.Generator):
    conv = Conv2D(8, 8, 3, rng=rng)
    conv.b = rng.standard_normal(8)
    yield "linear: Conv2D, x", conv
    norm = LayerNorm(8)
    norm.gamma, norm.beta = rng.standard_normal(8), rng.standard_normal(8)
    yield "non-linear: LayerNorm, x", norm


def smallest(fails, low: float = 1e-16, high: float = 1e3) -> float:
    """The smallest delta in [low, high] with fails(delta), to 1% (fails is monotone)."""
    if not fails(high):
        return float("inf")
    while high / low > 1.01:
        middle = float(np.sqrt(low * high))
        low, high = (low, middle) if fails(middle) else (middle, high)
    return high


def thresholds(layer, x: np.ndarray, rng: np.random.Generator, elements: int) -> np.ndarray:
    """(elements, 2) thresholds: the screen's and the per-element check's, per element."""
    output = layer.forward(x)
    upstream = rng.standard_normal(output.shape)
    gradient = layer.backward(upstream).copy()
    direction = directional.random_direction(rng, x.shape)
    steps = directional.default_steps(x)
    cached: list[np.ndarray] = []

    def evaluate(points):
        if not cached:
            cached.extend(np.asarray(layer.forward(p)) for p in points)
        return cached

    def screen_fails(k: int, delta: float) -> bool:
        wrong = gradient.copy()
        wrong.flat[k] *= 1 + delta
        return not directional.screen(evaluate, x, direction, wrong, upstream, output, steps).passed

    assert not screen_fails(0, 0.0), "the correct gradient must pass the screen"
    picked = rng.choice(x.size, size=elements, replace=False)
    numeric = differences(lambda ps: [np.asarray(layer.forward(p)) for p in ps], x, picked, upstream, output,
                          element_step(x)).numeric
    out = np.empty((elements, 2))
    for i, k in enumerate(picked):
        g, n = gradient.flat[k], numeric[i]
        out[i, 0] = smallest(lambda delta, k=k: screen_fails(int(k), delta))
        out[i, 1] = smallest(lambda delta, g=g, n=n: abs(g * (1 + delta) - n) > ATOL + RTOL * abs(n))
    rms = float(np.sqrt(np.mean(gradient * gradient)))
    return out, np.abs(gradient.flat[picked]) / rms


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--elements", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    print(f"smallest relative error delta in one element of {int(np.prod(SHAPE))} that fails, over "
          f"{args.elements} random elements (median / 90th percentile / largest)")
    header = f"{'layer':26} {'screen':>28} {'per element':>28} {'check_vjp':>28}"
    print(header)
    print("-" * len(header))
    for name, layer in layers(rng):
        x = rng.standard_normal(SHAPE)
        found, relative_size = thresholds(layer, x, rng, args.elements)
        whole = found.max(axis=1)

        def row(values):
            return f"{np.median(values):8.2g} / {np.percentile(values, 90):8.2g} / {values.max():8.2g}"

        print(f"{name:26} {row(found[:, 0]):>28} {row(found[:, 1]):>28} {row(whole):>28}")
        absolute = found * relative_size[:, None]
        print(f"{'  (|error| / rms of g)':26} {row(absolute[:, 0]):>28} {row(absolute[:, 1]):>28} "
              f"{row(absolute.max(axis=1)):>28}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
