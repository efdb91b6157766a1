"""Adversarial submissions: odd return types, caches, arithmetic, small and rare bugs.

Every test pins a behaviour of the checker that is correct today: the status of
one (function, quantity) and a fragment of its message. Submissions are built
from the reference with some functions replaced (``reference_namespace``) and
checked in process with few examples; a few are written to files and checked in
the isolated worker.
"""

from __future__ import annotations

import itertools
import textwrap
import warnings
from collections import namedtuple

import numpy as np
import pytest
from fixture_files import place
from helpers_impl import reference_namespace

import gradcheck
import reference

cf, cb = reference.conv_forward, reference.conv_backward
pf, pb = reference.pool_forward, reference.pool_backward
css = reference.conv_single_step


def run(only: str, examples: int = 5, **overrides):
    report = gradcheck.check(reference_namespace(**overrides), isolate=False, examples=examples, only=only)
    assert report.load_error is None
    return report


def row(report, function: str, quantity: str):
    matches = [c for c in report.checks if c.function == function and c.quantity == quantity]
    assert len(matches) == 1, [(c.function, c.quantity) for c in report.checks]
    return matches[0]


def assert_row(report, function, quantity, status, fragment=""):
    check = row(report, function, quantity)
    assert check.status == status, check.message
    assert fragment in check.message, check.message
    return check


# --- windows into a padded NHWC array, for alternative correct implementations --------


def _pad(A, p):
    return np.pad(A, ((0, 0), (p, p), (p, p), (0, 0)))


def _windows(A, f, stride):
    """(m, H, W, C) -> (m, n_H, n_W, f, f, C) view of every window."""
    m, H, W, C = A.shape
    n_H, n_W = (H - f) // stride + 1, (W - f) // stride + 1
    s = A.strides
    return np.lib.stride_tricks.as_strided(
        A, (m, n_H, n_W, f, f, C), (s[0], s[1] * stride, s[2] * stride, s[1], s[2], s[3]), writeable=False
    )


def cf_einsum(A, W, b, hp):
    X = _windows(_pad(A, hp["pad"]), W.shape[0], hp["stride"])
    return np.einsum("mhwpqc,pqcn->mhwn", X, W, optimize=True) + b, (A, W, b, hp)


def cf_tensordot(A, W, b, hp):
    X = _windows(_pad(A, hp["pad"]), W.shape[0], hp["stride"])
    return np.tensordot(X, W, axes=([3, 4, 5], [0, 1, 2])) + b.reshape(-1), (A, W, b, hp)


def cf_longdouble(A, W, b, hp):
    X = _windows(_pad(A, hp["pad"]).astype(np.longdouble), W.shape[0], hp["stride"])
    Z = np.einsum("mhwpqc,pqcn->mhwn", X, W.astype(np.longdouble)) + b.astype(np.longdouble)
    return Z.astype(np.float64), (A, W, b, hp)


def cf_reversed_order(A, W, b, hp):
    X = _windows(_pad(A, hp["pad"]), W.shape[0], hp["stride"])
    Z = np.zeros(X.shape[:3] + (W.shape[3],)) + b
    for p in reversed(range(W.shape[0])):
        for q in reversed(range(W.shape[1])):
            for c in reversed(range(W.shape[2])):
                Z += X[:, :, :, p, q, c, None] * W[p, q, c]
    return Z, (A, W, b, hp)


def cb_einsum(dZ, cache):
    A, W, b, hp = cache
    f, s, p = W.shape[0], hp["stride"], hp["pad"]
    Ap = _pad(A, p)
    dW = np.einsum("mhwpqc,mhwn->pqcn", _windows(Ap, f, s), dZ, optimize=True)
    dX = np.einsum("mhwn,pqcn->mhwpqc", dZ, W, optimize=True)
    dAp = np.zeros(Ap.shape)
    n_H, n_W = dZ.shape[1:3]
    for i in range(f):
        for j in range(f):
            dAp[:, i : i + s * (n_H - 1) + 1 : s, j : j + s * (n_W - 1) + 1 : s, :] += dX[:, :, :, i, j, :]
    db = dZ.sum(axis=(0, 1, 2)).reshape(1, 1, 1, -1)
    return dAp[:, p : p + A.shape[1], p : p + A.shape[2], :], dW, db


def cb_add_at_longdouble(dZ, cache):
    A, W, b, hp = cache
    f, s, p = W.shape[0], hp["stride"], hp["pad"]
    Ap = _pad(A, p).astype(np.longdouble)
    G = dZ.astype(np.longdouble)
    dW = np.tensordot(_windows(Ap, f, s), G, axes=([0, 1, 2], [0, 1, 2]))
    dX = np.tensordot(G, W.astype(np.longdouble), axes=([3], [3]))  # (m, n_H, n_W, f, f, C)
    mi, hi, wi, pi, qi, ci = np.indices(dX.shape)
    dAp = np.zeros(Ap.shape, dtype=np.longdouble)
    np.add.at(dAp, (mi, hi * s + pi, wi * s + qi, ci), dX)
    db = G.sum(axis=(0, 1, 2)).reshape(1, 1, 1, -1)
    crop = dAp[:, p : p + A.shape[1], p : p + A.shape[2], :]
    return crop.astype(np.float64), dW.astype(np.float64), db.astype(np.float64)


# --- conv_single_step return types -----------------------------------------------------


@pytest.mark.parametrize(
    "function",
    [
        lambda a, W, b: np.float64(css(a, W, b)),
        lambda a, W, b: float(np.dot(a.ravel(), W.ravel()) + b.item()),
        lambda a, W, b: __import__("math").fsum([*(a * W).ravel(), b.item()]),
        lambda a, W, b: float(b.item() + np.sum(a * W)),
    ],
    ids=["np.float64", "dot", "fsum", "b-first"],
)
def test_conv_single_step_correct_variants_pass(function):
    report = run("conv_single_step", examples=30, conv_single_step=function)
    assert_row(report, "conv_single_step", "Z", "pass", "matches the reference")


@pytest.mark.parametrize("shape", [(), (1, 1, 1)])
def test_conv_single_step_array_result_passes_with_a_warning(shape):
    report = run("conv_single_step", conv_single_step=lambda a, W, b: np.array(css(a, W, b)).reshape(shape))
    check = assert_row(report, "conv_single_step", "Z", "pass")
    assert any(f"array of shape {shape}" in w and ".item()" in w for w in check.warnings), check.warnings


@pytest.mark.parametrize(
    ("function", "fragment"),
    [
        (lambda a, W, b: int(css(a, W, b)), "returned int; expected a float"),
        (lambda a, W, b: [css(a, W, b)], "returned list; expected a float"),
        (lambda a, W, b: complex(css(a, W, b)), "complex>; expected a float"),
        (lambda a, W, b: np.ma.masked_array(css(a, W, b)), "returned <numpy.ma.MaskedArray>; expected a float"),
        (lambda a, W, b: np.matrix([[css(a, W, b)]]), "returned <numpy.matrix"),
        (lambda a, W, b: float(np.sum(a * W + b)), "does not match the reference"),
        (lambda a, W, b: float(np.sum(a * W)), "does not match the reference"),
        (lambda a, W, b: float("inf"), "conv_single_step returned inf; expected a finite float"),
    ],
    ids=["int", "list", "complex", "masked", "matrix", "b-added-per-term", "no-bias", "inf"],
)
@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")
def test_conv_single_step_wrong_results_fail(function, fragment):
    report = run("conv_single_step", conv_single_step=function)
    assert_row(report, "conv_single_step", "Z", "fail", fragment)


def test_conv_single_step_float_of_b_gets_the_numpy2_hint():
    report = run("conv_single_step", conv_single_step=lambda a, W, b: float(np.sum(a * W)) + float(b))
    assert_row(report, "conv_single_step", "Z", "error", "use b.item()")


# --- conv_forward return types ---------------------------------------------------------


def _fortran(A, W, b, hp):
    Z, cache = cf(A, W, b, hp)
    return np.asfortranarray(Z), cache


def _strided(A, W, b, hp):
    Z, cache = cf(A, W, b, hp)
    big = np.zeros(Z.shape[:3] + (2 * Z.shape[3],))
    big[..., ::2] = Z
    return big[..., ::2], cache


def _read_only(A, W, b, hp):
    Z, cache = cf(A, W, b, hp)
    Z.flags.writeable = False
    return Z, cache


def _broadcast(A, W, b, hp):
    Z, cache = cf(A, W, b, hp)
    return np.broadcast_to(Z, Z.shape), cache


def _view_cache(A, W, b, hp):
    Z, _ = cf(A, W, b, hp)
    return Z, (A[:], W[...], b.view(), hp)


def _printing(A, W, b, hp):
    print("debug " * 2000)
    return cf(A, W, b, hp)


@pytest.mark.parametrize(
    "forward",
    [
        lambda A, W, b, hp: list(cf(A, W, b, hp)),
        _fortran,
        _strided,
        _read_only,
        _broadcast,
        _view_cache,
        _printing,
        cf_einsum,
        cf_tensordot,
        cf_longdouble,
        cf_reversed_order,
    ],
    ids=[
        "list", "fortran", "strided", "read-only", "broadcast", "cache-of-views", "prints",
        "einsum", "tensordot", "longdouble", "reversed-order",
    ],
)
def test_correct_conv_forward_variants_pass_with_their_backward(forward):
    report = run("conv_forward,conv_backward", examples=15, conv_forward=forward)
    assert_row(report, "conv_forward", "Z", "pass", "matches the reference")
    for quantity in ("dA_prev", "dW", "db"):
        assert_row(report, "conv_backward", quantity, "pass", "central finite difference of conv_forward")


def test_conv_forward_with_scipy_correlate_passes():
    signal = pytest.importorskip("scipy.signal")

    def forward(A, W, b, hp):
        f, s = W.shape[0], hp["stride"]
        Ap = _pad(A, hp["pad"])
        n_H, n_W = (Ap.shape[1] - f) // s + 1, (Ap.shape[2] - f) // s + 1
        Z = np.zeros((A.shape[0], n_H, n_W, W.shape[3]))
        for i in range(A.shape[0]):
            for n in range(W.shape[3]):
                full = signal.correlate(Ap[i], W[:, :, :, n], mode="valid", method="direct")[:, :, 0]
                Z[i, :, :, n] = full[::s, ::s][:n_H, :n_W] + b[0, 0, 0, n]
        return Z, (A, W, b, hp)

    report = run("conv_forward", examples=15, conv_forward=forward)
    assert_row(report, "conv_forward", "Z", "pass")


@pytest.mark.parametrize(
    ("forward", "fragment"),
    [
        (lambda A, W, b, hp: cf(A, W, b, hp) + (None,), "returned tuple of 3; expected a tuple (Z, cache)"),
        (lambda A, W, b, hp: cf(A, W, b, hp)[0], "conv_forward returned ndarray float64 (1, 1, 1, 1)"),
        (lambda A, W, b, hp: cf(A, W, b, hp)[::-1], "Z is tuple of 4, not a numpy.ndarray"),
        (lambda A, W, b, hp: "Z", "conv_forward returned str"),
        (lambda A, W, b, hp: {"Z": cf(A, W, b, hp)[0]}, "conv_forward returned dict"),
        (lambda A, W, b, hp: (cf(A, W, b, hp)[0].astype(complex), None), "dtype complex128, expected a float array"),
        (lambda A, W, b, hp: (cf(A, W, b, hp)[0].astype(int), None), "integer arrays truncate gradients"),
        (lambda A, W, b, hp: (cf(A, W, b, hp)[0].astype(np.float32), None), "dtype float32; finite differences need"),
        (lambda A, W, b, hp: (cf(A, W, b, hp)[0].astype(object), None), "ndarray of dtype object"),
        (lambda A, W, b, hp: (np.ma.masked_array(cf(A, W, b, hp)[0]), None), "numpy.ma.MaskedArray, not a numpy"),
        (lambda A, W, b, hp: (cf(A, W, b, hp)[0] * np.nan, None), "NaN/inf value(s), first at [[0, 0, 0, 0]]"),
        (lambda A, W, b, hp: (A, None), "does not match the reference"),
    ],
    ids=[
        "3-tuple", "bare-Z", "swapped", "str", "dict", "complex", "int", "float32", "object", "masked", "nan",
        "returns-input",
    ],
)
def test_wrong_conv_forward_results_fail_and_backward_is_judged_alone(forward, fragment):
    report = run("conv_forward,conv_backward", conv_forward=forward)
    assert_row(report, "conv_forward", "Z", "fail", fragment)
    for quantity in ("dA_prev", "dW", "db"):  # through the reference forward with the contract's cache
        assert_row(report, "conv_backward", quantity, "pass")


def test_conv_forward_that_mutates_hparameters_fails():
    def forward(A, W, b, hp):
        hp["extra"] = 1
        return cf(A, W, b, hp)

    report = run("conv_forward", conv_forward=forward)
    assert_row(report, "conv_forward", "Z", "fail", "modified its input hparameters in place")


def test_nondeterministic_forward_is_reported_as_not_reproducible():
    counter = itertools.count()

    def forward(A, W, b, hp):
        Z, cache = cf(A, W, b, hp)
        return (Z * 1.001 if next(counter) % 3 == 2 else Z), cache

    report = run("conv_forward", examples=20, conv_forward=forward)
    assert_row(report, "conv_forward", "Z", "fail", "not reproducible")


@pytest.mark.parametrize("category", [UserWarning, RuntimeWarning])
def test_warnings_do_not_change_the_verdict_under_default_filters(category):
    def forward(A, W, b, hp):
        warnings.warn("careful", category, stacklevel=1)
        return cf(A, W, b, hp)

    with warnings.catch_warnings(record=True):  # the in-process backend lets them through
        warnings.simplefilter("default")
        report = run("conv_forward", conv_forward=forward)
    assert_row(report, "conv_forward", "Z", "pass")


def test_a_forward_that_calls_sys_exit_is_a_crash_not_an_engine_exit():
    def forward(A, W, b, hp):
        raise SystemExit(3)

    report = run("conv_forward", conv_forward=forward)
    assert_row(report, "conv_forward", "Z", "crashed", "tried to exit the process (SystemExit: 3)")


def test_a_slow_forward_times_out():
    import time

    def forward(A, W, b, hp):
        time.sleep(1.0)
        return cf(A, W, b, hp)

    report = gradcheck.check(
        reference_namespace(conv_forward=forward), isolate=False, examples=2, only="conv_forward", timeout=0.2
    )
    assert_row(report, "conv_forward", "Z", "timeout", "did not return within 0.2 s")


def test_a_non_callable_attribute_is_missing():
    report = run("conv_forward", conv_forward=5)
    assert_row(report, "conv_forward", "Z", "missing", "conv_forward is not defined")


# --- conv_backward ---------------------------------------------------------------------


@pytest.mark.parametrize("backward", [cb_einsum, cb_add_at_longdouble], ids=["einsum", "add.at-longdouble"])
def test_correct_conv_backward_variants_pass(backward):
    report = run("conv_forward,conv_backward", examples=30, conv_backward=backward)
    for quantity in ("dA_prev", "dW", "db"):
        assert_row(report, "conv_backward", quantity, "pass")


def test_conv_backward_returning_a_list_passes():
    report = run("conv_backward", conv_backward=lambda dZ, cache: list(cb(dZ, cache)))
    for quantity in ("dA_prev", "dW", "db"):
        assert_row(report, "conv_backward", quantity, "pass")


def test_conv_backward_wrong_shapes_and_dtypes_fail_only_their_quantity():
    def squeezed_db(dZ, cache):
        dA, dW, db = cb(dZ, cache)
        return dA, dW.astype(np.float32), db.reshape(-1)

    report = run("conv_backward", conv_backward=squeezed_db)
    assert_row(report, "conv_backward", "dA_prev", "pass")
    assert_row(report, "conv_backward", "dW", "fail", "dW has dtype float32; finite differences need float64")
    assert_row(report, "conv_backward", "db", "fail", "db has shape (1,), expected (1, 1, 1, 1)")


def _scaled(condition, index, relative, where="last"):
    def backward(dZ, cache):
        A, W, b, hp = cache
        out = list(cb(dZ, cache))
        if condition(A, W, hp):
            x = out[index].copy()
            if where == "last":
                x.flat[-1] *= 1 + relative
            elif where == "last_channel":
                x[..., -1] *= 1 + relative
            else:
                x *= 1 + relative
            out[index] = x
        return tuple(out)

    return backward


@pytest.mark.parametrize(
    ("backward", "quantity", "geometry"),
    [
        (_scaled(lambda A, W, hp: True, 0, 1e-11), "dA_prev", {}),
        (_scaled(lambda A, W, hp: True, 1, 1e-6, "last_channel"), "dW", {}),
        (_scaled(lambda A, W, hp: True, 2, 1e-6), "db", {}),
        (_scaled(lambda A, W, hp: A.shape[0] > 2, 1, 1e-3), "dW", {"m": 3}),
        (_scaled(lambda A, W, hp: A.shape[3] > 2, 0, 1e-3), "dA_prev", {"n_C_prev": 3}),
        (_scaled(lambda A, W, hp: hp["stride"] == 3, 1, 1e-3, "all"), "dW", {"stride": 3}),
        (_scaled(lambda A, W, hp: hp["pad"] == 2, 1, 1e-3, "all"), "dW", {"pad": 2}),
        (_scaled(lambda A, W, hp: W.shape[0] == 4, 1, 1e-4), "dW", {"f": 4}),
    ],
    ids=["dA-1e-11", "dW-last-channel-1e-6", "db-1e-6", "m>2", "n_C_prev>2", "stride-3", "pad-2", "f-4"],
)
def test_small_and_rare_conv_backward_bugs_fail_on_a_minimal_case(backward, quantity, geometry):
    report = run("conv_backward", examples=30, conv_backward=backward)
    check = assert_row(report, "conv_backward", quantity, "fail", "does not match the central finite difference")
    assert "Mismatched elements:" in check.message
    for key, value in geometry.items():
        assert check.counterexample[key] == value, check.counterexample


@pytest.mark.parametrize(
    ("mutate", "name"),
    [
        (lambda dZ, cache: dZ.__imul__(2), "dZ"),
        (lambda dZ, cache: cache[0].fill(0.0), "cache"),
        (lambda dZ, cache: cache[3].__setitem__("pad", 99), "cache"),
    ],
    ids=["dZ", "cache-array", "cache-hparameters"],
)
def test_conv_backward_that_modifies_its_inputs_fails(mutate, name):
    def backward(dZ, cache):
        out = cb(dZ, cache)
        mutate(dZ, cache)
        return out

    report = run("conv_backward", conv_backward=backward)
    assert_row(report, "conv_backward", "dA_prev", "fail", f"conv_backward modified its input {name} in place")


def test_conv_backward_that_alternates_is_not_deterministic():
    counter = itertools.count()

    def backward(dZ, cache):
        dA, dW, db = cb(dZ, cache)
        return dA, dW, db + (next(counter) % 2) * 1e-3

    report = run("conv_backward", conv_backward=backward)
    assert_row(report, "conv_backward", "dA_prev", "fail", "conv_backward is not deterministic")


# --- pooling ---------------------------------------------------------------------------


def _route_to_last_maximum(dA, cache, mode="max"):
    if mode != "max":
        return pb(dA, cache, mode)
    A_prev, hp = cache
    f, s = hp["f"], hp["stride"]
    out = np.zeros(A_prev.shape)
    for i, h, w, c in np.ndindex(*dA.shape):
        flat = A_prev[i, h * s : h * s + f, w * s : w * s + f, c].ravel()
        k = flat.size - 1 - int(np.argmax(flat[::-1]))
        out[i, h * s + k // f, w * s + k % f, c] += dA[i, h, w, c]
    return out


def _assign_instead_of_add(dA, cache, mode="max"):
    A_prev, hp = cache
    f, s = hp["f"], hp["stride"]
    out = np.zeros(A_prev.shape)
    for i, h, w, c in np.ndindex(*dA.shape):
        window = A_prev[i, h * s : h * s + f, w * s : w * s + f, c]
        share = (window == window.max()) if mode == "max" else np.full(window.shape, 1.0 / (f * f))
        out[i, h * s : h * s + f, w * s : w * s + f, c] = share * dA[i, h, w, c]
    return out


def test_pool_backward_routing_to_the_last_maximum_is_a_valid_subgradient():
    report = run("pool_backward", examples=15, pool_backward=_route_to_last_maximum)
    for quantity in ("dA_prev[max]", "dA_prev[average]", "ties[max]"):
        check = assert_row(report, "pool_backward", quantity, "pass")
        assert check.warnings == []


def test_pool_backward_assigning_overlapping_windows_fails_and_warns_about_k_times():
    report = run("pool_backward", examples=15, pool_backward=_assign_instead_of_add)
    assert_row(report, "pool_backward", "dA_prev[max]", "fail", "central finite difference of pool_forward (max)")
    assert_row(report, "pool_backward", "dA_prev[average]", "fail", "pool_forward (average)")
    ties = assert_row(report, "pool_backward", "ties[max]", "pass")
    assert any("x == np.max(x)" in w for w in ties.warnings), ties.warnings


@pytest.mark.parametrize(
    ("backward", "failing", "passing"),
    [
        (lambda dA, cache, mode="max": pb(dA, cache, "max"), "dA_prev[average]", "dA_prev[max]"),
        (lambda dA, cache, mode="max": pb(dA, cache, "average"), "dA_prev[max]", "dA_prev[average]"),
    ],
    ids=["always-max", "always-average"],
)
def test_pool_backward_ignoring_mode_fails_the_other_mode(backward, failing, passing):
    report = run("pool_backward", pool_backward=backward)
    assert_row(report, "pool_backward", failing, "fail", "does not match the central finite difference")
    assert_row(report, "pool_backward", passing, "pass")


def test_pool_forward_raising_for_average_is_an_error_of_that_mode_only():
    def forward(A_prev, hparameters, mode="max"):
        if mode == "average":
            raise NotImplementedError("average pooling is left as an exercise")
        return pf(A_prev, hparameters, mode)

    report = run("pool_forward,pool_backward", pool_forward=forward)
    assert_row(report, "pool_forward", "A[max]", "pass")
    assert_row(report, "pool_forward", "A[average]", "error", "NotImplementedError: average pooling is left")
    assert_row(report, "pool_backward", "dA_prev[average]", "pass")  # through the reference forward


def test_pool_forward_with_keyword_only_mode_is_an_error_naming_the_call():
    report = run("pool_forward", pool_forward=lambda A_prev, hparameters, *, mode="max": pf(A_prev, hparameters, mode))
    assert_row(report, "pool_forward", "A[max]", "error", "takes 2 positional arguments but 3 were given")


def test_pool_forward_returning_its_input_when_that_is_right_passes():
    def forward(A_prev, hparameters, mode="max"):
        if hparameters["f"] == 1 and hparameters["stride"] == 1:
            return A_prev, (A_prev, hparameters)
        return pf(A_prev, hparameters, mode)

    report = run("pool_forward,pool_backward", examples=15, pool_forward=forward)
    assert all(c.status == "pass" for c in report.checks), [c.message for c in report.checks]


@pytest.mark.parametrize(
    ("mutate", "name"),
    [(lambda dA, cache: dA.fill(0.0), "dA"), (lambda dA, cache: cache[0].fill(0.0), "cache")],
    ids=["dA", "cache"],
)
def test_pool_backward_that_modifies_its_inputs_fails(mutate, name):
    def backward(dA, cache, mode="max"):
        out = pb(dA, cache, mode)
        mutate(dA, cache)
        return out

    report = run("pool_backward", pool_backward=backward)
    assert_row(report, "pool_backward", "dA_prev[max]", "fail", f"pool_backward modified its input {name} in place")


# --- create_mask_from_window and distribute_value --------------------------------------


def test_boolean_equality_mask_passes_with_the_k_times_warning():
    report = run("create_mask_from_window", examples=15, create_mask_from_window=lambda x: x == np.max(x))
    assert_row(report, "create_mask_from_window", "mask", "pass")
    ties = assert_row(report, "create_mask_from_window", "mask_ties", "pass")
    assert any("every one of them gets the full gradient" in w for w in ties.warnings), ties.warnings


def test_mask_sharing_ties_equally_passes_without_warnings():
    def mask(x):
        hit = x == x.max()
        return hit / hit.sum()

    report = run("create_mask_from_window", examples=15, create_mask_from_window=mask)
    for quantity in ("mask", "mask_ties"):
        assert row(report, "create_mask_from_window", quantity).warnings == []
        assert_row(report, "create_mask_from_window", quantity, "pass")


@pytest.mark.parametrize(
    ("mask", "status", "fragment"),
    [
        (lambda x: (x == x.max()).tolist(), "fail", "mask is list of 1, not a numpy.ndarray"),
        (lambda x: reference.create_mask_from_window(x).ravel(), "fail", "mask has shape (1,), expected (1, 1)"),
        (lambda x: np.where(x == x.max(), 1.0, np.nan), "fail", "NaN/inf"),
        (lambda x: (x == np.min(x)).astype(float), "fail", "central finite difference of max(x)"),
        (lambda x: np.ones_like(x), "fail", "central finite difference of max(x)"),
    ],
    ids=["list", "flat", "nan", "argmin", "ones"],
)
def test_wrong_masks_fail(mask, status, fragment):
    report = run("create_mask_from_window", examples=10, create_mask_from_window=mask)
    assert_row(report, "create_mask_from_window", "mask", status, fragment)


@pytest.mark.parametrize(
    "distribute",
    [
        lambda dz, shape: np.broadcast_to(dz / (shape[0] * shape[1]), shape),
        lambda dz, shape: np.full(shape, dz / (shape[0] * shape[1])),
        lambda dz, shape: np.ones(shape) * dz / np.prod(shape),
        lambda dz, shape: np.full(shape, dz / (shape[0] * shape[1]) * (1 + 1e-14)),
    ],
    ids=["broadcast-view", "full", "prod", "1e-14"],
)
def test_correct_distribute_value_variants_pass(distribute):
    report = run("distribute_value", examples=15, distribute_value=distribute)
    assert_row(report, "distribute_value", "distributed", "pass", "dz times the central finite difference of mean(a)")


@pytest.mark.parametrize(
    ("distribute", "fragment"),
    [
        (lambda dz, shape: dz / (shape[0] * shape[1]), "distribute_value's result is float, not a numpy.ndarray"),
        (lambda dz, shape: reference.distribute_value(dz, shape).tolist(), "result is list of 1"),
        (lambda dz, shape: reference.distribute_value(dz, shape).astype(np.float32), "dtype float32"),
        (lambda dz, shape: np.ones(shape) * dz / (shape[0] * shape[0]), "does not match dz times"),
        (lambda dz, shape: np.ones(shape) * dz, "does not match dz times"),
        (lambda dz, shape: np.full(shape, dz / (shape[0] * shape[1]) * (1 + 1e-12)), "does not match dz times"),
    ],
    ids=["scalar", "list", "float32", "n_H-squared", "no-division", "1e-12"],
)
def test_wrong_distribute_value_fails(distribute, fragment):
    report = run("distribute_value", examples=15, distribute_value=distribute)
    assert_row(report, "distribute_value", "distributed", "fail", fragment)


# --- zero_pad ----------------------------------------------------------------------------


def test_zero_pad_returning_its_input_at_pad_zero_passes():
    report = run(
        "zero_pad", examples=15, zero_pad=lambda X, pad: X if pad == 0 else reference.zero_pad(X, pad)
    )
    assert_row(report, "zero_pad", "X_pad", "pass")


def test_zero_pad_scaled_fails_with_zero_tolerance():
    report = run("zero_pad", zero_pad=lambda X, pad: reference.zero_pad(X, pad) * (1 + 2.0**-52))
    check = assert_row(report, "zero_pad", "X_pad", "fail", "does not match the reference")
    assert check.tolerance == 0.0


# --- the isolated worker -----------------------------------------------------------------


def _write(tmp_path, name, source):
    return str(place(tmp_path, f"{name}.py", text=textwrap.dedent(source)))


def test_isolated_worker_verdicts_on_odd_submissions(tmp_path):
    path = _write(
        tmp_path,
        "odd_isolated",
        """
        import sys
        import numpy as np
        import course_loops as _r
        from course_loops import conv_backward, pool_forward, pool_backward, zero_pad

        print("printed at import time " * 100)

        def conv_forward(A_prev, W, b, hparameters):
            Z, cache = _r.conv_forward(A_prev, W, b, hparameters)
            return [np.asfortranarray(Z), cache]

        def conv_single_step(a_slice_prev, W, b):
            sys.exit(0)

        def create_mask_from_window(x):
            return (x == x.max()).astype(np.float16)

        def distribute_value(dz, shape):
            return np.full(shape, dz / (shape[0] * shape[1]), dtype=np.complex128)
        """,
    )
    report = gradcheck.check(path, isolate=True, examples=5)
    assert report.load_error is None
    assert_row(report, "conv_forward", "Z", "pass")
    for quantity in ("dA_prev", "dW", "db"):
        assert_row(report, "conv_backward", quantity, "pass")
    assert_row(report, "conv_single_step", "Z", "crashed")
    assert_row(report, "create_mask_from_window", "mask", "pass")  # a 0/1 mask is exact in float16
    assert_row(report, "distribute_value", "distributed", "fail", "dtype complex128, expected a float array")
    assert_row(report, "pool_backward", "ties[max]", "pass")
    assert_row(report, "zero_pad", "X_pad", "pass")


def test_isolated_worker_reports_modified_cache(tmp_path):
    path = _write(
        tmp_path,
        "mutating_isolated",
        """
        import course_loops as _r
        from course_loops import conv_forward

        def conv_backward(dZ, cache):
            out = _r.conv_backward(dZ, cache)
            cache[0][...] = 0.0
            return out
        """,
    )
    report = gradcheck.check(path, isolate=True, examples=3, only="conv_forward,conv_backward")
    assert_row(report, "conv_forward", "Z", "pass")
    assert_row(report, "conv_backward", "dA_prev", "fail", "conv_backward modified its input cache in place")


def test_backward_returning_a_plain_tuple_made_from_a_namedtuple_passes():
    # the plain-tuple control for the namedtuple defects reported separately
    G = namedtuple("G", "dA_prev dW db")
    report = run("conv_backward", conv_backward=lambda dZ, cache: tuple(G(*cb(dZ, cache))))
    for quantity in ("dA_prev", "dW", "db"):
        assert_row(report, "conv_backward", quantity, "pass")
