"""Checks of the conv functions: zero_pad, conv_single_step, conv_forward (against the
reference) and conv_backward (dA_prev, dW, db against central differences)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

import reference
from gradcheck.boundary.backend import KEEP_RESULT
from gradcheck.boundary.values import Opaque, to_wire
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
from gradcheck.strategies import ConvGeometry
from gradcheck.verdict.compare import Comparison, validate_array

CACHE_ITEMS = ("A_prev", "W", "b", "hparameters")  # conv_backward's cache, as the contract describes it


def _abs_conv_inputs(A_prev, W, b, slack):
    return np.abs(A_prev) + slack, np.abs(W) + slack, np.abs(b) + slack


def zero_pad_case(
    ctx: Context, geometry: ConvGeometry, seed: int, *, first: bool = False, full: bool = False
) -> Steps[CaseVerdict]:
    A_prev, _, _ = geometry.random_inputs(seed)
    args = (*laid_out(seed, A_prev), geometry.pad)
    changed = None
    if fd.called_again(seed):
        again = (*laid_out(seed, geometry.random_inputs(fd.other_seed(seed))[0]), geometry.pad)
        outcome, changed = yield from call_twice(ctx, "zero_pad", args, again, watch=(KEEP_RESULT,),
                                                 watched=("X_pad",))
    else:
        outcome = yield from ctx.call("zero_pad", args)
    ctx.check_unmodified("zero_pad", outcome, {0: ("X", A_prev)})
    expected = reference.zero_pad(A_prev, geometry.pad)
    X_pad, problem = validate_array(outcome.value, "zero_pad's result", expected.shape)
    if problem:
        unchanged = geometry.pad == 0 and "shape" in problem
        raise CaseProblem("fail", problem + (" (pad=0 must return X unchanged)" if unchanged else ""))
    if changed:
        raise CaseProblem("fail", changed)
    if first:
        yield from deterministic(ctx, "zero_pad", args, outcome)
    return make_verdict(
        Comparison(X_pad, expected, np.zeros(expected.shape)),
        {"X": A_prev, "pad": geometry.pad},
        "reference",  # exact
    )


def conv_single_step_case(
    ctx: Context, geometry: ConvGeometry, seed: int, *, first: bool = False, full: bool = False
) -> Steps[CaseVerdict]:
    rng = np.random.default_rng(fd.value_seed(seed))
    shape = (*geometry.window, geometry.n_C_prev)
    draw = (lambda size: fd.general_values(rng, size)) if fd.off_grid(seed) else (
        lambda size: fd.quantize(rng.standard_normal(size))
    )
    a_slice, W, b = draw(shape), draw(shape), draw((1, 1, 1))
    args = laid_out(seed, a_slice, W, b)
    outcome = yield from ctx.call("conv_single_step", args)
    ctx.check_unmodified("conv_single_step", outcome, {0: ("a_slice_prev", a_slice), 1: ("W", W), 2: ("b", b)})
    value = outcome.value
    warnings = []
    if isinstance(value, np.ndarray) and value.size == 1 and value.dtype.kind == "f":
        if value.dtype.itemsize != 8:
            raise CaseProblem(
                "fail", f"conv_single_step returned a {value.dtype} value; finite differences need float64"
            )
        warnings.append(
            f"conv_single_step returns an array of shape {value.shape}; the contract says a Python float "
            "(use .item())"
        )
        value = float(value.reshape(()))
    if not isinstance(value, float):
        shown = value if isinstance(value, Opaque) else type(value).__name__  # Opaque prints as <module.Type>
        raise CaseProblem("fail", f"conv_single_step returned {shown}; expected a float")
    if not np.isfinite(value):
        raise CaseProblem("fail", f"conv_single_step returned {value}; expected a finite float")
    expected = reference.conv_single_step(a_slice, W, b)
    magnitude = np.sum(np.abs(a_slice * W)) + abs(b.item())
    tolerance = forward_tolerance(np.array(magnitude), a_slice.size + 1)
    verdict = make_verdict(
        Comparison(np.array(value), np.array(expected), tolerance),
        {"a_slice_prev": a_slice, "W": W, "b": b},
        "reference",
    )
    verdict.warnings += warnings
    return verdict


def conv_forward_case(
    ctx: Context, geometry: ConvGeometry, seed: int, *, first: bool = False, full: bool = False
) -> Steps[CaseVerdict]:
    A_prev, W, b = geometry.random_inputs(seed)
    hp = hparameters_of(geometry, seed)
    args = (*laid_out(seed, A_prev, W, b), hp)
    again = (*laid_out(seed, *geometry.random_inputs(fd.other_seed(seed))), hp) if fd.called_again(seed) else None
    Z = yield from call_layer_forward(
        ctx, "conv_forward", args, ("A_prev", "W", "b", "hparameters"), "Z", geometry.output_shape, first=first,
        originals=(A_prev, W, b, hp), again=again,
    )
    expected, _ = reference.conv_forward(A_prev, W, b, hp)
    magnitude, _ = reference.conv_forward(*_abs_conv_inputs(A_prev, W, b, 0.0), hp)
    tolerance = forward_tolerance(magnitude, _n_terms(geometry))
    normwise = tolerance + fd.SAFETY * conv_transform_bound(A_prev, W, hp, magnitude)
    return make_verdict(
        Comparison(Z, expected, tolerance, normwise),
        {"A_prev": A_prev, "W": W, "b": b, "hparameters": hp},
        "reference",
    )


def conv_transform_bound(A_prev: np.ndarray, W: np.ndarray, hp: dict, magnitude: np.ndarray) -> np.ndarray:
    """Rounding bound of Z (m, n_H, n_W, n_C) computed by a transform algorithm: the larger of
    the FFT bound and the Winograd bound (``gradcheck.engine.numeric``, "Transform
    algorithms"), plus the rounding of adding b and of subsampling by the stride (exact)."""
    stride, pad = hp["stride"], hp["pad"]
    f_H, f_W, n_C_prev, n_C = W.shape
    A_pad = reference.zero_pad(A_prev, pad)
    fft = fd.fft_bound(A_pad, W, fd.fft_log2_length(A_pad.shape, (1, f_H, f_W, n_C_prev, n_C)), n_C_prev * n_C)
    # l1 norm of the (f_H + 2) x (f_W + 2) x n_C_prev neighbourhood of each window: any tile alignment
    box = np.ones((f_H + 2, f_W + 2, n_C_prev, 1))
    tile_l1, _ = reference.conv_forward(np.abs(A_prev), box, np.zeros((1, 1, 1, 1)), {"stride": stride, "pad": pad + 1})
    kernel_l1 = np.abs(W).sum(axis=(0, 1, 2)).reshape(1, 1, 1, n_C)
    winograd = fd.winograd_bound(tile_l1, kernel_l1, n_C_prev)
    return np.maximum(fft, winograd) + 2.0 * fd.UNIT_ROUNDOFF * magnitude


def _n_terms(geometry: ConvGeometry) -> int:
    """Terms of one output of the layer: the window's products and the bias."""
    f_H, f_W = geometry.window
    return f_H * f_W * geometry.n_C_prev + 1


def _conv_gradients(geometry: ConvGeometry, A_prev, W, b, upstream) -> dict[str, Gradient]:
    hp, window, stride, pad = geometry.hparameters, geometry.window, geometry.stride, geometry.pad
    f_H, f_W = window
    slack = fd.STEP
    absA, absW, absb = _abs_conv_inputs(A_prev, W, b, slack)
    magnitude, _ = reference.conv_forward(absA, absW, absb, hp)
    abs_dA, abs_dW, abs_db = reference.conv_backward(np.abs(upstream), (absA, absW, absb, hp))
    n_terms = _n_terms(geometry)
    spatial_terms = geometry.m * geometry.n_H * geometry.n_W

    def conv_with(**replace):
        def build(x):
            values = {"A_prev": A_prev, "W": W, "b": b} | {key: x for key in replace}
            return (values["A_prev"], values["W"], values["b"], hp)

        return build

    def ref(builder):
        return lambda x: reference.conv_forward(*builder(x))[0]

    A_pad = reference.zero_pad(A_prev, pad)
    A_pad_shape = A_pad.shape
    n_C, n_C_prev = geometry.n_C, geometry.n_C_prev
    n_sum = n_C * n_C_prev
    per_channel = lambda P, shape: np.broadcast_to(P.sum(axis=(0, 1, 2)), shape)  # noqa: E731
    with_A, with_W, with_b = conv_with(A_prev=1), conv_with(W=1), conv_with(b=1)
    W_colors = np.broadcast_to(np.arange(W[..., 0].size).reshape(f_H, f_W, geometry.n_C_prev, 1), W.shape)
    return {
        "dA_prev": Gradient(
            0,
            A_prev,
            with_A,
            ref(with_A),
            fd.window_colors(A_prev.shape, window, pad),
            lambda P: np.broadcast_to(
                window_support_sum(
                    P.sum(axis=3, keepdims=True), window, stride, pad, geometry.n_H_prev, geometry.n_W_prev
                ),
                A_prev.shape,
            ),
            magnitude,
            n_terms,
            abs_dA,
            f_H * f_W * geometry.n_C,
            max(
                fd.fft_bound(upstream, W, fd.fft_log2_length((1, *A_pad_shape), (1, f_H, f_W, n_C, n_C_prev)), n_sum),
                float(fd.winograd_bound(np.abs(upstream).sum(), np.abs(W).sum(), n_C)),
            ),
        ),
        "dW": Gradient(
            1,
            W,
            with_W,
            ref(with_W),
            W_colors,
            lambda P: per_channel(P, W.shape),
            magnitude,
            n_terms,
            abs_dW,
            spatial_terms,
            fd.fft_bound(A_pad, upstream, fd.fft_log2_length(A_pad_shape, upstream.shape), n_sum * geometry.m),
        ),
        "db": Gradient(
            2,
            b,
            with_b,
            ref(with_b),
            np.zeros(b.shape, dtype=int),
            lambda P: per_channel(P, b.shape),
            magnitude,
            n_terms,
            abs_db,
            spatial_terms,
        ),
    }


CONV_GRADIENTS = ("dA_prev", "dW", "db")


def _joint_gradient(parts: list[Gradient], base_args: tuple) -> Gradient:
    """One flat input made of several of the layer's inputs, for a joint directional screen:
    ``<G, J u>`` over all of them at once equals the sum of their ``<J_i^T G, u_i>``."""
    shapes = [part.x.shape for part in parts]
    ends = np.cumsum([part.x.size for part in parts])[:-1]

    def with_x(flat: np.ndarray) -> tuple:
        args = list(base_args)
        for part, piece, shape in zip(parts, np.split(flat, ends), shapes, strict=True):
            args[part.index] = piece.reshape(shape)  # the forward's argument i is the backward's output i
        return tuple(args)

    return Gradient(
        -1,
        np.concatenate([part.x.ravel() for part in parts]),
        with_x,
        lambda flat: reference.conv_forward(*with_x(flat))[0],
        np.arange(sum(part.x.size for part in parts)),
        lambda P: P,  # not used: a joint gradient is only screened
        parts[0].magnitude,
        parts[0].n_terms,
        np.concatenate([part.abs_gradient.ravel() for part in parts]),
        max(part.n_gradient_terms for part in parts),  # gamma_n grows with n: a bound for every part
    )


def conv_backward_case(
    ctx: Context,
    geometry: ConvGeometry,
    seed: int,
    quantity: str | tuple[str, ...],
    *,
    first: bool = False,
    full: bool = False,
    sweep: Sequence[float] | None = None,
) -> Steps[CaseVerdict]:
    A_prev, W, b = geometry.random_inputs(seed)
    hp = hparameters_of(geometry, seed)
    rng = np.random.default_rng([fd.value_seed(seed), 1])
    upstream = fd.upstream_gradient(rng, geometry.output_shape, fd.off_grid(seed), fd.sparse_upstream(seed))
    expected, _ = reference.conv_forward(A_prev, W, b, hp)
    magnitude, _ = reference.conv_forward(*_abs_conv_inputs(A_prev, W, b, 0.0), hp)
    own = yield from own_forward_matches(
        ctx,
        "conv_forward",
        (*laid_out(seed, A_prev, W, b), hp),
        expected,
        forward_tolerance(magnitude, _n_terms(geometry)),
    )
    cache_arg, cache_before = own if own else ((A_prev, W, b, hp), to_wire((A_prev, W, b, hp)))
    args = (*laid_out(seed, upstream), cache_arg)
    changed = None
    if fd.called_again(seed) and sweep is None:
        other = fd.upstream_gradient(np.random.default_rng([fd.value_seed(seed), 7]), geometry.output_shape,
                                     fd.off_grid(seed), fd.sparse_upstream(seed))
        outcome, changed = yield from call_twice(ctx, "conv_backward", args, (*laid_out(seed, other), cache_arg),
                                                 watch=(0, 1, 2), watched=CONV_GRADIENTS)
    else:
        outcome = yield from ctx.call("conv_backward", args)
    ctx.check_unmodified("conv_backward", outcome, {0: ("dZ", upstream), 1: ("cache", cache_before)}, CACHE_ITEMS)
    values, problem = ctx.unpack(outcome.value, "conv_backward", CONV_GRADIENTS)
    if problem:
        raise CaseProblem("fail", problem)
    gradients = _conv_gradients(geometry, A_prev, W, b, upstream)
    names = (quantity,) if isinstance(quantity, str) else tuple(quantity)
    analytics = []
    for name in names:
        array, problem = ctx.validate(values[gradients[name].index], name, gradients[name].x.shape)
        if problem:
            raise CaseProblem("fail", problem)
        analytics.append(array)
    if changed:
        raise CaseProblem("fail", changed)
    if len(names) == 1:
        gradient, analytic = gradients[names[0]], analytics[0]
    else:  # several quantities screened together (one direction over all their inputs)
        gradient = _joint_gradient([gradients[name] for name in names], (A_prev, W, b, hp))
        analytic = np.concatenate([array.ravel() for array in analytics])
        full = False
    if first:
        yield from deterministic(ctx, "conv_backward", args, outcome)
    inputs = {"A_prev": A_prev, "W": W, "b": b, "hparameters": hp, "dZ": upstream}
    if fd.off_grid(seed) and sweep is None:
        references = dict(zip(CONV_GRADIENTS, reference.conv_backward(upstream, (A_prev, W, b, hp)), strict=True))
        parts = [(gradients[name], array, references[name]) for name, array in zip(names, analytics, strict=True)]
        return reference_verdict(parts, inputs)
    return backward_verdict(ctx, gradient, analytic, upstream, full, rng, inputs, sweep)
