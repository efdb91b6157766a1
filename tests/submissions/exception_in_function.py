"""Bad submission: conv_backward indexes past the end of dA_prev (IndexError)."""

import numpy as np

from course_loops import *  # noqa: F403


def conv_backward(dZ, cache):
    (A_prev, W, b, hparameters) = cache
    dA_prev = np.zeros(A_prev.shape)
    dA_prev[A_prev.shape[0]] = 1.0  # one past the last example
    return dA_prev, np.zeros(W.shape), np.zeros(b.shape)
