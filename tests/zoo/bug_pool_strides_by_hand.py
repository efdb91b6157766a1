"""Bug: pool_forward builds its windows with ``as_strided`` and strides computed from the shape.

The strides ``(H * W * C, stride * W * C, stride * C, W * C, C, 1) * 8`` are those of a
C-contiguous array; a transposed array (Fortran order) or a slice with steps has other
strides, and the windows then read the wrong elements. Invisible on C-contiguous input.
Breaks: pool_forward (on arrays that are not C-contiguous).
"""

from course_loops import *  # noqa: F403
from numpy.lib.stride_tricks import as_strided


def pool_forward(A_prev, hparameters, mode="max"):
    m, n_H_prev, n_W_prev, n_C = A_prev.shape
    f, stride = hparameters["f"], hparameters["stride"]
    n_H = (n_H_prev - f) // stride + 1
    n_W = (n_W_prev - f) // stride + 1
    item = A_prev.itemsize
    strides = (n_H_prev * n_W_prev * n_C, stride * n_W_prev * n_C, stride * n_C, n_W_prev * n_C, n_C, 1)
    windows = as_strided(A_prev, shape=(m, n_H, n_W, f, f, n_C), strides=tuple(s * item for s in strides))
    A = windows.max(axis=(3, 4)) if mode == "max" else windows.mean(axis=(3, 4))
    return A, (A_prev, hparameters)
