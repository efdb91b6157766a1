"""The batched engine: case drawing, shrinking order, lockstep batches, joint screening.

Each property is checked both ways: what must hold on correct code, and that a wrong
implementation (or a wrong engine input) is caught.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from helpers_impl import reference_namespace

import gradcheck
import reference
from gradcheck.boundary.backend import Call, InProcessBackend
from gradcheck.boundary.isolated import WorkerBackend
from gradcheck.engine.checks.case import Context
from gradcheck.engine.driver import run_cases
from gradcheck.engine.screening import factory
from gradcheck.plans.convolution.plan import SPECS
from gradcheck.plans.convolution.sampling import (
    CONV_FILTERS,
    CONV_PADS,
    CONV_STRIDES,
    conv_cases,
    pool_cases,
    shrink_candidates,
    shrink_key,
    smallest_case,
)
from gradcheck.plans.convolution.sampling import usual as sampling_usual
from gradcheck.strategies import ConvGeometry, PoolGeometry

# --- drawing cases --------------------------------------------------------------------------


def test_every_36_conv_cases_cover_every_filter_stride_and_pad():
    rng = np.random.default_rng(0)
    usual = (g for g in conv_cases(rng) if sampling_usual(g))  # the wide and heavy cases come between
    for _ in range(3):
        cycle = list(itertools.islice(usual, 36))
        assert {(g.f, g.stride, g.pad) for g in cycle} == set(itertools.product(CONV_FILTERS, CONV_STRIDES, CONV_PADS))


def test_drawn_geometries_are_valid_and_reach_the_revealing_sides():
    rng = np.random.default_rng(1)
    drawn = list(itertools.islice(conv_cases(rng), 200)) + list(itertools.islice(pool_cases(rng, "max"), 200))
    for g in drawn:
        assert g.n_H >= 1 and g.n_W >= 1, g
    assert any(g.m > 1 for g in drawn) and any(g.m == 1 for g in drawn)
    assert any(g.n_H_prev != g.n_W_prev for g in drawn)
    assert any(g.stride > g.f for g in drawn) and any(g.stride < g.f for g in drawn)


def test_the_smallest_case_is_every_field_at_its_bound():
    assert smallest_case(ConvGeometry(3, 5, 4, 2, 3, 3, 2, 1)) == ConvGeometry(1, 1, 1, 1, 1, 1, 1, 0)
    assert smallest_case(PoolGeometry(2, 5, 6, 2, 2, 1, "average")) == PoolGeometry(1, 1, 1, 1, 1, 1, "average")


# --- shrinking ------------------------------------------------------------------------------


def test_shrink_candidates_are_valid_and_strictly_smaller_in_order():
    geometry, seed = ConvGeometry(3, 4, 5, 2, 3, 3, 2, 2), 77
    candidates = shrink_candidates(geometry, seed)
    keys = [shrink_key(*candidate) for candidate in candidates]
    assert candidates and keys == sorted(keys) and all(key < shrink_key(geometry, seed) for key in keys)
    for candidate, _ in candidates:
        assert candidate.n_H >= 1 and candidate.n_W >= 1, candidate
    # pad shrinks with the padded size kept: a bug that needs a wide input survives pad -> 0
    assert (ConvGeometry(3, 8, 9, 2, 3, 3, 2, 0), seed) in candidates
    assert shrink_candidates(smallest_case(geometry), 0) == []


def test_a_failure_shrinks_to_the_smallest_case_that_still_fails():
    def backward(dZ, cache):  # wrong only when the batch has more than one example
        dA, dW, db = reference.conv_backward(dZ, cache)
        return dA, dW, db * (2.0 if cache[0].shape[0] > 1 else 1.0)

    check = next(c for c in gradcheck.check(reference_namespace(conv_backward=backward), isolate=False,
                                            examples=40, only="conv_backward").checks if c.quantity == "db")
    assert check.status == "fail"
    assert {k: check.counterexample[k] for k in ("m", "n_H_prev", "n_W_prev", "f", "stride", "pad")} == {
        "m": 2, "n_H_prev": 1, "n_W_prev": 1, "f": 1, "stride": 1, "pad": 0}


# --- lockstep batches -----------------------------------------------------------------------


def test_a_chunk_of_cases_costs_a_few_round_trips_and_gives_the_in_process_verdicts():
    spec = SPECS[("conv_backward", "dA_prev")]
    rng = np.random.default_rng(2)
    cases = [(g, int(rng.integers(2**32))) for g in itertools.islice(conv_cases(rng), 12)]
    factories = [factory(spec, g, s) for g, s in cases]
    expected = run_cases(InProcessBackend(reference), factories, {"conv_forward"})
    with WorkerBackend("reference", isolation="limits-only") as worker:
        got = run_cases(worker, factories, {"conv_forward"})
        trips = worker.round_trips
    assert [v.status for v in got] == [v.status for v in expected] == ["pass"] * 12
    assert [float(v.comparison.expected) for v in got] == [float(v.comparison.expected) for v in expected]
    assert trips <= 4  # own forward, backward, perturbed forwards: one round trip each for all 12 cases


def test_a_crash_in_a_batch_is_pinned_on_the_case_that_caused_it():
    def forward(A_prev, W, b, hparameters):
        if A_prev.shape[0] == 3:
            raise SystemExit("bye")  # ends the call as crashed
        return reference.conv_forward(A_prev, W, b, hparameters)

    spec = SPECS[("conv_forward", "Z")]
    geometries = [ConvGeometry(m, 2, 2, 1, 1, 1, 1, 0) for m in (1, 2, 3, 1)]
    backend = InProcessBackend(reference_namespace(conv_forward=forward))
    verdicts = run_cases(backend, [factory(spec, g, 0) for g in geometries])
    assert [v.status for v in verdicts] == ["pass", "pass", "crashed"]  # stops at the culprit
    assert "SystemExit" in verdicts[2].message and "not run" not in verdicts[2].message


def test_call_batch_runs_in_order_and_stops_after_a_fatal_call():
    backend = InProcessBackend(reference_namespace(zero_pad=lambda X, pad: (_ for _ in ()).throw(SystemExit(1))))
    A = np.zeros((1, 1, 1, 1))
    outcomes = backend.call_batch([Call("pool_forward", (A, {"f": 1, "stride": 1}, "max"), select=0),
                                   Call("zero_pad", (A, 1)), Call("pool_forward", (A, {"f": 1, "stride": 1}))])
    assert [o.status for o in outcomes] == ["ok", "crashed", "crashed"]
    assert outcomes[0].value.shape == (1, 1, 1, 1)  # select=0: the output, not (A, cache)
    assert outcomes[2].skipped and not outcomes[1].skipped


# --- joint screening of conv_backward -------------------------------------------------------


@pytest.mark.parametrize("wrong", ["dA_prev", "dW", "db"])
def test_the_joint_screen_blames_only_the_wrong_gradient(wrong):
    index = ("dA_prev", "dW", "db").index(wrong)

    def backward(dZ, cache):
        grads = list(reference.conv_backward(dZ, cache))
        grads[index] = grads[index] * 1.001
        return tuple(grads)

    report = gradcheck.check(reference_namespace(conv_backward=backward), isolate=False, examples=30,
                             only="conv_backward")
    statuses = {c.quantity: c.status for c in report.checks}
    assert statuses == {q: ("fail" if q == wrong else "pass") for q in ("dA_prev", "dW", "db")}


def test_the_joint_screen_passes_correct_code_with_every_case_counted():
    report = gradcheck.check(reference_namespace(), isolate=False, examples=30, only="conv_backward")
    assert [(c.quantity, c.status, c.cases) for c in report.checks] == [
        ("dA_prev", "pass", 30), ("dW", "pass", 30), ("db", "pass", 30)]


def test_a_case_is_a_generator_of_calls():
    steps = factory(SPECS[("zero_pad", "X_pad")], ConvGeometry(1, 2, 2, 1, 1, 1, 1, 1), 0)(
        Context(InProcessBackend(reference)))
    (call,) = next(steps)
    assert call.name == "zero_pad" and call.args[1] == 1


def test_jointly_screened_quantities_show_their_own_figures_and_say_they_were_screened_together():
    report = gradcheck.check(reference_namespace(), isolate=False, examples=30, only="conv_backward")
    rows = {c.quantity: c for c in report.checks}
    for quantity, row in rows.items():
        assert row.joint_screen is not None, quantity
        assert row.joint_screen["quantities"] == ["dA_prev", "dW", "db"] and row.joint_screen["cases"] == 29
        assert row.max_error <= row.tolerance
    # each row's figure is its own per-element check, not the one joint screen shared by all three
    assert len({(row.max_error, row.tolerance) for row in rows.values()}) == 3
    assert rows["dA_prev"].joint_screen == rows["dW"].joint_screen == rows["db"].joint_screen
    data = report.to_dict()["checks"][0]
    assert set(data["joint_screen"]) == {"quantities", "cases", "max_error", "tolerance"}
    assert gradcheck.CheckResult.from_dict(data).joint_screen == data["joint_screen"]
    text = str(report)
    assert "conv_backward: dA_prev, dW, db were screened together on 29 cases (one random direction" in text
    assert "each row's max error and tolerance are its own" in text.replace("\n  ", " ")


def test_a_quantity_screened_alone_has_no_joint_screen():
    report = gradcheck.check(reference_namespace(), isolate=False, examples=5, only="pool_backward")
    assert all(c.joint_screen is None for c in report.checks)
    assert "screened together" not in str(report)


def test_a_wrong_gradient_found_by_the_joint_screen_keeps_its_own_failure_figure():
    def backward(dZ, cache):
        dA, dW, db = reference.conv_backward(dZ, cache)
        return dA, dW, db * 1.001

    report = gradcheck.check(reference_namespace(conv_backward=backward), isolate=False, examples=30,
                             only="conv_backward")
    rows = {c.quantity: c for c in report.checks}
    assert rows["db"].status == "fail" and rows["db"].max_error > rows["db"].tolerance
    assert rows["dA_prev"].max_error <= rows["dA_prev"].tolerance and rows["dW"].max_error <= rows["dW"].tolerance
    assert rows["dA_prev"].joint_screen["quantities"] == ["dA_prev", "dW", "db"]
