"""Convolution layer, NHWC, float64: forward and backward side by side.

Shapes (the seed article's API):
    A_prev  (m, n_H_prev, n_W_prev, n_C_prev)
    W       (f, f, n_C_prev, n_C)
    b       (1, 1, 1, n_C)
    Z, dZ   (m, n_H, n_W, n_C),  n_H = floor((n_H_prev + 2 pad - f) / stride) + 1
    cache   (A_prev, W, b, hparameters),  hparameters = {"stride": int >= 1, "pad": int >= 0}

The layer is a cross-correlation (no kernel flip):
    Z[i, h, w, c] = sum_{p, q, k} A_pad[i, h*stride + p, w*stride + q, k] * W[p, q, k, c] + b[c]

Implementation: im2col (one strided view, one copy) and one matmul for Z and dW;
dA_prev by col2im as f*f strided slice-adds, never ``np.add.at``. The largest
intermediate is the im2col matrix (m*n_H*n_W, f*f*n_C_prev).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import as_strided

from reference._validate import Array, as_float_array, hparams, int_param, output_size

ConvCache = tuple[Array, Array, Array, dict[str, Any]]

_A_LAYOUT = "(m, n_H_prev, n_W_prev, n_C_prev)"


def zero_pad(X: Array, pad: int) -> Array:
    """Pad axes 1 and 2 (height, width) of ``X`` (m, n_H, n_W, n_C) with ``pad`` zeros.

    Returns (m, n_H + 2 pad, n_W + 2 pad, n_C).
    """
    X = as_float_array("X", X, 4, "(m, n_H, n_W, n_C)")
    pad = int_param("pad", pad, 0, "zero_pad")
    m, n_H, n_W, n_C = X.shape
    X_pad = np.zeros((m, n_H + 2 * pad, n_W + 2 * pad, n_C))
    X_pad[:, pad : pad + n_H, pad : pad + n_W, :] = X
    return X_pad


def conv_single_step(a_slice_prev: Array, W: Array, b: Array) -> float:
    """One window: ``sum(a_slice_prev * W) + b`` as a Python float.

    a_slice_prev and W are (f, f, n_C_prev); b holds one value, e.g. shape (1, 1, 1).
    """
    a_slice_prev = as_float_array("a_slice_prev", a_slice_prev, 3, "(f, f, n_C_prev)")
    W = as_float_array("W", W, 3, "(f, f, n_C_prev)")
    b = as_float_array("b", b, np.ndim(b), "(1, 1, 1)")
    if a_slice_prev.shape != W.shape:
        raise ValueError(
            f"a_slice_prev shape {a_slice_prev.shape} must equal W shape {W.shape}"
        )
    if b.size != 1:
        raise ValueError(f"b must hold exactly one value (shape (1, 1, 1)), got shape {b.shape}")
    # b.item(), not float(b): numpy 2 refuses float() of a (1, 1, 1) array.
    return float(np.sum(a_slice_prev * W) + b.item())


def _conv_geometry(A_prev: Any, W: Any, b: Any, hparameters: Any):
    A_prev = as_float_array("A_prev", A_prev, 4, _A_LAYOUT)
    W = as_float_array("W", W, 4, "(f, f, n_C_prev, n_C)")
    b = as_float_array("b", b, 4, "(1, 1, 1, n_C)")
    hp = hparams(hparameters, ("stride", "pad"), {"stride": 1, "pad": 0})
    f, f_w, n_C_prev_W, n_C = W.shape
    if f != f_w:
        raise ValueError(f"W must be square in its first two axes (f, f, n_C_prev, n_C), got {W.shape}")
    if A_prev.shape[3] != n_C_prev_W:
        raise ValueError(
            f"channel mismatch: A_prev has n_C_prev={A_prev.shape[3]} channels (shape "
            f"{A_prev.shape}) but W expects {n_C_prev_W} (shape {W.shape}); "
            f"arrays are NHWC, W is (f, f, n_C_prev, n_C)"
        )
    if b.shape != (1, 1, 1, n_C):
        raise ValueError(f"b must have shape (1, 1, 1, n_C) = (1, 1, 1, {n_C}), got {b.shape}")
    n_H = output_size(A_prev.shape[1], f, hp["stride"], hp["pad"], "height n_H_prev")
    n_W = output_size(A_prev.shape[2], f, hp["stride"], hp["pad"], "width n_W_prev")
    return A_prev, W, b, hp, f, n_H, n_W


def _im2col(A_prev: Array, f: int, stride: int, pad: int, n_H: int, n_W: int) -> Array:
    """Windows of the padded input as rows: (m*n_H*n_W, f*f*n_C_prev), columns (p, q, k)."""
    m, n_H_prev, n_W_prev, n_C_prev = A_prev.shape
    A_pad = np.zeros((m, n_H_prev + 2 * pad, n_W_prev + 2 * pad, n_C_prev)) if pad else A_prev
    if pad:
        A_pad[:, pad : pad + n_H_prev, pad : pad + n_W_prev, :] = A_prev
    A_pad = np.ascontiguousarray(A_pad)
    s_m, s_h, s_w, s_c = A_pad.strides
    windows = as_strided(
        A_pad,
        shape=(m, n_H, n_W, f, f, n_C_prev),
        strides=(s_m, stride * s_h, stride * s_w, s_h, s_w, s_c),
        writeable=False,
    )
    return windows.reshape(m * n_H * n_W, f * f * n_C_prev)


def conv_forward(A_prev: Array, W: Array, b: Array, hparameters: dict) -> tuple[Array, ConvCache]:
    """Z = A_prev (*) W + b, with cache ``(A_prev, W, b, hparameters)``."""
    A_prev, W, b, hp, f, n_H, n_W = _conv_geometry(A_prev, W, b, hparameters)
    m, n_C = A_prev.shape[0], W.shape[3]
    cols = _im2col(A_prev, f, hp["stride"], hp["pad"], n_H, n_W)
    Z = cols @ W.reshape(-1, n_C)
    Z += b.reshape(1, n_C)
    return Z.reshape(m, n_H, n_W, n_C), (A_prev, W, b, hparameters)


def conv_backward(dZ: Array, cache: ConvCache) -> tuple[Array, Array, Array]:
    """Gradients of L = sum(dZ * Z) w.r.t. A_prev, W and b.

    dA_prev[i, y, x, k] = sum_{h, w, c : y = h*stride + p - pad, x = w*stride + q - pad} dZ[i, h, w, c] W[p, q, k, c]
    dW[p, q, k, c]      = sum_{i, h, w} A_pad[i, h*stride + p, w*stride + q, k] dZ[i, h, w, c]
    db[c]               = sum_{i, h, w} dZ[i, h, w, c]
    Returns (dA_prev, dW, db) shaped like (A_prev, W, b).
    """
    if not isinstance(cache, tuple | list) or len(cache) != 4:
        raise TypeError(
            "cache must be the tuple (A_prev, W, b, hparameters) returned by conv_forward, "
            f"got {type(cache).__name__}" + (f" of length {len(cache)}" if hasattr(cache, "__len__") else "")
        )
    A_prev, W, b, hp, f, n_H, n_W = _conv_geometry(*cache)
    stride, pad = hp["stride"], hp["pad"]
    m, n_H_prev, n_W_prev, n_C_prev = A_prev.shape
    n_C = W.shape[3]
    dZ = as_float_array("dZ", dZ, 4, "(m, n_H, n_W, n_C)")
    if dZ.shape != (m, n_H, n_W, n_C):
        raise ValueError(
            f"dZ must have the shape of Z, (m, n_H, n_W, n_C) = {(m, n_H, n_W, n_C)}, got {dZ.shape}"
        )
    dZ_rows = dZ.reshape(m * n_H * n_W, n_C)
    cols = _im2col(A_prev, f, stride, pad, n_H, n_W)
    dW = (cols.T @ dZ_rows).reshape(W.shape)
    db = dZ_rows.sum(axis=0).reshape(1, 1, 1, n_C)
    del cols
    dcols = (dZ_rows @ W.reshape(-1, n_C).T).reshape(m, n_H, n_W, f, f, n_C_prev)
    dA_pad = np.zeros((m, n_H_prev + 2 * pad, n_W_prev + 2 * pad, n_C_prev))
    h_span, w_span = stride * (n_H - 1) + 1, stride * (n_W - 1) + 1
    for p in range(f):
        for q in range(f):
            dA_pad[:, p : p + h_span : stride, q : q + w_span : stride, :] += dcols[:, :, :, p, q, :]
    dA_prev = dA_pad[:, pad : pad + n_H_prev, pad : pad + n_W_prev, :]
    return (np.ascontiguousarray(dA_prev) if pad else dA_prev), dW, db
