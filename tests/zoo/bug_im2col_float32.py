"""Bug: a vectorised conv_forward builds its im2col matrix as float32 (``np.empty(...,
dtype=np.float32)``) and multiplies in float32; the result is cast back to float64. Right to
float32's precision, wrong in float64's.
Breaks: conv_forward.
"""

import numpy as np
from course_loops import *  # noqa: F403
from numpy.lib.stride_tricks import sliding_window_view


def conv_forward(A_prev, W, b, hparameters):
    stride, pad = hparameters["stride"], hparameters["pad"]
    f, _, n_C_prev, n_C = W.shape
    A_pad = np.pad(A_prev, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    windows = sliding_window_view(A_pad, (f, f), axis=(1, 2))[:, ::stride, ::stride]  # (m, n_H, n_W, C, f, f)
    m, n_H, n_W = windows.shape[:3]
    cols = np.empty((m * n_H * n_W, f * f * n_C_prev), dtype=np.float32)
    cols[:] = windows.transpose(0, 1, 2, 4, 5, 3).reshape(m * n_H * n_W, -1)
    Z = cols @ W.reshape(-1, n_C).astype(np.float32) + b.reshape(1, n_C).astype(np.float32)
    return Z.reshape(m, n_H, n_W, n_C).astype(np.float64), (A_prev, W, b, hparameters)
