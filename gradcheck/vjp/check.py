"""``check_vjp``: check any numpy function against its hand-written backward.

Identity checked, for a random upstream gradient ``G`` (never all ones) and each
input ``x_i``::

    backward(G, *inputs)[i]  ==  d/dx_i sum(G * forward(*inputs))

How (``mode="screen"``, the default). ``forward`` is called at the inputs, then ``backward``
once, right after it (so a layer that keeps state on itself for its backward sees the
state of that call); then each input is screened on its own along one random direction u:
``<backward(G)_i, u>`` against central differences of ``<G, forward(..., x_i + t u, ...)>``
(``gradcheck.vjp.directional``: twelve forward calls per input, whatever its size, and a
tolerance from the rounding and truncation estimates documented there). An input whose
screen fails is checked element by element to say which elements are wrong: all of them
when it has at most ``FULL_LIMIT`` elements, else the elements of the blocks that a
bisection of the screen finds failing (``gradcheck.vjp.bisection``). The per-element check
(``gradcheck.vjp.elements``) decides: a failure is always an element whose central
difference differs from ``backward`` by more than ``atol + rtol * |numeric|``, the check
``check_vjp`` always made, so its verdicts are those of ``mode="full"``, which compares every
element of every input (two forward calls per element) without screening. A screen that
fails where every element checked passes is a warning (the difference is below the
per-element tolerance, spread thinly over many elements, or a kink within the step).

Sensitivity (docs/usage.md, measured by benchmarks/sensitivity_vjp.py): the screen sees a
relative error of 2e-9 (linear layer) to 9e-9 (non-linear) in a single element of a
10,000-element gradient at the median element, 1.3e-8 to 2.7e-7 at the worst of 50, all
below ``rtol = 1e-6``: an error the per-element check would catch there, the screen
catches too.

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

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from gradcheck.errors import GradcheckError, UsageError
from gradcheck.verdict.compare import Comparison, mismatch_order
from gradcheck.vjp import directional
from gradcheck.vjp.bisection import Bisection
from gradcheck.vjp.elements import Elements, differences, element_step, kink_warnings
from gradcheck.vjp.result import BISECTION, PER_ELEMENT, SCREEN, InputFigure, VjpResult

MODES = ("screen", "full")
FULL_LIMIT = 1024  # a failed screen of an input this small is localised by checking every element
MAX_FOUND = 5  # bisection stops after this many mismatched elements


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
    return np.array(value, dtype=np.float64, copy=True), saved  # a copy: a layer may reuse its output buffer


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
    mode: str = "screen",
) -> VjpResult:
    """Compare ``backward`` with central differences of ``sum(G * forward(*inputs))``.

    ``backward(G, *inputs)`` (or, with ``cache=True``, ``backward(G, cache)`` where
    ``forward`` returns ``(out, cache)``) returns one gradient per input (a single
    array when there is one input), each shaped like its input. ``G`` is a random
    upstream gradient shaped like the output, drawn from ``seed``; so are the screen's
    directions. ``backward`` is called once, right after ``forward`` at the inputs.
    ``mode``: ``"screen"`` (each input along a random direction, per element only to
    localise a failure) or ``"full"`` (every element). ``rtol``, ``atol``: the per-element
    tolerance; ``step``: the per-element step (and the screen's only step) instead of the
    defaults. Returns a :class:`VjpResult`.
    """
    started = time.perf_counter()
    arrays = _validate_inputs(inputs)
    names = list(names) if names is not None else [f"inputs[{i}]" for i in range(len(arrays))]
    if len(names) != len(arrays):
        raise UsageError(f"names has {len(names)} entries for {len(arrays)} inputs")
    if mode not in MODES:
        raise UsageError(f"mode must be 'screen' or 'full', got {mode!r}")
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
    # copied before any other call: a layer may hand back a buffer that its next forward overwrites
    gradients = [np.array(gradient, copy=True) for gradient in gradients]
    result = VjpResult(names, mode=mode, forward_calls=1)
    for position, (x, analytic) in enumerate(zip(arrays, gradients, strict=True)):
        if analytic.shape != x.shape:
            result.problems.append(f"gradient of {names[position]} has shape {analytic.shape}, expected {x.shape}")
            continue
        calls = [0]

        def evaluate(points: Sequence[np.ndarray], position: int = position, calls: list[int] = calls
                     ) -> list[np.ndarray]:
            calls[0] += len(points)
            return [_forward(forward, [p if i == position else a for i, a in enumerate(arrays)], cache)[0]
                    for p in points]

        judge = _Input(evaluate, x, analytic.astype(np.float64), upstream, output, names[position], rtol, atol, step)
        comparison, problem, warnings, figure = judge.full() if mode == "full" else judge.screened(rng)
        figure.forward_calls = calls[0]
        result.comparisons.append(comparison)
        result.figures.append(figure)
        result.forward_calls += calls[0]
        if problem:
            result.problems.append(problem)
        result.warnings += warnings
    result.duration_s = time.perf_counter() - started
    result.compose()
    return result


class _Input:
    """Judging one input: the screen, and the per-element checks that localise a failure."""

    def __init__(self, evaluate: directional.Evaluate, x: np.ndarray, analytic: np.ndarray, upstream: np.ndarray,
                 output: np.ndarray, name: str, rtol: float, atol: float, step: float | None) -> None:
        self.evaluate, self.x, self.analytic, self.upstream, self.output = evaluate, x, analytic, upstream, output
        self.name, self.rtol, self.atol, self.step = name, rtol, atol, step
        self.h = step if step is not None else element_step(x)

    def _elements(self, indices: Sequence[int] | np.ndarray) -> Elements:
        return differences(self.evaluate, self.x, indices, self.upstream, self.output, self.h)

    def _compare(self, elements: Elements, analytic: np.ndarray) -> Comparison:
        numeric = elements.numeric.reshape(analytic.shape)
        return Comparison(analytic, numeric, self.atol + self.rtol * np.abs(numeric))

    def _header(self) -> str:
        return f"gradient of {self.name} does not match the central difference (rtol={self.rtol:g}, atol={self.atol:g})"

    def full(self, screen: directional.Screen | None = None) -> tuple[Comparison, str, list[str], InputFigure]:
        """Every element (``mode="full"``, or a failed screen of a small input)."""
        elements = self._elements(np.arange(self.x.size))
        comparison = self._compare(elements, self.analytic)
        figure = self._figure(comparison, PER_ELEMENT, elements.indices)
        if comparison.passed:
            outcome = f"all {self.x.size} elements pass their per-element check"
            warnings = [self._screen_warning(screen, outcome)] if screen is not None else []
            return comparison, "", warnings, figure
        order = mismatch_order(comparison.error, comparison.tolerance)
        kinks = kink_warnings(elements, order, self.x, comparison.error.reshape(-1), self.name)
        return comparison, f"{self._header()}\n{comparison.table()}", kinks, figure

    def screened(self, rng: np.random.Generator) -> tuple[Comparison, str, list[str], InputFigure]:
        """The screen along a random direction; a failure is localised per element."""
        direction = directional.random_direction(rng, self.x.shape)
        steps = (self.step,) if self.step is not None else directional.default_steps(self.x)
        screen = directional.screen(self.evaluate, self.x, direction, self.analytic, self.upstream, self.output,
                                    steps)
        decided = screen.decided
        if screen.passed:
            comparison = Comparison(np.array(decided.analytic), np.array(decided.numeric),
                                    np.array(decided.tolerance))
            figure = InputFigure(self.name, SCREEN, True, decided.error, decided.tolerance, 0, self.x.size,
                                 step=decided.step, estimate=decided.label)
            return comparison, "", [], figure
        if self.x.size <= FULL_LIMIT or not screen.finite:
            return self.full(screen)
        return self._bisect(direction, steps, screen)

    def _bisect(self, direction: np.ndarray, steps: Sequence[float], screen: directional.Screen
                ) -> tuple[Comparison, str, list[str], InputFigure]:
        """Block screens down to blocks of a few elements, which are compared one by one."""

        def fails(blocks: Sequence[np.ndarray]) -> list[bool]:
            verdicts = []
            for block in blocks:
                restricted = np.zeros(self.x.size)
                restricted[block] = direction.reshape(-1)[block]
                verdicts.append(not directional.screen(
                    self.evaluate, self.x, restricted.reshape(self.x.shape), self.analytic, self.upstream,
                    self.output, steps).passed)
            return verdicts

        search = Bisection(self.x.size, fails)
        checked: list[Elements] = []
        found = 0
        for leaf in search:
            elements = self._elements(leaf)
            checked.append(elements)
            found += int(self._compare(elements, self.analytic.reshape(-1)[leaf]).mismatched.sum())
            if found >= MAX_FOUND:
                break
        if not checked:  # the search found no failing leaf: nothing was compared per element
            comparison = Comparison(np.zeros(0), np.zeros(0), np.zeros(0))
            figure = InputFigure(self.name, BISECTION, True, 0.0, 0.0, 0, self.x.size)
            outcome = "the bisection found no block of elements that fails on its own"
            return comparison, "", [self._screen_warning(screen, outcome)], figure
        indices = np.concatenate([elements.indices for elements in checked])
        merged = Elements(indices, *(np.concatenate([getattr(e, name) for e in checked])
                                     for name in ("numeric", "right", "left")), self.h)
        comparison = self._compare(merged, self.analytic.reshape(-1)[indices])
        figure = self._figure(comparison, BISECTION, indices)
        if comparison.passed:
            outcome = f"the {indices.size} elements found by bisection pass their per-element check"
            return comparison, "", [self._screen_warning(screen, outcome)], figure
        order = mismatch_order(comparison.error, comparison.tolerance)
        kinks = kink_warnings(merged, order, self.x, comparison.error, self.name)
        table = comparison.table(index_of=lambda index: [int(i) for i in np.unravel_index(indices[index[0]],
                                                                                           self.x.shape)])
        count = int(comparison.mismatched.sum())
        first = (f"Mismatched elements: at least {count} / {self.x.size} (found by bisection of the failed "
                 f"random-direction screen; {indices.size} elements compared one by one; "
                 "mode='full' compares all)")
        table = "\n".join([first, *table.splitlines()[1:]])
        return comparison, f"{self._header()}\n{table}", kinks, figure

    def _figure(self, comparison: Comparison, method: str, indices: np.ndarray) -> InputFigure:
        worst = None
        if comparison.error.size:
            flat = int(np.ravel_multi_index(comparison.worst, comparison.error.shape)) if comparison.error.ndim else 0
            worst = [int(i) for i in np.unravel_index(int(indices[flat]), self.x.shape)]
        return InputFigure(self.name, method, comparison.passed, comparison.max_error, comparison.worst_tolerance, 0,
                           self.x.size, checked=int(indices.size), worst_index=worst, step=self.h)

    def _screen_warning(self, screen: directional.Screen, outcome: str) -> str:
        decided = screen.decided
        return (
            f"{self.name}: the random-direction screen failed (|numeric - analytic| = {decided.error:.3g} > "
            f"tolerance {decided.tolerance:.3g} at step {decided.step:.3g}), but {outcome} "
            f"(rtol={self.rtol:g}, atol={self.atol:g}): the difference is below the per-element tolerance, spread "
            "thinly over many elements, or comes from a kink of the function within the step; mode='full' compares "
            "every element"
        )


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
