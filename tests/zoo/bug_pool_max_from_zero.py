"""Bug: max pooling keeps a running maximum that starts at 0 (``best = 0.0``).

Right whenever a window holds a positive value; a window of negative values (activations
before a ReLU, a centred input) gets 0 instead of its maximum. Breaks: pool_forward (max).
"""

import numpy as np
from course_loops import *  # noqa: F403


def pool_forward(A_prev, hparameters, mode="max"):
    m, n_H_prev, n_W_prev, n_C_prev = A_prev.shape
    f = hparameters["f"]
    stride = hparameters["stride"]
    n_H = (n_H_prev - f) // stride + 1
    n_W = (n_W_prev - f) // stride + 1
    A = np.zeros((m, n_H, n_W, n_C_prev))
    for i in range(m):
        for h in range(n_H):
            for w in range(n_W):
                for c in range(n_C_prev):
                    window = A_prev[i, h * stride:h * stride + f, w * stride:w * stride + f, c]
                    if mode == "max":
                        best = 0.0
                        for value in window.ravel():
                            if value > best:
                                best = value
                        A[i, h, w, c] = best
                    elif mode == "average":
                        A[i, h, w, c] = np.mean(window)
    cache = (A_prev, hparameters)
    return A, cache
