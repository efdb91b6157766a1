"""Rectangular kernels (W of shape (f_H, f_W, ...)) and pooling windows (``f`` = (f_H, f_W)) in
the reference layers, against straightforward loops, on every path (im2col, shifted products,
tiled and overlapping pooling, threads)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import reference
from reference import conv as reference_conv


def conv_loops(A, W, b, stride, pad):
    m, n_H_prev, n_W_prev, _ = A.shape
    f_H, f_W, _, n_C = W.shape
    A_pad = np.pad(A, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    n_H, n_W = (n_H_prev + 2 * pad - f_H) // stride + 1, (n_W_prev + 2 * pad - f_W) // stride + 1
    Z = np.zeros((m, n_H, n_W, n_C))
    for i, h, w, c in itertools.product(range(m), range(n_H), range(n_W), range(n_C)):
        window = A_pad[i, h * stride : h * stride + f_H, w * stride : w * stride + f_W, :]
        Z[i, h, w, c] = np.sum(window * W[..., c]) + b[0, 0, 0, c]
    return Z


def conv_backward_loops(dZ, A, W, stride, pad):
    _, n_H_prev, n_W_prev, _ = A.shape
    f_H, f_W = W.shape[:2]
    A_pad = np.pad(A, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    dA_pad, dW = np.zeros_like(A_pad), np.zeros_like(W)
    for i, h, w, c in itertools.product(*map(range, dZ.shape)):
        rows, cols = slice(h * stride, h * stride + f_H), slice(w * stride, w * stride + f_W)
        dA_pad[i, rows, cols, :] += W[..., c] * dZ[i, h, w, c]
        dW[..., c] += A_pad[i, rows, cols, :] * dZ[i, h, w, c]
    return dA_pad[:, pad : pad + n_H_prev, pad : pad + n_W_prev], dW, dZ.sum(axis=(0, 1, 2)).reshape(1, 1, 1, -1)


def pool_loops(A, f_H, f_W, stride, mode, dA):
    m, n_H_prev, n_W_prev, n_C = A.shape
    n_H, n_W = (n_H_prev - f_H) // stride + 1, (n_W_prev - f_W) // stride + 1
    out, dX = np.zeros((m, n_H, n_W, n_C)), np.zeros_like(A)
    for i, h, w, c in itertools.product(range(m), range(n_H), range(n_W), range(n_C)):
        window = A[i, h * stride : h * stride + f_H, w * stride : w * stride + f_W, c]
        if mode == "max":
            out[i, h, w, c] = window.max()
            p, q = np.unravel_index(np.argmax(window), window.shape)
            dX[i, h * stride + p, w * stride + q, c] += dA[i, h, w, c]
        else:
            out[i, h, w, c] = window.mean()
            dX[i, h * stride : h * stride + f_H, w * stride : w * stride + f_W, c] += dA[i, h, w, c] / (f_H * f_W)
    return out, dX


CONV_CASES = [  # (m, n_H_prev, n_W_prev, n_C_prev, n_C, f_H, f_W, stride, pad)
    (2, 5, 6, 2, 3, 3, 2, 1, 1),
    (1, 7, 4, 1, 2, 1, 4, 2, 0),
    (3, 6, 9, 3, 1, 4, 1, 3, 2),
    (2, 3, 3, 2, 2, 2, 3, 1, 0),
    (8, 20, 22, 9, 4, 3, 2, 1, 1),  # shifted products (stride 1, many channels, a large input)
]


@pytest.mark.parametrize("case", CONV_CASES, ids=[f"conv{c[5]}x{c[6]}s{c[7]}p{c[8]}" for c in CONV_CASES])
def test_rectangular_kernels_match_the_loops(case):
    m, n_H_prev, n_W_prev, n_C_prev, n_C, f_H, f_W, stride, pad = case
    rng = np.random.default_rng(sum(case))
    A = rng.standard_normal((m, n_H_prev, n_W_prev, n_C_prev))
    W, b = rng.standard_normal((f_H, f_W, n_C_prev, n_C)), rng.standard_normal((1, 1, 1, n_C))
    hp = {"stride": stride, "pad": pad}
    Z, cache = reference.conv_forward(A, W, b, hp)
    np.testing.assert_allclose(Z, conv_loops(A, W, b, stride, pad), rtol=1e-12, atol=1e-12)
    dZ = rng.standard_normal(Z.shape)
    for got, want in zip(reference.conv_backward(dZ, cache), conv_backward_loops(dZ, A, W, stride, pad), strict=True):
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_the_large_rectangular_case_takes_the_shifted_path():
    m, n_H_prev, n_W_prev, n_C_prev = CONV_CASES[-1][:4]
    assert reference_conv._shifted_products(np.zeros((m, n_H_prev, n_W_prev, n_C_prev)), {"stride": 1, "pad": 1})


POOL_CASES = [  # (m, n_H_prev, n_W_prev, n_C, f_H, f_W, stride)
    (2, 5, 6, 3, 2, 3, 1),  # overlapping both ways
    (2, 7, 6, 2, 3, 2, 2),  # overlapping in height only
    (1, 6, 9, 1, 2, 3, 3),  # tiling
    (2, 4, 5, 2, 1, 3, 1),  # one row high
    (2, 5, 4, 2, 3, 1, 1),  # one column wide
    (64, 30, 30, 8, 2, 3, 1),  # threads over the batch
]


@pytest.mark.parametrize("mode", ["max", "average"])
@pytest.mark.parametrize("case", POOL_CASES, ids=[f"pool{c[4]}x{c[5]}s{c[6]}m{c[0]}" for c in POOL_CASES])
def test_rectangular_pool_windows_match_the_loops(case, mode):
    m, n_H_prev, n_W_prev, n_C, f_H, f_W, stride = case
    rng = np.random.default_rng(sum(case))
    A = rng.permutation(m * n_H_prev * n_W_prev * n_C).reshape(m, n_H_prev, n_W_prev, n_C).astype(np.float64)
    out, cache = reference.pool_forward(A, {"f": (f_H, f_W), "stride": stride}, mode)
    dA = rng.standard_normal(out.shape)
    want_out, want_dX = pool_loops(A, f_H, f_W, stride, mode, dA)
    np.testing.assert_allclose(out, want_out, rtol=1e-13)
    np.testing.assert_allclose(reference.pool_backward(dA, cache, mode), want_dX, rtol=1e-13, atol=1e-15)


def test_a_square_pair_is_the_same_as_an_int():
    A = np.random.default_rng(0).standard_normal((2, 6, 6, 2))
    for mode in ("max", "average"):
        pair, _ = reference.pool_forward(A, {"f": (2, 2), "stride": 2}, mode)
        square, _ = reference.pool_forward(A, {"f": 2, "stride": 2}, mode)
        np.testing.assert_array_equal(pair, square)
