"""Bad submission: returns ndarray subclasses whose comparisons always succeed."""

import numpy as np

from course_loops import *  # noqa: F403
from course_loops import conv_forward as _conv_forward
from course_loops import pool_forward as _pool_forward


class AlwaysClose(np.ndarray):
    def __eq__(self, other):
        return np.ones(self.shape, dtype=bool).view(np.ndarray)

    def __sub__(self, other):
        return np.zeros(self.shape).view(np.ndarray)

    __rsub__ = __sub__


def conv_forward(A_prev, W, b, hparameters):
    Z, cache = _conv_forward(A_prev, W, b, hparameters)
    return (0 * Z).view(AlwaysClose), cache


def pool_forward(A_prev, hparameters, mode="max"):
    A, cache = _pool_forward(A_prev, hparameters, mode)
    return np.asmatrix(A.reshape(A.shape[0], -1)), cache
