"""Bug: average pool_backward spreads each gradient over a stride x stride window.

`shape = (stride, stride)` where (f, f) belongs: exact when stride = f, f*f times too
much at stride 1, a broadcast error otherwise. Breaks: pool_backward (average). No
likely cause fits; the checker must stay silent rather than call it a constant factor
(held out: it first said "off by a constant factor c = f*f", measured at stride 1 only).
"""

import numpy as np
from course_loops import *  # noqa: F403
from course_loops import create_mask_from_window, distribute_value


def pool_backward(dA, cache, mode="max"):
    (A_prev, hparameters) = cache
    stride = hparameters["stride"]
    f = hparameters["f"]
    m, n_H_prev, n_W_prev, n_C_prev = A_prev.shape
    m, n_H, n_W, n_C = dA.shape
    dA_prev = np.zeros(A_prev.shape)
    for i in range(m):
        a_prev = A_prev[i]
        for h in range(n_H):
            for w in range(n_W):
                for c in range(n_C):
                    vert_start = h * stride
                    vert_end = vert_start + f
                    horiz_start = w * stride
                    horiz_end = horiz_start + f
                    if mode == "max":
                        a_prev_slice = a_prev[vert_start:vert_end, horiz_start:horiz_end, c]
                        mask = create_mask_from_window(a_prev_slice)
                        dA_prev[i, vert_start:vert_end, horiz_start:horiz_end, c] += mask * dA[i, h, w, c]
                    elif mode == "average":
                        da = dA[i, h, w, c]
                        shape = (stride, stride)
                        dA_prev[i, vert_start:vert_end, horiz_start:horiz_end, c] += distribute_value(da, shape)
    return dA_prev
