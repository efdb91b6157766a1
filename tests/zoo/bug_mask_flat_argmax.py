"""Bug: create_mask_from_window indexes a 2-D window with the flat ``np.argmax(x)``.

``mask[np.argmax(x)] = 1`` treats the flat index as a row index: a maximum in the
first rows sets a whole row to 1, one further down raises IndexError. Exact only
for 1x1 windows (index 0, one row of one element). pool_backward below is the
course's code calling this mask, so its max mode is wrong or crashes.
Breaks: create_mask_from_window, pool_backward (max).
"""

import numpy as np
from course_loops import *  # noqa: F403
from course_loops import distribute_value


def create_mask_from_window(x):
    mask = np.zeros(x.shape)
    mask[np.argmax(x)] = 1
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
