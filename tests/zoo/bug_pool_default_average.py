"""Bug: pool_forward's signature defaults to ``mode="average"`` instead of ``mode="max"``.

Every call that passes the mode is right; the course's notebook calls
``pool_forward(A_prev, hparameters)`` without it and expects max pooling, and gets the
average. Invisible whenever mode is passed. Breaks: pool_forward (called without mode).
"""

import numpy as np
from course_loops import *  # noqa: F403


def pool_forward(A_prev, hparameters, mode="average"):
    m, n_H_prev, n_W_prev, n_C_prev = A_prev.shape
    f = hparameters["f"]
    stride = hparameters["stride"]
    n_H = int(1 + (n_H_prev - f) / stride)
    n_W = int(1 + (n_W_prev - f) / stride)
    n_C = n_C_prev
    A = np.zeros((m, n_H, n_W, n_C))
    for i in range(m):
        for h in range(n_H):
            vert_start = h * stride
            for w in range(n_W):
                horiz_start = w * stride
                for c in range(n_C):
                    a_prev_slice = A_prev[i, vert_start:vert_start + f, horiz_start:horiz_start + f, c]
                    if mode == "max":
                        A[i, h, w, c] = np.max(a_prev_slice)
                    elif mode == "average":
                        A[i, h, w, c] = np.mean(a_prev_slice)
    cache = (A_prev, hparameters)
    return A, cache
