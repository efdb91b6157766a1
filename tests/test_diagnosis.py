"""Diagnosis classes on hand-built failing cases: each class is triggered by its own
pattern, by no other class's pattern, and never by a correct gradient.

The cases are built from the reference layers: ``numeric`` is the reference gradient
(what finite differences give for the contract's forward), ``analytic`` the gradient a
buggy backward would return. The re-run classes get a small stand-in for the engine's
``evaluate_case`` that runs a buggy backward on the requested geometry.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

import reference
from gradcheck.verdict.diagnosis import CAUSES, diagnose
from gradcheck.verdict.results import CheckResult, Detail

RTOL = 1e-10


def tolerance(numeric: np.ndarray) -> np.ndarray:
    return RTOL * (1.0 + np.abs(numeric))


def conv_inputs(geometry: dict, seed: int) -> dict:
    g = geometry
    rng = np.random.default_rng(seed)
    A_prev = rng.standard_normal((g["m"], g["n_H_prev"], g["n_W_prev"], g["n_C_prev"]))
    W = rng.standard_normal((g["f"], g["f"], g["n_C_prev"], g["n_C"]))
    b = rng.standard_normal((1, 1, 1, g["n_C"]))
    hp = {"stride": g["stride"], "pad": g["pad"]}
    Z, _ = reference.conv_forward(A_prev, W, b, hp)
    dZ = rng.standard_normal(Z.shape)
    return {"A_prev": A_prev, "W": W, "b": b, "hparameters": hp, "dZ": dZ}


def pool_inputs(geometry: dict, seed: int) -> dict:
    g = geometry
    rng = np.random.default_rng(seed)
    A_prev = rng.permutation(
        np.arange(g["m"] * g["n_H_prev"] * g["n_W_prev"] * g["n_C"], dtype=float)
    )
    A_prev = A_prev.reshape(g["m"], g["n_H_prev"], g["n_W_prev"], g["n_C"]) / 7.0  # tie-free
    hp = {"f": g["f"], "stride": g["stride"]}
    A, _ = reference.pool_forward(A_prev, hp, g["mode"])
    return {
        "A_prev": A_prev,
        "hparameters": hp,
        "dA": rng.standard_normal(A.shape),
        "mode": g["mode"],
    }


CONV_QUANTITIES = {"dA_prev": 0, "dW": 1, "db": 2}


def conv_gradients(inputs: dict, backward=reference.conv_backward):
    cache = (inputs["A_prev"], inputs["W"], inputs["b"], inputs["hparameters"])
    return backward(inputs["dZ"], cache)


def pool_gradient(inputs: dict, backward=reference.pool_backward):
    return backward(inputs["dA"], (inputs["A_prev"], inputs["hparameters"]), inputs["mode"])


def result_for(function, quantity, analytic, numeric, inputs, geometry=None, seed=0, status=None):
    analytic, numeric = np.asarray(analytic, dtype=float), np.asarray(numeric, dtype=float)
    tol = tolerance(numeric)
    passed = analytic.shape == numeric.shape and bool(np.all(np.abs(analytic - numeric) <= tol))
    return CheckResult(
        function=function,
        quantity=quantity,
        status=status or ("pass" if passed else "fail"),
        cases=1,
        counterexample=None if geometry is None else {**geometry, "seed": seed},
        detail=Detail(analytic=analytic, numeric=numeric, tolerance=tol, inputs=inputs),
    )


def conv_result(quantity, transform, geometry, seed=0):
    """conv_backward's ``quantity`` with analytic = transform(reference gradient, inputs)."""
    inputs = conv_inputs(geometry, seed)
    numeric = conv_gradients(inputs)[CONV_QUANTITIES[quantity]]
    return result_for(
        "conv_backward", quantity, transform(numeric, inputs), numeric, inputs, geometry, seed
    )


def make_evaluate(function, quantity, buggy):
    """A stand-in for engine.evaluate_case bound to a buggy implementation."""

    def evaluate(geometry, seed):
        if function == "conv_backward":
            inputs = conv_inputs(geometry, seed)
            numeric = conv_gradients(inputs)[CONV_QUANTITIES[quantity]]
            compute = lambda: conv_gradients(inputs, buggy)[CONV_QUANTITIES[quantity]]  # noqa: E731
        else:
            inputs = pool_inputs(geometry, seed)
            numeric = pool_gradient(inputs)
            compute = lambda: pool_gradient(inputs, buggy)  # noqa: E731
        try:
            analytic = np.asarray(compute(), dtype=float)
        except Exception as exc:  # noqa: BLE001
            return SimpleNamespace(
                passed=False,
                status="error",
                analytic=None,
                numeric=None,
                tolerance=None,
                message=f"{type(exc).__name__}: {exc}",
            )
        tol = tolerance(numeric)
        ok = analytic.shape == numeric.shape and bool(np.all(np.abs(analytic - numeric) <= tol))
        return SimpleNamespace(
            passed=ok,
            status="pass" if ok else "fail",
            analytic=analytic,
            numeric=numeric,
            tolerance=tol,
            message="",
        )

    return evaluate


def result_from_evaluate(function, quantity, buggy, geometry, seed=0):
    evaluate = make_evaluate(function, quantity, buggy)
    verdict = evaluate(geometry, seed)
    inputs = (conv_inputs if function == "conv_backward" else pool_inputs)(geometry, seed)
    detail = None
    if verdict.analytic is not None:
        detail = Detail(verdict.analytic, verdict.numeric, verdict.tolerance, inputs=inputs)
    result = CheckResult(
        function,
        quantity,
        verdict.status,
        cases=1,
        counterexample={**geometry, "seed": seed},
        message=verdict.message,
        detail=detail,
    )
    return result, evaluate


# --------------------------------------------------------------------------- buggy backwards


def conv_backward_loops(
    dZ,
    cache,
    *,
    stride_used=None,
    assign=False,
    skip_padding_windows=False,
    crop_with_negative_slice=False,
):
    """The seed article's loops with one switchable bug."""
    A_prev, W, b, hp = cache
    m, n_H_prev, n_W_prev, _ = A_prev.shape
    f, _, _, n_C = W.shape
    stride, pad = hp["stride"], hp["pad"]
    step = stride if stride_used is None else stride_used
    _, n_H, n_W, _ = dZ.shape
    A_pad = np.pad(A_prev, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    dA_pad = np.zeros(A_pad.shape)
    dW = np.zeros(W.shape)
    db = np.zeros(b.shape)
    for i in range(m):
        for h in range(n_H):
            for w in range(n_W):
                vs, hs = h * step, w * step
                inside = (
                    vs >= pad
                    and hs >= pad
                    and vs + f <= pad + n_H_prev
                    and hs + f <= pad + n_W_prev
                )
                window = W @ dZ[i, h, w, :]
                if assign:
                    dA_pad[i, vs : vs + f, hs : hs + f, :] = window
                elif inside or not skip_padding_windows:
                    dA_pad[i, vs : vs + f, hs : hs + f, :] += window
                dW += A_pad[i, vs : vs + f, hs : hs + f, :, None] * dZ[i, h, w, :]
                db[0, 0, 0, :] += dZ[i, h, w, :]
    if crop_with_negative_slice:
        dA_prev = np.zeros(A_prev.shape)
        for i in range(m):
            dA_prev[i] = dA_pad[i, pad:-pad, pad:-pad, :]
    else:
        dA_prev = dA_pad[:, pad : pad + n_H_prev, pad : pad + n_W_prev, :]
    return dA_prev, dW, db


def pool_backward_loops(dA, cache, mode, *, stride_used=None, assign=False):
    A_prev, hp = cache
    f, stride = hp["f"], hp["stride"]
    step = stride if stride_used is None else stride_used
    m, n_H, n_W, n_C = dA.shape
    dA_prev = np.zeros(A_prev.shape)
    for i in range(m):
        for h in range(n_H):
            for w in range(n_W):
                for c in range(n_C):
                    vs, hs = h * step, w * step
                    window = A_prev[i, vs : vs + f, hs : hs + f, c]
                    if mode == "max":
                        part = (window == window.max()) * dA[i, h, w, c]
                    else:
                        part = np.full((f, f), dA[i, h, w, c] / (f * f))
                    if assign:
                        dA_prev[i, vs : vs + f, hs : hs + f, c] = part
                    else:
                        dA_prev[i, vs : vs + f, hs : hs + f, c] += part
    return dA_prev


def stride_ignored_conv(dZ, cache):
    return conv_backward_loops(dZ, cache, stride_used=1)


def overlap_assign_conv(dZ, cache):
    return conv_backward_loops(dZ, cache, assign=True)


def border_windows_conv(dZ, cache):
    return conv_backward_loops(dZ, cache, skip_padding_windows=True)


def crop_negative_conv(dZ, cache):
    return conv_backward_loops(dZ, cache, crop_with_negative_slice=True)


def stride_ignored_pool(dA, cache, mode):
    return pool_backward_loops(dA, cache, mode, stride_used=1)


def overlap_assign_pool(dA, cache, mode):
    return pool_backward_loops(dA, cache, mode, assign=True)


def flip(W):
    return np.ascontiguousarray(W[::-1, ::-1])


def flipped_dA(numeric, inputs):
    cache = (inputs["A_prev"], flip(inputs["W"]), inputs["b"], inputs["hparameters"])
    return reference.conv_backward(inputs["dZ"], cache)[0]


CONV = {
    "m": 2,
    "n_H_prev": 5,
    "n_W_prev": 5,
    "n_C_prev": 2,
    "n_C": 3,
    "f": 3,
    "stride": 1,
    "pad": 1,
}
POOL = {"m": 2, "n_H_prev": 6, "n_W_prev": 6, "n_C": 2, "f": 2, "stride": 1, "mode": "max"}


# --------------------------------------------------------------------------- the transform classes


TRANSFORM_CASES = {
    "batch_averaged dW": ("batch_averaged", "dW", lambda n, inp: n / 2, CONV),
    "batch_averaged db": ("batch_averaged", "db", lambda n, inp: n / 2, CONV),
    "kernel_flipped dA_prev": ("kernel_flipped", "dA_prev", flipped_dA, CONV),
    "kernel_flipped dW": ("kernel_flipped", "dW", lambda n, inp: n[::-1, ::-1], CONV),
    "hw_swapped dA_prev": ("hw_swapped", "dA_prev", lambda n, inp: n.swapaxes(1, 2), CONV),
    "hw_swapped dW": ("hw_swapped", "dW", lambda n, inp: n.swapaxes(0, 1), CONV),
    "bias_in_window db": ("bias_in_window", "db", lambda n, inp: 18 * n, CONV),  # f*f*n_C_prev = 18
}


@pytest.mark.parametrize("name", list(TRANSFORM_CASES))
def test_transform_class_is_named(name):
    expected, quantity, transform, geometry = TRANSFORM_CASES[name]
    result = conv_result(quantity, transform, geometry)
    assert result.status == "fail"
    hint = diagnose(result)
    assert hint is not None and hint["id"] == expected, hint
    assert hint["cause"] == CAUSES[expected]
    assert hint["evidence"]


def test_batch_averaged_needs_m_at_least_2():
    result = conv_result("dW", lambda n, inp: n / 2, {**CONV, "m": 1})
    assert diagnose(result) is None or diagnose(result)["id"] != "batch_averaged"


def test_kernel_flipped_forward():
    inputs = conv_inputs(CONV, 3)
    del inputs["dZ"]
    args = (inputs["A_prev"], inputs["W"], inputs["b"], inputs["hparameters"])
    Z_ref = reference.conv_forward(*args)[0]
    Z_bad = reference.conv_forward(args[0], flip(args[1]), *args[2:])[0]
    hint = diagnose(result_for("conv_forward", "Z", Z_bad, Z_ref, inputs))
    assert hint is not None and hint["id"] == "kernel_flipped"


def test_bias_in_window_forward_and_single_step():
    inputs = conv_inputs(CONV, 4)
    del inputs["dZ"]
    A_prev, W, b, hp = inputs["A_prev"], inputs["W"], inputs["b"], inputs["hparameters"]
    Z_ref = reference.conv_forward(A_prev, W, b, hp)[0]
    Z_bad = Z_ref + (3 * 3 * 2 - 1) * b
    hint = diagnose(result_for("conv_forward", "Z", Z_bad, Z_ref, inputs))
    assert hint is not None and hint["id"] == "bias_in_window"
    assert "17 * b" in hint["evidence"]

    a_slice, W1, b1 = A_prev[0, :3, :3, :], W[:, :, :, 0], b[:, :, :, 0]
    value_ref = reference.conv_single_step(a_slice, W1, b1)
    value_bad = float(np.sum(a_slice * W1 + b1))
    step = result_for(
        "conv_single_step", "Z", value_bad, value_ref, {"a_slice_prev": a_slice, "W": W1, "b": b1}
    )
    hint = diagnose(step)
    assert hint is not None and hint["id"] == "bias_in_window"


@pytest.mark.parametrize(
    "mode_name, route",
    [
        ("argmin", lambda x: (x == x.min()).astype(float)),
        ("above_mean", lambda x: (x > x.mean()).astype(float)),
        ("all", lambda x: np.ones(x.shape)),
        ("mean", lambda x: np.full(x.shape, 1.0 / x.size)),
    ],
)
def test_pool_backward_mask_wrong(mode_name, route):
    geometry = {**POOL, "stride": 1}
    inputs = pool_inputs(geometry, 5)
    A_prev, dA = inputs["A_prev"], inputs["dA"]
    f, stride = geometry["f"], geometry["stride"]
    analytic = np.zeros(A_prev.shape)
    for i in range(A_prev.shape[0]):
        for h in range(dA.shape[1]):
            for w in range(dA.shape[2]):
                for c in range(dA.shape[3]):
                    window = A_prev[i, h * stride : h * stride + f, w * stride : w * stride + f, c]
                    analytic[i, h * stride : h * stride + f, w * stride : w * stride + f, c] += (
                        route(window) * dA[i, h, w, c]
                    )
    numeric = pool_gradient(inputs)
    hint = diagnose(result_for("pool_backward", "dA_prev", analytic, numeric, inputs, geometry, 5))
    assert hint is not None and hint["id"] == "mask_wrong", hint


def mask_result(mask_fn, dz=-1.25, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.permutation(np.arange(9.0)).reshape(3, 3) / 3.0
    numeric = reference.create_mask_from_window(x) * dz
    analytic = np.asarray(mask_fn(x), dtype=float) * dz
    return result_for("create_mask_from_window", "mask", analytic, numeric, {"x": x, "dz": dz})


def test_mask_on_the_minimum():
    hint = diagnose(mask_result(lambda x: x == x.min()))
    assert hint is not None and hint["id"] == "mask_wrong"
    assert "minimum" in hint["evidence"]


def test_mask_not_one_hot():
    hint = diagnose(mask_result(lambda x: x > x.mean()))
    assert hint is not None and hint["id"] == "mask_wrong"
    assert "not one-hot" in hint["evidence"]


def test_correct_mask_gets_no_hint():
    result = mask_result(lambda x: x == x.max())
    assert result.status == "pass"
    assert diagnose(result) is None
    result.status = "fail"  # even when told so, matching arrays are not explained
    assert diagnose(result) is None


def distribute_result(value_fn, shape=(2, 3), dz=0.75):
    numeric = reference.distribute_value(dz, shape)
    return result_for(
        "distribute_value", "value", value_fn(dz, shape), numeric, {"dz": dz, "shape": shape}
    )


@pytest.mark.parametrize(
    "value_fn, factor",
    [
        (lambda dz, s: np.full(s, dz), "n_H*n_W"),
        (lambda dz, s: np.full(s, dz / s[0]), "n_W"),
        (lambda dz, s: np.full(s, dz / (s[0] * s[1]) ** 2), "1/(n_H*n_W)"),
    ],
)
def test_distribute_factor(value_fn, factor):
    hint = diagnose(distribute_result(value_fn))
    assert hint is not None and hint["id"] == "distribute_factor"
    assert f"= {factor} for shape (2, 3)" in hint["evidence"]


def test_distribute_not_a_constant_factor_gets_no_hint():
    def ramp(dz, shape):
        return np.arange(np.prod(shape), dtype=float).reshape(shape) * dz

    assert diagnose(distribute_result(ramp)) is None


def test_pool_average_off_by_a_factor():
    geometry = {**POOL, "mode": "average"}
    inputs = pool_inputs(geometry, 6)
    numeric = pool_gradient(inputs)
    hint = diagnose(
        result_for("pool_backward", "dA_prev", numeric * 4, numeric, inputs, geometry, 6)
    )
    assert hint is not None and hint["id"] == "distribute_factor"


# ------------------------------------------------------------ pattern and re-run classes


def test_border_only_from_the_failing_case():
    geometry = {**CONV, "n_H_prev": 7, "n_W_prev": 6, "f": 2}
    result, _ = result_from_evaluate("conv_backward", "dA_prev", border_windows_conv, geometry)
    assert result.status == "fail"
    hint = diagnose(result)  # no evaluate: the pattern in the failing case alone
    assert hint is not None and hint["id"] == "border_only", hint


def test_border_only_needs_a_larger_rerun_when_the_case_has_no_interior():
    geometry = {**CONV, "n_H_prev": 3, "n_W_prev": 3, "f": 3, "pad": 1}
    result, evaluate = result_from_evaluate(
        "conv_backward", "dA_prev", border_windows_conv, geometry
    )
    assert result.status == "fail"
    assert diagnose(result) is None  # a 3x3 dA_prev has no interior beyond a 2-wide band
    hint = diagnose(result, evaluate)
    assert hint is not None and hint["id"] == "border_only"
    assert "re-run on a larger input" in hint["evidence"]


@pytest.mark.parametrize(
    "function, buggy, geometry",
    [
        ("conv_backward", stride_ignored_conv, {**CONV, "stride": 2}),
        ("pool_backward", stride_ignored_pool, {**POOL, "stride": 2}),
        ("pool_backward", stride_ignored_pool, {**POOL, "stride": 2, "mode": "average"}),
    ],
)
def test_stride_only(function, buggy, geometry):
    quantity = "dA_prev"
    result, evaluate = result_from_evaluate(function, quantity, buggy, geometry)
    assert result.status == "fail"
    assert diagnose(result) is None  # needs a re-run to be verified
    hint = diagnose(result, evaluate)
    assert hint is not None and hint["id"] == "stride_only", hint
    assert "stride=1" in hint["evidence"]


@pytest.mark.parametrize(
    "function, buggy, geometry",
    [
        ("conv_backward", overlap_assign_conv, {**CONV, "stride": 1, "f": 2}),
        ("conv_backward", overlap_assign_conv, {**CONV, "stride": 2, "f": 3}),
        ("pool_backward", overlap_assign_pool, {**POOL, "stride": 1}),
        ("pool_backward", overlap_assign_pool, {**POOL, "stride": 1, "mode": "average"}),
    ],
)
def test_overlap_only(function, buggy, geometry):
    result, evaluate = result_from_evaluate(function, "dA_prev", buggy, geometry)
    assert result.status == "fail"
    hint = diagnose(result, evaluate)
    assert hint is not None and hint["id"] == "overlap_only", hint


def test_pad_zero_crash():
    geometry = {**CONV, "pad": 0}
    result, evaluate = result_from_evaluate(
        "conv_backward", "dA_prev", crop_negative_conv, geometry
    )
    assert result.status == "error"
    assert diagnose(result) is None
    hint = diagnose(result, evaluate)
    assert hint is not None and hint["id"] == "pad_zero_crash", hint
    assert "pad=1 and pad=2" in hint["evidence"]


def test_crash_at_every_pad_is_not_pad_zero_crash():
    def always_crashes(dZ, cache):
        raise ValueError("could not broadcast")

    result, evaluate = result_from_evaluate(
        "conv_backward", "dA_prev", always_crashes, {**CONV, "pad": 0}
    )
    assert result.status == "error"
    assert diagnose(result, evaluate) is None


# ------------------------------------------- never on correct code, never the wrong class


@pytest.mark.parametrize("quantity", ["dA_prev", "dW", "db"])
@pytest.mark.parametrize("stride, pad, f", [(1, 0, 2), (2, 1, 3), (1, 1, 1)])
def test_correct_conv_gradients_get_no_hint(quantity, stride, pad, f):
    geometry = {**CONV, "stride": stride, "pad": pad, "f": f}
    rounding = lambda n, inp: n * (1 + 1e-14)  # noqa: E731 - rounding-level difference
    result = conv_result(quantity, rounding, geometry)
    assert result.status == "pass"
    evaluate = make_evaluate("conv_backward", quantity, reference.conv_backward)
    assert diagnose(result, evaluate) is None
    result.status = "fail"  # a stale status: the arrays still match, so no hint
    assert diagnose(result, evaluate) is None


@pytest.mark.parametrize("mode", ["max", "average"])
def test_correct_pool_gradient_gets_no_hint(mode):
    geometry = {**POOL, "mode": mode}
    inputs = pool_inputs(geometry, 1)
    numeric = pool_gradient(inputs)
    result = result_for("pool_backward", "dA_prev", numeric, numeric, inputs, geometry, 1)
    evaluate = make_evaluate("pool_backward", "dA_prev", reference.pool_backward)
    assert diagnose(result, evaluate) is None
    result.status = "fail"
    assert diagnose(result, evaluate) is None


def test_unrelated_error_gets_no_hint():
    """Noise on every element matches no class, even with re-runs available."""
    noise = lambda n, inp: n + np.random.default_rng(9).standard_normal(n.shape)  # noqa: E731
    for quantity in ("dA_prev", "dW", "db"):
        for stride in (1, 2):
            result = conv_result(quantity, noise, {**CONV, "stride": stride})
            evaluate = make_evaluate(
                "conv_backward",
                quantity,
                lambda dZ, cache: tuple(g + 1.0 for g in reference.conv_backward(dZ, cache)),
            )
            assert result.status == "fail"
            assert diagnose(result, evaluate) is None


CROSS = {
    "batch_averaged": ("dW", lambda n, inp: n / 2),
    "kernel_flipped": ("dA_prev", flipped_dA),
    "hw_swapped": ("dW", lambda n, inp: n.swapaxes(0, 1)),
    "bias_in_window": ("db", lambda n, inp: 18 * n),
}


@pytest.mark.parametrize("expected", list(CROSS))
def test_each_pattern_names_only_its_own_class(expected):
    """With every re-run available, a transform pattern gets its class and no other."""
    quantity, transform = CROSS[expected]
    for stride in (1, 2):
        geometry = {**CONV, "stride": stride}
        result = conv_result(quantity, transform, geometry)

        def buggy(dZ, cache, transform=transform, quantity=quantity):
            grads = list(reference.conv_backward(dZ, cache))
            inputs = {
                "A_prev": cache[0],
                "W": cache[1],
                "b": cache[2],
                "hparameters": cache[3],
                "dZ": dZ,
            }
            grads[CONV_QUANTITIES[quantity]] = transform(grads[CONV_QUANTITIES[quantity]], inputs)
            return tuple(grads)

        hint = diagnose(result, make_evaluate("conv_backward", quantity, buggy))
        assert hint is not None and hint["id"] == expected, (stride, hint)


@pytest.mark.parametrize(
    "buggy, geometry, expected",
    [
        (stride_ignored_conv, {**CONV, "stride": 2, "f": 3}, "stride_only"),
        (overlap_assign_conv, {**CONV, "stride": 2, "f": 3}, "overlap_only"),
        (
            border_windows_conv,
            {**CONV, "stride": 2, "f": 3, "n_H_prev": 9, "n_W_prev": 9},
            "border_only",
        ),
    ],
)
def test_rerun_classes_do_not_cross(buggy, geometry, expected):
    result, evaluate = result_from_evaluate("conv_backward", "dA_prev", buggy, geometry)
    hint = diagnose(result, evaluate)
    assert hint is not None and hint["id"] == expected, hint


def test_passing_and_missing_results_get_no_hint():
    assert diagnose(CheckResult("conv_backward", "dW", "pass")) is None
    assert diagnose(CheckResult("conv_backward", "dW", "missing")) is None
    assert diagnose(CheckResult("conv_backward", "dW", "timeout")) is None


def test_a_failing_rule_never_raises():
    broken = CheckResult(
        "conv_backward",
        "dA_prev",
        "fail",
        counterexample={"stride": 2, "f": 3, "seed": 0},
        detail=Detail(
            np.ones((1, 2, 2, 1)),
            np.zeros((1, 2, 2, 1)),
            np.zeros((1, 2, 2, 1)),
            inputs={"W": "junk"},
        ),
    )

    def evaluate(geometry, seed):
        raise RuntimeError("worker died")

    assert diagnose(broken, evaluate) is None
