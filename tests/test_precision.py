"""No precision blind spot: code that computes anywhere in single precision fails, off the
2^-20 grid (which float32 holds exactly), with a cause that says so; correct float64
algorithms (FFT, Winograd, exactly rounded sums, reordered sums, einsum, scipy) still pass."""

from __future__ import annotations

import textwrap

import pytest
from fixture_files import place
from zoo.manifest import CORRECT

import gradcheck

HEADER = '''
import math

import numpy as np

from course_loops import *  # noqa: F403
from course_loops import conv_backward as _conv_backward
from course_loops import pool_forward as _pool_forward
'''

# max pooling through float32: each window is read as float32, the maximum stored in a float64 array
POOL_FLOAT32 = HEADER + '''
def pool_forward(A_prev, hparameters, mode="max"):
    m, n_H_prev, n_W_prev, n_C = A_prev.shape
    f, stride = hparameters["f"], hparameters["stride"]
    n_H, n_W = (n_H_prev - f) // stride + 1, (n_W_prev - f) // stride + 1
    A = np.zeros((m, n_H, n_W, n_C))
    for i in range(m):
        for h in range(n_H):
            for w in range(n_W):
                for c in range(n_C):
                    window = A_prev[i, h * stride:h * stride + f, w * stride:w * stride + f, c].astype(np.float32)
                    A[i, h, w, c] = np.max(window) if mode == "max" else np.mean(window)
    return A, (A_prev, hparameters)
'''

# conv_backward with a float32 copy of the weights for dA_prev, results stored in float64
CONV_BACKWARD_FLOAT32 = HEADER + '''
def conv_backward(dZ, cache):
    A_prev, W, b, hparameters = cache
    dA_prev, dW, db = _conv_backward(dZ, (A_prev, W.astype(np.float32), b, hparameters))
    return dA_prev.astype(np.float64), dW, db
'''

# the article's course loop for conv_forward, calling a zero_pad that allocates float32
ZERO_PAD_FLOAT32 = HEADER + '''
def zero_pad(X, pad):
    X_pad = np.zeros((X.shape[0], X.shape[1] + 2 * pad, X.shape[2] + 2 * pad, X.shape[3]), dtype=np.float32)
    X_pad[:, pad:pad + X.shape[1], pad:pad + X.shape[2], :] = X
    return X_pad


def conv_forward(A_prev, W, b, hparameters):
    m, n_H_prev, n_W_prev, n_C_prev = A_prev.shape
    f, f, n_C_prev, n_C = W.shape
    stride, pad = hparameters["stride"], hparameters["pad"]
    n_H, n_W = (n_H_prev + 2 * pad - f) // stride + 1, (n_W_prev + 2 * pad - f) // stride + 1
    Z = np.zeros((m, n_H, n_W, n_C))
    A_prev_pad = zero_pad(A_prev, pad)
    for i in range(m):
        for h in range(n_H):
            for w in range(n_W):
                for c in range(n_C):
                    a_slice = A_prev_pad[i, h * stride:h * stride + f, w * stride:w * stride + f, :]
                    Z[i, h, w, c] = np.sum(a_slice * W[:, :, :, c]) + b[0, 0, 0, c]
    return Z, (A_prev, W, b, hparameters)
'''

# a correct float64 algorithm: every window's sum exactly rounded (math.fsum)
CONV_FSUM = HEADER + '''
def conv_forward(A_prev, W, b, hparameters):
    m, n_H_prev, n_W_prev, n_C_prev = A_prev.shape
    f, _, _, n_C = W.shape
    stride, pad = hparameters["stride"], hparameters["pad"]
    n_H, n_W = (n_H_prev + 2 * pad - f) // stride + 1, (n_W_prev + 2 * pad - f) // stride + 1
    A_pad = np.pad(A_prev, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    Z = np.zeros((m, n_H, n_W, n_C))
    for i in range(m):
        for h in range(n_H):
            for w in range(n_W):
                window = A_pad[i, h * stride:h * stride + f, w * stride:w * stride + f, :]
                for c in range(n_C):
                    Z[i, h, w, c] = math.fsum((window * W[..., c]).ravel().tolist() + [float(b[0, 0, 0, c])])
    return Z, (A_prev, W, b, hparameters)
'''


def _check(tmp_path, source: str, only: str):
    path = place(tmp_path, "student.py", text=textwrap.dedent(source))
    return gradcheck.check(str(path), examples=40, only=only)


def _by_key(report):
    return {(c.function, c.quantity): c for c in report.checks}


def test_pooling_through_float32_fails_with_its_cause(tmp_path):
    report = _check(tmp_path, POOL_FLOAT32, "pool_forward")
    checks = _by_key(report)
    for quantity in ("A[max]", "A[average]"):
        check = checks[("pool_forward", quantity)]
        assert check.status == "fail", check.message
        assert check.diagnosis and check.diagnosis["id"] == "single_precision", check.diagnosis
        assert "computed in single precision (float32)" in check.diagnosis["cause"]
        assert "every analytic value is a float32 number" in check.diagnosis["evidence"]
    # the maximum of float32 copies is exact on the grid: found off it (the mean rounds on the grid too)
    assert checks[("pool_forward", "A[max]")].counterexample["seed"] >= 2**32
    assert "general float64 values" in checks[("pool_forward", "A[max]")].message


def test_a_backward_through_float32_weights_fails_for_dA_prev_only(tmp_path):
    report = _check(tmp_path, CONV_BACKWARD_FLOAT32, "conv_forward,conv_backward")
    checks = _by_key(report)
    assert checks[("conv_backward", "dA_prev")].status == "fail"
    assert checks[("conv_backward", "dA_prev")].diagnosis["id"] == "single_precision"
    assert "against the reference" not in checks[("conv_backward", "dA_prev")].message
    assert "the reference's gradient of conv_forward" in checks[("conv_backward", "dA_prev")].message
    assert {q for (f, q), c in checks.items() if c.status != "pass"} == {"dA_prev"}


def test_a_float32_zero_pad_fails_itself_and_conv_forward_names_it(tmp_path):
    report = _check(tmp_path, ZERO_PAD_FLOAT32, "zero_pad,conv_forward")
    checks = _by_key(report)
    assert checks[("zero_pad", "X_pad")].status == "fail"
    assert "has dtype float32" in checks[("zero_pad", "X_pad")].message
    forward = checks[("conv_forward", "Z")]
    assert forward.status == "fail"
    assert forward.root_cause and forward.root_cause["callee"] == "zero_pad"


def test_exactly_rounded_sums_pass(tmp_path):
    report = _check(tmp_path, CONV_FSUM, "conv_forward")
    assert report.passed, report.failures()[0].message if report.failures() else ""


@pytest.mark.parametrize("name", sorted(CORRECT))
def test_every_correct_zoo_member_passes_off_the_grid_too(name):
    """The zoo's correct implementations (FFT, Winograd, reordered sums, einsum, scipy, the loops)
    are checked with a quarter of their cases off the grid: none fails."""
    from zoo.manifest import checked

    report = checked(name)
    assert report.passed, [c.message for c in report.failures()]
    assert report.examples and report.examples >= 4  # at least one drawn case off the grid per check
