"""The engine accepts correct implementations and rejects wrong ones, naming the function."""

from __future__ import annotations

import re

import numpy as np
import pytest
from fixture_files import place
from helpers_impl import reference_namespace, scale_one_element

import gradcheck
import reference
import reference.naive
from gradcheck.plans.convolution.plan import PLAN


@pytest.mark.parametrize("implementation", [reference, reference.naive], ids=["reference", "naive"])
def test_correct_implementations_pass_every_check(implementation):
    report = gradcheck.check(implementation, isolate=False, examples=30, seed=3)
    assert report.passed, [check.message for check in report.failures()]
    assert [(c.function, c.quantity) for c in report.checks] == list(PLAN)
    assert all(check.cases >= 30 for check in report.checks)


CONV_INDEX = {"dA_prev": 0, "dW": 1, "db": 2}


@pytest.mark.parametrize("relative", [1e-3, -1e-3, 1e-1])
@pytest.mark.parametrize("quantity", ["dA_prev", "dW", "db"])
def test_a_relative_error_of_one_in_a_thousand_in_one_conv_gradient_element_fails(quantity, relative):
    def conv_backward(dZ, cache):
        grads = list(reference.conv_backward(dZ, cache))
        grads[CONV_INDEX[quantity]] = scale_one_element(grads[CONV_INDEX[quantity]], relative)
        return tuple(grads)

    report = gradcheck.check(reference_namespace(conv_backward=conv_backward), isolate=False,
                             examples=10, only="conv_backward")
    verdicts = {check.quantity: check.status for check in report.checks}
    assert verdicts[quantity] == "fail"
    assert all(status == "pass" for name, status in verdicts.items() if name != quantity)


@pytest.mark.parametrize("mode", ["max", "average"])
def test_a_relative_error_of_one_in_a_thousand_in_pool_backward_fails(mode):
    def pool_backward(dA, cache, mode="max"):
        return scale_one_element(reference.pool_backward(dA, cache, mode), 1e-3)

    report = gradcheck.check(reference_namespace(pool_backward=pool_backward), isolate=False,
                             examples=10, only="pool_backward")
    verdicts = {check.quantity: check.status for check in report.checks}
    assert verdicts[f"dA_prev[{mode}]"] == "fail"


def test_a_wrong_forward_fails_and_its_backward_is_still_judged_on_its_own():
    def conv_forward(A_prev, W, b, hparameters):
        Z, cache = reference.conv_forward(A_prev, W, b, hparameters)
        return Z * (1 + 1e-3), cache

    report = gradcheck.check(reference_namespace(conv_forward=conv_forward), isolate=False, examples=10,
                             only="conv_forward,conv_backward")
    verdicts = {(c.function, c.quantity): c.status for c in report.checks}
    assert verdicts[("conv_forward", "Z")] == "fail"
    assert verdicts[("conv_backward", "dA_prev")] == "pass"
    assert verdicts[("conv_backward", "dW")] == "pass"


def test_missing_functions_are_reported_missing_not_failed():
    namespace = reference_namespace()
    del namespace.pool_backward
    report = gradcheck.check(namespace, isolate=False, examples=5, only="pool_forward,pool_backward")
    statuses = {(c.function, c.status) for c in report.checks}
    assert ("pool_backward", "missing") in statuses
    assert report.passed  # every function present passes


def test_modified_input_is_a_failure_with_its_own_message():
    def pool_backward(dA, cache, mode="max"):
        result = reference.pool_backward(dA, cache, mode)
        dA *= 2.0
        return result

    report = gradcheck.check(reference_namespace(pool_backward=pool_backward), isolate=False, examples=5,
                             only="pool_backward")
    failing = [c for c in report.checks if c.quantity.startswith("dA_prev")]
    assert failing and all(c.status == "fail" for c in failing)
    assert "pool_backward modified its input dA in place" in failing[0].message


def test_modified_cache_is_a_failure():
    def conv_backward(dZ, cache):
        grads = reference.conv_backward(dZ, cache)
        cache[0][...] = 0.0  # clobbers A_prev inside the cache
        return grads

    report = gradcheck.check(reference_namespace(conv_backward=conv_backward), isolate=False, examples=5,
                             only="conv_backward")
    assert all(c.status == "fail" for c in report.checks)
    assert "modified its input cache" in report.checks[0].message
    assert "(A_prev = cache[0])" in report.checks[0].message


@pytest.mark.parametrize(("index", "name"), [(1, "W"), (2, "b")])
def test_modified_cache_message_names_the_array_that_changed(index, name):
    """The fix names the array the function changed: scaling W in place is told to copy W, not A_prev."""

    def conv_backward(dZ, cache):
        grads = reference.conv_backward(dZ, cache)
        cache[index][...] *= 2.0
        return grads

    report = gradcheck.check(reference_namespace(conv_backward=conv_backward), isolate=False, examples=5,
                             only="conv_backward")
    message = report.checks[0].message
    assert f"modified its input cache in place ({name} = cache[{index}])" in message, message
    assert f"e.g. {name} = cache[{index}].copy()" in message, message


def test_nondeterministic_output_is_a_failure():
    calls = []

    def conv_forward(A_prev, W, b, hparameters):
        # every other call differs in the last bit: within tolerance, but not reproducible
        calls.append(1)
        Z, cache = reference.conv_forward(A_prev, W, b, hparameters)
        return Z * (1.0 + (len(calls) % 2) * 2.0**-52), cache

    report = gradcheck.check(reference_namespace(conv_forward=conv_forward), isolate=False, examples=5,
                             only="conv_forward")
    assert report.checks[0].status == "fail"
    assert "not deterministic" in report.checks[0].message


def test_the_failure_message_reads_like_assert_allclose_with_the_counterexample():
    def conv_backward(dZ, cache):
        dA_prev, dW, db = reference.conv_backward(dZ, cache)
        return dA_prev, dW, db * 2

    report = gradcheck.check(reference_namespace(conv_backward=conv_backward), isolate=False, examples=10,
                             only="conv_backward")
    db = next(c for c in report.checks if c.quantity == "db")
    assert db.status == "fail"
    assert db.message.startswith("conv_backward: db does not match the central finite difference of conv_forward")
    assert "Mismatched elements: " in db.message
    assert "Max absolute difference" in db.message and "Max relative difference" in db.message
    assert "smallest failing case: m=1" in db.message
    assert db.counterexample["n_C"] == 1 and db.counterexample["m"] == 1
    assert db.max_error > db.tolerance
    assert db.worst_index == [0, 0, 0, 0]


def test_numpy2_float_of_array_error_explains_the_fix():
    def conv_single_step(a_slice_prev, W, b):
        return float(np.sum(a_slice_prev * W) + b)

    report = gradcheck.check(reference_namespace(conv_single_step=conv_single_step), isolate=False,
                             examples=3, only="conv_single_step")
    check = report.checks[0]
    assert check.status == "error"
    assert "numpy 2 refuses float()" in check.message and "b.item()" in check.message


def test_nchw_output_gets_a_layout_hint():
    def pool_forward(A_prev, hparameters, mode="max"):
        A, cache = reference.pool_forward(A_prev, hparameters, mode)
        return A.transpose(0, 3, 1, 2), cache

    report = gradcheck.check(reference_namespace(pool_forward=pool_forward), isolate=False, examples=5,
                             only="pool_forward")
    messages = " ".join(c.message for c in report.checks)
    assert all(c.status == "fail" for c in report.checks)
    assert "expected (" in messages


def test_course_mask_passes_with_a_tie_warning_not_a_failure():
    def create_mask_from_window(x):
        return x == np.max(x)

    report = gradcheck.check(reference_namespace(create_mask_from_window=create_mask_from_window),
                             isolate=False, examples=10, only="create_mask_from_window")
    assert report.passed
    ties = next(c for c in report.checks if c.quantity == "mask_ties")
    assert any("k times the upstream gradient" in w for w in ties.warnings)


def test_mask_that_halves_a_tie_wrongly_fails_the_tie_check():
    def create_mask_from_window(x):
        mask = (x == np.max(x)).astype(float)
        return mask / 2.0  # sums to k/2, not 1

    report = gradcheck.check(reference_namespace(create_mask_from_window=create_mask_from_window),
                             isolate=False, examples=10, only="create_mask_from_window")
    ties = next(c for c in report.checks if c.quantity == "mask_ties")
    assert ties.status == "fail" and "sum to" in ties.message


def test_returning_an_ndarray_subclass_never_passes():
    class Lying(np.ndarray):
        def __eq__(self, other):  # noqa: D105
            return True

    def distribute_value(dz, shape):
        return reference.distribute_value(dz, shape).view(Lying)

    report = gradcheck.check(reference_namespace(distribute_value=distribute_value), isolate=False,
                             examples=3, only="distribute_value")
    assert report.checks[0].status == "fail"
    assert "not a numpy.ndarray" in report.checks[0].message


def test_cs231n_submission_lists_only_its_own_functions_with_missing_ones_by_their_names():
    from types import SimpleNamespace

    from gradcheck.load.loaders import as_contract

    def conv_forward_naive(x, w, b, conv_param):
        raise NotImplementedError("TODO")

    student = SimpleNamespace(__name__="partial_cs231n", conv_forward_naive=conv_forward_naive,
                              conv_backward_naive=lambda dout, cache: None)
    report = gradcheck.check(as_contract(student), isolate=False, examples=3)
    listed = {(c.function, c.status) for c in report.checks}
    assert ("max_pool_forward_naive", "missing") in listed and ("max_pool_backward_naive", "missing") in listed
    assert ("conv_forward_naive", "error") in listed
    assert not any(c.function in ("zero_pad", "distribute_value", "create_mask_from_window") for c in report.checks)


@pytest.mark.parametrize(
    "function, replacement, expected",
    [
        ("conv_forward", lambda A, W, b, hp: reference.conv_forward(A, W, b, hp)[0],
         r"conv_forward returned ndarray float64 \(.*\); expected a tuple \(Z, cache\)"),
        ("conv_forward", lambda A, W, b, hp: (*reference.conv_forward(A, W, b, hp), None),
         r"conv_forward returned tuple of 3; expected a tuple \(Z, cache\)"),
        ("pool_forward", lambda A, hp, mode="max": [reference.pool_forward(A, hp, mode)[0]],
         r"pool_forward returned list of 1; expected a tuple \(A, cache\)"),
    ],
    ids=["bare-array", "three-values", "list-of-one"],
)
def test_a_forward_with_the_wrong_return_structure_fails_with_a_message(function, replacement, expected):
    report = gradcheck.check(reference_namespace(**{function: replacement}), isolate=False, examples=3,
                             only=function)
    assert report.checks and all(check.status == "fail" for check in report.checks)
    assert re.search(expected, report.checks[0].message), report.checks[0].message


@pytest.mark.parametrize("isolate", [False, True], ids=["in-process", "isolated"])
def test_a_forward_returning_a_list_instead_of_a_tuple_is_accepted(tmp_path, isolate):
    source = place(tmp_path, "list_returns.py", text=(
        "import course_loops\n"
        "from course_loops import *  # noqa: F403\n\n"
        "def conv_forward(A_prev, W, b, hparameters):\n"
        "    return list(course_loops.conv_forward(A_prev, W, b, hparameters))\n"
    ))
    report = gradcheck.check(str(source), isolate=isolate, examples=5, only="conv_forward,conv_backward")
    assert report.passed, [check.message for check in report.failures()]
