"""Pooling layer (max and average), NHWC, float64, no padding: forward and backward side by side.

Shapes:
    A_prev  (m, n_H_prev, n_W_prev, n_C)
    A, dA   (m, n_H, n_W, n_C),  n_H = floor((n_H_prev - f) / stride) + 1
    cache   (A_prev, hparameters),  hparameters = {"f": int >= 1, "stride": int >= 1}

``f`` may also be a pair ``(f_H, f_W)``: a rectangular window of f_H rows and f_W columns
(CS231n's pool_height and pool_width), n_H from f_H and n_W from f_W.

Max pooling routes each window's gradient to one maximum: the first in
row-major (p, q) order, as PyTorch does. At a tie that is a valid subgradient
(non-negative, zero off the tied maxima, summing to 1 over them).

Implementation: a window offset (p, q) selects one strided slice of A_prev, so
no window array is built and no intermediate is larger than A_prev. Window sums
and maxima are separable (along height, then along width: f_H + f_W strided operations
instead of f_H*f_W), and so are spreading the average's gradient back and, for
overlapping windows, max routing (see ``pool_backward``). The arrays are handled
as (m, n_C, height, width) views. NumPy runs its inner loop along an axis that
is contiguous in every operand: in NHWC that is a whole row for the first,
along-height pass, and channels (with width too when stride = 1) otherwise,
which is short when there are few channels, so then the intermediates are
stored channels-first and the loop runs along width. When the windows tile the
input (stride = f), the backward pass works on whole input rows at once
(``_route_max_tiled``, ``_spread_tiled``). Large batches are cut into slices of
examples that run in threads (``reference._parallel``), with the same result.
"""

from __future__ import annotations

from collections.abc import Mapping
from numbers import Integral, Real
from typing import Any

import numpy as np

from reference import _parallel
from reference._validate import Array, as_float_array, hparams, int_param, output_size, require_finite

PoolCache = tuple[Array, dict[str, Any]]
MODES = ("max", "average")
_CHUNK = 65536  # max pooling backward works on chunks of images of about this many elements
_FEW_CHANNELS = 8  # below this, with stride > 1, intermediates are stored channels-first


def _check_mode(mode: Any) -> str:
    if mode not in MODES:
        raise ValueError(f"mode must be 'max' or 'average', got {mode!r}")
    return mode


def _pool_geometry(A_prev: Any, hparameters: Any):
    """A_prev as float64 and the window geometry; finiteness is left to the callers, which
    check it slice by slice where they compute (``require_finite``)."""
    A_prev = as_float_array("A_prev", A_prev, 4, "(m, n_H_prev, n_W_prev, n_C)", check_finite=False)
    f = _window(hparameters)
    stride = hparams(hparameters, ("stride",), {"stride": 1})["stride"]
    n_H = output_size(A_prev.shape[1], f[0], stride, 0, "height n_H_prev")
    n_W = output_size(A_prev.shape[2], f[1], stride, 0, "width n_W_prev")
    return A_prev, f, stride, n_H, n_W


def _window(hparameters: Any) -> tuple[int, int]:
    """(f_H, f_W) from ``hparameters["f"]``: an int (a square window) or a pair of ints."""
    if isinstance(hparameters, Mapping) and isinstance(hparameters.get("f"), tuple | list):
        sides = hparameters["f"]
        if len(sides) != 2:
            raise ValueError(f"hparameters['f'] must be an int or a pair (f_H, f_W), got {sides!r}")
        return (int_param("f_H", sides[0], 1, "hparameters['f']"), int_param("f_W", sides[1], 1, "hparameters['f']"))
    f = hparams(hparameters, ("f", "stride"), {"f": 1, "stride": 1})["f"]
    return f, f


def _window_slices(f: tuple[int, int], stride: int, n_H: int, n_W: int):
    """For each window offset (p, q) in row-major order, the index of the slice it reads
    from a (m, n_C, height, width) view X: ``X[index][i, c, h, w] = X[i, c, h*stride + p,
    w*stride + q]``, shape (m, n_C, n_H, n_W)."""
    h_span, w_span = stride * (n_H - 1) + 1, stride * (n_W - 1) + 1
    for p in range(f[0]):
        for q in range(f[1]):
            yield (Ellipsis, slice(p, p + h_span, stride), slice(q, q + w_span, stride))


def _empty(shape: tuple[int, int, int, int], channels_last: bool, dtype=np.float64) -> Array:
    """An uninitialised (m, n_C, h, w) array, stored NHWC when ``channels_last``."""
    m, n_C, h, w = shape
    if channels_last:
        return np.empty((m, h, w, n_C), dtype=dtype).transpose(0, 3, 1, 2)
    return np.empty(shape, dtype=dtype)


def _reduce_windows(X: Array, f: tuple[int, int], stride: int, ufunc, out: Array, channels_last: bool):
    """Reduce every f_H x f_W window of X (m, n_C, H, W) with ``ufunc`` (np.maximum or np.add)
    into ``out`` (m, n_C, n_H, n_W), separably, f_H + f_W strided operations instead of f_H*f_W:

        R[i, c, h, x]   = ufunc over p of X[i, c, h*stride + p, x]
        out[i, c, h, w] = ufunc over q of R[i, c, h, w*stride + q]

    Rows first: in NHWC a row of X is contiguous, so the first (larger) pass runs along
    whole rows whatever the stride.
    """
    n_H, n_W = out.shape[2:]
    h_span, w_span = stride * (n_H - 1) + 1, stride * (n_W - 1) + 1
    columns = X[..., : w_span + f[1] - 1]  # columns right of the last window are read by none
    R = _empty(columns.shape[:2] + (n_H, columns.shape[3]), channels_last)
    _fold(ufunc, [columns[..., p : p + h_span : stride, :] for p in range(f[0])], R)
    _fold(ufunc, [R[..., q : q + w_span : stride] for q in range(f[1])], out)
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
    """A[i, h, w, c] = max or mean of A_prev[i, h*stride:h*stride+f_H, w*stride:w*stride+f_W, c].

    Returns (A, cache) with cache ``(A_prev, hparameters)``.
    """
    mode = _check_mode(mode)
    A_prev, f, stride, n_H, n_W = _pool_geometry(A_prev, hparameters)
    A = np.empty((A_prev.shape[0], n_H, n_W, A_prev.shape[3]))

    def forward(examples: slice) -> None:  # finiteness is checked in the threads too
        require_finite("A_prev", A_prev[examples], A_prev)
        _forward_into(A_prev[examples], f, stride, mode, A[examples])

    _parallel.over_batch(A.shape[0], A_prev.size, forward)
    return A, (A_prev, hparameters)


def _forward_into(A_prev: Array, f: tuple[int, int], stride: int, mode: str, A: Array) -> None:
    """pool_forward's result for (a slice of) the batch, written into A (NHWC)."""
    channels_last = stride == 1 or A_prev.shape[3] >= _FEW_CHANNELS
    X, A_view = A_prev.transpose(0, 3, 1, 2), A.transpose(0, 3, 1, 2)
    if mode == "max":
        _reduce_windows(X, f, stride, np.maximum, A_view, channels_last)
    else:
        _reduce_windows(X, f, stride, np.add, A_view, channels_last)
        A /= f[0] * f[1]


def pool_backward(dA: Array, cache: PoolCache, mode: str = "max") -> Array:
    """Gradient of L = sum(dA * A) w.r.t. A_prev, shape (m, n_H_prev, n_W_prev, n_C).

    max:     dA_prev[window] += dA * onehot(first maximum of the window, row-major (p, q))
    average: dA_prev[window] += dA / (f_H*f_W)

    Max routing, per offset (p, q) in row-major order, with ``remaining`` = the part of
    dA not yet routed (dA at first, 0 once a window's maximum is found):
        routed = remaining * (A_prev[window] == A);  dA_prev[window] += routed;  remaining -= routed
    so each window's gradient goes to its first maximum only (``g - g`` is exactly 0); the
    last offset takes ``remaining`` without a compare. When stride >= f the windows do not
    overlap, ``+=`` becomes ``=`` and routed is written into dA_prev directly. When they
    overlap, the same routing runs separably, first over window rows, then over columns
    (``_route_max``), on chunks of images small enough for the cache.
    """
    mode = _check_mode(mode)
    if not isinstance(cache, tuple | list) or len(cache) != 2:
        raise TypeError(
            f"cache must be the tuple (A_prev, hparameters) returned by pool_forward, got {type(cache).__name__}"
        )
    A_prev, f, stride, n_H, n_W = _pool_geometry(*cache)
    dA = as_float_array("dA", dA, 4, "(m, n_H, n_W, n_C)", check_finite=False)
    m, n_C = A_prev.shape[0], A_prev.shape[3]
    if dA.shape != (m, n_H, n_W, n_C):
        raise ValueError(f"dA must have the shape of A, (m, n_H, n_W, n_C) = {(m, n_H, n_W, n_C)}, got {dA.shape}")
    dA_prev = np.empty(A_prev.shape)

    def backward(examples: slice) -> None:  # finiteness is checked in the threads too
        require_finite("A_prev", A_prev[examples], A_prev)
        require_finite("dA", dA[examples], dA)
        _backward_into(A_prev[examples], dA[examples], f, stride, mode, dA_prev[examples])

    _parallel.over_batch(m, A_prev.size, backward)
    return dA_prev


def _backward_into(A_prev: Array, dA: Array, f: tuple[int, int], stride: int, mode: str, dA_prev: Array) -> None:
    """pool_backward's result for (a slice of) the batch, written into dA_prev (NHWC, any content)."""
    if stride == f[0] == f[1] > 1:  # square windows tile the input
        if mode == "average":
            _spread_tiled(dA, stride, dA_prev)
            return
        if _route_max_tiled(A_prev, dA, stride, dA_prev):
            return
    m, n_H, n_W, n_C = dA.shape
    channels_last = stride == 1 or n_C >= _FEW_CHANNELS
    out_shape = (m, n_C, n_H, n_W)
    X, G = A_prev.transpose(0, 3, 1, 2), dA.transpose(0, 3, 1, 2)
    overlapping = stride < max(f)
    dA_prev.fill(0.0)
    dX = dA_prev.transpose(0, 3, 1, 2)
    if mode == "max" and overlapping:
        step = max(1, _CHUNK // X[0].size)  # images per chunk, so its temporaries stay in cache
        for i in range(0, m, step):
            _route_max(X[i : i + step], G[i : i + step], f, stride, dX[i : i + step], channels_last)
    elif mode == "max":  # windows do not overlap: each offset assigns its slice of dX
        A = _reduce_windows(X, f, stride, np.maximum, _empty(out_shape, channels_last), channels_last)
        windows = list(_window_slices(f, stride, n_H, n_W))
        if len(windows) == 1:
            np.copyto(dX[windows[0]], G)
        hit = _empty(out_shape, channels_last, dtype=bool)
        remaining = G  # until the first offset has been routed
        for offset, window in enumerate(windows[:-1]):
            np.equal(X[window], A, out=hit)
            np.multiply(remaining, hit, out=dX[window])
            if offset == len(windows) - 2:
                np.subtract(remaining, dX[window], out=dX[windows[-1]])
            elif offset == 0:
                remaining = _empty(out_shape, channels_last)
                np.subtract(G, dX[window], out=remaining)
            else:
                remaining -= dX[window]
        np.add(dA_prev, 0.0, out=dA_prev)  # -0.0 (a negative times False) -> 0.0
    else:
        share = _empty(out_shape, channels_last)
        np.divide(G, f[0] * f[1], out=share)
        if overlapping:
            _spread_windows(share, f, stride, dX, channels_last)
        else:
            for window in _window_slices(f, stride, n_H, n_W):
                dX[window] = share


def _spread_tiled(dA: Array, f: int, dA_prev: Array) -> None:
    """Average pooling's gradient when the windows tile the input (stride = f), NHWC: each
    input row y = h*f + p of the tiled part is row h of dA / (f*f) repeated f times along
    width; rows and columns no window reads are 0."""
    share_rep = np.repeat(dA, f, axis=2)
    share_rep /= f * f
    for row in _tiled_rows(f, *dA.shape[1:3]):
        dA_prev[row] = share_rep
    _zero_untiled(dA_prev, f, *dA.shape[1:3])


def _tiled_rows(f: int, n_H: int, n_W: int) -> list[tuple[slice, slice, slice]]:
    """For each p < f, the index of input rows h*f + p (h < n_H), columns < f*n_W, of an NHWC
    array: row h of what it selects lies under the windows of output row h."""
    return [(slice(None), slice(p, p + f * n_H, f), slice(0, f * n_W)) for p in range(f)]


def _zero_untiled(dA_prev: Array, f: int, n_H: int, n_W: int) -> None:
    """Zero the rows and columns of NHWC dA_prev that no window of the tiling reads."""
    dA_prev[:, f * n_H :] = 0.0
    dA_prev[:, :, f * n_W :] = 0.0


def _route_max_tiled(A_prev: Array, dA: Array, f: int, dA_prev: Array) -> bool:
    """Max routing when the windows tile the input (stride = f): writes dA_prev from NHWC
    A_prev and dA and returns True, or returns False, leaving dA_prev as it was, when some
    window holds tied maxima (the caller then routes offset by offset).

    Each input row y = h*f + p of the tiled part is compared in one operation with row h of
    the maxima, repeated f times along width (``A_rep[i, h, x] = A[i, h, x // f]``; for
    f = 2 built straight from the rows' maxima, pairs of columns against their swap), and
    receives ``G_rep * hit``: every operand is contiguous along whole rows, whatever the
    number of channels. Without ties each window has exactly one hit, so the hits number
    exactly the windows; with a tie they number more, and routing to every hit would be
    wrong.
    """
    m, n_H, n_W, n_C = dA.shape
    rows = _tiled_rows(f, n_H, n_W)
    R = np.empty((m, n_H, f * n_W, n_C))  # R[i, h, x] = max over p of A_prev[i, h*f + p, x]
    _fold(np.maximum, [A_prev[row] for row in rows], R)
    if f == 2:  # each pair of columns' maximum, in both: the pair against itself swapped
        pairs = R.reshape(m, n_H, n_W, 2, n_C)
        A_rep = np.maximum(pairs, pairs[:, :, :, ::-1]).reshape(R.shape)
    else:
        A = np.empty(dA.shape)
        _fold(np.maximum, [R[:, :, q::f] for q in range(f)], A)
        A_rep = np.repeat(A, f, axis=2)
    hits = [np.equal(A_prev[row], A_rep) for row in rows]
    if sum(map(np.count_nonzero, hits)) != dA.size:
        return False
    _zero_untiled(dA_prev, f, n_H, n_W)
    G_rep = np.repeat(dA, f, axis=2)
    for row, hit in zip(rows, hits, strict=True):
        np.multiply(G_rep, hit, out=dA_prev[row])
    np.add(dA_prev, 0.0, out=dA_prev)  # -0.0 (a negative times False) -> 0.0
    return True


def _route_max(X: Array, G: Array, f: tuple[int, int], stride: int, dX: Array, channels_last: bool) -> None:
    """Max routing for overlapping windows (stride < f_H or f_W): dX[window] += G * onehot(first maximum
    of the window, row-major (p, q)) for every window; X (m, n_C, H, W), G (m, n_C, n_H, n_W),
    dX zero on entry, shaped like X.

    Separably, two passes of f_H - 1 and f_W - 1 compares instead of f_H*f_W - 1. With the row
    maxima ``R[i, c, y, w] = max over q of X[i, c, y, w*stride + q]`` and A = max over p of
    R[i, c, h*stride + p, w], the first maximum of window (h, w) lies in its first row
    y = h*stride + p with R[y, w] == A[h, w], at that row's first q with
    X[y, w*stride + q] == R[y, w]; that q depends on (y, w) only, so:
        vertical:   Gv[i, c, y, w] = sum of G[i, c, h, w] over the windows whose first max row is y
        horizontal: dX[i, c, y, w*stride + q] += Gv[i, c, y, w] at the first such q of row y
    """
    m, n_C, n_H, n_W = G.shape
    h_span, w_span = stride * (n_H - 1) + 1, stride * (n_W - 1) + 1
    f_H, f_W = f
    n_rows = h_span + f_H - 1  # rows below the last window are read by none
    rows, out = X[..., :n_rows, :], dX[..., :n_rows, :]
    R = _empty((m, n_C, n_rows, n_W), channels_last)
    _fold(np.maximum, [rows[..., q : q + w_span : stride] for q in range(f_W)], R)
    T = _empty(R.shape, channels_last)  # holds A, then serves as scratch
    A = T[..., :n_H, :]
    _fold(np.maximum, [R[..., p : p + h_span : stride, :] for p in range(f_H)], A)
    Gv = _empty(R.shape, channels_last)
    if stride == 1:  # the rows the p = 0 slice (assigned, not added to) misses
        Gv[..., n_H:, :] = 0.0
    else:
        Gv.fill(0.0)
    vertical = [(Ellipsis, slice(p, p + h_span, stride), slice(None)) for p in range(f_H)]
    _route_first(R, A, G, Gv, vertical, scratch=A, rem=_empty(A.shape, channels_last))
    horizontal = [(Ellipsis, slice(q, q + w_span, stride)) for q in range(f_W)]
    _route_first(rows, R, Gv, out, horizontal, scratch=T, rem=Gv)
    np.add(dX, 0.0, out=dX)  # -0.0 (a negative times False) -> 0.0


def _route_first(V: Array, M: Array, G: Array, out: Array, windows: list, scratch: Array, rem: Array) -> None:
    """out[windows[k]] += G where k is the first of 0..f-1 with V[windows[k]] == M (the last k
    takes what is left: M is the maximum over k of V[windows[k]]), f = len(windows).
    out[windows[0]] is assigned, not added to. ``scratch`` (M's shape) may be M, ``rem`` may be
    G: both are overwritten. As in pool_backward, ``G - G`` is exactly 0, so nothing leaks past
    the first."""
    f = len(windows)
    if f == 1:  # a window one row (or column) long: its only element is its maximum
        np.copyto(out[windows[0]], G)
        return
    hits = [V[windows[k]] == M for k in range(f - 1)]  # before M is overwritten
    first = out[windows[0]]
    np.multiply(G, hits[0], out=first)
    np.subtract(G, first, out=rem)
    for k in range(1, f - 1):
        np.multiply(rem, hits[k], out=scratch)
        out[windows[k]] += scratch
        rem -= scratch
    out[windows[f - 1]] += rem


def _spread_windows(S: Array, f: tuple[int, int], stride: int, dX: Array, channels_last: bool) -> None:
    """dX[i, c, h*stride + p, w*stride + q] += S[i, c, h, w] for every offset (p, q), the
    transpose of ``_reduce_windows(np.add)``, separably, f_H + f_W strided adds instead of f_H*f_W:

        T[i, c, h, x]   = sum of S[i, c, h, w] over w, q with x = w*stride + q
        dX[i, c, y, x] += sum of T[i, c, h, x] over h, p with y = h*stride + p
    """
    m, n_C, n_H, n_W = S.shape
    h_span, w_span = stride * (n_H - 1) + 1, stride * (n_W - 1) + 1
    T = _empty((m, n_C, n_H, dX.shape[3]), channels_last)
    T.fill(0.0)
    for q in range(f[1]):
        T[..., q : q + w_span : stride] += S
    for p in range(f[0]):
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
