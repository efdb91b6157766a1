"""The spec-driven engine on the assignments' layers, both ways: every reference passes its
plan; a one-element error of 1e-6 relative fails; each kind of wrong answer fails only the
quantity it is in, with a message that says what to fix."""

from __future__ import annotations

import types
from collections.abc import Callable

import numpy as np
import pytest

import gradcheck
from gradcheck.boundary.backend import InProcessBackend
from gradcheck.errors import UsageError
from gradcheck.plans import detect, plan_named, plans
from gradcheck.specs.run import run_plan
from reference import dls_deep, dls_rnn, layers, recurrent, spatial


def _merged(*modules: types.ModuleType) -> types.ModuleType:
    """One module with the public functions of ``modules`` (a course file split over references)."""
    module = types.ModuleType("reference_of_an_assignment")
    for source in modules:
        for name in dir(source):
            if not name.startswith("_"):
                setattr(module, name, getattr(source, name))
    return module


SOURCES = {"cs231n-a2": _merged(layers, spatial), "cs231n-a1": layers, "cs231n-a3": recurrent,
           "dls-c1w4": dls_deep, "dls-c5w1": dls_rnn}


def module_like(source: types.ModuleType, **replaced: Callable) -> types.ModuleType:
    """A module with ``source``'s functions, some replaced."""
    module = types.ModuleType("submission")
    for name in dir(source):
        if not name.startswith("_"):
            setattr(module, name, getattr(source, name))
    for name, function in replaced.items():
        setattr(module, name, function)
    return module


def statuses(report: gradcheck.Report) -> dict[tuple[str, str], str]:
    return {(c.function, c.quantity): c.status for c in report.checks if c.status != "missing"}


def failing(report: gradcheck.Report) -> set[tuple[str, str]]:
    return {pair for pair, status in statuses(report).items() if status != "pass"}


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_each_reference_passes_its_plan(name: str) -> None:
    plan = plan_named(name)
    results = run_plan(InProcessBackend(SOURCES[name], plan=plan), plan, examples=25, seed=0)
    assert {r.function for r in results} == set(plan.names)
    assert all(r.status == "pass" for r in results), [r.message for r in results if r.status != "pass"]
    assert all(r.cases == 25 for r in results)


def one_element_off(function: Callable, index: int, relative: float = 1e-6) -> Callable:
    """``function`` whose returned ``index``-th array is off by ``relative * max |value|`` in one element."""

    def wrong(*args):
        values = list(function(*args))
        value = np.array(values[index], dtype=np.float64)
        value.reshape(-1)[value.size // 2] += relative * float(np.abs(value).max())
        values[index] = value
        return tuple(values)

    return wrong


@pytest.mark.parametrize(("name", "function", "index", "quantity"), [
    ("cs231n-a2", "batchnorm_backward", 0, "dx"),
    ("cs231n-a2", "batchnorm_backward_alt", 1, "dgamma"),
    ("cs231n-a2", "layernorm_backward", 0, "dx"),
    ("cs231n-a2", "softmax_loss", 1, "dx"),
    ("cs231n-a1", "softmax_loss_vectorized", 1, "dW"),
    ("cs231n-a3", "lstm_backward", 3, "dWh"),
    ("cs231n-a3", "lstm_step_backward", 2, "dprev_c"),
    ("dls-c1w4", "linear_backward", 1, "dW"),
])
def test_an_error_of_1e_6_relative_in_one_element_fails(name: str, function: str, index: int, quantity: str) -> None:
    source = SOURCES[name]
    module = module_like(source, **{function: one_element_off(getattr(source, function), index)})
    report = gradcheck.check(module, isolate=False, assignment=name, only=function, examples=50)
    assert failing(report) == {(function, quantity)}
    check = next(c for c in report.checks if c.quantity == quantity)
    assert f"{function}: {quantity} does not match central differences of the reference" in check.message
    assert "Mismatched elements: 1 /" in check.message  # the per-element table names the one element


@pytest.mark.slow
@pytest.mark.parametrize(("name", "functions"), [
    ("cs231n-a2", ("batchnorm_backward", "batchnorm_backward_alt", "layernorm_backward", "softmax_loss",
                   "spatial_batchnorm_backward", "spatial_groupnorm_backward")),
    ("cs231n-a1", ("softmax_loss_naive", "softmax_loss_vectorized")),
    ("cs231n-a3", ("lstm_step_backward", "lstm_backward")),
    ("dls-c5w1", ("lstm_cell_backward", "lstm_backward")),
])
def test_correct_layers_never_fail_over_2000_cases(name: str, functions: tuple[str, ...]) -> None:
    plan = plan_named(name)
    results = run_plan(InProcessBackend(SOURCES[name], plan=plan), plan, examples=2000, seed=7, only=functions)
    assert [r for r in results if r.status != "pass"] == []
    assert all(r.cases == 2000 for r in results)


def test_a_gradient_of_the_wrong_shape_fails_only_itself() -> None:
    def affine_backward(dout, cache):
        dx, dw, db = layers.affine_backward(dout, cache)
        return dx, dw, db.reshape(1, -1)

    report = gradcheck.check(module_like(layers, affine_backward=affine_backward), isolate=False,
                             only="affine_backward", examples=20)
    assert failing(report) == {("affine_backward", "db")}
    message = next(c.message for c in report.checks if c.quantity == "db")
    assert "db has shape (1, " in message and "expected (" in message


def test_a_loss_that_is_not_a_float_fails_only_the_loss() -> None:
    def softmax_loss(x, y):
        loss, dx = layers.softmax_loss(x, y)
        return [loss], dx

    report = gradcheck.check(module_like(layers, softmax_loss=softmax_loss), isolate=False, only="softmax_loss",
                             examples=10)
    assert failing(report) == {("softmax_loss", "loss")}
    message = next(c.message for c in report.checks if c.quantity == "loss")
    assert "softmax_loss's loss is list of 1; return a float (e.g. float(loss) or loss.item())" in message


def test_running_averages_must_be_stored_in_bn_param() -> None:
    def batchnorm_forward(x, gamma, beta, bn_param):
        return layers.batchnorm_forward(x, gamma, beta, dict(bn_param))  # updates a copy: the caller sees nothing

    report = gradcheck.check(module_like(layers, batchnorm_forward=batchnorm_forward), isolate=False,
                             only="batchnorm_forward", examples=20)
    assert failing(report) == {("batchnorm_forward", "bn_param")}
    message = next(c.message for c in report.checks if c.quantity == "bn_param")
    assert "did not store bn_param['running_mean']" in message or "bn_param['running_mean'] after the call" in message


def test_a_forward_that_changes_its_input_fails_with_the_fix() -> None:
    def relu_forward(x):
        x[x < 0] = 0.0
        return x, x

    report = gradcheck.check(module_like(layers, relu_forward=relu_forward), isolate=False, only="relu_forward",
                             examples=5)
    assert failing(report) == {("relu_forward", "out")}
    assert "relu_forward modified its input x in place" in report.checks[0].message


def test_a_backward_that_changes_its_cache_fails() -> None:
    def affine_backward(dout, cache):
        cache[0] *= 1.0 + 0.0 * dout.sum()  # writes into the cached x (same values)
        cache[0][...] = 0.0
        return layers.affine_backward(dout, (cache[0], cache[1], cache[2]))

    def affine_forward(x, w, b):
        out, (cached, w_cached, b_cached) = layers.affine_forward(x, w, b)
        return out, [cached.copy(), w_cached, b_cached]

    module = module_like(layers, affine_forward=affine_forward, affine_backward=affine_backward)
    report = gradcheck.check(module, isolate=False, only="affine_backward", examples=5)
    assert failing(report) == {("affine_backward", q) for q in ("dx", "dw", "db")}
    assert all("modified the cache it was given in place" in c.message for c in report.checks)


def test_a_2016_regularisation_passes_with_a_note_and_a_mixed_one_fails() -> None:
    def half(W, X, y, reg):
        return layers.softmax_loss_vectorized(W, X, y, 0.5 * reg)

    report = gradcheck.check(module_like(layers, softmax_loss_vectorized=half), isolate=False,
                             only="softmax_loss_vectorized", examples=20)
    assert report.passed
    assert any("follows the 2016 convention 0.5 * reg * sum(W * W)" in w for c in report.checks for w in c.warnings)

    def mixed(W, X, y, reg):
        loss, _ = half(W, X, y, reg)
        return loss, layers.softmax_loss_vectorized(W, X, y, reg)[1]  # the loss of 2016, the gradient of 2017

    report = gradcheck.check(module_like(layers, softmax_loss_vectorized=mixed), isolate=False,
                             only="softmax_loss_vectorized", examples=20)
    assert failing(report) == {("softmax_loss_vectorized", "dW")}


def test_the_dls_factor_1_over_m_is_part_of_dW_and_db() -> None:
    def linear_backward(dZ, cache):
        dA_prev, dW, db = dls_deep.linear_backward(dZ, cache)
        m = cache[0].shape[1]
        return dA_prev, dW * m, db  # the gradient of the sum, not of the mean

    report = gradcheck.check(module_like(dls_deep, linear_backward=linear_backward), isolate=False,
                             only="linear_backward", examples=30)
    assert failing(report) == {("linear_backward", "dW")}
    check = next(c for c in report.checks if c.quantity == "dW")
    assert "smallest failing case: n_prev=1, n=1, m=2" in check.message  # m = 1 hides it: shrunk to m = 2
    # the one cause a black box shows plainly, measured on three failing cases
    assert check.diagnosis["cause"].startswith("dW is m times the expected gradient on every case: a missing 1/m")
    assert "every element of 3 failing cases" in check.diagnosis["evidence"]


def test_no_cause_is_named_for_a_mistake_that_is_no_constant_factor() -> None:
    def affine_backward(dout, cache):
        dx, dw, db = layers.affine_backward(dout, cache)
        return dx, dw, dout.sum(axis=0) + dout[0]  # the first example counted twice: no factor

    report = gradcheck.check(module_like(layers, affine_backward=affine_backward), isolate=False,
                             only="affine_backward", examples=30)
    check = next(c for c in report.checks if c.quantity == "db")
    assert check.status == "fail" and check.diagnosis is None


def test_an_assignment_is_found_by_the_names_a_file_defines() -> None:
    assert detect({"affine_forward", "batchnorm_backward"}).name == "cs231n-a2"
    assert detect({"softmax_loss_naive"}).name == "cs231n-a1"
    assert detect({"linear_backward", "L_model_forward"}).name == "dls-c1w4"
    assert detect({"conv_forward", "zero_pad"}) is None  # the convolution notebook: no assignment
    report = gradcheck.check(dls_deep, isolate=False, examples=5)
    assert report.plan == "dls-c1w4" and report.to_dict()["plan"] == "dls-c1w4"
    assert not any(c.function.startswith(("conv", "pool", "zero_pad")) for c in report.checks)


def test_an_unknown_assignment_is_a_usage_error_naming_the_choices() -> None:
    choices = "cs231n-a2, cs231n-a1, cs231n-a3, dls-c1w4, dls-c5w1"
    with pytest.raises(UsageError, match=f"assignment must be auto, none or one of {choices}"):
        gradcheck.check(layers, isolate=False, assignment="cs231n-a9")
    assert set(plans()) >= {"cs231n-a2", "cs231n-a1", "dls-c1w4"}
