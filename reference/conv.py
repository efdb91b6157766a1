"""Convolution layer, NHWC, float64: forward and backward side by side.

Shapes (the seed article's API):
    A_prev  (m, n_H_prev, n_W_prev, n_C_prev)
    W       (f, f, n_C_prev, n_C); a rectangular kernel (f_H, f_W, n_C_prev, n_C) works too
    b       (1, 1, 1, n_C)
    Z, dZ   (m, n_H, n_W, n_C),  n_H = floor((n_H_prev + 2 pad - f_H) / stride) + 1,
                                 n_W = floor((n_W_prev + 2 pad - f_W) / stride) + 1
    cache   (A_prev, W, b, hparameters),  hparameters = {"stride": int >= 1, "pad": int >= 0}

The layer is a cross-correlation (no kernel flip):
    Z[i, h, w, c] = sum_{p, q, k} A_pad[i, h*stride + p, w*stride + q, k] * W[p, q, k, c] + b[c]

Implementation: im2col and matmul. The windows of the padded input are one
strided view; they are copied, a block of examples at a time, into a matrix
``cols`` with rows (i, h, w), columns (p, q, k) and a last column of ones (the
bias is the weight of an input that is always 1), and

    Z[rows]          = [cols, 1] @ [W_mat; b]        W_mat = W.reshape(f_H*f_W*n_C_prev, n_C)
    [dW_mat; db]    += [cols, 1].T @ dZ[rows]
    dA_prev[block]   = col2im(dZ[rows] @ W_mat.T)     f_H*f_W strided slice-adds, never ``np.add.at``

col2im adds straight into dA_prev, each slice clipped to the unpadded input. A
block holds about ``_BLOCK_BYTES`` of ``cols`` (at least one example), so the
copy and the matmuls that read it stay in cache; besides the outputs, the
largest intermediate is the padded input or one block of ``cols``, whichever
is larger (one block is never more than the whole im2col matrix).

Large stride-1 convolutions with ``_MANY_CHANNELS`` input channels or more
(``_shifted_products``) compute Z and dA_prev as f_H*f_W shifted products over the
flattened padded input instead (``reference._shifted``: no im2col copy, no
col2im adds), and dW by the blocks above; all their products go through SciPy's
BLAS (``reference._blas``).
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import as_strided

from reference import _shifted
from reference._blas import product_into
from reference._validate import Array, as_float_array, hparams, int_param, output_size

ConvCache = tuple[Array, Array, Array, dict[str, Any]]

_A_LAYOUT = "(m, n_H_prev, n_W_prev, n_C_prev)"
_BLOCK_BYTES = 1 << 21  # im2col bytes per block of examples: 2 MiB stays in a core's L2 cache
_MANY_CHANNELS = 8  # from 8 input channels on, col2im adds run along channels, else along width
_SHIFTED_MIN_ROWS = 4096  # stride 1 with at least this many padded input pixels: shifted products


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
        raise ValueError(f"a_slice_prev shape {a_slice_prev.shape} must equal W shape {W.shape}")
    if b.size != 1:
        raise ValueError(f"b must hold exactly one value (shape (1, 1, 1)), got shape {b.shape}")
    # b.item(), not float(b): numpy 2 refuses float() of a (1, 1, 1) array.
    return float(np.sum(a_slice_prev * W) + b.item())


def _conv_geometry(A_prev: Any, W: Any, b: Any, hparameters: Any):
    A_prev = as_float_array("A_prev", A_prev, 4, _A_LAYOUT)
    W = as_float_array("W", W, 4, "(f, f, n_C_prev, n_C)")
    b = as_float_array("b", b, 4, "(1, 1, 1, n_C)")
    hp = hparams(hparameters, ("stride", "pad"), {"stride": 1, "pad": 0})
    f_H, f_W, n_C_prev_W, n_C = W.shape
    if A_prev.shape[3] != n_C_prev_W:
        raise ValueError(
            f"channel mismatch: A_prev has n_C_prev={A_prev.shape[3]} channels (shape "
            f"{A_prev.shape}) but W expects {n_C_prev_W} (shape {W.shape}); "
            f"arrays are NHWC, W is (f, f, n_C_prev, n_C)"
        )
    if b.shape != (1, 1, 1, n_C):
        raise ValueError(f"b must have shape (1, 1, 1, n_C) = (1, 1, 1, {n_C}), got {b.shape}")
    n_H = output_size(A_prev.shape[1], f_H, hp["stride"], hp["pad"], "height n_H_prev")
    n_W = output_size(A_prev.shape[2], f_W, hp["stride"], hp["pad"], "width n_W_prev")
    return A_prev, W, b, hp, n_H, n_W


def _padded(A_prev: Array, pad: int) -> Array:
    """A_prev with ``pad`` zeros around height and width (A_prev itself when pad = 0)."""
    if pad == 0:
        return A_prev
    m, n_H_prev, n_W_prev, n_C_prev = A_prev.shape
    A_pad = np.zeros((m, n_H_prev + 2 * pad, n_W_prev + 2 * pad, n_C_prev))
    A_pad[:, pad : pad + n_H_prev, pad : pad + n_W_prev, :] = A_prev
    return A_pad


def _windows(A_pad: Array, f_H: int, f_W: int, stride: int, n_H: int, n_W: int) -> Array:
    """Read-only view (m, n_H, n_W, f_H, f_W, n_C_prev): ``[i, h, w, p, q, k] = A_pad[i, h*stride + p,
    w*stride + q, k]``."""
    s_m, s_h, s_w, s_k = A_pad.strides
    return as_strided(
        A_pad,
        shape=(A_pad.shape[0], n_H, n_W, f_H, f_W, A_pad.shape[3]),
        strides=(s_m, stride * s_h, stride * s_w, s_h, s_w, s_k),
        writeable=False,
    )


def _blocks(windows: Array):
    """Split the examples into blocks whose im2col rows take about ``_BLOCK_BYTES``.

    Yields (examples, cols): a slice of the batch axis and that block's im2col matrix
    (rows (i, h, w); columns (p, q, k), then a column of ones that carries the bias),
    written into one buffer reused across blocks.
    """
    m, n_H, n_W, f_H, f_W, n_C_prev = windows.shape
    n_cols = f_H * f_W * n_C_prev + 1
    size = max(1, min(m, _BLOCK_BYTES // (n_H * n_W * n_cols * windows.itemsize)))
    buffer = np.empty((size, n_H, n_W, n_cols))
    for start in range(0, m, size):
        examples = slice(start, min(m, start + size))
        block = buffer[: examples.stop - start]
        np.copyto(block[..., :-1].reshape(windows[examples].shape), windows[examples])
        block[..., -1] = 1.0  # every block: the caller may use the buffer as scratch
        yield examples, block.reshape(-1, n_cols)


def conv_forward(A_prev: Array, W: Array, b: Array, hparameters: dict) -> tuple[Array, ConvCache]:
    """Z = A_prev (*) W + b, shape (m, n_H, n_W, n_C), with cache ``(A_prev, W, b, hparameters)``.

    Per block of examples: Z[rows] = [cols, 1] @ [W_mat; b].
    """
    A_prev, W, b, hp, n_H, n_W = _conv_geometry(A_prev, W, b, hparameters)
    m, n_C = A_prev.shape[0], W.shape[3]
    if _shifted_products(A_prev, hp):
        return _shifted.forward(_padded(A_prev, hp["pad"]), W, b), (A_prev, W, b, hparameters)
    W_b = np.concatenate([W.reshape(-1, n_C), b.reshape(1, n_C)])
    Z = np.empty((m, n_H, n_W, n_C))
    windows = _windows(_padded(A_prev, hp["pad"]), *W.shape[:2], hp["stride"], n_H, n_W)
    for examples, cols in _blocks(windows):
        np.matmul(cols, W_b, out=Z[examples].reshape(-1, n_C))
    return Z, (A_prev, W, b, hparameters)


def conv_backward(dZ: Array, cache: ConvCache) -> tuple[Array, Array, Array]:
    """Gradients of L = sum(dZ * Z) w.r.t. A_prev, W and b.

    dA_prev[i, y, x, k] = sum_{h, w, p, q, c : y = h*stride + p - pad, x = w*stride + q - pad}
                              dZ[i, h, w, c] W[p, q, k, c]
    dW[p, q, k, c]      = sum_{i, h, w} A_pad[i, h*stride + p, w*stride + q, k] dZ[i, h, w, c]
    db[c]               = sum_{i, h, w} dZ[i, h, w, c]
    Per block of examples: [dW_mat; db] += [cols, 1].T @ dZ[rows], and dA_prev by col2im.
    Returns (dA_prev, dW, db) shaped like (A_prev, W, b).
    """
    if not isinstance(cache, tuple | list) or len(cache) != 4:
        length = f" of length {len(cache)}" if hasattr(cache, "__len__") else ""
        raise TypeError(
            "cache must be the tuple (A_prev, W, b, hparameters) returned by conv_forward, "
            f"got {type(cache).__name__}{length}"
        )
    A_prev, W, b, hp, n_H, n_W = _conv_geometry(*cache)
    m, n_C = A_prev.shape[0], W.shape[3]
    dZ = as_float_array("dZ", dZ, 4, "(m, n_H, n_W, n_C)")
    if dZ.shape != (m, n_H, n_W, n_C):
        raise ValueError(f"dZ must have the shape of Z, (m, n_H, n_W, n_C) = {(m, n_H, n_W, n_C)}, got {dZ.shape}")
    large = _shifted_products(A_prev, hp)
    dA_prev = _shifted.input_gradient(dZ, W, hp["pad"], A_prev.shape) if large else np.zeros(A_prev.shape)
    dW_b = np.zeros((W[..., 0].size + 1, n_C))  # [dW_mat; db]
    dW_b_block = np.empty(dW_b.shape)
    windows = _windows(_padded(A_prev, hp["pad"]), *W.shape[:2], hp["stride"], n_H, n_W)
    for examples, cols in _blocks(windows):
        dZ_rows = dZ[examples].reshape(-1, n_C)
        if large:  # its products, like the shifted ones, go through SciPy's BLAS (reference._blas)
            product_into(dW_b.T, np.asfortranarray(dZ_rows.T), cols.T, accumulate=True, transpose_b=True)
            continue
        dW_b += np.matmul(cols.T, dZ_rows, out=dW_b_block)
        # cols is read: its buffer now receives the products dZ[rows] @ W_mat.T
        scratch = cols.reshape(-1)[: cols.shape[0] * (cols.shape[1] - 1)]
        _col2im(dA_prev[examples], dZ[examples], W, hp["stride"], hp["pad"], scratch)
    return dA_prev, dW_b[:-1].reshape(W.shape), dW_b[-1].reshape(b.shape)


def _shifted_products(A_prev: Array, hp: dict[str, int]) -> bool:
    """Whether this convolution runs as shifted products (``reference._shifted``): stride 1,
    ``_MANY_CHANNELS`` input channels or more (each product sums over them) and a padded
    input large enough that the BLAS calls pay for themselves."""
    m, n_H_prev, n_W_prev, n_C_prev = A_prev.shape
    pad = hp["pad"]
    rows = m * (n_H_prev + 2 * pad) * (n_W_prev + 2 * pad)
    return hp["stride"] == 1 and n_C_prev >= _MANY_CHANNELS and rows >= _SHIFTED_MIN_ROWS


def _overlap(n_out: int, n_in: int, offset: int, stride: int) -> tuple[slice, slice]:
    """Outputs h whose input index h*stride + offset lies in [0, n_in), as (outputs, inputs)."""
    lo = max(0, -(offset // stride))  # ceil(-offset / stride)
    hi = min(n_out, (n_in - 1 - offset) // stride + 1)
    if hi <= lo:
        return slice(0, 0), slice(0, 0)
    return slice(lo, hi), slice(lo * stride + offset, (hi - 1) * stride + offset + 1, stride)


def _col2im(dA: Array, dZ: Array, W: Array, stride: int, pad: int, scratch: Array) -> None:
    """dA[i, h*stride + p - pad, w*stride + q - pad, k] += sum_c dZ[i, h, w, c] W[p, q, k, c].

    dA (k_m, n_H_prev, n_W_prev, n_C_prev) is updated in place; dZ is (k_m, n_H, n_W, n_C);
    ``scratch`` (k_m*n_H*n_W*f_H*f_W*n_C_prev elements) receives the products dZ @ W_mat.T.
    One slice-add per offset (p, q), clipped to the unpadded input. NumPy's inner loop
    runs along an axis contiguous in both operands; the products are laid out so that
    axis is long: channels when there are many, else width (products transposed).
    """
    k_m, n_H, n_W, n_C = dZ.shape
    f_H, f_W, n_C_prev, _ = W.shape
    n_H_prev, n_W_prev = dA.shape[1:3]
    dZ_rows, W_mat = dZ.reshape(-1, n_C), W.reshape(-1, n_C)
    rows = [(p, _overlap(n_H, n_H_prev, p - pad, stride)) for p in range(f_H)]
    columns = [(q, _overlap(n_W, n_W_prev, q - pad, stride)) for q in range(f_W)]
    if n_C_prev >= _MANY_CHANNELS:
        dcols = np.matmul(dZ_rows, W_mat.T, out=scratch.reshape(len(dZ_rows), -1))
        dcols = dcols.reshape(k_m, n_H, n_W, f_H, f_W, n_C_prev)  # [i, h, w, p, q, k]
        for (p, (h_out, y_in)), (q, (w_out, x_in)) in itertools.product(rows, columns):
            dA[:, y_in, x_in] += dcols[:, h_out, w_out, p, q]
    else:
        dcols_T = np.matmul(W_mat, dZ_rows.T, out=scratch.reshape(-1, len(dZ_rows)))
        dcols_T = dcols_T.reshape(f_H, f_W, n_C_prev, k_m, n_H, n_W)  # [p, q, k, i, h, w]
        dA_T = dA.transpose(3, 0, 1, 2)  # [k, i, y, x]
        for (p, (h_out, y_in)), (q, (w_out, x_in)) in itertools.product(rows, columns):
            dA_T[:, :, y_in, x_in] += dcols_T[p, q, :, :, h_out, w_out]
