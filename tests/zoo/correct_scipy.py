"""Correct: convolutions and pooling through ``scipy.signal`` (direct method).

Forward: Z[i, :, :, c] = correlate(A_pad[i], W[..., c], "valid") summed over channels by
the 3-D correlation, then subsampled [::stride, ::stride].
Backward with D = dZ dilated by the stride (zeros between rows/columns):
    dW[:, :, k, c]    = correlate(A_pad[:, :, :, k], D[:, :, :, c], "valid")  (sums the batch)
    dA_pad[i, :, :, k] = sum_c convolve2d(D[i, :, :, c], W[:, :, k, c], "full")
Average pooling is a correlation with ones / f^2; its gradient the full convolution.
"""

import numpy as np
from scipy import signal


def zero_pad(X, pad):
    return np.pad(X, ((0, 0), (pad, pad), (pad, pad), (0, 0)), mode="constant")


def conv_single_step(a_slice_prev, W, b):
    z = signal.correlate(a_slice_prev, W, mode="valid", method="direct")
    return float(z.reshape(-1)[0]) + float(np.reshape(b, -1)[0])


def _dilate(dZ, stride):
    m, n_H, n_W, n_C = dZ.shape
    D = np.zeros((m, stride * (n_H - 1) + 1, stride * (n_W - 1) + 1, n_C))
    D[:, ::stride, ::stride, :] = dZ
    return D


def conv_forward(A_prev, W, b, hparameters):
    stride, pad = hparameters["stride"], hparameters["pad"]
    A_pad = zero_pad(A_prev, pad)
    m = A_prev.shape[0]
    f, _, _, n_C = W.shape
    n_H = (A_pad.shape[1] - f) // stride + 1
    n_W = (A_pad.shape[2] - f) // stride + 1
    Z = np.zeros((m, n_H, n_W, n_C))
    for i in range(m):
        for c in range(n_C):
            z = signal.correlate(A_pad[i], W[:, :, :, c], mode="valid", method="direct")
            Z[i, :, :, c] = z[::stride, ::stride, 0] + b[0, 0, 0, c]
    return Z, (A_prev, W, b, hparameters)


def conv_backward(dZ, cache):
    A_prev, W, b, hparameters = cache
    stride, pad = hparameters["stride"], hparameters["pad"]
    m, n_H_prev, n_W_prev, n_C_prev = A_prev.shape
    f, _, _, n_C = W.shape
    A_pad = zero_pad(A_prev, pad)
    D = _dilate(dZ, stride)
    dW = np.zeros(W.shape)
    for k in range(n_C_prev):
        for c in range(n_C):
            g = signal.correlate(A_pad[:, :, :, k], D[:, :, :, c], mode="valid", method="direct")
            dW[:, :, k, c] = g[0, :f, :f]
    db = dZ.sum(axis=(0, 1, 2)).reshape(1, 1, 1, n_C)
    dA_pad = np.zeros(A_pad.shape)
    n_y, n_x = D.shape[1] + f - 1, D.shape[2] + f - 1
    for i in range(m):
        for k in range(n_C_prev):
            for c in range(n_C):
                dA_pad[i, :n_y, :n_x, k] += signal.convolve2d(D[i, :, :, c], W[:, :, k, c], "full")
    return dA_pad[:, pad : pad + n_H_prev, pad : pad + n_W_prev, :], dW, db


def pool_forward(A_prev, hparameters, mode="max"):
    f, stride = hparameters["f"], hparameters["stride"]
    m, n_H_prev, n_W_prev, n_C = A_prev.shape
    n_H = (n_H_prev - f) // stride + 1
    n_W = (n_W_prev - f) // stride + 1
    A = np.zeros((m, n_H, n_W, n_C))
    box = np.full((f, f), 1.0 / (f * f))
    for i in range(m):
        for c in range(n_C):
            if mode == "average":
                a = signal.correlate2d(A_prev[i, :, :, c], box, mode="valid")
                A[i, :, :, c] = a[::stride, ::stride]
            else:
                for h in range(n_H):
                    for w in range(n_W):
                        r, s = h * stride, w * stride
                        A[i, h, w, c] = A_prev[i, r : r + f, s : s + f, c].max()
    return A, (A_prev, hparameters)


def create_mask_from_window(x):
    flat = np.zeros(x.size)
    flat[np.flatnonzero(x == x.max())[0]] = 1.0
    return flat.reshape(x.shape)


def distribute_value(dz, shape):
    n_H, n_W = shape
    return np.ones((n_H, n_W)) * (dz / (n_H * n_W))


def pool_backward(dA, cache, mode="max"):
    A_prev, hparameters = cache
    f, stride = hparameters["f"], hparameters["stride"]
    m, n_H, n_W, n_C = dA.shape
    dA_prev = np.zeros(A_prev.shape)
    if mode == "average":
        D = _dilate(dA, stride)
        box = np.full((f, f), 1.0 / (f * f))
        n_y, n_x = D.shape[1] + f - 1, D.shape[2] + f - 1
        for i in range(m):
            for c in range(n_C):
                dA_prev[i, :n_y, :n_x, c] = signal.convolve2d(D[i, :, :, c], box, "full")
        return dA_prev
    for i in range(m):
        for c in range(n_C):
            for h in range(n_H):
                for w in range(n_W):
                    r, s = h * stride, w * stride
                    window = A_prev[i, r : r + f, s : s + f, c]
                    mask = create_mask_from_window(window)
                    dA_prev[i, r : r + f, s : s + f, c] += mask * dA[i, h, w, c]
    return dA_prev
