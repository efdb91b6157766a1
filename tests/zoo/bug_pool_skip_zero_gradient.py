"""Bug: pool_backward skips a zero upstream gradient with ``break`` instead of ``continue``.

Meant as a shortcut (a zero dA adds nothing), the ``break`` leaves the loop over the
channels: every later channel of that window position gets no gradient. Invisible when
dA has no exact zeros, as a random upstream gradient has none; a ReLU before the layer
makes half of them 0. Breaks: pool_backward (when dA has zeros).
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
                    if dA[i, h, w, c] == 0:
                        break  # nothing to send back from this window
                    vert_start, horiz_start = h * stride, w * stride
                    window = (slice(vert_start, vert_start + f), slice(horiz_start, horiz_start + f))
                    if mode == "max":
                        mask = create_mask_from_window(a_prev[window[0], window[1], c])
                        dA_prev[i, window[0], window[1], c] += mask * dA[i, h, w, c]
                    elif mode == "average":
                        dA_prev[i, window[0], window[1], c] += distribute_value(dA[i, h, w, c], (f, f))
    return dA_prev
