"""Bad submission: pool_forward asks numpy for an impossibly large array."""

import numpy as np

from course_loops import *  # noqa: F403


def pool_forward(A_prev, hparameters, mode="max"):
    return np.zeros((1 << 20, 1 << 20)), None
