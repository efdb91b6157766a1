"""Bug: create_mask_from_window marks every element above the window mean (``x > np.mean(x)``).

The mask is not one-hot: the maximum and any other large element share the
gradient (and a 1x1 window gets no gradient at all). pool_backward below is the
course's code calling this mask, so its max mode is wrong; average mode is right.
Breaks: create_mask_from_window, pool_backward (max).
"""

import numpy as np
from course_loops import *  # noqa: F403
from course_loops import distribute_value


def create_mask_from_window(x):
    mask = x > np.mean(x)
    return mask


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
                        dA_prev[i, vert_start:vert_end, horiz_start:horiz_end, c] += np.multiply(
                            mask, dA[i, h, w, c]
                        )
                    elif mode == "average":
                        da = dA[i, h, w, c]
                        shape = (f, f)
                        dA_prev[i, vert_start:vert_end, horiz_start:horiz_end, c] += (
                            distribute_value(da, shape)
                        )
    return dA_prev
