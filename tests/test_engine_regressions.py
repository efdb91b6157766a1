"""Regressions found by red-teaming the engine: each was a crash, a false verdict or a wrong message."""

from __future__ import annotations

import warnings
from collections import namedtuple

import numpy as np
import pytest
from fixture_files import place
from helpers_impl import reference_namespace

import gradcheck
import reference


def run(only: str, examples: int = 5, **overrides):
    return gradcheck.check(reference_namespace(**overrides), isolate=False, examples=examples, only=only)


def only_row(report, quantity=None):
    rows = [c for c in report.checks if quantity is None or c.quantity == quantity]
    assert rows, [(c.function, c.quantity) for c in report.checks]
    return rows[0]


@pytest.mark.parametrize("value", [float("nan"), np.array(np.nan), float("-inf")], ids=["nan", "nan-0d", "-inf"])
def test_conv_single_step_returning_a_non_finite_value_fails(value):
    check = only_row(run("conv_single_step", conv_single_step=lambda a, W, b: value))
    assert check.status == "fail" and "expected a finite float" in check.message


def test_a_nan_never_matches_in_any_comparison():
    from gradcheck.verdict.compare import Comparison

    comparison = Comparison(np.array([1.0, np.nan]), np.array([1.0, 1.0]), np.array([0.1, 0.1]))
    assert not comparison.passed and comparison.mismatched.tolist() == [False, True]


class Boom(BaseException):
    pass


class Unprintable(Exception):
    def __str__(self):
        raise RuntimeError("no str")


def _raise(exception):
    def function(*args):
        raise exception
    return function


@pytest.mark.parametrize(
    "exception, fragment",
    [(Boom(), "conv_forward raised Boom"), (GeneratorExit(), "conv_forward raised GeneratorExit"),
     (Unprintable(), "Unprintable: (its message could not be shown")],
    ids=["BaseException", "GeneratorExit", "unprintable"],
)
def test_odd_exceptions_are_errors_not_engine_crashes(exception, fragment):
    check = only_row(run("conv_forward", conv_forward=_raise(exception)))
    assert check.status == "error" and fragment in check.message


@pytest.mark.parametrize("exception_name", ["Boom", "Unprintable"])
def test_odd_exceptions_are_errors_in_the_worker_too(tmp_path, exception_name):
    source = place(tmp_path, "odd.py", text=(
        "from course_loops import *  # noqa: F403\n"
        "class Boom(BaseException):\n    pass\n"
        "class Unprintable(Exception):\n    def __str__(self):\n        raise RuntimeError('no str')\n"
        f"def conv_forward(A_prev, W, b, hparameters):\n    raise {exception_name}()\n"
    ))
    report = gradcheck.check(str(source), examples=3, only="conv_forward")
    assert report.checks[0].status == "error", report.checks[0].message


def test_an_except_exception_in_submitted_code_cannot_swallow_the_timeout():
    import time

    def conv_forward(A_prev, W, b, hparameters):
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline:
            try:
                time.sleep(0.01)
            except Exception:  # noqa: BLE001, S112 - what a careless submission does
                continue
        return reference.conv_forward(A_prev, W, b, hparameters)

    report = gradcheck.check(reference_namespace(conv_forward=conv_forward), isolate=False, examples=2,
                             only="conv_forward", timeout=0.2)
    assert report.checks[0].status == "timeout"


def test_namedtuple_returns_are_tuples_everywhere():
    Forward = namedtuple("Forward", "Z cache")
    Grads = namedtuple("Grads", "dA_prev dW db")
    report = run("conv_forward,conv_backward",
                 conv_forward=lambda *args: Forward(*reference.conv_forward(*args)),
                 conv_backward=lambda dZ, cache: Grads(*reference.conv_backward(dZ, cache)))
    assert report.passed, [c.message for c in report.failures()]


def test_warnings_of_a_correct_submission_never_turn_into_errors():
    def conv_forward(*args):
        warnings.warn("deprecated spelling", DeprecationWarning, stacklevel=1)
        return reference.conv_forward(*args)

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        report = run("conv_forward", conv_forward=conv_forward)
    assert report.passed, report.checks[0].message


def test_big_endian_float64_is_float64():
    report = run("conv_forward", conv_forward=lambda *a: (reference.conv_forward(*a)[0].astype(">f8"), None))
    assert report.passed, report.checks[0].message


@pytest.mark.parametrize("dtype", [int, np.uint8, np.float32, bool], ids=["int", "uint8", "float32", "bool"])
def test_a_zero_one_mask_is_accepted_in_any_real_dtype(dtype):
    report = run("create_mask_from_window", create_mask_from_window=lambda x: (x == x.max()).astype(dtype))
    assert only_row(report, "mask").status == "pass"


def test_a_float32_scalar_is_reported_as_float32_not_as_a_mismatch():
    report = run("conv_single_step", conv_single_step=lambda a, W, b: np.float32(reference.conv_single_step(a, W, b)))
    check = only_row(report)
    assert check.status == "fail" and "float32 value; finite differences need float64" in check.message


def test_a_modified_cache_gets_a_fix_that_works_for_a_tuple():
    def pool_backward(dA, cache, mode="max"):
        result = reference.pool_backward(dA, cache, mode)
        cache[0][...] = 0.0
        return result

    check = only_row(run("pool_backward", pool_backward=pool_backward), "dA_prev[max]")
    assert "copy the arrays you take from the cache" in check.message and "cache.copy()" not in check.message


def test_keyword_only_mode_gets_a_hint_about_the_positional_contract():
    def pool_forward(A_prev, hparameters, *, mode="max"):
        return reference.pool_forward(A_prev, hparameters, mode)

    check = only_row(run("pool_forward", pool_forward=pool_forward), "A[max]")
    assert check.status == "error" and "mode as the third positional argument" in check.message


def test_forward_messages_do_not_claim_a_finite_difference_step():
    report = run("conv_single_step,conv_forward",
                 conv_single_step=lambda a, W, b: reference.conv_single_step(a, W, b) * 1.001,
                 conv_forward=lambda *a: (reference.conv_forward(*a)[0] * 1.001, None))
    for check in report.checks:
        assert check.status == "fail"
        assert "does not match the reference" in check.message
        assert "step h" not in check.message and "random-direction" not in check.message


def test_a_lone_surrogate_in_an_exception_is_escaped_for_every_writer():
    check = only_row(run("conv_forward", conv_forward=_raise(ValueError("bad \udcff value"))))
    assert check.status == "error"
    check.message.encode("utf-8")  # would raise UnicodeEncodeError on a lone surrogate
    assert "\\udcff" in check.message


def test_a_non_callable_contract_name_says_so():
    check = only_row(run("conv_forward", conv_forward=5))
    assert check.status == "missing" and check.message == "conv_forward is not defined"


def test_border_only_cause_does_not_blame_padding_at_pad_0():
    from gradcheck.plans.convolution.diagnosis import diagnose
    from gradcheck.verdict.results import CheckResult, Detail

    numeric = np.random.default_rng(0).standard_normal((1, 6, 6, 1))
    analytic = numeric.copy()
    analytic[0, 5, :, 0] = 0.0  # the last row is wrong, as when a loop skips it
    geometry = {"m": 1, "n_H_prev": 6, "n_W_prev": 6, "n_C_prev": 1, "n_C": 1, "f": 2, "stride": 1, "seed": 0}
    tolerance = np.full(numeric.shape, 1e-12)
    at_pad_0 = diagnose(CheckResult("conv_backward", "dA_prev", "fail", counterexample={**geometry, "pad": 0},
                                    detail=Detail(analytic, numeric, tolerance)))
    at_pad_1 = diagnose(CheckResult("conv_backward", "dA_prev", "fail", counterexample={**geometry, "pad": 1},
                                    detail=Detail(analytic, numeric, tolerance)))
    assert at_pad_0["id"] == at_pad_1["id"] == "border_only"
    assert "padding" not in at_pad_0["cause"] and "skips the last row" in at_pad_0["cause"]
    assert "padding" in at_pad_1["cause"]
