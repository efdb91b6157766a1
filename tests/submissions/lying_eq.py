"""Bad submission: returns objects that claim to equal anything and look like arrays."""

import numpy as np

from course_loops import *  # noqa: F403


class Liar:
    shape = (1, 1, 1, 1)
    dtype = np.dtype(np.float64)

    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    def __array__(self, dtype=None, copy=None):
        return np.zeros(self.shape)

    def __float__(self):
        return 0.0

    def __len__(self):
        return 1


def conv_forward(A_prev, W, b, hparameters):
    return Liar(), (A_prev, W, b, hparameters)


def conv_single_step(a_slice_prev, W, b):
    return Liar()


def distribute_value(dz, shape):
    return Liar()
