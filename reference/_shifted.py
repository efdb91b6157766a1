"""Stride-1 convolution products as f_H*f_W shifted matrix products, with no im2col copy.

With stride 1, flatten the padded input ``A_pad`` (m, H_pad, W_pad, n_C_prev) to rows
r = (i*H_pad + y)*W_pad + x. Output (i, h, w) sits at row r = (i*H_pad + h)*W_pad + w
of a grid of the same shape, and its window offset (p, q) reads input row
r + p*W_pad + q: for every offset, the rows an output reads are one contiguous slice of
the flattened input. So, over the grid's rows r < span (span = rows - (f_H-1)*W_pad - (f_W-1),
which covers every real output):

    Z_grid[r]             = b + sum_{p, q} A_flat[r + p*W_pad + q] @ W[p, q]
    dA_flat[r + p*W_pad + q] += dZ_grid[r] @ W[p, q].T          for every (p, q)

where grid rows that are no output (h >= n_H or w >= n_W) are computed and dropped
(forward) or hold a zero dZ (backward). Each product is one BLAS ``dgemm`` with
``beta = 1`` (``reference._blas``) that accumulates straight into a slice of the result: no intermediate
of f_H*f_W times the data, and no strided adds. The rows are handled in blocks whose
operands stay in cache across the f_H*f_W products.
"""

from __future__ import annotations

import numpy as np

from reference._blas import product_into
from reference._validate import Array

_BLOCK_ROWS = 4096  # grid rows per block: a block's operands stay in a core's L2 cache


def _span(rows: int, f_H: int, f_W: int, W_pad: int) -> int:
    return rows - (f_H - 1) * W_pad - (f_W - 1)


def _products(span: int, f_H: int, f_W: int, W_pad: int):
    """(start, stop, p, q, offset) for each block [start, stop) of the grid's first ``span``
    rows and each window offset (p, q) in turn: the block's f_H*f_W products, one after the
    other, while its rows are in cache. ``offset`` = p*W_pad + q, the input row shift."""
    for start in range(0, span, _BLOCK_ROWS):
        stop = min(span, start + _BLOCK_ROWS)
        for p in range(f_H):
            for q in range(f_W):
                yield start, stop, p, q, p * W_pad + q


def forward(A_pad: Array, W: Array, b: Array) -> Array:
    """Z (m, n_H, n_W, n_C) of a stride-1 convolution of the padded input A_pad
    (m, H_pad, W_pad, n_C_prev) with W (f_H, f_W, n_C_prev, n_C) and b (1, 1, 1, n_C)."""
    m, H_pad, W_pad, n_C_prev = A_pad.shape
    f_H, f_W, _, n_C = W.shape
    n_H, n_W = H_pad - f_H + 1, W_pad - f_W + 1
    rows = m * H_pad * W_pad
    span = _span(rows, f_H, f_W, W_pad)
    A_flat = np.ascontiguousarray(A_pad).reshape(rows, n_C_prev)
    Z_grid = np.empty((rows, n_C))
    Z_grid[:span] = b.reshape(n_C)
    W_T = [[np.asfortranarray(W[p, q].T) for q in range(f_W)] for p in range(f_H)]  # (n_C, n_C_prev)
    for start, stop, p, q, offset in _products(span, f_H, f_W, W_pad):
        product_into(Z_grid[start:stop].T, W_T[p][q], A_flat[start + offset : stop + offset].T, accumulate=True)
    return np.ascontiguousarray(Z_grid.reshape(m, H_pad, W_pad, n_C)[:, :n_H, :n_W])


def input_gradient(dZ: Array, W: Array, pad: int, A_shape: tuple[int, int, int, int]) -> Array:
    """dA_prev (A_shape) of a stride-1 convolution with W (f_H, f_W, n_C_prev, n_C) and pad,
    for the upstream gradient dZ (m, n_H, n_W, n_C)."""
    m, n_H, n_W, n_C = dZ.shape
    f_H, f_W, n_C_prev, _ = W.shape
    n_H_prev, n_W_prev = A_shape[1:3]
    H_pad, W_pad = n_H + f_H - 1, n_W + f_W - 1
    rows = m * H_pad * W_pad
    span = _span(rows, f_H, f_W, W_pad)
    dZ_grid = np.zeros((m, H_pad, W_pad, n_C))
    dZ_grid[:, :n_H, :n_W] = dZ
    dZ_flat = dZ_grid.reshape(rows, n_C)
    dA_flat = np.zeros((rows, n_C_prev))
    W_pq = [[np.asfortranarray(W[p, q]) for q in range(f_W)] for p in range(f_H)]  # (n_C_prev, n_C)
    for start, stop, p, q, offset in _products(span, f_H, f_W, W_pad):
        product_into(dA_flat[start + offset : stop + offset].T, W_pq[p][q], dZ_flat[start:stop].T, accumulate=True)
    dA_pad = dA_flat.reshape(m, H_pad, W_pad, n_C_prev)
    return np.ascontiguousarray(dA_pad[:, pad : pad + n_H_prev, pad : pad + n_W_prev])
