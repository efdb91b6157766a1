"""Finite differences: grouping is exact, the call bound holds, colors never share a window."""

from __future__ import annotations

import numpy as np
import pytest
from helpers_impl import CallCounter
from hypothesis import given
from hypothesis import strategies as st

import reference
from gradcheck.boundary.backend import InProcessBackend
from gradcheck.engine import numeric as fd
from gradcheck.engine.runner import evaluate_case
from gradcheck.strategies import ConvGeometry, PoolGeometry, conv_geometries


@given(conv_geometries(), st.integers(0, 2**16))
def test_grouped_conv_difference_equals_one_element_at_a_time(geometry, seed):
    A_prev, W, b = geometry.random_inputs(seed)
    hp = geometry.hparameters
    upstream = fd.upstream_gradient(np.random.default_rng(seed), geometry.output_shape)
    magnitude = reference.conv_forward(np.abs(A_prev) + fd.STEP, np.abs(W) + fd.STEP, np.abs(b) + fd.STEP, hp)[0]

    def evaluate(xs):
        return [reference.conv_forward(x, W, b, hp)[0] for x in xs]

    def support_sum(P):
        from gradcheck.engine.checks.gradient import window_support_sum

        summed = window_support_sum(P.sum(axis=3, keepdims=True), geometry.f, geometry.stride, geometry.pad,
                                     geometry.n_H_prev, geometry.n_W_prev)
        return np.broadcast_to(summed, A_prev.shape)

    n_terms = geometry.f ** 2 * geometry.n_C_prev + 1
    grouped = fd.central_difference(evaluate, A_prev, upstream, magnitude=magnitude, n_terms=n_terms,
                                    colors=fd.window_colors(A_prev.shape, geometry.f, geometry.pad),
                                    support_sum=support_sum)
    single = fd.central_difference(evaluate, A_prev, upstream, magnitude=magnitude, n_terms=n_terms)
    analytic = reference.conv_backward(upstream, (A_prev, W, b, hp))[0]
    assert single.forward_calls == 2 * A_prev.size
    assert grouped.forward_calls <= 2 * geometry.f ** 2 * geometry.n_C_prev
    np.testing.assert_array_less(np.abs(grouped.gradient - analytic), fd.SAFETY * grouped.bound + 1e-300)
    np.testing.assert_array_less(np.abs(single.gradient - analytic), fd.SAFETY * single.bound + 1e-300)


@given(st.integers(1, 3), st.integers(1, 9), st.integers(1, 9), st.integers(1, 3), st.integers(1, 4),
       st.integers(1, 3), st.integers(0, 2))
def test_window_colors_never_put_two_elements_of_one_window_in_one_color(m, n_H, n_W, n_C, f, stride, pad):
    if f > min(n_H, n_W) + 2 * pad:
        return
    colors = fd.window_colors((m, n_H, n_W, n_C), f, pad)
    padded = np.full((m, n_H + 2 * pad, n_W + 2 * pad, n_C), -1)
    padded[:, pad:pad + n_H, pad:pad + n_W, :] = colors
    for h in range(0, n_H + 2 * pad - f + 1, stride):
        for w in range(0, n_W + 2 * pad - f + 1, stride):
            for i in range(m):
                window = padded[i, h:h + f, w:w + f, :].ravel()
                window = window[window >= 0]
                assert len(np.unique(window)) == len(window)


def _count_forward_calls(function, quantity, geometry):
    """Forward evaluations the per-element check makes (of the reference: the differences never
    call the submission's forward, which is called once, for the cache its backward gets)."""
    counter = CallCounter()
    trusted = {"conv_forward", "pool_forward"}
    verdict = evaluate_case(InProcessBackend(counter), function, quantity, geometry, seed=0,
                            full=True, trusted_forwards=trusted)
    assert verdict.passed, verdict.message
    forward = "conv_forward" if function == "conv_backward" else "pool_forward"
    assert counter.calls.get(forward, 0) == 1  # the cache only
    return verdict.forward_calls


@pytest.mark.parametrize("m, n_H_prev, n_W_prev", [(1, 4, 4), (2, 9, 7), (4, 16, 16)],
                         ids=["1x4x4", "2x9x7", "4x16x16"])
@pytest.mark.parametrize("f, n_C_prev", [(1, 1), (3, 2), (4, 3)], ids=["f1c1", "f3c2", "f4c3"])
def test_a_per_element_conv_check_costs_at_most_2_2ffc_plus_1_forward_calls(m, n_H_prev, n_W_prev, f, n_C_prev):
    geometry = ConvGeometry(m, n_H_prev, n_W_prev, n_C_prev, n_C=2, f=f, stride=1, pad=1)
    total = sum(_count_forward_calls("conv_backward", q, geometry) for q in ("dA_prev", "dW", "db"))
    assert total <= 2 * (2 * f * f * n_C_prev + 1)
    one_at_a_time = 2 * (m * n_H_prev * n_W_prev * n_C_prev + f * f * n_C_prev * 2 + 2)
    assert total < one_at_a_time or m * n_H_prev * n_W_prev == 16 and f == 4


@pytest.mark.parametrize("m, n_H_prev, n_W_prev", [(1, 4, 4), (3, 12, 10)], ids=["1x4x4", "3x12x10"])
@pytest.mark.parametrize("mode", ["max", "average"])
@pytest.mark.parametrize("f, stride", [(2, 2), (3, 1)], ids=["f2s2", "f3s1"])
def test_a_per_element_pool_check_costs_at_most_2ff_forward_calls(m, n_H_prev, n_W_prev, mode, f, stride):
    geometry = PoolGeometry(m, n_H_prev, n_W_prev, n_C=2, f=f, stride=stride, mode=mode)
    assert _count_forward_calls("pool_backward", f"dA_prev[{mode}]", geometry) <= 2 * f * f


def test_directional_difference_of_a_linear_map_is_exact_to_its_bound():
    rng = np.random.default_rng(1)
    matrix = fd.quantize(rng.standard_normal((5, 7)))
    x = fd.quantize(rng.standard_normal(7))
    u = fd.random_direction(rng, (7,))
    upstream = fd.upstream_gradient(rng, (5,))
    result = fd.directional_difference(lambda xs: [matrix @ v for v in xs], x, u, upstream,
                                       magnitude=np.abs(matrix) @ (np.abs(x) + fd.STEP), n_terms=7)
    assert abs(result.value - upstream @ matrix @ u) <= fd.SAFETY * result.bound + 1e-300
    assert result.bound < 1e-10 * abs(result.value)  # far below a 1e-3 relative bug


def test_perturbations_on_the_grid_are_exact():
    rng = np.random.default_rng(2)
    x = fd.quantize(rng.standard_normal(1000) * 100)
    u = fd.random_direction(rng, (1000,))
    assert np.array_equal((x + fd.STEP * u) - (x - fd.STEP * u), 2 * fd.STEP * u)
    assert not np.any(u == 0) and np.all(np.abs(u) <= 1)


def test_step_sweep_dips_to_rounding_for_correct_code_and_stays_flat_for_a_bug():
    from zoo.manifest import load

    from gradcheck.engine.runner import step_sweep
    from gradcheck.plans.convolution.plan import SPECS

    spec = SPECS[("conv_backward", "dA_prev")]
    good = step_sweep(InProcessBackend(reference), "conv_backward", "dA_prev", spec.representative, 0, set())
    bad = step_sweep(InProcessBackend(load("bug_flipped_kernel")), "conv_backward", "dA_prev",
                     spec.representative, 0, set())
    assert len(good["steps"]) == len(good["errors"]) == len(bad["errors"]) >= 10
    assert min(good["errors"]) <= 1e-15
    assert max(good["errors"][:5]) <= 1e-12  # large steps: no truncation error on a linear layer
    assert min(bad["errors"]) > 1e-3  # a bug does not depend on the step
