"""Finite-differencing one input of a layer: the screen, the per-element check, the step sweep.

Oracle of a backward: the central difference of the reference forward, always. The
submission's own forward, when it was judged correct and matches the reference on the
case, only provides the cache its backward is called with: the points the differences
use are never shown to submitted code, so a forward that answers the drawn points
honestly and lies near them cannot steer the verdict (and a forward that is right where
it is checked is, within rounding, the reference there anyway).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from gradcheck.boundary.backend import Call
from gradcheck.boundary.values import CacheRef
from gradcheck.engine import numeric as fd
from gradcheck.engine.checks.case import CaseVerdict, Context, Steps, make_verdict
from gradcheck.verdict.compare import Comparison, validate_array


def window_support_sum(
    values: np.ndarray, window: int | tuple[int, int], stride: int, pad: int, n_H_prev: int, n_W_prev: int
) -> np.ndarray:
    """For (m, n_H, n_W, k) ``values``: each input position's sum over the f_H x f_W windows
    (``window``: f or the pair) covering it, (m, n_H_prev, n_W_prev, k) (col2im with an
    all-ones kernel)."""
    f_H, f_W = fd.sides(window)
    m, n_H, n_W, k = values.shape
    total = np.zeros((m, n_H_prev + 2 * pad, n_W_prev + 2 * pad, k))
    h_span, w_span = stride * (n_H - 1) + 1, stride * (n_W - 1) + 1
    for p in range(f_H):
        for q in range(f_W):
            total[:, p : p + h_span : stride, q : q + w_span : stride, :] += values
    return total[:, pad : pad + n_H_prev, pad : pad + n_W_prev, :]


@dataclass
class Gradient:
    """How to finite-difference one input of a layer."""

    index: int  # position in the backward's returned tuple (0 for a single array)
    x: np.ndarray
    with_x: Callable[[np.ndarray], tuple]  # forward args with this input replaced
    reference_forward: Callable[[np.ndarray], np.ndarray]
    colors: np.ndarray
    support_sum: Callable[[np.ndarray], np.ndarray]
    magnitude: np.ndarray  # bound on sum |terms| per output (any point within one step)
    n_terms: int  # terms per output
    abs_gradient: np.ndarray  # bound on sum |terms| per element of the analytic gradient
    n_gradient_terms: int
    # norm-wise bound of the analytic gradient computed by a transform algorithm (FFT), or None
    transform_bound: np.ndarray | float | None = None


def backward_verdict(
    ctx: Context,
    gradient: Gradient,
    analytic: np.ndarray,
    upstream: np.ndarray,
    full: bool,
    rng: np.random.Generator,
    inputs: dict[str, Any],
    sweep: Sequence[float] | None = None,
) -> CaseVerdict:
    """Compare the ``analytic`` gradient of ``gradient.x`` with central differences of the
    reference forward: per element when ``full``, else on a random direction ``u``:
    ``<G, J u>`` (numeric) vs ``<J^T G, u>`` (analytic). No submitted code runs here."""

    def evaluate(xs: Sequence[np.ndarray]) -> list[np.ndarray]:
        return ctx.reference_forward(gradient.reference_forward, xs)

    analytic_bound = fd.gamma(gradient.n_gradient_terms) * gradient.abs_gradient
    if full:
        outputs = evaluate(fd.central_points(gradient.x, gradient.colors))
        result = fd.central_difference(
            lambda xs: outputs,
            gradient.x,
            upstream,
            magnitude=gradient.magnitude,
            n_terms=gradient.n_terms,
            colors=gradient.colors,
            support_sum=gradient.support_sum,
        )
        tolerance = fd.SAFETY * (result.bound + analytic_bound)
        normwise = None
        if gradient.transform_bound is not None:
            normwise = fd.SAFETY * (result.bound + np.maximum(analytic_bound, gradient.transform_bound))
        verdict = make_verdict(Comparison(analytic, result.gradient, tolerance, normwise), inputs, "numeric")
        verdict.forward_calls = result.forward_calls
        return verdict
    direction = fd.random_direction(rng, gradient.x.shape)
    if sweep is not None:
        return _step_sweep(evaluate, gradient, analytic, upstream, direction, sweep, inputs)
    outputs = evaluate(fd.directional_points(gradient.x, direction))
    result = fd.directional_difference(
        lambda xs: outputs, gradient.x, direction, upstream, magnitude=gradient.magnitude, n_terms=gradient.n_terms
    )
    products = analytic * direction
    value = float(np.sum(products))
    bound = float(np.sum(analytic_bound * np.abs(direction)) + fd.gamma(products.size) * np.sum(np.abs(products)))
    tolerance = fd.SAFETY * (result.bound + bound)
    normwise = None
    if gradient.transform_bound is not None:
        transform = np.broadcast_to(np.maximum(analytic_bound, gradient.transform_bound), analytic.shape)
        normwise = np.array(fd.SAFETY * (result.bound + float(np.sum(transform * np.abs(direction))) + bound))
    comparison = Comparison(np.array(value), np.array(result.value), np.array(tolerance), normwise)
    verdict = make_verdict(comparison, inputs, "numeric")
    verdict.forward_calls = 2
    return verdict


def reference_verdict(
    parts: Sequence[tuple[Gradient, np.ndarray, np.ndarray]], inputs: dict[str, Any]
) -> CaseVerdict:
    """Off the grid (general float64 inputs, ``fd.off_grid``) differences are not exact: each
    (gradient, analytic, expected) part is compared, element by element, with the reference
    backward ``expected``, within both results' rounding bounds, ``2 gamma_n' sum |terms|``
    (norm-wise for a transform algorithm where the part has a transform bound). Several parts
    are compared as one flat array, element for element the same comparisons as apart."""
    bounds = [2.0 * fd.gamma(gradient.n_gradient_terms) * gradient.abs_gradient for gradient, _, _ in parts]
    transforms = [
        None if gradient.transform_bound is None
        else bound + np.broadcast_to(gradient.transform_bound, bound.shape)
        for (gradient, _, _), bound in zip(parts, bounds, strict=True)
    ]
    if len(parts) == 1:
        (_, analytic, expected), bound, transform = parts[0], bounds[0], transforms[0]
        normwise = None if transform is None else fd.SAFETY * transform
        return make_verdict(Comparison(analytic, expected, fd.SAFETY * bound, normwise), inputs, "reference")
    flat = lambda arrays: np.concatenate([np.ravel(array) for array in arrays])  # noqa: E731
    normwise = None
    if any(transform is not None for transform in transforms):
        normwise = fd.SAFETY * flat([b if t is None else t for b, t in zip(bounds, transforms, strict=True)])
    comparison = Comparison(
        flat([a for _, a, _ in parts]), flat([e for _, _, e in parts]), fd.SAFETY * flat(bounds), normwise
    )
    return make_verdict(comparison, inputs, "reference")


def _step_sweep(
    evaluate,
    gradient: Gradient,
    analytic: np.ndarray,
    upstream: np.ndarray,
    direction: np.ndarray,
    steps: Sequence[float],
    inputs: dict[str, Any],
) -> CaseVerdict:
    """Relative error of the directional derivative against the step h: correct code falls
    to rounding level as h grows (the layers are linear), a bug stays flat at its own size."""
    exact = float(np.sum(analytic * direction))
    errors = []
    for step in steps:
        outputs = evaluate(fd.directional_points(gradient.x, direction, step))
        value = fd.directional_difference(
            lambda xs, outputs=outputs: outputs,
            gradient.x,
            direction,
            upstream,
            magnitude=gradient.magnitude,
            n_terms=gradient.n_terms,
            step=step,
        ).value
        # floored at the unit roundoff so that exact results still show on log axes
        scale = max(abs(exact), abs(value), np.finfo(np.float64).tiny)  # |exact| may be 0 on a bug
        errors.append(max(abs(value - exact) / scale, fd.UNIT_ROUNDOFF))
    verdict = CaseVerdict("pass", inputs=inputs)
    verdict.sweep = {"steps": [float(step) for step in steps], "errors": [float(e) for e in errors]}
    return verdict


def own_forward_matches(
    ctx: Context, name: str, args: tuple, expected: np.ndarray, tolerance: np.ndarray
) -> Steps[tuple[CacheRef, Any] | None]:
    """Call the submission's trusted forward; return (cache_ref, cache snapshot) when it matches."""
    if name not in ctx.trusted_forwards:
        return None
    (outcome,) = yield [Call(name, args, (1,))]
    if not outcome.ok or not isinstance(outcome.value, tuple | list) or len(outcome.value) != 2:
        return None
    output, problem = validate_array(outcome.value[0], name, expected.shape)
    if problem or not Comparison(output, expected, tolerance).passed or not isinstance(outcome.value[1], CacheRef):
        return None
    return outcome.value[1], outcome.kept.get(1)
