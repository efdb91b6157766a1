"""Bug: conv_forward returns Z channels-first, (m, n_C, n_H, n_W), as a PyTorch user writes it.

The values are right, in the other layout: ``Z.transpose(0, 3, 1, 2)`` at the end. The
contract is NHWC, (m, n_H, n_W, n_C). Breaks: conv_forward (the shape, on every case with
n_C != n_H or n_H != n_W).
"""

from course_loops import *  # noqa: F403
from course_loops import conv_forward as _course_conv_forward


def conv_forward(A_prev, W, b, hparameters):
    Z, cache = _course_conv_forward(A_prev, W, b, hparameters)
    return Z.transpose(0, 3, 1, 2), cache
