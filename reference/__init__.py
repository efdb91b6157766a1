"""Reference CNN layers (NHWC, float64) with the seed article's API.

``reference`` holds the vectorized layers; ``reference.naive`` the literal loop
versions, kept as a readable specification and a second oracle.
"""

from reference.conv import conv_backward, conv_forward, conv_single_step, zero_pad
from reference.pool import create_mask_from_window, distribute_value, pool_backward, pool_forward

__all__ = [
    "zero_pad",
    "conv_single_step",
    "conv_forward",
    "conv_backward",
    "pool_forward",
    "pool_backward",
    "create_mask_from_window",
    "distribute_value",
]
