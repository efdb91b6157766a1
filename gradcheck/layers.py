"""One spec per checked function: its inputs, gradients, geometry and reference.

Each ``*_case`` function evaluates one generated case of one (function, quantity)
against its oracle and returns a :class:`CaseVerdict`. ``full=False`` is the
cheap screen (a random-direction comparison ``<G, J u>`` numeric vs
``<J^T G, u>`` analytic, two forward calls); ``full=True`` is the per-element
central difference, grouped by window geometry, that localises an error.

Oracle of a backward: the central difference of the submission's own forward when
that forward was judged correct (and matches the reference on this case), else of
the reference forward, called with the cache the contract describes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import reference
from gradcheck import numeric as fd
from gradcheck.backend import Backend, Outcome
from gradcheck.compare import Comparison, unpack, validate_array
from gradcheck.strategies import ConvGeometry, PoolGeometry, tie_free_array
from gradcheck.wire import CacheRef, to_wire, wire_equal

FATAL = ("timeout", "memory", "crashed")


@dataclass
class CaseVerdict:
    """Outcome of one generated case of one (function, quantity)."""

    status: str  # pass | fail | error | timeout | memory | crashed
    message: str = ""
    comparison: Comparison | None = None
    inputs: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    forward_calls: int = 0
    sweep: dict[str, list[float]] | None = None  # {"steps": [...], "errors": [...]}

    @property
    def passed(self) -> bool:
        return self.status == "pass"

    # Fields the diagnosis module reads.
    @property
    def analytic(self) -> np.ndarray | None:
        return None if self.comparison is None else self.comparison.analytic

    @property
    def numeric(self) -> np.ndarray | None:
        return None if self.comparison is None else self.comparison.expected

    @property
    def tolerance(self) -> np.ndarray | None:
        return None if self.comparison is None else self.comparison.tolerance


class CaseProblem(Exception):
    """Raised inside a case to end it with a verdict (status and message)."""

    def __init__(self, status: str, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


NUMPY2_FLOAT_HINT = (
    "\nHint: numpy 2 refuses float() of an array with more than 0 dimensions, such as b of "
    "shape (1, 1, 1) (the course's `float(b)`); use b.item() or float(b[0, 0, 0]) instead "
    "(or np.squeeze(b) to add it)."
)


def explain_call(name: str, outcome: Outcome) -> str:
    """Message for a call that did not return normally."""
    text = outcome.message or outcome.status
    if outcome.status == "error":
        text = f"{name} raised {text}"
        if "TypeError" in text and ("converted to Python scalars" in text or "0-dimensional" in text):
            text += NUMPY2_FLOAT_HINT
    if outcome.output:
        shown = outcome.output if len(outcome.output) <= 400 else outcome.output[:400] + " ..."
        text += f"\nIts printed output began: {shown!r}"
    return text


class Context:
    """What a case needs besides its geometry: the backend and which forwards are trusted."""

    def __init__(self, backend: Backend, trusted_forwards: set[str] | None = None):
        self.backend = backend
        self.trusted_forwards = trusted_forwards if trusted_forwards is not None else set()
        self.forward_calls = 0

    def call(self, name: str, args: tuple, *, keep: Sequence[int] = ()) -> Outcome:
        outcome = self.backend.call(name, args, keep=keep)
        if not outcome.ok:
            raise CaseProblem("error" if outcome.status in ("error", "missing") else outcome.status,
                              explain_call(name, outcome))
        return outcome

    def check_unmodified(self, name: str, outcome: Outcome, originals: dict[int, tuple[str, Any]]) -> None:
        """Fail when the call changed an argument (``originals``: index -> (name, wire value before))."""
        if outcome.args_after is None:
            return
        for index, (arg_name, before) in originals.items():
            if not wire_equal(before, outcome.args_after[index]):
                raise CaseProblem(
                    "fail",
                    f"{name} modified its input {arg_name} in place; the checker needs inputs "
                    f"unchanged: work on a copy (e.g. {arg_name.split()[0]}.copy()) or build new arrays",
                )

    def batch_forward(self, name: str, build_args: Callable[[np.ndarray], tuple], inputs: Sequence[np.ndarray],
                      shape: tuple[int, ...], what: str) -> list[np.ndarray]:
        """Evaluate a submitted forward on many perturbed inputs (one batch) and validate outputs."""
        outcomes = self.backend.call_many(name, [build_args(x) for x in inputs], select=0)
        self.forward_calls += len(inputs)
        results = []
        for outcome in outcomes:
            if not outcome.ok:
                status = "error" if outcome.status in ("error", "missing") else outcome.status
                raise CaseProblem(status, explain_call(name, outcome) + f" (during finite differences for {what})")
            array, problem = validate_array(outcome.value, f"{name} output", shape)
            if problem:
                raise CaseProblem("fail", problem + f" (during finite differences for {what})")
            results.append(array)
        return results

    def reference_forward(self, function: Callable[[np.ndarray], np.ndarray], inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        self.forward_calls += len(inputs)
        return [function(x) for x in inputs]


def _deterministic(ctx: Context, name: str, args: tuple, first: Outcome, keep: Sequence[int] = ()) -> None:
    again = ctx.call(name, args, keep=keep)
    left, right = first.value, again.value
    if keep and isinstance(left, tuple) and isinstance(right, tuple):
        left = tuple(v for i, v in enumerate(left) if i not in keep)
        right = tuple(v for i, v in enumerate(right) if i not in keep)
    if not wire_equal(left, right):
        raise CaseProblem("fail", f"{name} is not deterministic: two calls with the same inputs returned different results")


def _forward_tolerance(magnitude: np.ndarray, n_terms: int) -> np.ndarray:
    # both results carry rounding error <= gamma_n * M
    return fd.SAFETY * 2.0 * fd.gamma(n_terms) * magnitude + fd.TINY


def _abs_conv_inputs(A_prev, W, b, slack):
    return np.abs(A_prev) + slack, np.abs(W) + slack, np.abs(b) + slack


# --------------------------------------------------------------------------- forwards

def zero_pad_case(ctx: Context, geometry: ConvGeometry, seed: int, *, first: bool = False, full: bool = False) -> CaseVerdict:
    A_prev, _, _ = geometry.random_inputs(seed)
    args = (A_prev, geometry.pad)
    outcome = ctx.call("zero_pad", args)
    ctx.check_unmodified("zero_pad", outcome, {0: ("X", A_prev)})
    expected = reference.zero_pad(A_prev, geometry.pad)
    X_pad, problem = validate_array(outcome.value, "zero_pad's result", expected.shape)
    if problem:
        raise CaseProblem("fail", problem + (" (pad=0 must return X unchanged)" if geometry.pad == 0 else ""))
    if first:
        _deterministic(ctx, "zero_pad", args, outcome)
    return _verdict(Comparison(X_pad, expected, np.zeros(expected.shape) + fd.TINY), {"X": A_prev, "pad": geometry.pad}, "reference")


def conv_single_step_case(ctx: Context, geometry: ConvGeometry, seed: int, *, first: bool = False, full: bool = False) -> CaseVerdict:
    rng = np.random.default_rng(seed)
    shape = (geometry.f, geometry.f, geometry.n_C_prev)
    a_slice = fd.quantize(rng.standard_normal(shape))
    W = fd.quantize(rng.standard_normal(shape))
    b = fd.quantize(rng.standard_normal((1, 1, 1)))
    args = (a_slice, W, b)
    outcome = ctx.call("conv_single_step", args)
    ctx.check_unmodified("conv_single_step", outcome, {0: ("a_slice_prev", a_slice), 1: ("W", W), 2: ("b", b)})
    value = outcome.value
    warnings = []
    if isinstance(value, np.ndarray) and value.size == 1 and value.dtype.kind == "f":
        warnings.append(f"conv_single_step returns an array of shape {value.shape}; the contract says a Python float (use .item())")
        value = float(value.reshape(()))
    if not isinstance(value, float):
        raise CaseProblem("fail", f"conv_single_step returned {type(value).__name__ if not hasattr(value, 'type_name') else value}; expected a float")
    expected = reference.conv_single_step(a_slice, W, b)
    magnitude = np.sum(np.abs(a_slice * W)) + abs(b.item())
    tolerance = _forward_tolerance(np.array(magnitude), a_slice.size + 1)
    verdict = _verdict(Comparison(np.array(value), np.array(expected), tolerance),
                       {"a_slice_prev": a_slice, "W": W, "b": b}, "reference")
    verdict.warnings += warnings
    return verdict


def conv_forward_case(ctx: Context, geometry: ConvGeometry, seed: int, *, first: bool = False, full: bool = False) -> CaseVerdict:
    A_prev, W, b = geometry.random_inputs(seed)
    hp = geometry.hparameters
    args = (A_prev, W, b, hp)
    outcome = ctx.call("conv_forward", args, keep=(1,))
    ctx.check_unmodified("conv_forward", outcome, {0: ("A_prev", A_prev), 1: ("W", W), 2: ("b", b), 3: ("hparameters", hp)})
    (Z, _), problem = unpack(outcome.value, "conv_forward", ("Z", "cache"))
    if problem:
        raise CaseProblem("fail", problem)
    Z, problem = validate_array(Z, "Z", geometry.output_shape)
    if problem:
        raise CaseProblem("fail", problem)
    if first:
        _deterministic(ctx, "conv_forward", args, outcome, keep=(1,))
    expected, _ = reference.conv_forward(A_prev, W, b, hp)
    magnitude, _ = reference.conv_forward(*_abs_conv_inputs(A_prev, W, b, 0.0), hp)
    tolerance = _forward_tolerance(magnitude, geometry.f * geometry.f * geometry.n_C_prev + 1)
    return _verdict(Comparison(Z, expected, tolerance), {"A_prev": A_prev, "W": W, "b": b, "hparameters": hp}, "reference")


def pool_forward_case(ctx: Context, geometry: PoolGeometry, seed: int, *, first: bool = False, full: bool = False) -> CaseVerdict:
    A_prev = geometry.random_inputs(seed)
    hp, mode = geometry.hparameters, geometry.mode
    args = (A_prev, hp, mode)
    outcome = ctx.call("pool_forward", args, keep=(1,))
    ctx.check_unmodified("pool_forward", outcome, {0: ("A_prev", A_prev), 1: ("hparameters", hp)})
    (A, _), problem = unpack(outcome.value, "pool_forward", ("A", "cache"))
    if problem:
        raise CaseProblem("fail", problem)
    A, problem = validate_array(A, "A", geometry.output_shape)
    if problem:
        raise CaseProblem("fail", problem)
    if first:
        _deterministic(ctx, "pool_forward", args, outcome, keep=(1,))
    expected, _ = reference.pool_forward(A_prev, hp, mode)
    magnitude, _ = reference.pool_forward(np.abs(A_prev), hp, "average" if mode == "average" else "max")
    tolerance = _forward_tolerance(magnitude, geometry.f * geometry.f + 1)
    return _verdict(Comparison(A, expected, tolerance), {"A_prev": A_prev, "hparameters": hp, "mode": mode}, "reference")


# --------------------------------------------------------------------------- backwards

def _window_support_sum(values: np.ndarray, f: int, stride: int, pad: int, n_H_prev: int, n_W_prev: int) -> np.ndarray:
    """For (m, n_H, n_W, k) ``values``: each input position's sum over the windows covering it,
    (m, n_H_prev, n_W_prev, k) (col2im with an all-ones kernel)."""
    m, n_H, n_W, k = values.shape
    total = np.zeros((m, n_H_prev + 2 * pad, n_W_prev + 2 * pad, k))
    h_span, w_span = stride * (n_H - 1) + 1, stride * (n_W - 1) + 1
    for p in range(f):
        for q in range(f):
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


def _conv_gradients(geometry: ConvGeometry, A_prev, W, b, upstream) -> dict[str, Gradient]:
    hp, f, stride, pad = geometry.hparameters, geometry.f, geometry.stride, geometry.pad
    slack = fd.STEP
    absA, absW, absb = _abs_conv_inputs(A_prev, W, b, slack)
    magnitude, _ = reference.conv_forward(absA, absW, absb, hp)
    abs_dA, abs_dW, abs_db = reference.conv_backward(np.abs(upstream), (absA, absW, absb, hp))
    n_terms = f * f * geometry.n_C_prev + 1
    spatial_terms = geometry.m * geometry.n_H * geometry.n_W

    def conv_with(**replace):
        def build(x):
            values = {"A_prev": A_prev, "W": W, "b": b} | {key: x for key in replace}
            return (values["A_prev"], values["W"], values["b"], hp)
        return build

    def ref(builder):
        return lambda x: reference.conv_forward(*builder(x))[0]

    per_channel = lambda P, shape: np.broadcast_to(P.sum(axis=(0, 1, 2)), shape)  # noqa: E731
    with_A, with_W, with_b = conv_with(A_prev=1), conv_with(W=1), conv_with(b=1)
    W_colors = np.broadcast_to(np.arange(f * f * geometry.n_C_prev).reshape(f, f, geometry.n_C_prev, 1), W.shape)
    return {
        "dA_prev": Gradient(
            0, A_prev, with_A, ref(with_A),
            fd.window_colors(A_prev.shape, f, pad),
            lambda P: np.broadcast_to(
                _window_support_sum(P.sum(axis=3, keepdims=True), f, stride, pad, geometry.n_H_prev, geometry.n_W_prev),
                A_prev.shape),
            magnitude, n_terms, abs_dA, f * f * geometry.n_C),
        "dW": Gradient(1, W, with_W, ref(with_W), W_colors, lambda P: per_channel(P, W.shape),
                       magnitude, n_terms, abs_dW, spatial_terms),
        "db": Gradient(2, b, with_b, ref(with_b), np.zeros(b.shape, dtype=int), lambda P: per_channel(P, b.shape),
                       magnitude, n_terms, abs_db, spatial_terms),
    }


def _pool_gradient(geometry: PoolGeometry, A_prev, upstream) -> Gradient:
    hp, f, stride, mode = geometry.hparameters, geometry.f, geometry.stride, geometry.mode
    absA = np.abs(A_prev) + fd.STEP
    magnitude, _ = reference.pool_forward(absA, hp, "average" if mode == "average" else "max")
    covering = _window_support_sum(np.abs(upstream), f, stride, 0, geometry.n_H_prev, geometry.n_W_prev)
    return Gradient(
        0, A_prev, lambda x: (x, hp, mode), lambda x: reference.pool_forward(x, hp, mode)[0],
        fd.window_colors(A_prev.shape, f, 0, channel_axis=None),
        lambda P: _window_support_sum(P, f, stride, 0, geometry.n_H_prev, geometry.n_W_prev),
        magnitude, f * f + 1, covering, f * f,
    )


def _backward_verdict(
    ctx: Context, gradient: Gradient, analytic: np.ndarray, upstream: np.ndarray, forward_name: str,
    own_forward: bool, out_shape: tuple[int, ...], quantity: str, full: bool, rng: np.random.Generator,
    inputs: dict[str, Any], sweep: Sequence[float] | None = None,
) -> CaseVerdict:
    if own_forward:
        def evaluate(xs):
            return ctx.batch_forward(forward_name, gradient.with_x, xs, out_shape, quantity)
    else:
        def evaluate(xs):
            return ctx.reference_forward(gradient.reference_forward, xs)
    analytic_bound = fd.gamma(gradient.n_gradient_terms) * gradient.abs_gradient
    if full:
        result = fd.central_difference(
            evaluate, gradient.x, upstream, magnitude=gradient.magnitude, n_terms=gradient.n_terms,
            colors=gradient.colors, support_sum=gradient.support_sum,
        )
        tolerance = fd.SAFETY * (result.bound + analytic_bound) + fd.TINY
        verdict = _verdict(Comparison(analytic, result.gradient, tolerance), inputs, "numeric")
        verdict.forward_calls = result.forward_calls
        return verdict
    direction = fd.random_direction(rng, gradient.x.shape)
    if sweep is not None:
        return _step_sweep(evaluate, gradient, analytic, upstream, direction, sweep, inputs)
    result = fd.directional_difference(
        evaluate, gradient.x, direction, upstream, magnitude=gradient.magnitude, n_terms=gradient.n_terms
    )
    products = analytic * direction
    value = float(np.sum(products))
    bound = float(np.sum(analytic_bound * np.abs(direction)) + fd.gamma(products.size) * np.sum(np.abs(products)))
    tolerance = fd.SAFETY * (result.bound + bound) + fd.TINY
    comparison = Comparison(np.array(value), np.array(result.value), np.array(tolerance))
    verdict = _verdict(comparison, inputs, "numeric")
    verdict.forward_calls = 2
    return verdict


def _step_sweep(evaluate, gradient: Gradient, analytic: np.ndarray, upstream: np.ndarray,
                direction: np.ndarray, steps: Sequence[float], inputs: dict[str, Any]) -> CaseVerdict:
    """Relative error of the directional derivative against the step h: correct code falls
    to rounding level as h grows (the layers are linear), a bug stays flat at its own size."""
    exact = float(np.sum(analytic * direction))
    errors = []
    for step in steps:
        value = fd.directional_difference(evaluate, gradient.x, direction, upstream, magnitude=gradient.magnitude,
                                          n_terms=gradient.n_terms, step=step).value
        # floored at the unit roundoff so that exact results still show on log axes
        scale = max(abs(exact), abs(value), np.finfo(np.float64).tiny)  # |exact| may be 0 on a bug
        errors.append(max(abs(value - exact) / scale, fd.UNIT_ROUNDOFF))
    verdict = CaseVerdict("pass", inputs=inputs)
    verdict.sweep = {"steps": [float(step) for step in steps], "errors": [float(e) for e in errors]}
    return verdict


def _own_forward_matches(ctx: Context, name: str, args: tuple, expected: np.ndarray, tolerance: np.ndarray):
    """Call the submission's trusted forward; return (cache_ref, cache snapshot) when it matches."""
    if name not in ctx.trusted_forwards:
        return None
    outcome = ctx.backend.call(name, args, keep=(1,))
    if not outcome.ok or not isinstance(outcome.value, tuple) or len(outcome.value) != 2:
        return None
    output, problem = validate_array(outcome.value[0], name, expected.shape)
    if problem or not Comparison(output, expected, tolerance).passed or not isinstance(outcome.value[1], CacheRef):
        return None
    return outcome.value[1], outcome.kept.get(1)


CONV_GRADIENTS = ("dA_prev", "dW", "db")


def conv_backward_case(ctx: Context, geometry: ConvGeometry, seed: int, quantity: str, *,
                       first: bool = False, full: bool = False, sweep: Sequence[float] | None = None) -> CaseVerdict:
    A_prev, W, b = geometry.random_inputs(seed)
    hp = geometry.hparameters
    rng = np.random.default_rng([seed, 1])
    upstream = fd.upstream_gradient(rng, geometry.output_shape)
    expected, _ = reference.conv_forward(A_prev, W, b, hp)
    magnitude, _ = reference.conv_forward(*_abs_conv_inputs(A_prev, W, b, 0.0), hp)
    own = _own_forward_matches(ctx, "conv_forward", (A_prev, W, b, hp), expected,
                               _forward_tolerance(magnitude, geometry.f ** 2 * geometry.n_C_prev + 1))
    cache_arg, cache_before = own if own else ((A_prev, W, b, hp), to_wire((A_prev, W, b, hp)))
    args = (upstream, cache_arg)
    outcome = ctx.call("conv_backward", args)
    ctx.check_unmodified("conv_backward", outcome, {0: ("dZ", upstream), 1: ("cache", cache_before)})
    values, problem = unpack(outcome.value, "conv_backward", CONV_GRADIENTS)
    if problem:
        raise CaseProblem("fail", problem)
    gradients = _conv_gradients(geometry, A_prev, W, b, upstream)
    gradient = gradients[quantity]
    analytic, problem = validate_array(values[gradient.index], quantity, gradient.x.shape)
    if problem:
        raise CaseProblem("fail", problem)
    if first:
        _deterministic(ctx, "conv_backward", args, outcome)
    inputs = {"A_prev": A_prev, "W": W, "b": b, "hparameters": hp, "dZ": upstream}
    return _backward_verdict(ctx, gradient, analytic, upstream, "conv_forward", own is not None,
                             geometry.output_shape, quantity, full, rng, inputs, sweep)


def pool_backward_case(ctx: Context, geometry: PoolGeometry, seed: int, *, first: bool = False,
                       full: bool = False, sweep: Sequence[float] | None = None) -> CaseVerdict:
    A_prev = geometry.random_inputs(seed)
    hp, mode = geometry.hparameters, geometry.mode
    rng = np.random.default_rng([seed, 1])
    upstream = fd.upstream_gradient(rng, geometry.output_shape)
    expected, _ = reference.pool_forward(A_prev, hp, mode)
    magnitude, _ = reference.pool_forward(np.abs(A_prev), hp, "average" if mode == "average" else "max")
    own = _own_forward_matches(ctx, "pool_forward", (A_prev, hp, mode), expected,
                               _forward_tolerance(magnitude, geometry.f ** 2 + 1))
    cache_arg, cache_before = own if own else ((A_prev, hp), to_wire((A_prev, hp)))
    args = (upstream, cache_arg, mode)
    outcome = ctx.call("pool_backward", args)
    ctx.check_unmodified("pool_backward", outcome, {0: ("dA", upstream), 1: ("cache", cache_before)})
    gradient = _pool_gradient(geometry, A_prev, upstream)
    analytic, problem = validate_array(outcome.value, "dA_prev", A_prev.shape)
    if problem:
        raise CaseProblem("fail", problem)
    if first:
        _deterministic(ctx, "pool_backward", args, outcome)
    inputs = {"A_prev": A_prev, "hparameters": hp, "dA": upstream, "mode": mode}
    return _backward_verdict(ctx, gradient, analytic, upstream, "pool_forward", own is not None,
                             geometry.output_shape, f"dA_prev[{mode}]", full, rng, inputs, sweep)


# --------------------------------------------------------------------------- ties

def _subgradient_rule(routed: np.ndarray, tied: np.ndarray, where: str) -> tuple[str | None, bool]:
    """(failure message or None, k-times warning) for one window's routed share ``routed``
    (the gradient divided by the upstream value) and the boolean mask of its tied maxima."""
    k = int(tied.sum())
    tol = 1e-12
    if (routed < -tol).any():
        return f"{where}: negative gradient share {routed.min():.3g} (a subgradient of max is non-negative)", False
    off = np.abs(routed[~tied])
    if off.size and off.max() > tol:
        return f"{where}: gradient on an element that is not a maximum (share {off.max():.3g})", False
    total = float(routed[tied].sum())
    if abs(total - 1.0) <= 1e-9:
        return None, False
    if k > 1 and abs(total - k) <= 1e-9 * k and np.allclose(routed[tied], 1.0):
        return None, True
    return f"{where}: shares over the {k} tied maxima sum to {total:.6g}, expected 1", False


def tie_warning(function: str, k: int) -> str:
    """The warning for ``x == np.max(x)`` masks (``k`` is not in the text, so it is said once)."""
    return (
        f"{function}: when k maxima of a window tie, every one of them gets the full gradient "
        f"(x == np.max(x)), so the window passes k times the upstream gradient. It is the course's "
        f"solution and only matters at exact ties; PyTorch routes the gradient to one maximum "
        f"(the first), a valid subgradient: mark only np.argmax(x) to do the same."
    )


def pool_ties_case(ctx: Context, geometry: PoolGeometry, seed: int, *, first: bool = False,
                   full: bool = False) -> CaseVerdict:
    """Max-pool backward at deliberate ties, with non-overlapping windows (stride >= f)."""
    rng = np.random.default_rng([seed, 2])
    stride = max(geometry.stride, geometry.f)
    geometry = PoolGeometry(geometry.m, geometry.n_H_prev, geometry.n_W_prev, geometry.n_C, geometry.f, stride, "max")
    A_prev = geometry.random_inputs(seed)
    h_starts = range(0, geometry.n_H * stride, stride)
    w_starts = range(0, geometry.n_W * stride, stride)
    f = geometry.f
    for i in range(geometry.m):
        for c in range(geometry.n_C):
            for h in h_starts:
                for w in w_starts:
                    window = A_prev[i, h : h + f, w : w + f, c]
                    if f > 1 and rng.random() < 0.7:
                        k = int(rng.integers(2, f * f + 1))
                        flat = window.ravel()
                        flat[rng.choice(f * f, size=k, replace=False)] = flat.max() + 0.5
                        window[...] = flat.reshape(f, f)
    upstream = fd.upstream_gradient(rng, geometry.output_shape)
    upstream[upstream == 0] = 1.0
    hp = geometry.hparameters
    own = None
    if "pool_forward" in ctx.trusted_forwards:
        outcome = ctx.backend.call("pool_forward", (A_prev, hp, "max"), keep=(1,))
        if outcome.ok and isinstance(outcome.value, tuple) and len(outcome.value) == 2 and isinstance(outcome.value[1], CacheRef):
            own = outcome.value[1]
    args = (upstream, own if own is not None else (A_prev, hp), "max")
    outcome = ctx.call("pool_backward", args)
    dA_prev, problem = validate_array(outcome.value, "dA_prev", A_prev.shape)
    if problem:
        raise CaseProblem("fail", problem)
    covered = np.zeros(A_prev.shape, dtype=bool)
    warned_k = 0
    for i in range(geometry.m):
        for c in range(geometry.n_C):
            for oh, h in enumerate(h_starts):
                for ow, w in enumerate(w_starts):
                    window = A_prev[i, h : h + f, w : w + f, c]
                    covered[i, h : h + f, w : w + f, c] = True
                    routed = dA_prev[i, h : h + f, w : w + f, c] / upstream[i, oh, ow, c]
                    tied = window == window.max()
                    where = f"window [i={i}, h={oh}, w={ow}, c={c}] with {int(tied.sum())} tied maxima"
                    message, k_times = _subgradient_rule(routed, tied, where)
                    if message:
                        raise CaseProblem("fail", "pool_backward (max) at ties: " + message)
                    if k_times:
                        warned_k = max(warned_k, int(tied.sum()))
    stray = np.abs(dA_prev[~covered])
    if stray.size and stray.max() > 0:
        raise CaseProblem("fail", "pool_backward (max) put gradient on elements no window covers")
    verdict = CaseVerdict("pass", inputs={"A_prev": A_prev, "hparameters": hp, "dA": upstream})
    if warned_k:
        verdict.warnings.append(tie_warning("pool_backward", warned_k))
    return verdict


# --------------------------------------------------------------------------- mask, distribute_value

@dataclass(frozen=True)
class WindowCase:
    """A pooling window shape for create_mask_from_window / distribute_value."""

    n_H: int
    n_W: int

    def as_dict(self) -> dict[str, Any]:
        return {"n_H": self.n_H, "n_W": self.n_W}


def mask_case(ctx: Context, window: WindowCase, seed: int, *, first: bool = False, full: bool = False) -> CaseVerdict:
    """mask == d max(x) / dx, by central differences of max on a tie-free window."""
    rng = np.random.default_rng([seed, 3])
    x = tie_free_array(rng, (window.n_H, window.n_W))
    outcome = ctx.call("create_mask_from_window", (x,))
    ctx.check_unmodified("create_mask_from_window", outcome, {0: ("x", x)})
    mask, problem = validate_array(outcome.value, "mask", x.shape, allow_bool=True)
    if problem:
        raise CaseProblem("fail", problem)
    upstream = fd.upstream_gradient(rng, ())
    upstream = upstream if upstream != 0 else np.float64(1.5)
    result = fd.central_difference(
        lambda xs: [np.array(np.max(v)) for v in xs], x, np.asarray(upstream),
        magnitude=np.array(np.max(np.abs(x)) + fd.STEP), n_terms=1,
    )
    tolerance = fd.SAFETY * result.bound + fd.TINY
    return _verdict(Comparison(mask * upstream, result.gradient, tolerance), {"x": x, "dz": float(upstream)}, "numeric")


def mask_ties_case(ctx: Context, window: WindowCase, seed: int, *, first: bool = False, full: bool = False) -> CaseVerdict:
    rng = np.random.default_rng([seed, 4])
    size = window.n_H * window.n_W
    x = tie_free_array(rng, (window.n_H, window.n_W))
    k = int(rng.integers(2, size + 1)) if size > 1 else 1
    flat = x.ravel()
    flat[rng.choice(size, size=k, replace=False)] = flat.max() + 0.5
    x = flat.reshape(x.shape)
    outcome = ctx.call("create_mask_from_window", (x,))
    mask, problem = validate_array(outcome.value, "mask", x.shape, allow_bool=True)
    if problem:
        raise CaseProblem("fail", problem)
    message, k_times = _subgradient_rule(mask, x == x.max(), f"window with {k} tied maxima")
    if message:
        raise CaseProblem("fail", "create_mask_from_window at ties: " + message)
    verdict = CaseVerdict("pass", inputs={"x": x})
    if k_times:
        verdict.warnings.append(tie_warning("create_mask_from_window", k))
    return verdict


def distribute_case(ctx: Context, window: WindowCase, seed: int, *, first: bool = False, full: bool = False) -> CaseVerdict:
    """distribute_value(dz, shape) == dz * d mean(a) / da, by central differences of the mean."""
    rng = np.random.default_rng([seed, 5])
    shape = (window.n_H, window.n_W)
    dz = float(fd.upstream_gradient(rng, ()))
    outcome = ctx.call("distribute_value", (dz, shape))
    analytic, problem = validate_array(outcome.value, "distribute_value's result", shape)
    if problem:
        raise CaseProblem("fail", problem)
    a = fd.quantize(rng.standard_normal(shape))
    result = fd.central_difference(
        lambda xs: [np.array(np.mean(v)) for v in xs], a, np.asarray(dz),
        magnitude=np.array(np.mean(np.abs(a)) + fd.STEP), n_terms=a.size + 1,
    )
    analytic_bound = fd.gamma(2) * np.abs(analytic)
    tolerance = fd.SAFETY * (result.bound + analytic_bound) + fd.TINY
    return _verdict(Comparison(analytic, result.gradient, tolerance), {"dz": dz, "shape": shape}, "numeric")


def _verdict(comparison: Comparison, inputs: dict[str, Any], oracle: str) -> CaseVerdict:
    verdict = CaseVerdict("pass" if comparison.passed else "fail", comparison=comparison, inputs=inputs)
    if not comparison.passed:
        verdict.message = comparison.table(oracle)
    return verdict
