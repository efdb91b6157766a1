"""The Python contract: check() returns a Report, assert_*() raise GradcheckError, arguments validated."""

from __future__ import annotations

import json

import numpy as np
import pytest
from helpers_impl import reference_namespace

import gradcheck
import reference
from gradcheck import GradcheckError, UsageError, assert_check, assert_vjp, check, check_vjp
from gradcheck.plans.convolution import CONTRACT_FUNCTIONS


def test_check_returns_a_report_whose_dict_has_the_contract_fields():
    report = check(reference, isolate=False, examples=3, only="pool_forward")
    data = json.loads(json.dumps(report.to_dict()))
    assert set(data) >= {"target", "passed", "seed", "load_error", "checks"}
    assert data["passed"] is True and data["seed"] == 0 and data["load_error"] is None
    for row in data["checks"]:
        assert set(row) >= {"function", "quantity", "status", "cases", "max_error", "tolerance",
                            "counterexample", "worst_index", "message", "warnings"}
    assert gradcheck.Report.from_dict(data).to_dict() == data


def test_assert_check_raises_an_assertion_error_naming_the_failure():
    broken = reference_namespace(distribute_value=lambda dz, shape: np.full(shape, dz))
    with pytest.raises(GradcheckError, match=r"distribute_value: distributed does not match") as info:
        assert_check(broken, isolate=False, examples=3, only="distribute_value")
    assert isinstance(info.value, AssertionError)
    assert assert_check(reference, isolate=False, examples=2, only="zero_pad").passed


def _dense(x, W, b):
    return x @ W + b


def _dense_backward(G, x, W, b):
    return G @ W.T, x.T @ G, G.sum(axis=0)


def test_check_vjp_accepts_a_correct_dense_layer_and_rejects_a_wrong_one():
    rng = np.random.default_rng(0)
    inputs = (rng.standard_normal((4, 3)), rng.standard_normal((3, 2)), rng.standard_normal(2))
    assert check_vjp(_dense, _dense_backward, inputs).passed
    wrong = check_vjp(_dense, lambda G, x, W, b: (G @ W.T, x.T @ G / 4, G.sum(axis=0)), inputs,
                      names=["x", "W", "b"])
    assert not wrong.passed
    assert "gradient of W does not match the central difference" in wrong.message
    with pytest.raises(GradcheckError, match=r"Mismatched elements: 6 / 6"):
        assert_vjp(_dense, lambda G, x, W, b: (G @ W.T, x.T @ G / 4, G.sum(axis=0)), inputs)


def test_check_vjp_reports_a_gradient_of_the_wrong_shape():
    rng = np.random.default_rng(1)
    inputs = (rng.standard_normal((2, 3)),)
    result = check_vjp(lambda x: x * 2, lambda G, x: (2 * G).T, inputs)
    assert not result.passed and "has shape (3, 2), expected (2, 3)" in result.message


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: check(reference, isolate=False, examples=0), r"examples must be an integer >= 1, got 0"),
        (lambda: check(reference, isolate=False, seed=-1), r"seed must be an integer >= 0, got -1"),
        (lambda: check(reference, isolate=False, timeout=0), r"timeout must be a positive number"),
        (lambda: check(reference, isolate=False, only="conv_fwd"), r"unknown function\(s\) \['conv_fwd'\]"),
        (lambda: check(reference, isolate=False, examples=10**9),
         r"examples=1000000000 is more than the limit of 100000 cases per check"),
        (lambda: check(reference, isolate=False, require="conv_fwd"), r"require=\['conv_fwd'\] names unknown"),
        (lambda: check_vjp(_dense, _dense_backward, (np.ones((2, 2), dtype=np.float32),)),
         r"inputs\[0\] must be a float64 ndarray, got float32"),
    ],
    ids=["examples", "seed", "timeout", "only", "examples-bound", "require", "vjp-float32"],
)
def test_bad_arguments_raise_usage_errors_that_say_what_and_how(call, message):
    with pytest.raises(UsageError, match=message):
        call()


def test_reports_serialise_to_strict_json_with_null_for_non_finite_values():
    from gradcheck.verdict.results import json_safe

    assert json_safe({"a": float("nan"), "b": [float("inf"), 1.0], "c": "x"}) == {"a": None, "b": [None, 1.0], "c": "x"}
    report = gradcheck.Report(target="t", checks=[gradcheck.CheckResult("f", "q", "fail", max_error=float("inf"))])
    json.dumps(json_safe(report.to_dict()), allow_nan=False)  # raises ValueError on NaN/inf
    assert report.to_dict()["checks"][0]["max_error"] is None


def test_assert_check_raises_with_the_likely_cause_and_the_report():
    from zoo.manifest import load

    with pytest.raises(GradcheckError) as raised:
        assert_check(load("bug_border_windows"), isolate=False, examples=6, seed=2, only="conv_backward")
    text = str(raised.value)
    assert "1 check(s) did not pass" in text
    assert "conv_backward: dA_prev [fail]" in text
    assert "likely cause: dA_prev is wrong only in a border band" in text
    assert raised.value.report.failures()[0].diagnosis["id"] == "border_only"


def test_require_in_the_api_fails_a_partial_target():
    import reference.naive as naive

    partial = {"zero_pad": naive.zero_pad}
    assert check(partial, isolate=False, examples=2).passed
    report = check(partial, isolate=False, examples=2, require="all")
    assert not report.passed
    missing = report.required_missing()
    assert [c.function for c in missing] == [n for n in CONTRACT_FUNCTIONS if n != "zero_pad"]
    assert missing[0].message == "conv_single_step is not defined, and it is required"
    assert check(partial, isolate=False, examples=2, require=["zero_pad"]).passed


def test_max_time_in_the_api():
    report = check(reference, isolate=False, examples=2, max_time=1e-9)
    assert not report.passed and {c.status for c in report.checks} == {"timeout"}
    assert report.warnings[-1].startswith("the time budget ran out: zero_pad, conv_single_step")
    with pytest.raises(UsageError, match=r"max_time must be a positive number of seconds, got 0"):
        check(reference, isolate=False, max_time=0)
