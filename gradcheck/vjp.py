"""``check_vjp``: check any numpy function against its hand-written backward.

Identity checked, for a random upstream gradient ``G`` (never all ones) and each
input ``x_i``::

    backward(G, *inputs)[i]  ==  d/dx_i sum(G * forward(*inputs))

element by element, by central differences of ``forward``
(``gradcheck.engine.numeric.central_difference``, one element at a time: nothing is
known of the function's sparsity). A general function is not linear, so the central
difference has a truncation error ~ h^2 f''' / 6 besides rounding ~ eps |L| / h: the
step defaults to ``eps**(1/3) * max(1, max |x|)`` and the comparison uses
``atol + rtol * |numeric|``.

Kinks. Where the function is not differentiable (ReLU at ``x == 0``, a tie in a
max) the central difference averages the two one-sided slopes, and no backward can
match it. For every mismatched element the one-sided differences are compared (they
come from the same forward calls); when they disagree by as much as the mismatch,
the result carries a warning that names the element and says it sits at a kink.

The course's convention. A forward that returns ``(out, cache)`` and a backward
called as ``backward(dout, cache)`` are checked with ``cache=True``::

    def relu_forward(x):
        return np.maximum(0, x), x                 # (out, cache)

    def relu_backward(dout, cache):
        return dout * (cache > 0)

    check_vjp(relu_forward, relu_backward, (x,), cache=True)

For a layer with hyperparameters, close over them:
``check_vjp(lambda A, W, b: conv_forward(A, W, b, hp), conv_backward, (A, W, b), cache=True)``.

Example: a dense layer ::

    import numpy as np
    from gradcheck import assert_vjp

    def dense(x, W, b):                      # x (m, n_in), W (n_in, n_out), b (n_out,)
        return x @ W + b

    def dense_backward(G, x, W, b):          # G (m, n_out)
        return G @ W.T, x.T @ G, G.sum(axis=0)

    rng = np.random.default_rng(0)
    inputs = (rng.standard_normal((4, 3)), rng.standard_normal((3, 2)), rng.standard_normal(2))
    assert_vjp(dense, dense_backward, inputs)            # raises GradcheckError on a mismatch
    result = check_vjp(dense, dense_backward, inputs)    # or inspect: result.passed, result.message
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gradcheck.errors import GradcheckError, UsageError
from gradcheck.verdict.compare import Comparison, mismatch_order

EPS = np.finfo(np.float64).eps
MAX_KINK_WARNINGS = 5


@dataclass
class VjpResult:
    """Per-input comparisons of analytic and numeric gradients.

    ``problems``: why it does not pass (one entry per failing input); ``warnings``:
    mismatched elements that sit at a kink of the function (see module docstring)."""

    names: list[str]
    comparisons: list[Comparison] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    message: str = ""

    @property
    def passed(self) -> bool:
        return not self.problems and all(comparison.passed for comparison in self.comparisons)

    def __bool__(self) -> bool:  # pragma: no cover - avoid `if check_vjp(...)` surprises
        raise TypeError("use result.passed (or assert_vjp) instead of the truth value of a VjpResult")


def _validate_inputs(inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    if isinstance(inputs, np.ndarray) or not isinstance(inputs, Sequence) or not inputs:
        raise UsageError("inputs must be a non-empty tuple of arrays, e.g. (x, W, b)")
    arrays = []
    for position, value in enumerate(inputs):
        if not isinstance(value, np.ndarray) or value.dtype != np.float64:
            found = getattr(value, "dtype", type(value).__name__)
            raise UsageError(
                f"inputs[{position}] must be a float64 ndarray, got {found}; "
                "finite differences need float64: pass np.asarray(x, dtype=np.float64)"
            )
        arrays.append(value)
    return arrays


def _forward(forward: Callable[..., Any], args: Sequence[np.ndarray], cache: bool) -> tuple[np.ndarray, Any]:
    """(output as float64, cache or None); with ``cache`` forward must return (out, cache)."""
    value = forward(*[a.copy() for a in args])
    saved = None
    if cache:
        if not isinstance(value, tuple | list) or len(value) != 2:
            raise UsageError(
                f"cache=True: forward must return (out, cache), got {type(value).__name__}; "
                "for a forward that returns only its output, pass cache=False and a backward(G, *inputs)"
            )
        value, saved = value
    return np.asarray(value, dtype=np.float64), saved


def check_vjp(
    forward: Callable[..., Any],
    backward: Callable[..., np.ndarray | tuple[np.ndarray, ...]],
    inputs: Sequence[np.ndarray],
    *,
    seed: int = 0,
    rtol: float = 1e-6,
    atol: float = 1e-8,
    step: float | None = None,
    names: Sequence[str] | None = None,
    cache: bool = False,
) -> VjpResult:
    """Compare ``backward`` with central differences of ``sum(G * forward(*inputs))``.

    ``backward(G, *inputs)`` (or, with ``cache=True``, ``backward(G, cache)`` where
    ``forward`` returns ``(out, cache)``) returns one gradient per input (a single
    array when there is one input), each shaped like its input. ``G`` is a random
    upstream gradient shaped like the output, drawn from ``seed``. Returns a :class:`VjpResult`.
    """
    arrays = _validate_inputs(inputs)
    names = list(names) if names is not None else [f"inputs[{i}]" for i in range(len(arrays))]
    if len(names) != len(arrays):
        raise UsageError(f"names has {len(names)} entries for {len(arrays)} inputs")
    # imported here: `import gradcheck` stays light and does not load the engine package
    from gradcheck.engine.numeric import central_difference

    rng = np.random.default_rng(seed)
    output, saved = _forward(forward, arrays, cache)
    upstream = rng.standard_normal(output.shape)
    if cache:
        gradients = backward(upstream.copy(), saved)
    else:
        gradients = backward(upstream.copy(), *[a.copy() for a in arrays])
    if len(arrays) == 1 and isinstance(gradients, np.ndarray):
        gradients = (gradients,)
    if not isinstance(gradients, tuple | list) or len(gradients) != len(arrays):
        raise GradcheckError(
            f"backward returned {type(gradients).__name__}; expected one gradient per input ({len(arrays)})"
        )
    result = VjpResult(names)
    for position, (x, analytic) in enumerate(zip(arrays, gradients, strict=True)):
        analytic = np.asarray(analytic)
        if analytic.shape != x.shape:
            result.problems.append(f"gradient of {names[position]} has shape {analytic.shape}, expected {x.shape}")
            continue
        h = step if step is not None else EPS ** (1 / 3) * max(1.0, float(np.abs(x).max(initial=0.0)))
        outputs: list[np.ndarray] = []

        def evaluate(points: Sequence[np.ndarray], position: int = position,
                     outputs: list[np.ndarray] = outputs) -> list[np.ndarray]:
            values = [_forward(forward, [p if i == position else a for i, a in enumerate(arrays)], cache)[0]
                      for p in points]
            outputs.extend(values)
            return values

        numeric = central_difference(
            evaluate, x, upstream, magnitude=np.zeros(output.shape), n_terms=1, step=h
        ).gradient
        comparison = Comparison(analytic.astype(np.float64), numeric, atol + rtol * np.abs(numeric))
        result.comparisons.append(comparison)
        if not comparison.passed:
            result.problems.append(
                f"gradient of {names[position]} does not match the central difference "
                f"(rtol={rtol:g}, atol={atol:g})\n{comparison.table()}"
            )
            result.warnings += _kinks(comparison, x, h, output, upstream, outputs, names[position])
    lines = result.problems or ["every gradient matches its central difference"]
    result.message = "\n".join([*lines, *(f"warning: {w}" for w in result.warnings)])
    return result


def _kinks(comparison: Comparison, x: np.ndarray, h: float, output: np.ndarray, upstream: np.ndarray,
           outputs: list[np.ndarray], name: str) -> list[str]:
    """Warnings for mismatched elements whose one-sided differences disagree (a kink).

    ``outputs[2k]``, ``outputs[2k + 1]`` are F at x + h e_k and x - h e_k (flat order)."""
    warnings = []
    flat = x.reshape(-1)
    for k in mismatch_order(comparison.error, comparison.tolerance)[:MAX_KINK_WARNINGS]:
        k = int(k)
        right = float(np.sum(upstream * (outputs[2 * k] - output))) / ((flat[k] + h) - flat[k])
        left = float(np.sum(upstream * (output - outputs[2 * k + 1]))) / (flat[k] - (flat[k] - h))
        if abs(right - left) >= 0.5 * float(comparison.error.reshape(-1)[k]):
            index = [int(i) for i in np.unravel_index(k, x.shape)]
            warnings.append(
                f"{name}{index} = {flat[k]:.6g} sits at a kink: the function is not differentiable there "
                f"(slope {right:.6g} to the right, {left:.6g} to the left; the central difference averages "
                "them), e.g. ReLU at x == 0 or a tie in a max. Any value between the two slopes is a valid "
                "subgradient; draw inputs away from kinks to check the gradient"
            )
    return warnings


def assert_vjp(
    forward: Callable[..., Any],
    backward: Callable[..., np.ndarray | tuple[np.ndarray, ...]],
    inputs: Sequence[np.ndarray],
    **options: Any,
) -> VjpResult:
    """Like :func:`check_vjp`, raising :class:`GradcheckError` with the mismatch message
    (and any kink warning) when it does not pass; returns the result when it does."""
    __tracebackhide__ = True
    result = check_vjp(forward, backward, inputs, **options)
    if not result.passed:
        raise GradcheckError(result.message)
    return result
