"""Bad submission: conv_backward's db holds NaN; pool_forward's output holds inf."""

import numpy as np

from course_loops import *  # noqa: F403
from course_loops import conv_backward as _conv_backward
from course_loops import pool_forward as _pool_forward


def conv_backward(dZ, cache):
    dA_prev, dW, db = _conv_backward(dZ, cache)
    db[..., 0] = np.nan
    return dA_prev, dW, db


def pool_forward(A_prev, hparameters, mode="max"):
    A, cache = _pool_forward(A_prev, hparameters, mode)
    A[0, 0, 0, 0] = np.inf
    return A, cache
