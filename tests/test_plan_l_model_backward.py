"""DLS C1W4's ``L_model_backward`` (``gradcheck/plans/dls_c1w4.py``, ``l_model_backward_case``):
every ``dW{l}``, ``db{l}`` and activation gradient of the dict it returns, judged by central
differences of the reference network's cost, with either version's ``dA`` keys (COURSES.md)."""

from __future__ import annotations

import types

import numpy as np
import pytest

import gradcheck
from gradcheck.plans import dls_c1w4
from reference import dls_deep


def module_with(L_model_backward) -> types.ModuleType:
    """The reference's C1W4 functions, with ``L_model_backward`` replaced."""
    module = types.ModuleType("c1w4_under_test")
    for name in ("sigmoid", "relu", "relu_backward", "sigmoid_backward", "linear_forward", "linear_activation_forward",
                 "L_model_forward", "compute_cost", "linear_backward", "linear_activation_backward"):
        setattr(module, name, getattr(dls_deep, name))
    module.L_model_backward = L_model_backward
    return module


def verdict(module: types.ModuleType) -> gradcheck.Report:
    return gradcheck.check(module, isolate=False, assignment="dls-c1w4", only="L_model_backward", examples=40)


def grads_check(report: gradcheck.Report):
    (found,) = [c for c in report.checks if c.function == "L_model_backward"]
    assert found.quantity == "grads"
    return found


def test_the_current_notebooks_keys_pass_without_a_note() -> None:
    found = grads_check(verdict(module_with(dls_deep.L_model_backward)))
    assert found.status == "pass", found.message
    assert not any("2017-2020" in w for w in found.warnings)


def test_the_2017_2020_notebooks_keys_pass_and_say_which_version_was_assumed() -> None:
    found = grads_check(verdict(module_with(dls_deep.L_model_backward_legacy)))
    assert found.status == "pass", found.message
    assert "L_model_backward follows the 2017-2020 notebook's keys (dA1..dAL)" in found.warnings


def test_current_keys_holding_the_next_layers_gradient_fail() -> None:
    """Keys dA0..dA(L-1) with each value one layer late (dA{l} holds the gradient of A^[l+1])."""

    def shifted(AL, Y, caches):
        grads = dls_deep.L_model_backward(AL, Y, caches)
        L = len(caches)
        dAL = -(np.divide(Y, AL) - np.divide(1 - Y, 1 - AL))  # the gradient of AL, not of A^[L-1]
        late = {f"dA{index}": grads[f"dA{index + 1}"] for index in range(L - 1)}
        return {**grads, **late, f"dA{L - 1}": dAL}

    found = grads_check(verdict(module_with(shifted)))
    assert found.status == "fail"
    assert "grads['dA" in found.message


def test_a_dw_of_the_wrong_sign_fails_and_names_its_key() -> None:
    def negated_first(AL, Y, caches):
        grads = dls_deep.L_model_backward(AL, Y, caches)
        return {**grads, "dW1": -grads["dW1"]}

    found = grads_check(verdict(module_with(negated_first)))
    assert found.status == "fail"
    assert found.message.startswith("L_model_backward: grads") or "grads['dW1']" in found.message


def test_a_missing_key_fails_and_says_which_keys_there_are() -> None:
    def without_db(AL, Y, caches):
        grads = dls_deep.L_model_backward(AL, Y, caches)
        return {key: value for key, value in grads.items() if not key.startswith("db")}

    found = grads_check(verdict(module_with(without_db)))
    assert found.status == "fail"
    assert "grads has no 'db1' (it has 'dA" in found.message


@pytest.mark.parametrize("seed", range(20))
def test_cases_keep_the_output_sigmoid_unsaturated(seed: int) -> None:
    """A saturated AL (rounded to 1) makes the cost's differences noise: the case scales the last
    layer so that every |Z^[L]| is at most OUTPUT_RANGE, and leaves a moderate network alone."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((3, 4)) * 3
    parameters = {"W1": rng.standard_normal((4, 3)) * 4, "b1": rng.standard_normal((4, 1)),
                  "W2": rng.standard_normal((1, 4)) * 4, "b2": rng.standard_normal((1, 1)) * 4}
    moderated = dls_c1w4._moderate_output(parameters, X, 2)
    A1 = dls_c1w4._activation(moderated, X, 1)
    Z2 = moderated["W2"] @ A1 + moderated["b2"]
    assert np.abs(Z2).max() <= dls_c1w4.OUTPUT_RANGE * (1 + 1e-12)
    assert moderated["W1"] is parameters["W1"]
    if np.abs(parameters["W2"] @ A1 + parameters["b2"]).max() <= dls_c1w4.OUTPUT_RANGE:
        assert moderated is parameters
