"""Bug: pool_backward in max mode spreads the gradient over the window like average pooling.

The student reused the average branch (``distribute_value``) for both modes, so the
maximum gets 1/(f*f) of the gradient and every other element the same. Exact for
f = 1 and in average mode. create_mask_from_window itself is right (just not used).
Breaks: pool_backward (max).
"""

import numpy as np
from course_loops import *  # noqa: F403
from course_loops import distribute_value


def pool_backward(dA, cache, mode="max"):
    (A_prev, hparameters) = cache
    stride = hparameters["stride"]
    f = hparameters["f"]
    m, n_H_prev, n_W_prev, n_C_prev = A_prev.shape
    m, n_H, n_W, n_C = dA.shape
    dA_prev = np.zeros(A_prev.shape)
    for i in range(m):
        for h in range(n_H):
            for w in range(n_W):
                for c in range(n_C):
                    vert_start = h * stride
                    vert_end = vert_start + f
                    horiz_start = w * stride
                    horiz_end = horiz_start + f
                    da = dA[i, h, w, c]
                    dA_prev[i, vert_start:vert_end, horiz_start:horiz_end, c] += distribute_value(
                        da, (f, f)
                    )
    return dA_prev
