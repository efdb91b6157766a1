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
