"""Correct: the course's loops with every sum taken in a different floating-point order.

conv_single_step sums the window's products from the largest magnitude down (one at a
time, then b); conv_backward visits examples, rows and columns backwards, so dW, db and
dA_prev accumulate in reverse order; average pooling sums then divides by f*f. Each
result differs from the reference in the last bits: the element-wise rounding bound
(any summation order) must accept it.
"""

import numpy as np


def zero_pad(X, pad):
    return np.pad(X, ((0, 0), (pad, pad), (pad, pad), (0, 0)), mode="constant", constant_values=(0, 0))


def conv_single_step(a_slice_prev, W, b):
    products = (a_slice_prev * W).ravel()
    total = 0.0
    for value in products[np.argsort(-np.abs(products), kind="stable")]:
        total += value
    return float(total + b.item())


def conv_forward(A_prev, W, b, hparameters):
    stride, pad = hparameters["stride"], hparameters["pad"]
    m, n_H_prev, n_W_prev, n_C_prev = A_prev.shape
    f, f, n_C_prev, n_C = W.shape
    n_H = (n_H_prev + 2 * pad - f) // stride + 1
    n_W = (n_W_prev + 2 * pad - f) // stride + 1
    Z = np.zeros((m, n_H, n_W, n_C))
    A_prev_pad = zero_pad(A_prev, pad)
    for i in range(m):
        for h in range(n_H):
            for w in range(n_W):
                for c in range(n_C):
                    vs, hs = h * stride, w * stride
                    Z[i, h, w, c] = conv_single_step(A_prev_pad[i, vs : vs + f, hs : hs + f, :], W[..., c], b[..., c])
    return Z, (A_prev, W, b, hparameters)


def conv_backward(dZ, cache):
    (A_prev, W, b, hparameters) = cache
    f, f, n_C_prev, n_C = W.shape
    stride, pad = hparameters["stride"], hparameters["pad"]
    m, n_H, n_W, n_C = dZ.shape
    n_H_prev, n_W_prev = A_prev.shape[1:3]
    A_prev_pad = zero_pad(A_prev, pad)
    dA_prev_pad = np.zeros(A_prev_pad.shape)
    dW = np.zeros(W.shape)
    db = np.zeros((1, 1, 1, n_C))
    for i in reversed(range(m)):
        for h in reversed(range(n_H)):
            for w in reversed(range(n_W)):
                for c in reversed(range(n_C)):
                    vs, hs = h * stride, w * stride
                    a_slice = A_prev_pad[i, vs : vs + f, hs : hs + f, :]
                    dA_prev_pad[i, vs : vs + f, hs : hs + f, :] += W[:, :, :, c] * dZ[i, h, w, c]
                    dW[:, :, :, c] += a_slice * dZ[i, h, w, c]
                    db[:, :, :, c] += dZ[i, h, w, c]
    return dA_prev_pad[:, pad : pad + n_H_prev, pad : pad + n_W_prev, :], dW, db


def pool_forward(A_prev, hparameters, mode="max"):
    f, stride = hparameters["f"], hparameters["stride"]
    m, n_H_prev, n_W_prev, n_C = A_prev.shape
    n_H = (n_H_prev - f) // stride + 1
    n_W = (n_W_prev - f) // stride + 1
    A = np.zeros((m, n_H, n_W, n_C))
    for i in range(m):
        for h in range(n_H):
            for w in range(n_W):
                for c in range(n_C):
                    window = A_prev[i, h * stride : h * stride + f, w * stride : w * stride + f, c]
                    A[i, h, w, c] = np.max(window) if mode == "max" else np.sum(window[::-1, ::-1]) / (f * f)
    return A, (A_prev, hparameters)


def create_mask_from_window(x):
    return x == np.max(x)


def distribute_value(dz, shape):
    (n_H, n_W) = shape
    return np.full(shape, dz) / (n_H * n_W)


def pool_backward(dA, cache, mode="max"):
    (A_prev, hparameters) = cache
    f, stride = hparameters["f"], hparameters["stride"]
    m, n_H, n_W, n_C = dA.shape
    dA_prev = np.zeros(A_prev.shape)
    for i in reversed(range(m)):
        for h in reversed(range(n_H)):
            for w in reversed(range(n_W)):
                for c in range(n_C):
                    vs, hs = h * stride, w * stride
                    if mode == "max":
                        window = A_prev[i, vs : vs + f, hs : hs + f, c]
                        dA_prev[i, vs : vs + f, hs : hs + f, c] += create_mask_from_window(window) * dA[i, h, w, c]
                    else:
                        dA_prev[i, vs : vs + f, hs : hs + f, c] += distribute_value(dA[i, h, w, c], (f, f))
    return dA_prev
