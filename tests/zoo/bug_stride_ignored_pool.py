"""Bug: pool_backward uses ``vert_start = h`` and ``horiz_start = w`` (forgets the stride).

Gradients are routed to the windows a stride-1 pooling would have, in both modes:
wrong for stride >= 2, exactly right for stride = 1. Breaks: pool_backward.
"""

import numpy as np
from course_loops import *  # noqa: F403
from course_loops import create_mask_from_window, distribute_value


def pool_backward(dA, cache, mode="max"):
    (A_prev, hparameters) = cache
    f = hparameters["f"]
    m, n_H_prev, n_W_prev, n_C_prev = A_prev.shape
    m, n_H, n_W, n_C = dA.shape
    dA_prev = np.zeros(A_prev.shape)
    for i in range(m):
        a_prev = A_prev[i]
        for h in range(n_H):
            for w in range(n_W):
                for c in range(n_C):
                    vert_start = h
                    vert_end = vert_start + f
                    horiz_start = w
                    horiz_end = horiz_start + f
                    if mode == "max":
                        a_prev_slice = a_prev[vert_start:vert_end, horiz_start:horiz_end, c]
                        mask = create_mask_from_window(a_prev_slice)
                        dA_prev[i, vert_start:vert_end, horiz_start:horiz_end, c] += (
                            mask * dA[i, h, w, c]
                        )
                    elif mode == "average":
                        da = dA[i, h, w, c]
                        dA_prev[i, vert_start:vert_end, horiz_start:horiz_end, c] += (
                            distribute_value(da, (f, f))
                        )
    return dA_prev
