"""Bug: conv_forward reads the hyperparameters by position, ``stride, pad = hparameters.values()``.

Right for a dict written ``{"stride": .., "pad": ..}``; the course's notebook writes
``{"pad": 2, "stride": 2}``, and then stride and pad are swapped (wrong output sizes, a
division by zero at pad = 0). Invisible when stride == pad or the keys come stride first.
Breaks: conv_forward (with hparameters in the course's key order).
"""

import numpy as np
from course_loops import *  # noqa: F403
from course_loops import conv_single_step, zero_pad


def conv_forward(A_prev, W, b, hparameters):
    m, n_H_prev, n_W_prev, n_C_prev = A_prev.shape
    f, f, n_C_prev, n_C = W.shape
    stride, pad = hparameters.values()
    n_H = int((n_H_prev + 2 * pad - f) / stride) + 1
    n_W = int((n_W_prev + 2 * pad - f) / stride) + 1
    Z = np.zeros((m, n_H, n_W, n_C))
    A_prev_pad = zero_pad(A_prev, pad)
    for i in range(m):
        a_prev_pad = A_prev_pad[i]
        for h in range(n_H):
            for w in range(n_W):
                for c in range(n_C):
                    a_slice_prev = a_prev_pad[h * stride:h * stride + f, w * stride:w * stride + f, :]
                    Z[i, h, w, c] = conv_single_step(a_slice_prev, W[:, :, :, c], b[:, :, :, c])
    cache = (A_prev, W, b, hparameters)
    return Z, cache
