"""Bad submission: test code at module level raises while the file is imported."""

import numpy as np


def zero_pad(X, pad):
    return np.pad(X, ((0, 0), (pad, pad), (pad, pad), (0, 0)))


x = np.random.randn(4, 3, 3, 2)
x_pad = zero_pad(x, 2)
assert x_pad.shape == (4, 3, 3, 2), "shape check left over from a notebook"
