"""Pooling layer (max and average), NHWC, float64, no padding: forward and backward side by side.

Shapes:
    A_prev  (m, n_H_prev, n_W_prev, n_C)
    A, dA   (m, n_H, n_W, n_C),  n_H = floor((n_H_prev - f) / stride) + 1
    cache   (A_prev, hparameters),  hparameters = {"f": int >= 1, "stride": int >= 1}

Max pooling routes each window's gradient to one maximum: the first in
row-major (p, q) order, as PyTorch does. At a tie that is a valid subgradient
(non-negative, zero off the tied maxima, summing to 1 over them).

Implementation: a window offset (p, q) selects one strided slice of A_prev, so
no window array is built and no intermediate is larger than A_prev. Window sums
and maxima are separable (along width, then along height: 2f strided operations
instead of f*f), and so is spreading the average's gradient back; max routing
takes four operations per offset (see ``pool_backward``). The arrays are handled
as (m, n_C, height, width) views. NumPy runs its inner loop along an axis that
is contiguous in every operand: in NHWC that is channels (with width too when
stride = 1), which is short when there are few channels, so then the
intermediates are stored channels-first and the loop runs along width.
"""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any

import numpy as np

from reference._validate import Array, as_float_array, hparams, output_size

PoolCache = tuple[Array, dict[str, Any]]
MODES = ("max", "average")
_FEW_CHANNELS = 8  # below this, with stride > 1, intermediates are stored channels-first


def _check_mode(mode: Any) -> str:
    if mode not in MODES:
        raise ValueError(f"mode must be 'max' or 'average', got {mode!r}")
    return mode


def _pool_geometry(A_prev: Any, hparameters: Any):
    A_prev = as_float_array("A_prev", A_prev, 4, "(m, n_H_prev, n_W_prev, n_C)")
    hp = hparams(hparameters, ("f", "stride"), {"f": 1, "stride": 1})
    f, stride = hp["f"], hp["stride"]
    n_H = output_size(A_prev.shape[1], f, stride, 0, "height n_H_prev")
    n_W = output_size(A_prev.shape[2], f, stride, 0, "width n_W_prev")
    return A_prev, f, stride, n_H, n_W


def _window_slices(f: int, stride: int, n_H: int, n_W: int):
    """For each window offset (p, q) in row-major order, the index of the slice it reads
    from a (m, n_C, height, width) view X: ``X[index][i, c, h, w] = X[i, c, h*stride + p,
    w*stride + q]``, shape (m, n_C, n_H, n_W)."""
    h_span, w_span = stride * (n_H - 1) + 1, stride * (n_W - 1) + 1
    for p in range(f):
        for q in range(f):
            yield (Ellipsis, slice(p, p + h_span, stride), slice(q, q + w_span, stride))


def _empty(shape: tuple[int, int, int, int], channels_last: bool, dtype=np.float64) -> Array:
    """An uninitialised (m, n_C, h, w) array, stored NHWC when ``channels_last``."""
    m, n_C, h, w = shape
    if channels_last:
        return np.empty((m, h, w, n_C), dtype=dtype).transpose(0, 3, 1, 2)
    return np.empty(shape, dtype=dtype)


def _reduce_windows(X: Array, f: int, stride: int, ufunc, out: Array, channels_last: bool):
    """Reduce every f x f window of X (m, n_C, H, W) with ``ufunc`` (np.maximum or np.add)
    into ``out`` (m, n_C, n_H, n_W), separably, 2f strided operations instead of f*f:

        R[i, c, y, w]   = ufunc over q of X[i, c, y, w*stride + q]
        out[i, c, h, w] = ufunc over p of R[i, c, h*stride + p, w]
    """
    n_H, n_W = out.shape[2:]
    h_span, w_span = stride * (n_H - 1) + 1, stride * (n_W - 1) + 1
    rows = X[..., : h_span + f - 1, :]  # rows below the last window are read by none
    R = _empty(rows.shape[:3] + (n_W,), channels_last)
    _fold(ufunc, [rows[..., q : q + w_span : stride] for q in range(f)], R)
    _fold(ufunc, [R[..., p : p + h_span : stride, :] for p in range(f)], out)
    return out


def _fold(ufunc, terms: list[Array], out: Array) -> None:
    """out = ufunc(...ufunc(ufunc(terms[0], terms[1]), terms[2])...), in place."""
    if len(terms) == 1:
        np.copyto(out, terms[0])
        return
    ufunc(terms[0], terms[1], out=out)
    for term in terms[2:]:
        ufunc(out, term, out=out)


def pool_forward(A_prev: Array, hparameters: dict, mode: str = "max") -> tuple[Array, PoolCache]:
    """A[i, h, w, c] = max or mean of A_prev[i, h*stride:h*stride+f, w*stride:w*stride+f, c].

    Returns (A, cache) with cache ``(A_prev, hparameters)``.
    """
    mode = _check_mode(mode)
    A_prev, f, stride, n_H, n_W = _pool_geometry(A_prev, hparameters)
    m, n_C = A_prev.shape[0], A_prev.shape[3]
    channels_last = stride == 1 or n_C >= _FEW_CHANNELS
    A = np.empty((m, n_H, n_W, n_C))
    A_view = A.transpose(0, 3, 1, 2)
    X = A_prev.transpose(0, 3, 1, 2)
    if mode == "max":
        _reduce_windows(X, f, stride, np.maximum, A_view, channels_last)
    else:
        _reduce_windows(X, f, stride, np.add, A_view, channels_last)
        A /= f * f
    return A, (A_prev, hparameters)


def pool_backward(dA: Array, cache: PoolCache, mode: str = "max") -> Array:
    """Gradient of L = sum(dA * A) w.r.t. A_prev, shape (m, n_H_prev, n_W_prev, n_C).

    max:     dA_prev[window] += dA * onehot(first maximum of the window, row-major (p, q))
    average: dA_prev[window] += dA / (f*f)

    Max routing, per offset (p, q) in row-major order, with ``remaining`` = the part of
    dA not yet routed (dA at first, 0 once a window's maximum is found):
        routed = remaining * (A_prev[window] == A);  dA_prev[window] += routed;  remaining -= routed
    so each window's gradient goes to its first maximum only (``g - g`` is exactly 0).
    When stride >= f the windows do not overlap and ``+=`` becomes ``=``.
    """
    mode = _check_mode(mode)
    if not isinstance(cache, tuple | list) or len(cache) != 2:
        raise TypeError(
            f"cache must be the tuple (A_prev, hparameters) returned by pool_forward, got {type(cache).__name__}"
        )
    A_prev, f, stride, n_H, n_W = _pool_geometry(*cache)
    dA = as_float_array("dA", dA, 4, "(m, n_H, n_W, n_C)")
    m, n_C = A_prev.shape[0], A_prev.shape[3]
    if dA.shape != (m, n_H, n_W, n_C):
        raise ValueError(f"dA must have the shape of A, (m, n_H, n_W, n_C) = {(m, n_H, n_W, n_C)}, got {dA.shape}")
    channels_last = stride == 1 or n_C >= _FEW_CHANNELS
    out_shape = (m, n_C, n_H, n_W)
    X, G = A_prev.transpose(0, 3, 1, 2), dA.transpose(0, 3, 1, 2)
    dA_prev = np.zeros(A_prev.shape)
    dX = dA_prev.transpose(0, 3, 1, 2)
    overlapping = stride < f
    if mode == "max":
        A = _reduce_windows(X, f, stride, np.maximum, _empty(out_shape, channels_last), channels_last)
        remaining = G  # until the first offset has been routed
        hit = _empty(out_shape, channels_last, dtype=bool)
        routed = _empty(out_shape, channels_last)
        for offset, window in enumerate(_window_slices(f, stride, n_H, n_W)):
            np.equal(X[window], A, out=hit)
            np.multiply(remaining, hit, out=routed)
            if overlapping:
                dX[window] += routed
            else:  # "= routed + 0.0": the + 0.0 turns the -0.0 of (negative * False) into 0.0
                np.add(routed, 0.0, out=dX[window])
            if offset == 0:
                remaining = _empty(out_shape, channels_last)
                np.subtract(G, routed, out=remaining)
            elif offset < f * f - 1:
                remaining -= routed
    else:
        share = _empty(out_shape, channels_last)
        np.divide(G, f * f, out=share)
        if overlapping:
            _spread_windows(share, f, stride, dX, channels_last)
        else:
            for window in _window_slices(f, stride, n_H, n_W):
                dX[window] = share
    return dA_prev


def _spread_windows(S: Array, f: int, stride: int, dX: Array, channels_last: bool) -> None:
    """dX[i, c, h*stride + p, w*stride + q] += S[i, c, h, w] for every offset (p, q), the
    transpose of ``_reduce_windows(np.add)``, separably, 2f strided adds instead of f*f:

        T[i, c, h, x]   = sum of S[i, c, h, w] over w, q with x = w*stride + q
        dX[i, c, y, x] += sum of T[i, c, h, x] over h, p with y = h*stride + p
    """
    m, n_C, n_H, n_W = S.shape
    h_span, w_span = stride * (n_H - 1) + 1, stride * (n_W - 1) + 1
    T = _empty((m, n_C, n_H, dX.shape[3]), channels_last)
    T.fill(0.0)
    for q in range(f):
        T[..., q : q + w_span : stride] += S
    for p in range(f):
        dX[..., p : p + h_span : stride, :] += T


def create_mask_from_window(x: Array) -> Array:
    """Gradient of ``max(x)`` w.r.t. ``x``: a float64 one-hot array of x's shape at the
    first maximum in row-major order (a valid subgradient when maxima tie)."""
    if not isinstance(x, np.ndarray) or x.size == 0:
        raise ValueError(f"x must be a non-empty numpy array (a pooling window), got {x!r}")
    x = as_float_array("x", x, x.ndim, "(f, f)")
    mask = np.zeros(x.shape)
    mask.flat[int(np.argmax(x))] = 1.0
    return mask


def distribute_value(dz: float, shape: tuple[int, int]) -> Array:
    """dz times the gradient of the mean over an array of ``shape``: ``full(shape, dz / prod(shape))``."""
    if isinstance(dz, np.ndarray) and dz.size == 1:
        dz = dz.item()
    if isinstance(dz, bool) or not isinstance(dz, Real) or not np.isfinite(dz):
        raise TypeError(f"dz must be a finite real number, got {dz!r}")
    if (
        not isinstance(shape, tuple | list)
        or len(shape) == 0
        or not all(isinstance(n, Integral) and not isinstance(n, bool) and n >= 1 for n in shape)
    ):
        raise ValueError(f"shape must be a tuple of positive integers like (n_H, n_W), got {shape!r}")
    return np.full(tuple(int(n) for n in shape), float(dz) / float(np.prod(shape)))
