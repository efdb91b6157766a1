"""Bug: conv_single_step follows the course hint ``Z = float(Z + b)`` literally.

``Z + b`` is a (1, 1, 1) array and numpy 2 refuses ``float()`` of an array with
ndim > 0: TypeError "only 0-dimensional arrays can be converted to Python scalars"
(numpy 1.25-1.26 only warned). conv_forward below is the course's loop calling it,
so it crashes too. Fix: ``b.item()`` or ``np.squeeze(b)``.
Breaks: conv_single_step, conv_forward (TypeError on every input).
"""

import numpy as np
from course_loops import *  # noqa: F403
from course_loops import zero_pad


def conv_single_step(a_slice_prev, W, b):
    s = np.multiply(a_slice_prev, W)
    Z = np.sum(s)
    Z = float(Z + b)
    return Z


def conv_forward(A_prev, W, b, hparameters):
    (m, n_H_prev, n_W_prev, n_C_prev) = A_prev.shape
    (f, f, n_C_prev, n_C) = W.shape
    stride = hparameters["stride"]
    pad = hparameters["pad"]
    n_H = int((n_H_prev + 2 * pad - f) / stride) + 1
    n_W = int((n_W_prev + 2 * pad - f) / stride) + 1
    Z = np.zeros((m, n_H, n_W, n_C))
    A_prev_pad = zero_pad(A_prev, pad)
    for i in range(m):
        a_prev_pad = A_prev_pad[i]
        for h in range(n_H):
            vert_start = h * stride
            vert_end = vert_start + f
            for w in range(n_W):
                horiz_start = w * stride
                horiz_end = horiz_start + f
                for c in range(n_C):
                    a_slice_prev = a_prev_pad[vert_start:vert_end, horiz_start:horiz_end, :]
                    weights = W[:, :, :, c]
                    biases = b[:, :, :, c]
                    Z[i, h, w, c] = conv_single_step(a_slice_prev, weights, biases)
    cache = (A_prev, W, b, hparameters)
    return Z, cache
