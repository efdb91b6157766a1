"""Bad submission: conv_forward adds a little noise that differs on every call."""

import numpy as np

from course_loops import *  # noqa: F403
from course_loops import conv_forward as _conv_forward

_rng = np.random.default_rng()


def conv_forward(A_prev, W, b, hparameters):
    Z, cache = _conv_forward(A_prev, W, b, hparameters)
    return Z + 1e-3 * _rng.standard_normal(Z.shape), cache
