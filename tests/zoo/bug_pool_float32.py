"""Bug: pool_forward reads each window as float32 (``.astype(np.float32)``) and stores the
result in a float64 array, so it passes every dtype check and loses precision: the maximum
of float32 copies, and the mean computed in float32. On inputs float32 holds exactly (the
maximum then) nothing shows; on general float64 values everything does.
Breaks: pool_forward (both modes).
"""

import numpy as np
from course_loops import *  # noqa: F403


def pool_forward(A_prev, hparameters, mode="max"):
    (m, n_H_prev, n_W_prev, n_C_prev) = A_prev.shape
    f = hparameters["f"]
    stride = hparameters["stride"]
    n_H = int(1 + (n_H_prev - f) / stride)
    n_W = int(1 + (n_W_prev - f) / stride)
    n_C = n_C_prev
    A = np.zeros((m, n_H, n_W, n_C))
    for i in range(m):
        for h in range(n_H):
            for w in range(n_W):
                for c in range(n_C):
                    vert_start, horiz_start = h * stride, w * stride
                    a_prev_slice = A_prev[i, vert_start:vert_start + f, horiz_start:horiz_start + f, c]
                    a_prev_slice = a_prev_slice.astype(np.float32)  # "to save memory"
                    if mode == "max":
                        A[i, h, w, c] = np.max(a_prev_slice)
                    elif mode == "average":
                        A[i, h, w, c] = np.mean(a_prev_slice)
    cache = (A_prev, hparameters)
    return A, cache
