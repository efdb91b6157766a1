"""Correct code never fails: >= 10,000 generated cases on reference and reference.naive.

The tolerances come from a rounding-error bound (gradcheck.engine.numeric), not a guessed
constant; these runs are the empirical side of that claim. Both modes are run:
the directional screen on every case, the full per-element check on many.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

import gradcheck
import reference
import reference.naive
from gradcheck.boundary.backend import InProcessBackend
from gradcheck.engine.runner import evaluate_case
from gradcheck.strategies import conv_geometries, pool_geometries

LAYERS = "conv_forward,conv_backward,pool_forward,pool_backward"
EXAMPLES_PER_QUANTITY = 600


@pytest.mark.slow  # a timeout or a long run: CI runs it, `-m "not slow"` skips it
def test_ten_thousand_generated_cases_on_correct_code_never_fail():
    total = 0
    for implementation in (reference, reference.naive):
        report = gradcheck.check(implementation, isolate=False, examples=EXAMPLES_PER_QUANTITY, seed=11,
                                 only=LAYERS)
        assert report.passed, [check.message for check in report.failures()]
        total += sum(check.cases for check in report.checks)
    assert total >= 10_000, total


@pytest.mark.parametrize("implementation", [reference, reference.naive], ids=["reference", "naive"])
@pytest.mark.parametrize("quantity", ["dA_prev", "dW", "db"])
@given(geometry=conv_geometries(), seed=st.integers(0, 2**32 - 1))
def test_full_per_element_conv_check_passes_correct_code(implementation, quantity, geometry, seed):
    verdict = evaluate_case(InProcessBackend(implementation), "conv_backward", quantity, geometry, seed,
                            full=True, trusted_forwards={"conv_forward"})
    assert verdict.passed, verdict.message


@pytest.mark.parametrize("implementation", [reference, reference.naive], ids=["reference", "naive"])
@given(geometry=pool_geometries(), seed=st.integers(0, 2**32 - 1))
def test_full_per_element_pool_check_passes_correct_code(implementation, geometry, seed):
    verdict = evaluate_case(InProcessBackend(implementation), "pool_backward", f"dA_prev[{geometry.mode}]",
                            geometry, seed, full=True, trusted_forwards={"pool_forward"})
    assert verdict.passed, verdict.message


# --- transform algorithms (FFT, Winograd): the norm-wise bound ----------------------------

import types  # noqa: E402

import numpy as np  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402
from scipy import signal  # noqa: E402
from zoo.manifest import TRANSFORM, load  # noqa: E402

from gradcheck.engine import numeric as fd  # noqa: E402
from gradcheck.plans.convolution.checks.conv import conv_transform_bound  # noqa: E402
from gradcheck.verdict.compare import NORMWISE, NORMWISE_NOTE, Comparison  # noqa: E402

TRANSFORM_CASES = [
    ("conv_forward", "Z", True),
    ("conv_backward", "dA_prev", True),
    ("conv_backward", "dW", True),
    ("conv_backward", "dA_prev", False),
    ("conv_backward", "dW", False),
]


@pytest.mark.parametrize("name", TRANSFORM)
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(geometry=conv_geometries(), seed=st.integers(0, 2**32 - 1))
def test_transform_convolutions_never_fail(name, geometry, seed):
    backend = InProcessBackend(load(name))
    for function, quantity, full in TRANSFORM_CASES:
        verdict = evaluate_case(backend, function, quantity, geometry, seed, full=full,
                                trusted_forwards={"conv_forward"})
        assert verdict.passed, (name, function, quantity, full, verdict.message)


def _scipy_fft_conv_forward(A_prev, W, b, hparameters):
    """The issue's conv_forward: one 3-D scipy.signal.correlate(method="fft") per example and filter."""
    stride, pad = hparameters["stride"], hparameters["pad"]
    A_pad = np.pad(A_prev, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    f, n_C = W.shape[0], W.shape[3]
    n_H, n_W = (A_pad.shape[1] - f) // stride + 1, (A_pad.shape[2] - f) // stride + 1
    Z = np.zeros((A_prev.shape[0], n_H, n_W, n_C))
    for i in range(A_prev.shape[0]):
        for c in range(n_C):
            z = signal.correlate(A_pad[i], W[:, :, :, c], mode="valid", method="fft")
            Z[i, :, :, c] = z[::stride, ::stride, 0][:n_H, :n_W] + b[0, 0, 0, c]
    return Z, (A_prev, W, b, hparameters)


ISSUE_FFT_CASE = dict(m=2, n_H_prev=1, n_W_prev=2, n_C_prev=1, n_C=2, f=2, stride=1, pad=1)


def test_regression_fft_forward_of_the_issue_passes_by_the_norm_wise_bound():
    """m=2, 1x2 input, f=2, stride 1, pad 1: FFT rounding exceeds the element-wise bound and
    failed before; the norm-wise bound accepts it and the verdict says which bound decided."""
    backend = InProcessBackend(types.SimpleNamespace(conv_forward=_scipy_fft_conv_forward))
    verdict = evaluate_case(backend, "conv_forward", "Z", ISSUE_FFT_CASE, 35)
    assert verdict.passed, verdict.message
    assert verdict.comparison.bound == NORMWISE
    assert verdict.warnings == [NORMWISE_NOTE]
    elementwise = Comparison(verdict.comparison.analytic, verdict.comparison.expected, verdict.comparison.elementwise)
    assert not elementwise.passed  # the element-wise bound alone rejects this correct code


def test_element_wise_bound_decides_when_it_suffices():
    backend = InProcessBackend(reference)
    verdict = evaluate_case(backend, "conv_forward", "Z", ISSUE_FFT_CASE, 35)
    assert verdict.passed and verdict.comparison.bound == "element-wise" and verdict.warnings == []


def _perturbed(function: str, index: int, relative: float):
    """reference.<function> with output (or gradient) ``index`` off by ``relative`` times its
    scale (max |.|) at the element where the norm-wise tolerance is loosest."""

    def conv_forward(A_prev, W, b, hparameters):
        Z, cache = reference.conv_forward(A_prev, W, b, hparameters)
        magnitude = reference.conv_forward(np.abs(A_prev), np.abs(W), np.abs(b), hparameters)[0]
        bound = conv_transform_bound(A_prev, W, hparameters, magnitude)
        Z = Z.copy()
        Z.flat[int(np.argmax(bound))] += relative * np.abs(Z).max()
        return Z, cache

    def conv_backward(dZ, cache):
        grads = list(reference.conv_backward(dZ, cache))
        g = grads[index].copy()
        g.flat[int(np.argmax(np.abs(g)))] += relative * np.abs(g).max()
        grads[index] = g
        return tuple(grads)

    return types.SimpleNamespace(conv_forward=conv_forward if function == "conv_forward" else reference.conv_forward,
                                 conv_backward=conv_backward)


@pytest.mark.parametrize(("function", "quantity", "index"),
                         [("conv_forward", "Z", 0), ("conv_backward", "dA_prev", 0), ("conv_backward", "dW", 1)])
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(geometry=conv_geometries(), seed=st.integers(0, 2**32 - 1))
def test_an_error_of_1e9_of_the_scale_in_one_element_still_fails(function, quantity, index, geometry, seed):
    backend = InProcessBackend(_perturbed(function, index, 1e-9))
    verdict = evaluate_case(backend, function, quantity, geometry, seed, full=True, trusted_forwards=set())
    assert not verdict.passed, verdict.message


def test_norm_wise_bound_is_far_below_a_real_error_on_generated_sizes():
    """max tolerance / max |Z| over many generated geometries stays below 1e-10."""
    rng = np.random.default_rng(0)
    worst = 0.0
    for _ in range(200):
        f, stride, pad = int(rng.integers(1, 5)), int(rng.integers(1, 4)), int(rng.integers(0, 3))
        n_H, n_W = max(1, f - 2 * pad) + int(rng.integers(0, 6)), max(1, f - 2 * pad) + int(rng.integers(0, 6))
        m, n_C_prev, n_C = (int(v) for v in rng.integers(1, 4, size=3))
        A, W, b = (fd.quantize(rng.standard_normal(s)) for s in ((m, n_H, n_W, n_C_prev), (f, f, n_C_prev, n_C),
                                                                  (1, 1, 1, n_C)))
        hp = {"stride": stride, "pad": pad}
        magnitude = reference.conv_forward(np.abs(A), np.abs(W), np.abs(b), hp)[0]
        Z = reference.conv_forward(A, W, b, hp)[0]
        worst = max(worst, fd.SAFETY * conv_transform_bound(A, W, hp, magnitude).max() / np.abs(Z).max())
    assert worst < 1e-10, worst
