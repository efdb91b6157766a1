"""Bug: conv_backward writes each window's gradient with ``=`` instead of ``+=``.

The student vectorized over the output channels (one ``W @ dZ[i, h, w, :]`` per
window) and then *assigned* the result into ``da_prev_pad``. Where windows overlap
(stride < f) the last window overwrites the others; with stride >= f no pixel is
shared and the result is exact. dW and db are right. Breaks: conv_backward (dA_prev).
"""

import numpy as np
from course_loops import *  # noqa: F403
from course_loops import zero_pad


def conv_backward(dZ, cache):
    (A_prev, W, b, hparameters) = cache
    (m, n_H_prev, n_W_prev, n_C_prev) = A_prev.shape
    (f, f, n_C_prev, n_C) = W.shape
    stride = hparameters["stride"]
    pad = hparameters["pad"]
    (m, n_H, n_W, n_C) = dZ.shape
    dA_prev = np.zeros((m, n_H_prev, n_W_prev, n_C_prev))
    dW = np.zeros((f, f, n_C_prev, n_C))
    db = np.zeros((1, 1, 1, n_C))
    A_prev_pad = zero_pad(A_prev, pad)
    dA_prev_pad = zero_pad(dA_prev, pad)
    for i in range(m):
        a_prev_pad = A_prev_pad[i]
        da_prev_pad = dA_prev_pad[i]
        for h in range(n_H):
            for w in range(n_W):
                vert_start = h * stride
                vert_end = vert_start + f
                horiz_start = w * stride
                horiz_end = horiz_start + f
                a_slice = a_prev_pad[vert_start:vert_end, horiz_start:horiz_end, :]
                # (f, f, n_C_prev, n_C) @ (n_C,) -> (f, f, n_C_prev): all filters at once
                da_prev_pad[vert_start:vert_end, horiz_start:horiz_end, :] = W @ dZ[i, h, w, :]
                dW += a_slice[:, :, :, np.newaxis] * dZ[i, h, w, :]
                db[0, 0, 0, :] += dZ[i, h, w, :]
        dA_prev[i, :, :, :] = da_prev_pad[pad : pad + n_H_prev, pad : pad + n_W_prev, :]
    return dA_prev, dW, db
