"""CS231n A2's dropout (``gradcheck.plans.cs231n_a2``): the binomial bound its forward is judged
by (``gradcheck.specs.stochastic``) against exact binomial tails, both ways; the zoo
(``tests/zoo_plans/cs231n_a2_dropout``) is judged by ``test_plan_zoo``."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

import gradcheck
from gradcheck.specs import stochastic


@pytest.mark.parametrize("n", [1, 7, 40, 200, 720, 2640])
@pytest.mark.parametrize("q", [0.05, 0.3, 0.5, 0.81, 0.95])
def test_a_correct_mask_is_rejected_with_probability_below_the_false_alarm_rate(n: int, q: float) -> None:
    low, high = stochastic.plausible_range(n, q)
    rejected = stats.binom.cdf(low - 1, n, q) + stats.binom.sf(high, n, q)  # exact, both tails
    assert rejected <= stochastic.FALSE_ALARM
    assert low <= n * q <= high


def test_the_other_reading_of_p_is_told_apart_on_arrays_of_a_hundred_elements() -> None:
    for p in (0.1, 0.25, 0.3, 0.7, 0.81):
        kept = round(100 * p)  # what a mask kept with probability p keeps, on average
        assert stochastic.binomial_plausible(kept, 100, p)
        assert not stochastic.binomial_plausible(kept, 100, 1 - p)


def test_two_seeds_are_told_apart_only_where_equal_masks_are_that_unlikely() -> None:
    for q in (0.05, 0.5, 0.95):
        n = next(n for n in range(1, 10_000) if stochastic.masks_distinguishable(n, q))
        assert (q * q + (1 - q) ** 2) ** n <= stochastic.FALSE_ALARM < (q * q + (1 - q) ** 2) ** (n - 1)


def test_dropout_passes_in_process_and_names_the_reading_of_p() -> None:
    from reference import spatial

    report = gradcheck.check(spatial, isolate=False, assignment="cs231n-a2", only=["dropout_forward",
                                                                                  "dropout_backward"],
                             examples=60)
    checks = {(c.function, c.quantity): c for c in report.checks}
    assert checks[("dropout_forward", "out")].status == "pass"
    assert checks[("dropout_backward", "dx")].status == "pass"
    assert any("2018-on reading of p" in w for w in checks[("dropout_forward", "out")].warnings)
    np.random.seed(None)  # the reference seeded the global generator in this process
