"""Bug: vectorized conv_backward scatters with fancy-indexed ``+=`` instead of ``np.add.at``.

``dA_pad[:, rows, cols, :] += dcols`` is buffered: when the same padded pixel
appears several times in the index arrays (overlapping windows, stride < f) only
one of the contributions survives. With stride >= f the indices are unique and the
result is exact. The forward and dW/db use the same im2col and are right.
Breaks: conv_backward (dA_prev).
"""

import numpy as np
from course_loops import *  # noqa: F403


def _window_indices(n_H, n_W, f, stride):
    # rows[h, w, p, q] = h*stride + p, cols[h, w, p, q] = w*stride + q
    h = np.arange(n_H)[:, None, None, None] * stride
    w = np.arange(n_W)[None, :, None, None] * stride
    p = np.arange(f)[None, None, :, None]
    q = np.arange(f)[None, None, None, :]
    rows = np.broadcast_to(h + p, (n_H, n_W, f, f))
    cols = np.broadcast_to(w + q, (n_H, n_W, f, f))
    return rows, cols


def conv_backward(dZ, cache):
    A_prev, W, b, hparameters = cache
    stride, pad = hparameters["stride"], hparameters["pad"]
    m, n_H_prev, n_W_prev, n_C_prev = A_prev.shape
    f, _, _, n_C = W.shape
    _, n_H, n_W, _ = dZ.shape
    A_pad = np.pad(A_prev, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    rows, cols = _window_indices(n_H, n_W, f, stride)
    patches = A_pad[:, rows, cols, :]  # (m, n_H, n_W, f, f, n_C_prev)
    dW = np.einsum("ihwpqk,ihwc->pqkc", patches, dZ)
    db = dZ.sum(axis=(0, 1, 2)).reshape(1, 1, 1, n_C)
    dpatches = np.einsum("ihwc,pqkc->ihwpqk", dZ, W)
    dA_pad = np.zeros_like(A_pad)
    dA_pad[:, rows, cols, :] += dpatches
    dA_prev = dA_pad[:, pad : pad + n_H_prev, pad : pad + n_W_prev, :]
    return dA_prev, dW, db
