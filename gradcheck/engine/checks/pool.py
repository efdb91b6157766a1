"""Checks of the pool functions: pool_forward (against the reference), pool_backward
(against central differences, max and average) and max pooling at deliberate ties."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

import reference
from gradcheck.boundary.backend import Call
from gradcheck.boundary.values import CacheRef, to_wire
from gradcheck.engine import numeric as fd
from gradcheck.engine.checks.case import (
    CaseProblem,
    CaseVerdict,
    Context,
    Steps,
    call_layer_forward,
    deterministic,
    forward_tolerance,
    make_verdict,
)
from gradcheck.engine.checks.gradient import Gradient, backward_verdict, own_forward_matches, window_support_sum
from gradcheck.engine.checks.window import subgradient_rule, tie_warning
from gradcheck.strategies import PoolGeometry, tie_the_maximum
from gradcheck.verdict.compare import Comparison, validate_array


def pool_forward_case(
    ctx: Context, geometry: PoolGeometry, seed: int, *, first: bool = False, full: bool = False
) -> Steps[CaseVerdict]:
    A_prev = geometry.random_inputs(seed)
    hp, mode = geometry.hparameters, geometry.mode
    args = (A_prev, hp, mode)
    A = yield from call_layer_forward(
        ctx, "pool_forward", args, ("A_prev", "hparameters", None), "A", geometry.output_shape, first=first
    )
    expected, _ = reference.pool_forward(A_prev, hp, mode)
    magnitude, _ = reference.pool_forward(np.abs(A_prev), hp, "average" if mode == "average" else "max")
    tolerance = forward_tolerance(magnitude, geometry.f * geometry.f + 1)
    return make_verdict(
        Comparison(A, expected, tolerance), {"A_prev": A_prev, "hparameters": hp, "mode": mode}, "reference"
    )


def _pool_gradient(geometry: PoolGeometry, A_prev, upstream) -> Gradient:
    hp, f, stride, mode = geometry.hparameters, geometry.f, geometry.stride, geometry.mode
    absA = np.abs(A_prev) + fd.STEP
    magnitude, _ = reference.pool_forward(absA, hp, "average" if mode == "average" else "max")
    covering = window_support_sum(np.abs(upstream), f, stride, 0, geometry.n_H_prev, geometry.n_W_prev)
    return Gradient(
        0,
        A_prev,
        lambda x: (x, hp, mode),
        lambda x: reference.pool_forward(x, hp, mode)[0],
        fd.window_colors(A_prev.shape, f, 0, channel_axis=None),
        lambda P: window_support_sum(P, f, stride, 0, geometry.n_H_prev, geometry.n_W_prev),
        magnitude,
        f * f + 1,
        covering,
        f * f,
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
    A_prev = geometry.random_inputs(seed)
    hp, mode = geometry.hparameters, geometry.mode
    rng = np.random.default_rng([seed, 1])
    upstream = fd.upstream_gradient(rng, geometry.output_shape)
    expected, _ = reference.pool_forward(A_prev, hp, mode)
    magnitude, _ = reference.pool_forward(np.abs(A_prev), hp, "average" if mode == "average" else "max")
    own = yield from own_forward_matches(
        ctx, "pool_forward", (A_prev, hp, mode), expected, forward_tolerance(magnitude, geometry.f**2 + 1)
    )
    cache_arg, cache_before = own if own else ((A_prev, hp), to_wire((A_prev, hp)))
    args = (upstream, cache_arg, mode)
    outcome = yield from ctx.call("pool_backward", args)
    ctx.check_unmodified("pool_backward", outcome, {0: ("dA", upstream), 1: ("cache", cache_before)})
    gradient = _pool_gradient(geometry, A_prev, upstream)
    analytic, problem = validate_array(outcome.value, "dA_prev", A_prev.shape)
    if problem:
        raise CaseProblem("fail", problem)
    if first:
        yield from deterministic(ctx, "pool_backward", args, outcome)
    inputs = {"A_prev": A_prev, "hparameters": hp, "dA": upstream, "mode": mode}
    return (yield from backward_verdict(
        ctx,
        gradient,
        analytic,
        upstream,
        "pool_forward",
        own is not None,
        geometry.output_shape,
        f"dA_prev[{mode}]",
        full,
        rng,
        inputs,
        sweep,
    ))


def pool_ties_case(
    ctx: Context, geometry: PoolGeometry, seed: int, *, first: bool = False, full: bool = False
) -> Steps[CaseVerdict]:
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
                        tie_the_maximum(window, rng, int(rng.integers(2, f * f + 1)), 0.5)
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
                    message, k_times = subgradient_rule(routed, tied, where)
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
