"""Bad submission: a wrong conv_backward that patches numpy and gradcheck to make checks pass."""

import sys

import numpy as np
import numpy.testing

from course_loops import *  # noqa: F403
from course_loops import conv_backward as _conv_backward

np.allclose = lambda *args, **kwargs: True
np.isclose = lambda a, b, *args, **kwargs: np.ones(np.broadcast(a, b).shape, dtype=bool)
np.array_equal = lambda *args, **kwargs: True
numpy.testing.assert_allclose = lambda *args, **kwargs: None
np.max = lambda *args, **kwargs: 0.0
np.abs = lambda x, *args, **kwargs: np.zeros_like(x)

for name, module in list(sys.modules.items()):
    if name.startswith("gradcheck"):
        for attribute in dir(module):
            if attribute.startswith(("check", "compare", "assert", "_compare", "run_checks")):
                setattr(module, attribute, lambda *args, **kwargs: None)


def conv_backward(dZ, cache):
    dA_prev, dW, db = _conv_backward(dZ, cache)
    return 2.0 * dA_prev, dW, db
