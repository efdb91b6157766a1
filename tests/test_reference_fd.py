"""Backward passes of the reference against central finite differences of its forward.

For a scalar loss L(x) = sum(G * forward(x)) with a random upstream gradient G
(never all ones), the backward must equal dL/dx. The central difference
(L(x + h e_j) - L(x - h e_j)) / 2h is exact up to rounding wherever L is linear
along e_j: conv is linear in each of A_prev, W and b, average pooling in A_prev,
and max pooling is linear near an input whose window values are further apart
than h (here: a random permutation of a grid with gap 1, h = 1e-3). So the
tolerance is rounding only, not truncation.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from numpy.testing import assert_allclose

from reference import (
    conv_backward,
    conv_forward,
    create_mask_from_window,
    distribute_value,
    pool_backward,
    pool_forward,
)

STEP = 1e-3
# Rounding of L (|L| ~ 10) divided by 2 STEP: ~1e-12.
TOL = {"rtol": 1e-8, "atol": 1e-9}


def central_difference(loss: Callable[[np.ndarray], float], x: np.ndarray, step: float = STEP):
    """dL/dx by central differences, one element at a time: an array shaped like ``x``.

    ``loss`` receives a perturbed copy of ``x``; ``x`` itself is never modified.
    """
    x = np.array(x, dtype=np.float64)  # a private copy to perturb
    grad = np.empty_like(x)
    for index in np.ndindex(x.shape):
        original = x[index]
        x[index] = original + step
        plus = loss(x)
        x[index] = original - step
        minus = loss(x)
        x[index] = original
        grad[index] = (plus - minus) / (2 * step)
    return grad


def tie_free(rng: np.random.Generator, shape: tuple[int, ...], gap: float = 1.0) -> np.ndarray:
    """Distinct values a random permutation of {0, gap, 2 gap, ...}: no two within a step."""
    return rng.permutation(int(np.prod(shape))).reshape(shape) * gap - 0.5 * gap * np.prod(shape)


# --- the helper itself ---------------------------------------------------------------


def test_central_difference_is_exact_on_a_quadratic() -> None:
    """For L = sum(c * x**2) the central difference equals 2 c x up to rounding."""
    rng = np.random.default_rng(0)
    x, c = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    before = x.copy()
    grad = central_difference(lambda y: float(np.sum(c * y**2)), x)
    assert_allclose(grad, 2 * c * x, rtol=1e-9, atol=1e-10)
    assert (x == before).all(), "central_difference modified its input"


# --- conv ----------------------------------------------------------------------------

# (m, n_H_prev, n_W_prev, n_C_prev, n_C, f, stride, pad)
CONV_GEOMETRIES = [
    (2, 5, 5, 2, 3, 3, 1, 0),  # pad = 0, overlapping windows
    (2, 5, 6, 2, 2, 3, 1, 1),  # "same" padding, non-square
    (1, 7, 8, 1, 2, 2, 3, 0),  # stride > f, m = 1, one input channel
    (2, 3, 4, 2, 1, 1, 1, 0),  # f = 1, one output channel
    (2, 6, 7, 2, 2, 3, 2, 0),  # non-tiling stride
    (1, 5, 4, 3, 2, 3, 2, 2),  # overlapping with stride 2, large pad
    (2, 2, 3, 2, 2, 4, 3, 1),  # filter as large as the padded input
]


def conv_id(geometry) -> str:
    m, n_H_prev, n_W_prev, n_C_prev, n_C, f, stride, pad = geometry
    shape = f"({m},{n_H_prev},{n_W_prev},{n_C_prev})"
    return f"conv(A={shape}, n_C={n_C}, f={f}, stride={stride}, pad={pad})"


@pytest.mark.parametrize("geometry", CONV_GEOMETRIES, ids=conv_id)
def test_conv_backward_equals_central_differences(geometry) -> None:
    m, n_H_prev, n_W_prev, n_C_prev, n_C, f, stride, pad = geometry
    rng = np.random.default_rng(sum(geometry))
    A_prev = rng.standard_normal((m, n_H_prev, n_W_prev, n_C_prev))
    W = rng.standard_normal((f, f, n_C_prev, n_C))
    b = rng.standard_normal((1, 1, 1, n_C))
    hp = {"stride": stride, "pad": pad}
    Z, cache = conv_forward(A_prev, W, b, hp)
    G = rng.standard_normal(Z.shape)

    dA_prev, dW, db = conv_backward(G, cache)

    def loss(A_prev, W, b):
        return float(np.sum(G * conv_forward(A_prev, W, b, hp)[0]))

    assert_allclose(dA_prev, central_difference(lambda x: loss(x, W, b), A_prev), **TOL)
    assert_allclose(dW, central_difference(lambda x: loss(A_prev, x, b), W), **TOL)
    assert_allclose(db, central_difference(lambda x: loss(A_prev, W, x), b), **TOL)


# --- pool ----------------------------------------------------------------------------

# (m, n_H_prev, n_W_prev, n_C, f, stride)
POOL_GEOMETRIES = [
    (2, 4, 6, 2, 2, 2),  # windows tile the input
    (2, 5, 5, 2, 3, 1),  # overlapping windows
    (1, 7, 8, 1, 2, 3),  # stride > f, m = 1, one channel
    (2, 3, 4, 2, 1, 1),  # f = 1
    (2, 7, 6, 3, 2, 2),  # non-tiling stride
    (2, 3, 9, 2, 3, 2),  # non-square, overlapping
    (3, 3, 3, 2, 3, 1),  # one window over the whole input
]


def pool_id(geometry) -> str:
    m, n_H_prev, n_W_prev, n_C, f, stride = geometry
    return f"pool(A=({m},{n_H_prev},{n_W_prev},{n_C}), f={f}, stride={stride})"


@pytest.mark.parametrize("mode", ["max", "average"])
@pytest.mark.parametrize("geometry", POOL_GEOMETRIES, ids=pool_id)
def test_pool_backward_equals_central_differences(geometry, mode: str) -> None:
    m, n_H_prev, n_W_prev, n_C, f, stride = geometry
    rng = np.random.default_rng(sum(geometry))
    A_prev = tie_free(rng, (m, n_H_prev, n_W_prev, n_C))  # max is linear within STEP of it
    hp = {"f": f, "stride": stride}
    A, cache = pool_forward(A_prev, hp, mode)
    G = rng.standard_normal(A.shape)

    dA_prev = pool_backward(G, cache, mode)

    numeric = central_difference(lambda x: float(np.sum(G * pool_forward(x, hp, mode)[0])), A_prev)
    assert_allclose(dA_prev, numeric, **TOL)


@pytest.mark.parametrize("shape", [(1, 1), (2, 2), (3, 3), (2, 3), (4, 1)], ids=str)
def test_create_mask_from_window_equals_gradient_of_max(shape) -> None:
    rng = np.random.default_rng(sum(shape))
    for _ in range(5):
        x = tie_free(rng, shape)
        assert_allclose(create_mask_from_window(x), central_difference(np.max, x), **TOL)


@pytest.mark.parametrize("shape", [(1, 1), (2, 2), (3, 3), (2, 3)], ids=str)
def test_distribute_value_equals_dz_times_gradient_of_mean(shape) -> None:
    rng = np.random.default_rng(sum(shape))
    dz = float(rng.standard_normal())
    x = rng.standard_normal(shape)
    expected = dz * central_difference(np.mean, x)
    assert_allclose(distribute_value(dz, shape), expected, **TOL)
