"""Bad submission: conv_forward allocates memory until it runs out."""

import numpy as np

from course_loops import *  # noqa: F403


def conv_forward(A_prev, W, b, hparameters):
    hoard = []
    while True:
        hoard.append(np.empty(16 << 20))  # 128 MiB each
