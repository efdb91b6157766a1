"""Checks of the pool functions: pool_forward (against the reference), pool_backward
(against central differences, max and average) and max pooling at deliberate ties."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

import reference
from gradcheck.boundary.backend import KEEP_RESULT, Call
from gradcheck.boundary.values import CacheRef, to_wire
from gradcheck.engine import numeric as fd
from gradcheck.engine.checks.case import (
    CaseProblem,
    CaseVerdict,
    Context,
    Steps,
    call_layer_forward,
    call_twice,
    deterministic,
    forward_tolerance,
    hparameters_of,
    laid_out,
    make_verdict,
)
from gradcheck.engine.checks.gradient import (
    Gradient,
    backward_verdict,
    own_forward_matches,
    reference_verdict,
    window_support_sum,
)
from gradcheck.plans.convolution.checks.window import subgradient_rule, tie_warning
from gradcheck.strategies import PoolGeometry, tie_the_maximum
from gradcheck.verdict.compare import Comparison

CACHE_ITEMS = ("A_prev", "hparameters")  # pool_backward's cache, as the contract describes it


def without_mode(ctx: Context, seed: int, mode: str) -> bool:
    """Whether this case calls the article's pool_forward without its ``mode`` argument (a max case
    whose seed asks for it, ``numeric.default_mode``), as the course's notebook calls it: the
    contract's default is ``mode="max"``. pool_backward is always passed its mode (the notebook does)."""
    return mode == "max" and fd.default_mode(seed) and ctx.convention.name == "article"


def call_hint(name: str, text: str) -> str:
    """What an error of a pool function adds (``explain_call``; ``name`` as shown, ``text`` the message)."""
    if name == "pool_forward" and "TypeError" in text and "missing 1 required positional argument" in text \
            and "mode" in text:
        return f"\nHint: the course's notebook calls {name} without mode: keep the signature's default, mode=\"max\""
    if name.startswith("pool_") and "TypeError" in text and "positional argument" in text:
        return f"\nHint: the contract calls {name}(..., mode) with mode as the third positional argument"
    return ""


def pool_forward_case(
    ctx: Context, geometry: PoolGeometry, seed: int, *, first: bool = False, full: bool = False
) -> Steps[CaseVerdict]:
    ctx.hint = call_hint
    A_prev = geometry.random_inputs(seed)
    hp, mode = hparameters_of(geometry, seed), geometry.mode
    passed = () if without_mode(ctx, seed, mode) else (mode,)  # (): the contract's default, mode="max"
    args = (*laid_out(seed, A_prev), hp, *passed)
    again = None
    if fd.called_again(seed):
        again = (*laid_out(seed, geometry.random_inputs(fd.other_seed(seed))), hp, *passed)
    A = yield from call_layer_forward(
        ctx, "pool_forward", args, ("A_prev", "hparameters", None)[: len(args)], "A", geometry.output_shape,
        first=first, originals=(A_prev, hp, *passed), again=again,
    )
    expected, _ = reference.pool_forward(A_prev, hp, mode)
    magnitude, _ = reference.pool_forward(np.abs(A_prev), hp, "average" if mode == "average" else "max")
    tolerance = forward_tolerance(magnitude, _window_terms(geometry) + 1)
    normwise = None if mode != "average" else tolerance + fd.SAFETY * prefix_sum_bound(A_prev, geometry)
    return make_verdict(
        Comparison(A, expected, tolerance, normwise), {"A_prev": A_prev, "hparameters": hp, "mode": mode},
        "reference",
    )


def prefix_sum_bound(values: np.ndarray, geometry: PoolGeometry) -> np.ndarray:
    """Rounding bound of window means computed from running sums (a summed-area table, or the
    difference array of the backward): each running sum over at most n_H_prev * n_W_prev terms is
    off by gamma_n times the l1 norm of its image and channel, and a window's sum takes four of
    them; divided by f_H * f_W. Shape (m, 1, 1, n_C), broadcast over the outputs."""
    f_H, f_W = geometry.window
    total = np.abs(values).sum(axis=(1, 2), keepdims=True)
    n = values.shape[1] * values.shape[2]
    return (4.0 * fd.gamma(n) + 12.0 * fd.UNIT_ROUNDOFF) * total / (f_H * f_W)


def _window_terms(geometry: PoolGeometry) -> int:
    """Elements of one pooling window."""
    f_H, f_W = geometry.window
    return f_H * f_W


def _pool_gradient(geometry: PoolGeometry, A_prev, upstream) -> Gradient:
    hp, window, stride, mode = geometry.hparameters, geometry.window, geometry.stride, geometry.mode
    absA = np.abs(A_prev) + fd.STEP
    magnitude, _ = reference.pool_forward(absA, hp, "average" if mode == "average" else "max")
    covering = window_support_sum(np.abs(upstream), window, stride, 0, geometry.n_H_prev, geometry.n_W_prev)
    return Gradient(
        0,
        A_prev,
        lambda x: (x, hp, mode),
        lambda x: reference.pool_forward(x, hp, mode)[0],
        fd.window_colors(A_prev.shape, window, 0, channel_axis=None),
        lambda P: window_support_sum(P, window, stride, 0, geometry.n_H_prev, geometry.n_W_prev),
        magnitude,
        _window_terms(geometry) + 1,
        covering,
        _window_terms(geometry),
        # the average's gradient may be spread through running sums too (a difference array)
        prefix_sum_bound(upstream, geometry) if mode == "average" else None,
    )


def pool_backward_case(
    ctx: Context,
    geometry: PoolGeometry,
    seed: int,
    *,
    first: bool = False,
    full: bool = False,
    sweep: Sequence[float] | None = None,
) -> Steps[CaseVerdict]:
    ctx.hint = call_hint
    A_prev = geometry.random_inputs(seed)
    hp, mode = hparameters_of(geometry, seed), geometry.mode
    # its own forward as the course's notebook calls it, pool_forward(A_prev, hparameters) (a forward
    # that then does not max-pool gives no cache: the contract's is used); the backward always with mode
    passed = () if without_mode(ctx, seed, mode) else (mode,)
    rng = np.random.default_rng([fd.value_seed(seed), 1])
    upstream = fd.upstream_gradient(rng, geometry.output_shape, fd.off_grid(seed), fd.sparse_upstream(seed))
    expected, _ = reference.pool_forward(A_prev, hp, mode)
    magnitude, _ = reference.pool_forward(np.abs(A_prev), hp, "average" if mode == "average" else "max")
    own = yield from own_forward_matches(
        ctx, "pool_forward", (*laid_out(seed, A_prev), hp, *passed), expected,
        forward_tolerance(magnitude, _window_terms(geometry) + 1),
    )
    cache_arg, cache_before = own if own else ((A_prev, hp), to_wire((A_prev, hp)))
    args = (*laid_out(seed, upstream), cache_arg, mode)
    changed = None
    if fd.called_again(seed) and sweep is None:
        other = fd.upstream_gradient(np.random.default_rng([fd.value_seed(seed), 7]), geometry.output_shape,
                                     fd.off_grid(seed), fd.sparse_upstream(seed))
        outcome, changed = yield from call_twice(ctx, "pool_backward", args, (*laid_out(seed, other), cache_arg, mode),
                                                 watch=(KEEP_RESULT,), watched=("dA_prev",))
    else:
        outcome = yield from ctx.call("pool_backward", args)
    ctx.check_unmodified("pool_backward", outcome, {0: ("dA", upstream), 1: ("cache", cache_before)}, CACHE_ITEMS)
    gradient = _pool_gradient(geometry, A_prev, upstream)
    analytic, problem = ctx.validate(outcome.value, "dA_prev", A_prev.shape)
    if problem:
        raise CaseProblem("fail", problem)
    if changed:
        raise CaseProblem("fail", changed)
    if first:
        yield from deterministic(ctx, "pool_backward", args, outcome)
    inputs = {"A_prev": A_prev, "hparameters": hp, "dA": upstream, "mode": mode}
    if fd.off_grid(seed) and sweep is None:
        return reference_verdict([(gradient, analytic, reference.pool_backward(upstream, (A_prev, hp), mode))], inputs)
    return backward_verdict(ctx, gradient, analytic, upstream, full, rng, inputs, sweep)


def pool_ties_case(
    ctx: Context, geometry: PoolGeometry, seed: int, *, first: bool = False, full: bool = False
) -> Steps[CaseVerdict]:
    """Max-pool backward at deliberate ties, with non-overlapping windows (stride >= f_H, f_W;
    the input grown where the convention needs output sizes that are integers)."""
    ctx.hint = call_hint
    rng = np.random.default_rng([fd.value_seed(seed), 2])
    stride = max(geometry.stride, *geometry.window)
    geometry = replace(geometry, stride=stride, mode="max").fitted()
    A_prev = geometry.random_inputs(seed)
    h_starts = range(0, geometry.n_H * stride, stride)
    w_starts = range(0, geometry.n_W * stride, stride)
    f_H, f_W = geometry.window
    for i in range(geometry.m):
        for c in range(geometry.n_C):
            for h in h_starts:
                for w in w_starts:
                    window = A_prev[i, h : h + f_H, w : w + f_W, c]
                    if f_H * f_W > 1 and rng.random() < 0.7:
                        tie_the_maximum(window, rng, int(rng.integers(2, f_H * f_W + 1)), 0.5)
    upstream = fd.upstream_gradient(rng, geometry.output_shape)
    upstream[upstream == 0] = 1.0
    hp = geometry.hparameters
    own = None
    if "pool_forward" in ctx.trusted_forwards:
        (outcome,) = yield [Call("pool_forward", (A_prev, hp, "max"), (1,))]
        if (
            outcome.ok
            and isinstance(outcome.value, tuple | list)
            and len(outcome.value) == 2
            and isinstance(outcome.value[1], CacheRef)
        ):
            own = outcome.value[1]
    args = (upstream, own if own is not None else (A_prev, hp), "max")
    outcome = yield from ctx.call("pool_backward", args)
    dA_prev, problem = ctx.validate(outcome.value, "dA_prev", A_prev.shape)
    if problem:
        raise CaseProblem("fail", problem)
    covered = np.zeros(A_prev.shape, dtype=bool)
    warned_k = 0
    for i in range(geometry.m):
        for c in range(geometry.n_C):
            for oh, h in enumerate(h_starts):
                for ow, w in enumerate(w_starts):
                    window = A_prev[i, h : h + f_H, w : w + f_W, c]
                    covered[i, h : h + f_H, w : w + f_W, c] = True
                    routed = dA_prev[i, h : h + f_H, w : w + f_W, c] / upstream[i, oh, ow, c]
                    tied = window == window.max()
                    where = f"window [i={i}, h={oh}, w={ow}, c={c}] with {int(tied.sum())} tied maxima"
                    message, k_times = subgradient_rule(routed, tied, where)
                    if message:
                        shown = ctx.convention.function("pool_backward")
                        raise CaseProblem("fail", f"{shown} (max) at ties: {message}")
                    if k_times:
                        warned_k = max(warned_k, int(tied.sum()))
    stray = np.abs(dA_prev[~covered])
    if stray.size and stray.max() > 0:
        raise CaseProblem(
            "fail", f"{ctx.convention.function('pool_backward')} (max) put gradient on elements no window covers"
        )
    verdict = CaseVerdict("pass", inputs={"A_prev": A_prev, "hparameters": hp, "dA": upstream})
    if warned_k:
        verdict.warnings.append(tie_warning(ctx.convention.function("pool_backward"), warned_k))
    return verdict
