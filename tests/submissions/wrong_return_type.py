"""Bad submission: conv_forward returns Z as a nested list, zero_pad returns a string."""

from course_loops import *  # noqa: F403
from course_loops import conv_forward as _conv_forward


def conv_forward(A_prev, W, b, hparameters):
    Z, cache = _conv_forward(A_prev, W, b, hparameters)
    return Z.tolist(), cache


def zero_pad(X, pad):
    return "padded"
