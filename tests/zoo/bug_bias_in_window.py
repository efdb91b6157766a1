"""Bug: conv_single_step adds the bias inside the window sum (``np.sum(a * W + b)``).

b is broadcast over the (f, f, n_C_prev) window, so it is counted f*f*n_C_prev
times: Z is off by (f*f*n_C_prev - 1) * b, and dZ/db of this forward is f*f*n_C_prev
times the reference's. conv_forward below is the course's loop calling it. Exact when
b = 0 or f*f*n_C_prev = 1. conv_backward (the reference's) is right for the contract.
Breaks: conv_single_step, conv_forward.
"""

import numpy as np
from course_loops import *  # noqa: F403
from course_loops import zero_pad


def conv_single_step(a_slice_prev, W, b):
    s = np.multiply(a_slice_prev, W) + b
    Z = np.sum(s)
    return Z


def conv_forward(A_prev, W, b, hparameters):
    (m, n_H_prev, n_W_prev, n_C_prev) = A_prev.shape
    (f, f, n_C_prev, n_C) = W.shape
    stride = hparameters["stride"]
    pad = hparameters["pad"]
    n_H = int((n_H_prev + 2 * pad - f) / stride) + 1
    n_W = int((n_W_prev + 2 * pad - f) / stride) + 1
    Z = np.zeros((m, n_H, n_W, n_C))
    A_prev_pad = zero_pad(A_prev, pad)
    for i in range(m):
        a_prev_pad = A_prev_pad[i]
        for h in range(n_H):
            vert_start = h * stride
            vert_end = vert_start + f
            for w in range(n_W):
                horiz_start = w * stride
                horiz_end = horiz_start + f
                for c in range(n_C):
                    a_slice_prev = a_prev_pad[vert_start:vert_end, horiz_start:horiz_end, :]
                    weights = W[:, :, :, c]
                    biases = b[:, :, :, c]
                    Z[i, h, w, c] = conv_single_step(a_slice_prev, weights, biases)
    cache = (A_prev, W, b, hparameters)
    return Z, cache
