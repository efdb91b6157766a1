"""Correct: fully vectorized with ``sliding_window_view`` and ``np.einsum``.

Windows are a strided view (m, n_H, n_W, n_C_prev, f, f) of the padded input:
    Z  = einsum("ihwkpq,pqkc->ihwc", windows, W) + b
    dW = einsum("ihwkpq,ihwc->pqkc", windows, dZ)
dA_prev is a "full" correlation of the stride-dilated dZ with the flipped kernel:
    dA_pad[i, y, x, k] = sum_{r, t, c} Dpad[i, y + r, x + t, c] W[f-1-r, f-1-t, k, c]
where D holds dZ at rows/columns multiple of stride and Dpad pads it with f - 1 zeros.
Pooling uses the same windows; max routes to the first argmax of each window.
"""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def _windows(X, f, stride, n_H, n_W):
    """(m, n_H, n_W, n_C, f, f) strided view of X's f x f windows."""
    return sliding_window_view(X, (f, f), axis=(1, 2))[:, ::stride, ::stride][:, :n_H, :n_W]


def zero_pad(X, pad):
    return np.pad(X, [(0, 0), (pad, pad), (pad, pad), (0, 0)])


def conv_single_step(a_slice_prev, W, b):
    return float(np.einsum("pqk,pqk->", a_slice_prev, W) + np.asarray(b).sum())


def conv_forward(A_prev, W, b, hparameters):
    stride, pad = hparameters["stride"], hparameters["pad"]
    m, n_H_prev, n_W_prev, _ = A_prev.shape
    f = W.shape[0]
    n_H = (n_H_prev + 2 * pad - f) // stride + 1
    n_W = (n_W_prev + 2 * pad - f) // stride + 1
    windows = _windows(zero_pad(A_prev, pad), f, stride, n_H, n_W)
    Z = np.einsum("ihwkpq,pqkc->ihwc", windows, W) + b
    return Z, (A_prev, W, b, hparameters)


def conv_backward(dZ, cache):
    A_prev, W, b, hparameters = cache
    stride, pad = hparameters["stride"], hparameters["pad"]
    m, n_H_prev, n_W_prev, n_C_prev = A_prev.shape
    f = W.shape[0]
    _, n_H, n_W, n_C = dZ.shape
    A_pad = zero_pad(A_prev, pad)
    dW = np.einsum("ihwkpq,ihwc->pqkc", _windows(A_pad, f, stride, n_H, n_W), dZ)
    db = np.einsum("ihwc->c", dZ).reshape(1, 1, 1, n_C)
    D = np.zeros((m, stride * (n_H - 1) + 1, stride * (n_W - 1) + 1, n_C))
    D[:, ::stride, ::stride, :] = dZ
    D_pad = zero_pad(D, f - 1)
    n_y, n_x = D.shape[1] + f - 1, D.shape[2] + f - 1
    full = np.einsum("iyxcrt,rtkc->iyxk", _windows(D_pad, f, 1, n_y, n_x), W[::-1, ::-1, :, :])
    dA_pad = np.zeros(A_pad.shape)
    dA_pad[:, :n_y, :n_x, :] = full
    dA_prev = dA_pad[:, pad : pad + n_H_prev, pad : pad + n_W_prev, :]
    return dA_prev, dW, db


def pool_forward(A_prev, hparameters, mode="max"):
    f, stride = hparameters["f"], hparameters["stride"]
    n_H = (A_prev.shape[1] - f) // stride + 1
    n_W = (A_prev.shape[2] - f) // stride + 1
    windows = _windows(A_prev, f, stride, n_H, n_W)
    A = windows.max(axis=(4, 5)) if mode == "max" else windows.mean(axis=(4, 5))
    return A, (A_prev, hparameters)


def create_mask_from_window(x):
    return (np.arange(x.size) == np.argmax(x)).reshape(x.shape).astype(np.float64)


def distribute_value(dz, shape):
    return np.full(shape, dz / np.prod(shape))


def pool_backward(dA, cache, mode="max"):
    A_prev, hparameters = cache
    f, stride = hparameters["f"], hparameters["stride"]
    m, n_H, n_W, n_C = dA.shape
    if mode == "max":
        flat = _windows(A_prev, f, stride, n_H, n_W).reshape(m, n_H, n_W, n_C, f * f)
        onehot = np.arange(f * f) == np.argmax(flat, axis=-1)[..., None]
        grads = (onehot * dA[..., None]).reshape(m, n_H, n_W, n_C, f, f)
    else:
        grads = np.broadcast_to((dA / (f * f))[..., None, None], (m, n_H, n_W, n_C, f, f))
    dA_prev = np.zeros(A_prev.shape)
    h_span, w_span = stride * (n_H - 1) + 1, stride * (n_W - 1) + 1
    for p in range(f):
        for q in range(f):
            dA_prev[:, p : p + h_span : stride, q : q + w_span : stride, :] += grads[..., p, q]
    return dA_prev
