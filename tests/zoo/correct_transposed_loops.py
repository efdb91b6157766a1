"""Correct: loops in a different order and dA_prev by gathering instead of scattering.

Forward sums over kernel offsets (p, q, k) in the outer loops, vectorized over the
output (i, h, w, c). Backward *gathers*: for every padded input pixel (y, x), the
windows that cover it are h = (y - p) / stride for the offsets p with
(y - p) % stride == 0 and 0 <= h < n_H (same for x, q):
    dA_pad[:, y, x, k] = sum_{p, q, c} dZ[:, h, w, c] W[p, q, k, c]
Max pooling gathers likewise, taking a window's gradient where its first argmax is.
The masks are built by an explicit scan, strict ``>``, so the first maximum wins.
"""

import numpy as np


def zero_pad(X, pad):
    m, n_H, n_W, n_C = X.shape
    X_pad = np.zeros((m, n_H + 2 * pad, n_W + 2 * pad, n_C))
    X_pad[:, pad : pad + n_H, pad : pad + n_W, :] = X
    return X_pad


def conv_single_step(a_slice_prev, W, b):
    total = 0.0
    for k in range(W.shape[2]):
        for q in range(W.shape[1]):
            for p in range(W.shape[0]):
                total += a_slice_prev[p, q, k] * W[p, q, k]
    return total + float(np.ravel(b)[0])


def _out_size(n, f, stride, pad):
    return (n + 2 * pad - f) // stride + 1


def conv_forward(A_prev, W, b, hparameters):
    stride, pad = hparameters["stride"], hparameters["pad"]
    m, n_H_prev, n_W_prev, n_C_prev = A_prev.shape
    f, _, _, n_C = W.shape
    n_H, n_W = _out_size(n_H_prev, f, stride, pad), _out_size(n_W_prev, f, stride, pad)
    A_pad = zero_pad(A_prev, pad)
    Z = np.zeros((m, n_H, n_W, n_C))
    for k in range(n_C_prev):
        for q in range(f):
            for p in range(f):
                rows = A_pad[:, p : p + stride * (n_H - 1) + 1 : stride, :, k]
                block = rows[:, :, q : q + stride * (n_W - 1) + 1 : stride]
                Z += block[..., None] * W[p, q, k, :]
    Z += b.reshape(1, 1, 1, n_C)
    return Z, (A_prev, W, b, hparameters)


def _covering(y, f, stride, n_out):
    """Pairs (offset, window index) of the windows that contain padded index y."""
    for p in range(f):
        h, r = divmod(y - p, stride)
        if r == 0 and 0 <= h < n_out:
            yield p, h


def conv_backward(dZ, cache):
    A_prev, W, b, hparameters = cache
    stride, pad = hparameters["stride"], hparameters["pad"]
    m, n_H_prev, n_W_prev, n_C_prev = A_prev.shape
    f, _, _, n_C = W.shape
    _, n_H, n_W, _ = dZ.shape
    A_pad = zero_pad(A_prev, pad)
    db = np.zeros((1, 1, 1, n_C))
    for c in range(n_C):
        db[0, 0, 0, c] = dZ[:, :, :, c].sum()
    dW = np.zeros(W.shape)
    for q in range(f):
        for p in range(f):
            rows = A_pad[:, p : p + stride * (n_H - 1) + 1 : stride, :, :]
            block = rows[:, :, q : q + stride * (n_W - 1) + 1 : stride, :]
            dW[p, q] = np.tensordot(block, dZ, axes=([0, 1, 2], [0, 1, 2]))
    dA_prev = np.zeros(A_prev.shape)
    for y in range(pad, pad + n_H_prev):
        for x in range(pad, pad + n_W_prev):
            for p, h in _covering(y, f, stride, n_H):
                for q, w in _covering(x, f, stride, n_W):
                    dA_prev[:, y - pad, x - pad, :] += dZ[:, h, w, :] @ W[p, q].T
    return dA_prev, dW, db


def pool_forward(A_prev, hparameters, mode="max"):
    f, stride = hparameters["f"], hparameters["stride"]
    m, n_H_prev, n_W_prev, n_C = A_prev.shape
    n_H, n_W = _out_size(n_H_prev, f, stride, 0), _out_size(n_W_prev, f, stride, 0)
    A = np.zeros((m, n_H, n_W, n_C))
    for c in range(n_C):
        for w in range(n_W):
            for h in range(n_H):
                for i in range(m):
                    window = A_prev[i, h * stride : h * stride + f, w * stride : w * stride + f, c]
                    if mode == "max":
                        A[i, h, w, c] = max(window.ravel().tolist())
                    else:
                        A[i, h, w, c] = sum(window.ravel().tolist()) / (f * f)
    return A, (A_prev, hparameters)


def create_mask_from_window(x):
    best = None
    for index in np.ndindex(x.shape):
        if best is None or x[index] > x[best]:
            best = index
    mask = np.zeros(x.shape)
    mask[best] = 1.0
    return mask


def distribute_value(dz, shape):
    n = 1
    for size in shape:
        n *= size
    return dz / n * np.ones(shape)


def pool_backward(dA, cache, mode="max"):
    A_prev, hparameters = cache
    f, stride = hparameters["f"], hparameters["stride"]
    m, n_H_prev, n_W_prev, n_C = A_prev.shape
    _, n_H, n_W, _ = dA.shape
    if mode == "max":
        # first argmax of every window as a flat offset p * f + q
        argmax = np.zeros(dA.shape, dtype=int)
        for i, h, w, c in np.ndindex(*dA.shape):
            window = A_prev[i, h * stride : h * stride + f, w * stride : w * stride + f, c]
            p, q = np.nonzero(create_mask_from_window(window))
            argmax[i, h, w, c] = p[0] * f + q[0]
    dA_prev = np.zeros(A_prev.shape)
    for y in range(n_H_prev):
        for x in range(n_W_prev):
            for p, h in _covering(y, f, stride, n_H):
                for q, w in _covering(x, f, stride, n_W):
                    if mode == "max":
                        hit = argmax[:, h, w, :] == p * f + q
                        dA_prev[:, y, x, :] += np.where(hit, dA[:, h, w, :], 0.0)
                    else:
                        dA_prev[:, y, x, :] += dA[:, h, w, :] / (f * f)
    return dA_prev
