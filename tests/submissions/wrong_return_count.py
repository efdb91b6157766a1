"""Bad submission: conv_backward returns two values instead of (dA_prev, dW, db)."""

from course_loops import *  # noqa: F403
from course_loops import conv_backward as _conv_backward


def conv_backward(dZ, cache):
    dA_prev, dW, db = _conv_backward(dZ, cache)
    return dA_prev, dW
