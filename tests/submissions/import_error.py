"""Bad submission: imports a module that does not exist."""

import numpy as np
import public_tests_that_do_not_exist  # noqa: F401


def zero_pad(X, pad):
    return np.pad(X, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
