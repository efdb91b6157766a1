"""The public strategies yield only valid geometry, reach every edge case, and validate arguments."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import find, given, settings
from hypothesis import strategies as st

import reference
from gradcheck.engine.numeric import STEP
from gradcheck.strategies import (
    conv_geometries,
    pool_geometries,
    tie_free_array,
    tie_free_arrays,
    tied_windows,
)


@given(conv_geometries(), st.integers(0, 2**16))
def test_conv_geometries_are_valid_for_the_reference(geometry, seed):
    A_prev, W, b = geometry.random_inputs(seed)
    Z, _ = reference.conv_forward(A_prev, W, b, geometry.hparameters)
    assert Z.shape == geometry.output_shape
    assert geometry.n_H >= 1 and geometry.n_W >= 1


@given(pool_geometries(), st.integers(0, 2**16))
def test_pool_geometries_are_valid_for_the_reference(geometry, seed):
    A, _ = reference.pool_forward(geometry.random_inputs(seed), geometry.hparameters, geometry.mode)
    assert A.shape == geometry.output_shape


CONV_EDGES = {
    "pad=0": lambda g: g.pad == 0,
    "stride>f": lambda g: g.stride > g.f,
    "f=1": lambda g: g.f == 1,
    "m=1": lambda g: g.m == 1,
    "one channel": lambda g: g.n_C_prev == 1 and g.n_C == 1,
    "non-square": lambda g: g.n_H_prev != g.n_W_prev,
    "non-tiling stride": lambda g: (g.n_H_prev + 2 * g.pad - g.f) % g.stride != 0,
    "overlapping windows": lambda g: g.stride < g.f,
}


@pytest.mark.parametrize("edge", list(CONV_EDGES), ids=list(CONV_EDGES))
def test_conv_geometries_reach_every_edge_case(edge):
    found = find(conv_geometries(), CONV_EDGES[edge], settings=settings(max_examples=500, database=None))
    assert CONV_EDGES[edge](found)


POOL_EDGES = {
    "stride>f": lambda g: g.stride > g.f,
    "f=1": lambda g: g.f == 1,
    "overlapping windows": lambda g: g.stride < g.f,
    "non-tiling stride": lambda g: (g.n_H_prev - g.f) % g.stride != 0,
    "non-square": lambda g: g.n_H_prev != g.n_W_prev,
    "average": lambda g: g.mode == "average",
}


@pytest.mark.parametrize("edge", list(POOL_EDGES), ids=list(POOL_EDGES))
def test_pool_geometries_reach_every_edge_case(edge):
    assert POOL_EDGES[edge](
        find(pool_geometries(), POOL_EDGES[edge], settings=settings(max_examples=500, database=None))
    )


def test_shrinking_reaches_the_smallest_geometry():
    smallest = find(conv_geometries(), lambda g: True, settings=settings(database=None))
    assert smallest.as_dict() == {
        "m": 1,
        "n_H_prev": 1,
        "n_W_prev": 1,
        "n_C_prev": 1,
        "n_C": 1,
        "f": 1,
        "stride": 1,
        "pad": 0,
    }


@given(tie_free_arrays((2, 4, 3, 2)))
def test_tie_free_arrays_keep_values_further_apart_than_two_steps(array):
    gaps = np.diff(np.sort(array.ravel()))
    assert gaps.min() > 8 * STEP


@given(tied_windows())
def test_tied_windows_have_exactly_k_maxima(window_and_k):
    window, k = window_and_k
    assert int((window == window.max()).sum()) == k >= 2


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: conv_geometries(max_filter=0), r"max_filter must be an integer >= 1, got 0"),
        (lambda: conv_geometries(max_pad=-1), r"max_pad must be an integer >= 0, got -1"),
        (lambda: pool_geometries(modes=("min",)), r"modes must be a non-empty subset"),
        (lambda: tie_free_arrays((2, 0)), r"shape must be a tuple of positive integers"),
        (lambda: tie_free_arrays((2, 2), gap=0.0), r"gap must be larger than"),
    ],
    ids=["max_filter", "max_pad", "modes", "shape", "gap"],
)
def test_strategy_arguments_are_validated_with_a_message(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_tie_free_array_is_reproducible_from_its_seed():
    first = tie_free_array(np.random.default_rng(5), (3, 3))
    again = tie_free_array(np.random.default_rng(5), (3, 3))
    assert np.array_equal(first, again)
