"""Bug: vectorized conv_backward returns dW with its first two axes (height, width) swapped.

``sliding_window_view(A_pad, (f, f), axis=(1, 2))`` puts the window axes *last*,
(m, n_H, n_W, n_C_prev, p, q); the student labels them ``...kqp`` in the einsum, so
dW[p, q] holds the gradient of W[q, p]. dA_prev and db are right. Exact at f = 1
or when the true dW is symmetric in (p, q).
Breaks: conv_backward (dW).
"""

import numpy as np
from course_loops import *  # noqa: F403
from numpy.lib.stride_tricks import sliding_window_view


def conv_backward(dZ, cache):
    A_prev, W, b, hparameters = cache
    stride, pad = hparameters["stride"], hparameters["pad"]
    m, n_H_prev, n_W_prev, n_C_prev = A_prev.shape
    f = W.shape[0]
    _, n_H, n_W, n_C = dZ.shape
    A_pad = np.pad(A_prev, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    windows = sliding_window_view(A_pad, (f, f), axis=(1, 2))[:, ::stride, ::stride]
    windows = windows[:, :n_H, :n_W]  # (m, n_H, n_W, n_C_prev, f, f)
    dW = np.einsum("ihwkqp,ihwc->pqkc", windows, dZ)
    db = np.sum(dZ, axis=(0, 1, 2), keepdims=True)
    dA_pad = np.zeros(A_pad.shape)
    for h in range(n_H):
        for w in range(n_W):
            vs, hs = h * stride, w * stride
            dA_pad[:, vs : vs + f, hs : hs + f, :] += np.einsum("pqkc,ic->ipqk", W, dZ[:, h, w, :])
    dA_prev = dA_pad[:, pad : pad + n_H_prev, pad : pad + n_W_prev, :]
    return dA_prev, dW, db
