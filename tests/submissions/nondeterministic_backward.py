"""Bad submission: conv_backward's dW carries noise too small to fail a tolerance, different on every call."""

import numpy as np

from course_loops import *  # noqa: F403
from course_loops import conv_backward as _conv_backward

_rng = np.random.default_rng()


def conv_backward(dZ, cache):
    dA_prev, dW, db = _conv_backward(dZ, cache)
    return dA_prev, dW * (1.0 + 1e-15 * _rng.standard_normal(dW.shape)), db
