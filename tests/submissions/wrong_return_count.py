"""Bad submission: conv_backward returns two values instead of (dA_prev, dW, db)."""

from reference.naive import *  # noqa: F403
from reference.naive import conv_backward as _conv_backward


def conv_backward(dZ, cache):
    dA_prev, dW, db = _conv_backward(dZ, cache)
    return dA_prev, dW
