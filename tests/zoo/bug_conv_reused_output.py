"""Bug: conv_forward writes Z into one buffer it keeps between calls of the same shape.

Allocating Z once looks like a saving, but the array returned is the same object every
time: the next call overwrites a result the caller still holds (the Z of the previous
layer, of the previous batch). Each call alone is right. Breaks: conv_forward (a second
call changes the first result).
"""

import numpy as np
from course_loops import *  # noqa: F403
from course_loops import conv_single_step, zero_pad

_Z = {}  # output shape -> the buffer Z is written into


def conv_forward(A_prev, W, b, hparameters):
    m, n_H_prev, n_W_prev, n_C_prev = A_prev.shape
    f, f, n_C_prev, n_C = W.shape
    stride, pad = hparameters["stride"], hparameters["pad"]
    n_H = (n_H_prev + 2 * pad - f) // stride + 1
    n_W = (n_W_prev + 2 * pad - f) // stride + 1
    Z = _Z.setdefault((m, n_H, n_W, n_C), np.zeros((m, n_H, n_W, n_C)))
    A_prev_pad = zero_pad(A_prev, pad)
    for i in range(m):
        for h in range(n_H):
            for w in range(n_W):
                a_slice_prev = A_prev_pad[i, h * stride:h * stride + f, w * stride:w * stride + f, :]
                for c in range(n_C):
                    Z[i, h, w, c] = conv_single_step(a_slice_prev, W[:, :, :, c], b[:, :, :, c])
    return Z, (A_prev, W, b, hparameters)
