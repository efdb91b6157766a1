"""Bad submission: conv_forward computes in float32."""

import numpy as np

from course_loops import *  # noqa: F403
from course_loops import conv_forward as _conv_forward


def conv_forward(A_prev, W, b, hparameters):
    Z, cache = _conv_forward(A_prev, W, b, hparameters)
    return Z.astype(np.float32), cache
