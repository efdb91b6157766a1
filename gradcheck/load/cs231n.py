"""The contract's NHWC functions on top of CS231n's NCHW ``*_naive`` layers.

CS231n convention (assignment 2, ``layers.py``):
    conv_forward_naive(x, w, b, conv_param) -> (out, cache)
        x (N, C, H, W), w (F, C, HH, WW), b (F,), conv_param {"stride", "pad"},
        out (N, F, H', W'), cache (x, w, b, conv_param)
    conv_backward_naive(dout, cache) -> (dx, dw, db)
    max_pool_forward_naive(x, pool_param) -> (out, cache)
        pool_param {"pool_height", "pool_width", "stride"}, cache (x, pool_param)
    max_pool_backward_naive(dout, cache) -> dx

Layouts: A_prev = x.transpose(0, 2, 3, 1); W = w.transpose(2, 3, 1, 0);
b = b.reshape(1, 1, 1, F). The adapter's forwards return CS231n's own cache
untouched (the engine keeps it remote and passes it back); a contract cache
``(A_prev, W, b, hparameters)`` / ``(A_prev, hparameters)`` passed to a backward
is converted to CS231n's layout first. Results are converted only when they are
plain ndarrays of the expected rank; anything else is returned as it came, so
the checker sees and reports it.

What a CS231n function receives is what CS231n's own code passes it: an input that comes
C-contiguous (most cases) is handed over as a C-contiguous NCHW array (x, w, dout), a copy
whose changes are written back, so that an input modified in place still shows; an input in
another layout (a case in Fortran order, or a strided view) is handed over as the transposed
view of it, neither C- nor F-contiguous. A pool_param follows the key order of the contract's
hparameters: ``{"pool_height", "pool_width", "stride"}``, or with ``stride`` first there, the
notebook's own ``{"pool_width", "pool_height", "stride"}``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

DISPLAY_NAMES: dict[str, str] = {
    "conv_forward": "conv_forward_naive",
    "conv_backward": "conv_backward_naive",
    "pool_forward": "max_pool_forward_naive",
    "pool_backward": "max_pool_backward_naive",
}


def _is_array(value: Any, ndim: int) -> bool:
    return type(value) is np.ndarray and value.ndim == ndim


class _Copies:
    """C-contiguous copies handed to a CS231n function, written back to the arrays they were
    made from after the call (an input the function modifies in place shows in the original)."""

    def __init__(self) -> None:
        self.pairs: list[tuple[np.ndarray, np.ndarray, tuple[int, ...]]] = []

    def laid_out(self, value: Any, axes: tuple[int, ...]) -> Any:
        """``value.transpose(axes)`` as CS231n's code receives it: a C-contiguous copy when
        ``value`` is C-contiguous (written back by :meth:`write_back`), else the transposed view."""
        if not _is_array(value, len(axes)):
            return value
        view = value.transpose(axes)
        if not value.flags.c_contiguous:
            return view
        copy = np.ascontiguousarray(view)
        self.pairs.append((value, copy, tuple(int(axis) for axis in np.argsort(axes))))
        return copy

    def write_back(self) -> None:
        for original, copy, inverse in self.pairs:
            if original.flags.writeable:
                np.copyto(original, copy.transpose(inverse))


def _to_nchw(value: Any, copies: _Copies | None = None) -> Any:
    if copies is not None:
        return copies.laid_out(value, (0, 3, 1, 2))
    return value.transpose(0, 3, 1, 2) if _is_array(value, 4) else value


def _to_cs231n_w(value: Any, copies: _Copies) -> Any:
    """W (f_H, f_W, n_C_prev, n_C) as CS231n's w (F, C, HH, WW)."""
    return copies.laid_out(value, (3, 2, 0, 1))


def _to_nhwc(value: Any) -> Any:
    return value.transpose(0, 2, 3, 1) if _is_array(value, 4) else value


def _is_contract_conv_cache(cache: Any) -> bool:
    return (
        type(cache) is tuple
        and len(cache) == 4
        and _is_array(cache[1], 4)
        and _is_array(cache[2], 4)
        and isinstance(cache[3], dict)
    )


def _is_contract_pool_cache(cache: Any) -> bool:
    return (
        type(cache) is tuple and len(cache) == 2 and isinstance(cache[1], dict) and "f" in cache[1]
    )


class CS231nAdapter:
    """Contract functions (NHWC) over a module with CS231n's functions (NCHW)."""

    pool_modes: tuple[str, ...] = ("max",)
    convention = "cs231n"

    def __init__(self, module: Any):
        self.module = module
        self.__name__ = getattr(module, "__name__", type(module).__name__)
        self.display_names = dict(DISPLAY_NAMES)  # the convention's names, present or not
        for name, cs_name in DISPLAY_NAMES.items():
            if not callable(getattr(module, cs_name, None)):
                setattr(self, name, None)  # missing in the submission: reported as missing

    # conv ------------------------------------------------------------------
    def conv_forward(self, A_prev: Any, W: Any, b: Any, hparameters: Any) -> Any:
        copies = _Copies()
        x = _to_nchw(A_prev, copies)
        w = _to_cs231n_w(W, copies)
        b_cs = b.reshape(-1) if type(b) is np.ndarray else b
        try:
            result = self.module.conv_forward_naive(x, w, b_cs, hparameters)
        finally:
            copies.write_back()
        if type(result) is tuple and len(result) == 2:
            return (_to_nhwc(result[0]), result[1])
        return result

    def conv_backward(self, dZ: Any, cache: Any) -> Any:
        copies = _Copies()
        if _is_contract_conv_cache(cache):
            A_prev, W, b, hparameters = cache
            cache = (_to_nchw(A_prev, copies), _to_cs231n_w(W, copies), b.reshape(-1), hparameters)
        try:
            result = self.module.conv_backward_naive(_to_nchw(dZ, copies), cache)
        finally:
            copies.write_back()
        if type(result) is tuple and len(result) == 3:
            dx, dw, db = result
            dW = dw.transpose(2, 3, 1, 0) if _is_array(dw, 4) else dw
            db = db.reshape(1, 1, 1, -1) if _is_array(db, 1) else db
            return (_to_nhwc(dx), dW, db)
        return result

    # pool ------------------------------------------------------------------
    @staticmethod
    def _pool_param(hparameters: Any) -> Any:
        """The contract's {"f", "stride"} (``f`` an int or the pair (f_H, f_W)) as CS231n's pool_param."""
        if isinstance(hparameters, dict) and "f" in hparameters:
            f = hparameters["f"]
            height, width = (f[0], f[1]) if isinstance(f, tuple | list) else (f, f)
            if next(iter(hparameters)) == "stride":  # the other key order: the notebook's own
                return {"pool_width": width, "pool_height": height, "stride": hparameters.get("stride")}
            return {"pool_height": height, "pool_width": width, "stride": hparameters.get("stride")}
        return hparameters

    @staticmethod
    def _check_mode(mode: Any) -> None:
        if mode != "max":
            raise ValueError(
                f"CS231n's max_pool_*_naive functions have no {mode!r} mode (only 'max')"
            )

    def pool_forward(self, A_prev: Any, hparameters: Any, mode: Any = "max") -> Any:
        self._check_mode(mode)
        copies = _Copies()
        try:
            result = self.module.max_pool_forward_naive(_to_nchw(A_prev, copies), self._pool_param(hparameters))
        finally:
            copies.write_back()
        if type(result) is tuple and len(result) == 2:
            return (_to_nhwc(result[0]), result[1])
        return result

    def pool_backward(self, dA: Any, cache: Any, mode: Any = "max") -> Any:
        self._check_mode(mode)
        copies = _Copies()
        if _is_contract_pool_cache(cache):
            A_prev, hparameters = cache
            cache = (_to_nchw(A_prev, copies), self._pool_param(hparameters))
        try:
            return _to_nhwc(self.module.max_pool_backward_naive(_to_nchw(dA, copies), cache))
        finally:
            copies.write_back()
