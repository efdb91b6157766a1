"""``check_vjp``: check any numpy function against its hand-written backward.

Identity checked, for a random upstream gradient ``G`` (never all ones) and each
input ``x_i``::

    backward(G, *inputs)[i]  ==  d/dx_i sum(G * forward(*inputs))

element by element, by central differences of ``forward`` (one element at a time:
the engine knows nothing of the function's sparsity). A general function is not
linear, so the central difference has a truncation error ~ h^2 f''' / 6 besides
rounding ~ eps |L| / h: the step defaults to ``eps**(1/3) * max(1, |x|)`` and
the comparison uses ``atol + rtol * |numeric|``.

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

import numpy as np

from gradcheck.errors import GradcheckError, UsageError
from gradcheck.verdict.compare import Comparison

EPS = np.finfo(np.float64).eps


@dataclass
class VjpResult:
    """Per-input comparisons of analytic and numeric gradients."""

    names: list[str]
    comparisons: list[Comparison] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
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


def check_vjp(
    forward: Callable[..., np.ndarray],
    backward: Callable[..., np.ndarray | tuple[np.ndarray, ...]],
    inputs: Sequence[np.ndarray],
    *,
    seed: int = 0,
    rtol: float = 1e-6,
    atol: float = 1e-8,
    step: float | None = None,
    names: Sequence[str] | None = None,
) -> VjpResult:
    """Compare ``backward(G, *inputs)`` with central differences of ``sum(G * forward(*inputs))``.

    ``backward`` returns one gradient per input (a single array when there is one
    input), each shaped like its input. Returns a :class:`VjpResult`.
    """
    arrays = _validate_inputs(inputs)
    names = list(names) if names is not None else [f"inputs[{i}]" for i in range(len(arrays))]
    if len(names) != len(arrays):
        raise UsageError(f"names has {len(names)} entries for {len(arrays)} inputs")
    rng = np.random.default_rng(seed)
    output = np.asarray(forward(*[a.copy() for a in arrays]), dtype=np.float64)
    upstream = rng.standard_normal(output.shape)
    gradients = backward(upstream.copy(), *[a.copy() for a in arrays])
    if len(arrays) == 1 and isinstance(gradients, np.ndarray):
        gradients = (gradients,)
    if not isinstance(gradients, tuple | list) or len(gradients) != len(arrays):
        raise GradcheckError(
            f"backward returned {type(gradients).__name__}; expected one gradient per input ({len(arrays)})"
        )
    result = VjpResult(names)
    problems = result.problems
    for position, (x, analytic) in enumerate(zip(arrays, gradients, strict=True)):
        analytic = np.asarray(analytic)
        if analytic.shape != x.shape:
            problems.append(f"gradient of {names[position]} has shape {analytic.shape}, expected {x.shape}")
            continue
        numeric = np.zeros(x.shape)
        flat = x.reshape(-1)
        for k in range(flat.size):
            h = step if step is not None else EPS ** (1 / 3) * max(1.0, abs(flat[k]))
            plus, minus = x.copy(), x.copy()
            plus.reshape(-1)[k] += h
            minus.reshape(-1)[k] -= h
            width = plus.reshape(-1)[k] - minus.reshape(-1)[k]
            args_plus = [plus if i == position else a for i, a in enumerate(arrays)]
            args_minus = [minus if i == position else a for i, a in enumerate(arrays)]
            delta = np.asarray(forward(*args_plus)) - np.asarray(forward(*args_minus))
            numeric.reshape(-1)[k] = np.sum(upstream * delta) / width
        comparison = Comparison(analytic.astype(np.float64), numeric, atol + rtol * np.abs(numeric))
        result.comparisons.append(comparison)
        if not comparison.passed:
            problems.append(
                f"gradient of {names[position]} does not match the central difference "
                f"(rtol={rtol:g}, atol={atol:g})\n{comparison.table()}"
            )
    result.message = "\n".join(problems) if problems else "every gradient matches its central difference"
    return result


def assert_vjp(forward, backward, inputs, **options) -> None:
    """Like :func:`check_vjp`, raising :class:`GradcheckError` with the mismatch message."""
    __tracebackhide__ = True
    result = check_vjp(forward, backward, inputs, **options)
    if not result.passed:
        raise GradcheckError(result.message)
