"""Bug: conv_forward slices the filter as ``W.T``-style ``W[:, :, :, c].transpose(1, 0, 2)``.

The student meant to line the kernel up with the window and swapped its two spatial axes:
window element [p, q] is multiplied by W[q, p]. Right when f = 1 or the kernel is symmetric.
Breaks: conv_forward.
"""

import numpy as np
from course_loops import *  # noqa: F403
from course_loops import conv_single_step, zero_pad


def conv_forward(A_prev, W, b, hparameters):
    m, n_H_prev, n_W_prev, n_C_prev = A_prev.shape
    f, f, n_C_prev, n_C = W.shape
    stride = hparameters["stride"]
    pad = hparameters["pad"]
    n_H = (n_H_prev + 2 * pad - f) // stride + 1
    n_W = (n_W_prev + 2 * pad - f) // stride + 1
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
                    weights = W[:, :, :, c].transpose(1, 0, 2)
                    Z[i, h, w, c] = conv_single_step(a_slice_prev, weights, b[:, :, :, c])
    cache = (A_prev, W, b, hparameters)
    return Z, cache
