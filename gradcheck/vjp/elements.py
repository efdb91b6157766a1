"""Per-element central differences of ``check_vjp`` (the full mode, and how a failure is localised).

Identity checked, for each selected element k of an input x (flat index into x)::

    g[k]  ==  (L(x + h e_k) - L(x - h e_k)) / ((x[k] + h) - (x[k] - h)),   L = sum(G * F)

within ``atol + rtol * |numeric|``, two forward calls per element. This is the check
``check_vjp`` made of every element before the directional screen existed; the numbers
are the same (same points, same sums), so its verdicts are too.

A general function is not linear, so the difference has a truncation error ~ h^2 f''' / 6
besides rounding ~ eps |L| / h: the step is ``eps**(1/3) * max(1, max |x|)``.

Kinks. Where the function is not differentiable (ReLU at ``x == 0``, a tie in a max) the
central difference averages the two one-sided slopes, and no backward can match it. For
a mismatched element the one-sided differences are compared (they come from the same
forward calls); when they disagree by as much as the mismatch, a warning names the
element and says it sits at a kink.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

EPS = np.finfo(np.float64).eps
MAX_KINK_WARNINGS = 5

Evaluate = Callable[[Sequence[np.ndarray]], list[np.ndarray]]


def element_step(x: np.ndarray) -> float:
    """``eps**(1/3) * max(1, max |x|)``: balances truncation (h^2) against rounding (1/h)."""
    return EPS ** (1 / 3) * max(1.0, float(np.abs(x).max(initial=0.0)))


CHUNK = 32  # elements whose points are built and evaluated at once (memory: 2 * CHUNK inputs)


@dataclass
class Elements:
    """Central differences of the elements ``indices`` (flat, into x): ``numeric[i]`` is the
    gradient of element ``indices[i]``; ``right[i]`` and ``left[i]`` its one-sided differences
    (from the same forward calls and F(x), to tell a kink)."""

    indices: np.ndarray
    numeric: np.ndarray
    right: np.ndarray
    left: np.ndarray
    step: float

    @property
    def forward_calls(self) -> int:
        return 2 * len(self.indices)


def differences(evaluate: Evaluate, x: np.ndarray, indices: Sequence[int] | np.ndarray, upstream: np.ndarray,
                output: np.ndarray, step: float) -> Elements:
    """Central (and one-sided) differences of ``L = sum(upstream * F)`` for the elements
    ``indices`` of x; ``output`` is F(x). ``evaluate`` maps a list of inputs shaped like x to
    the list of their outputs; it is called once per :data:`CHUNK` elements."""
    flat = x.reshape(-1)
    indices = np.asarray(indices, dtype=np.intp).reshape(-1)
    numeric, right, left = (np.empty(len(indices)) for _ in range(3))
    for start in range(0, len(indices), CHUNK):
        chunk = indices[start : start + CHUNK]
        points = []
        for k in chunk:
            for moved in (flat[k] + step, flat[k] - step):
                point = flat.copy()
                point[k] = moved
                points.append(point.reshape(x.shape))
        outputs = evaluate(points)
        for offset, k in enumerate(chunk):
            plus, minus = outputs[2 * offset], outputs[2 * offset + 1]
            i = start + offset
            numeric[i] = np.sum(upstream * (plus - minus)) / ((flat[k] + step) - (flat[k] - step))
            right[i] = float(np.sum(upstream * (plus - output))) / ((flat[k] + step) - flat[k])
            left[i] = float(np.sum(upstream * (output - minus))) / (flat[k] - (flat[k] - step))
    return Elements(indices, numeric, right, left, step)


def kink_warnings(elements: Elements, order: Sequence[int], x: np.ndarray, error: np.ndarray,
                  name: str) -> list[str]:
    """Warnings for mismatched elements (positions ``order`` into ``elements``, worst first)
    whose one-sided differences disagree by at least half their mismatch ``error``: a kink."""
    warnings = []
    flat = x.reshape(-1)
    for i in list(order)[:MAX_KINK_WARNINGS]:
        k = int(elements.indices[i])
        right, left = float(elements.right[i]), float(elements.left[i])
        if abs(right - left) >= 0.5 * float(error[i]):
            index = [int(j) for j in np.unravel_index(k, x.shape)]
            warnings.append(
                f"{name}{index} = {flat[k]:.6g} sits at a kink: the function is not differentiable there "
                f"(slope {right:.6g} to the right, {left:.6g} to the left; the central difference averages "
                "them), e.g. ReLU at x == 0 or a tie in a max. Any value between the two slopes is a valid "
                "subgradient; draw inputs away from kinks to check the gradient"
            )
    return warnings
