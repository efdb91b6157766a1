"""Bad submission: conv_forward pads A_prev in place; pool_backward zeroes the cache's A_prev."""

from course_loops import *  # noqa: F403
from course_loops import conv_forward as _conv_forward
from course_loops import pool_backward as _pool_backward


def conv_forward(A_prev, W, b, hparameters):
    Z, cache = _conv_forward(A_prev, W, b, hparameters)
    A_prev *= 2.0  # modifies the caller's array
    return Z, cache


def pool_backward(dA, cache, mode="max"):
    dA_prev = _pool_backward(dA, cache, mode)
    cache[0][...] = 0.0  # modifies the cache
    return dA_prev
