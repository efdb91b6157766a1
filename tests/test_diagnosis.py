"""Diagnosis rules on small implementations run through the real engine (``evaluate_case`` on
an ``InProcessBackend``): hints are read on non-degenerate cases, verified, and never given
on correct code; the issue's false hints are regressions.

``tests/test_diagnosis_zoo.py`` and ``tests/test_zoo_verdicts.py`` pin the hint of every
zoo member; this file pins the rules' guarantees.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from fixture_files import place

import reference
import reference.naive
from gradcheck.boundary.backend import InProcessBackend
from gradcheck.engine.runner import evaluate_case
from gradcheck.plans.convolution.diagnosis import CAUSES, RULES, diagnose
from gradcheck.plans.convolution.diagnosis.common import nondegenerate
from gradcheck.verdict.results import CheckResult, Detail


def implementation(**overrides):
    """The reference loops with some functions replaced."""
    names = ("zero_pad", "conv_single_step", "conv_forward", "conv_backward", "pool_forward", "pool_backward",
             "create_mask_from_window", "distribute_value")
    return SimpleNamespace(**{name: getattr(reference.naive, name) for name in names} | overrides)


def failing_result(module, function, quantity, geometry, seed=0, trusted=frozenset()):
    """The CheckResult the engine builds for this case, and the re-run callable it passes."""
    backend = InProcessBackend(module)

    def evaluate(g, s):
        return evaluate_case(backend, function, quantity, g, s, trusted_forwards=set(trusted))

    verdict = evaluate(geometry, seed)
    detail = None
    if verdict.comparison is not None and verdict.comparison.analytic.ndim:
        c = verdict.comparison
        detail = Detail(c.analytic, c.expected, c.tolerance, inputs=verdict.inputs)
    status = "fail" if verdict.status == "pass" else verdict.status
    result = CheckResult(function, quantity, status, cases=1, counterexample={**geometry, "seed": seed},
                         message=verdict.message, detail=detail)
    return result, evaluate, verdict


def pool_backward_skipping_last_row(dA, cache, mode="max"):
    """The issue's held-out bug: the loop over output rows stops one short."""
    A_prev, hp = cache
    f, stride = hp["f"], hp["stride"]
    m, n_H, n_W, n_C = dA.shape
    dA_prev = np.zeros(A_prev.shape)
    for i in range(m):
        for h in range(n_H - 1):
            for w in range(n_W):
                for c in range(n_C):
                    vs, hs = h * stride, w * stride
                    window = A_prev[i, vs : vs + f, hs : hs + f, c]
                    if mode == "max":
                        dA_prev[i, vs : vs + f, hs : hs + f, c] += (window == window.max()) * dA[i, h, w, c]
                    else:
                        dA_prev[i, vs : vs + f, hs : hs + f, c] += dA[i, h, w, c] / (f * f)
    return dA_prev


DEGENERATE_POOL = {"m": 1, "n_H_prev": 2, "n_W_prev": 2, "n_C": 1, "f": 1, "stride": 1, "mode": "max"}


def test_regression_skipped_last_row_is_not_told_the_mask_is_wrong():
    """On f = 1 every masking rule agrees with the gradient; the hint must come from a
    non-degenerate re-run and name the skipped windows, never the mask."""
    module = implementation(pool_backward=pool_backward_skipping_last_row)
    result, evaluate, verdict = failing_result(module, "pool_backward", "dA_prev[max]", DEGENERATE_POOL)
    assert not verdict.passed
    hint = diagnose(result, evaluate)
    assert hint is not None and hint["id"] == "skipped_windows", hint
    assert "mask" not in hint["cause"] and "mask" not in hint["evidence"]
    assert "last row of windows" in hint["evidence"] and "non-degenerate" in hint["evidence"]
    assert "range(n_H - 1)" in hint["cause"]


def test_degenerate_case_without_a_rerun_gets_no_hint():
    module = implementation(pool_backward=pool_backward_skipping_last_row)
    result, _, _ = failing_result(module, "pool_backward", "dA_prev[max]", DEGENERATE_POOL)
    assert diagnose(result, None) is None


def test_nondegenerate_geometry_has_windows_batch_channels_and_an_interior():
    grown = nondegenerate({"m": 1, "n_H_prev": 1, "n_W_prev": 3, "n_C_prev": 1, "n_C": 1, "f": 1, "stride": 2,
                           "pad": 1})
    assert grown["f"] == 2 and grown["m"] == 2 and grown["n_C"] == grown["n_C_prev"] == 2
    assert grown["stride"] == 2 and grown["pad"] == 1
    for size in (grown["n_H_prev"], grown["n_W_prev"]):
        assert (size + 2 - 2) // 2 + 1 >= 3
    assert grown["n_W_prev"] - grown["n_H_prev"] == 2  # a non-square input stays non-square
    assert nondegenerate({"n_H": 1, "n_W": 1}) == {"n_H": 2, "n_W": 2}


CONV = {"m": 2, "n_H_prev": 5, "n_W_prev": 5, "n_C_prev": 2, "n_C": 3, "f": 3, "stride": 1, "pad": 1}
POOL = {"m": 2, "n_H_prev": 6, "n_W_prev": 6, "n_C": 2, "f": 2, "stride": 1}
CHECKED = [
    ("conv_forward", "Z", CONV),
    ("conv_backward", "dA_prev", CONV),
    ("conv_backward", "dW", CONV),
    ("conv_backward", "db", CONV),
    ("pool_forward", "A[max]", {**POOL, "mode": "max"}),
    ("pool_forward", "A[average]", {**POOL, "mode": "average"}),
    ("pool_backward", "dA_prev[max]", {**POOL, "mode": "max"}),
    ("pool_backward", "dA_prev[average]", {**POOL, "mode": "average"}),
    ("create_mask_from_window", "mask", {"n_H": 3, "n_W": 2}),
    ("distribute_value", "distributed", {"n_H": 3, "n_W": 2}),
    ("conv_single_step", "Z", CONV),
]


@pytest.mark.parametrize("module", [reference, reference.naive], ids=["reference", "naive"])
@pytest.mark.parametrize(("function", "quantity", "geometry"), CHECKED, ids=[f"{f}:{q}" for f, q, _ in CHECKED])
def test_correct_code_gets_no_hint_even_when_its_result_is_called_a_failure(module, function, quantity, geometry):
    """No rule names a cause on correct arrays, whatever the status says."""
    result, evaluate, verdict = failing_result(module, function, quantity, geometry, seed=3)
    assert verdict.passed
    assert diagnose(result, evaluate) is None
    assert diagnose(result, None) is None


def test_every_rule_is_silent_on_correct_arrays():
    result, evaluate, _ = failing_result(reference, "conv_backward", "dA_prev", CONV, seed=1)
    from gradcheck.plans.convolution.diagnosis.common import case_from_result

    case = case_from_result(result)
    assert all(rule(case, evaluate) is None for rule in RULES)


def test_passing_and_missing_results_get_no_hint():
    for status in ("pass", "missing"):
        assert diagnose(CheckResult("conv_backward", "dA_prev", status)) is None


def test_a_rerun_that_raises_never_breaks_the_diagnosis():
    module = implementation(pool_backward=pool_backward_skipping_last_row)
    result, _, _ = failing_result(module, "pool_backward", "dA_prev[max]", DEGENERATE_POOL)

    def broken(geometry, seed):
        raise RuntimeError("the worker died")

    assert diagnose(result, broken) is None


def test_tie_checks_are_not_diagnosed():
    assert diagnose(CheckResult("pool_backward", "ties[max]", "fail", counterexample={**POOL, "seed": 0})) is None


def conv_backward_scaled(factor):
    def conv_backward(dZ, cache):
        dA_prev, dW, db = reference.conv_backward(dZ, cache)
        return dA_prev, dW * factor(cache, dZ), db

    return conv_backward


def test_constant_factor_is_named_only_when_the_name_holds_on_other_sizes():
    named = implementation(conv_backward=conv_backward_scaled(lambda cache, dZ: 1.0 / (cache[1].shape[0] ** 2)))
    result, evaluate, _ = failing_result(named, "conv_backward", "dW", CONV)
    hint = diagnose(result, evaluate)
    assert hint["id"] == "constant_factor" and "c = 1/(f*f) in each" in hint["evidence"], hint
    assert "1/(f*f) times the right one" in hint["cause"]
    # a factor that is constant on one case but has no name (here 0.37) is only "measured": no hint
    unnamed = implementation(conv_backward=conv_backward_scaled(lambda cache, dZ: 0.37))
    result, evaluate, _ = failing_result(unnamed, "conv_backward", "dW", CONV)
    assert diagnose(result, evaluate) is None


def test_batch_mean_is_told_apart_from_other_factors_of_the_same_value():
    """m = 2 = n_C_prev = f - 1 on the failing case: only a re-run with other sizes names it."""
    module = implementation(conv_backward=conv_backward_scaled(lambda cache, dZ: 1.0 / dZ.shape[0]))
    geometry = {**CONV, "n_C_prev": 2, "n_C": 2, "f": 2}
    result, evaluate, _ = failing_result(module, "conv_backward", "dW", geometry)
    hint = diagnose(result, evaluate)
    assert hint["id"] == "batch_averaged" and "c = 1/m in each" in hint["evidence"], hint


def test_every_hint_id_has_a_cause_text():
    assert all(isinstance(text, str) and len(text) > 30 for text in CAUSES.values())


def test_mask_hint_needs_every_window_to_get_a_0_1_mask():
    """A pool_backward placing windows at h instead of h * stride gives shares that are ratios of
    unrelated upstream values: the mask rule must not fire (the stride rule does)."""

    def stride_ignored(dA, cache, mode="max"):
        return _stride_one_placement(dA, *cache)

    module = implementation(pool_backward=stride_ignored)
    result, evaluate, _ = failing_result(module, "pool_backward", "dA_prev[max]", {**POOL, "stride": 2})
    hint = diagnose(result, evaluate)
    assert hint is not None and hint["id"] == "stride_only", hint


def _stride_one_placement(dA, A_prev, hp):
    f, stride = hp["f"], hp["stride"]
    out = np.zeros(A_prev.shape)
    m, n_H, n_W, n_C = dA.shape
    for i in range(m):
        for h in range(n_H):
            for w in range(n_W):
                for c in range(n_C):
                    window = A_prev[i, h * stride : h * stride + f, w * stride : w * stride + f, c]
                    out[i, h : h + f, w : w + f, c] += (window == window.max()) * dA[i, h, w, c]
    return out


def test_hint_keeps_its_evidence_json_ready():
    module = implementation(pool_backward=pool_backward_skipping_last_row)
    result, evaluate, _ = failing_result(module, "pool_backward", "dA_prev[max]", DEGENERATE_POOL)
    hint = diagnose(result, evaluate)
    import json

    json.dumps(hint)
    assert np.shape(hint["example"]["analytic"]) == np.shape(hint["example"]["numeric"])


def test_a_pass_that_hangs_on_a_coincidence_of_sizes_is_no_evidence():
    """Average pool_backward dividing by the output size n_H * n_W instead of f * f passes on a
    4x4 input with f = stride = 2 (n_H * n_W = 4 = f * f): that must not read as "fails only
    where windows overlap"."""

    def pool_backward(dA, cache, mode="max"):
        A_prev, hp = cache
        if mode == "max":
            return reference.pool_backward(dA, cache, mode)
        f, stride = hp["f"], hp["stride"]
        m, n_H, n_W, n_C = dA.shape
        out = np.zeros(A_prev.shape)
        for h in range(n_H):
            for w in range(n_W):
                out[:, h * stride : h * stride + f, w * stride : w * stride + f, :] += (
                    dA[:, h : h + 1, w : w + 1, :] / (n_H * n_W)
                )
        return out

    module = implementation(pool_backward=pool_backward)
    geometry = {"m": 2, "n_H_prev": 4, "n_W_prev": 4, "n_C": 2, "f": 2, "stride": 1, "mode": "average"}
    result, evaluate, verdict = failing_result(module, "pool_backward", "dA_prev[average]", geometry)
    assert not verdict.passed and evaluate({**geometry, "stride": 2}, 0).passed  # the coincidence
    hint = diagnose(result, evaluate)
    assert hint is None or hint["id"] != "overlap_only", hint


def test_bound_and_root_cause_survive_the_json_round_trip():
    result = CheckResult("pool_backward", "dA_prev[max]", "fail", bound="element-wise",
                         root_cause={"function": "pool_backward", "callee": "create_mask_from_window",
                                     "text": "pool_backward fails because of create_mask_from_window; fix that first",
                                     "evidence": "..."})
    data = result.to_dict()
    assert data["bound"] == "element-wise" and data["root_cause"]["callee"] == "create_mask_from_window"
    again = CheckResult.from_dict(data)
    assert again.bound == result.bound and again.root_cause == result.root_cause


SINGLE_STEP_RETURNS_AN_ARRAY = '''
import numpy as np
from course_loops import *  # noqa: F403
from course_loops import zero_pad


def conv_single_step(a_slice_prev, W, b):
    return np.sum(a_slice_prev * W) + b  # an array of b's shape, (1, 1, 1), not a float


def conv_forward(A_prev, W, b, hparameters):
    m, n_H_prev, n_W_prev, n_C_prev = A_prev.shape
    f, f, n_C_prev, n_C = W.shape
    stride, pad = hparameters["stride"], hparameters["pad"]
    n_H = (n_H_prev + 2 * pad - f) // stride + 1
    n_W = (n_W_prev + 2 * pad - f) // stride + 1
    Z = np.zeros((m, n_H, n_W, n_C))
    A_prev_pad = zero_pad(A_prev, pad)
    for i in range(m):
        for h in range(n_H):
            for w in range(n_W):
                for c in range(n_C):
                    window = A_prev_pad[i, h * stride : h * stride + f, w * stride : w * stride + f, :]
                    Z[i, h, w, c] = conv_single_step(window, W[..., c], b[..., c])
    return Z, (A_prev, W, b, hparameters)
'''


@pytest.mark.skipif(np.lib.NumpyVersion(np.__version__) < "2.0.0", reason="numpy 1 turns the array into a float")
@pytest.mark.parametrize("isolate", [False, True])
def test_root_cause_names_a_callee_that_passes_with_a_warning(tmp_path, isolate):
    """conv_single_step returning a (1, 1, 1) array passes its own check with a warning, and
    conv_forward crashes storing it. The root cause names the callee all the same, because
    conv_forward passes with conv_single_step replaced by the reference; the evidence quotes
    the warning."""
    import gradcheck

    path = place(tmp_path, "single_step_array.py", text=SINGLE_STEP_RETURNS_AN_ARRAY)
    report = gradcheck.check(str(path), only=["conv_single_step", "conv_forward"], examples=10, isolate=isolate)
    step = [c for c in report.checks if c.function == "conv_single_step"]
    forward = [c for c in report.checks if c.function == "conv_forward"]
    assert step and all(c.status == "pass" and c.warnings for c in step)
    assert forward and all(c.status in ("fail", "error") for c in forward)
    for c in forward:
        assert c.root_cause is not None and c.root_cause["callee"] == "conv_single_step", c
        assert c.root_cause["text"] == "conv_forward fails because of conv_single_step; fix that first"
        assert "passes its own check with a warning" in c.root_cause["evidence"]


def test_an_all_zero_mask_is_told_as_a_mask():
    """create_mask_from_window comparing values with an index (x == np.argmax(x)) marks nothing:
    the all-zero cause speaks of the mask, not of pooling modes or loop ranges."""
    from helpers_impl import reference_namespace

    import gradcheck

    def create_mask_from_window(x):
        return (x == np.argmax(x)).astype(np.float64)

    report = gradcheck.check(
        reference_namespace(create_mask_from_window=create_mask_from_window),
        only="create_mask_from_window",
        examples=10,
        isolate=False,
    )
    mask = [c for c in report.checks if c.quantity == "mask"]
    assert mask and mask[0].status == "fail" and mask[0].diagnosis is not None
    assert mask[0].diagnosis["id"] == "all_zero"
    assert mask[0].diagnosis["cause"].startswith("the mask is 0 everywhere"), mask[0].diagnosis
