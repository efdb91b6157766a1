"""Argument checks shared by the reference layers.

Every check names the argument, the value it got and what was expected, so a
caller who passes NCHW arrays, an integer image or a missing ``"pad"`` key is
told how to fix the call. Decisions (tested in ``tests/test_reference_errors.py``):

- arrays must be real floating ndarrays (float16/32/64); results are float64.
  Integer and boolean arrays raise ``TypeError`` (``x.astype(np.float64)``).
- NaN and inf raise ``ValueError``: a gradient check of them means nothing.
- geometry values (``f``, ``stride``, ``pad``) must be Python or NumPy integers
  (not ``bool``, not ``2.0``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from numbers import Integral
from typing import Any

import numpy as np

Array = np.ndarray


def as_float_array(name: str, value: Any, ndim: int, layout: str, check_finite: bool = True) -> Array:
    """Return ``value`` as a float64 ndarray of rank ``ndim`` or raise.

    ``layout`` is the expected axes, e.g. ``"(m, n_H_prev, n_W_prev, n_C_prev)"``. Without
    ``check_finite`` the caller must call ``require_finite`` itself (e.g. slice by slice,
    in the threads that compute on the slices).
    """
    if not isinstance(value, np.ndarray):
        raise TypeError(
            f"{name} must be a numpy ndarray of shape {layout}, "
            f"got {type(value).__name__}; wrap it with np.asarray({name}, dtype=np.float64)"
        )
    if value.dtype.kind != "f":
        raise TypeError(
            f"{name} has dtype {value.dtype}; the layers need a floating array "
            f"(float64): pass {name}.astype(np.float64)"
        )
    if value.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions {layout}, got shape {value.shape}")
    if check_finite:
        require_finite(name, value)
    return np.asarray(value, dtype=np.float64)


def _all_finite(part: Array) -> bool:
    """Whether every element of ``part`` is finite. On a large array, from its sum first: a
    sum is finite only if every term is (NaN and inf propagate), in one pass with no
    temporary; a finite array whose sum overflows is settled element by element."""
    if part.size < 4096:  # the sum's error-state context would cost more than it saves
        return bool(np.isfinite(part).all())
    with np.errstate(over="ignore", invalid="ignore"):
        total = np.add.reduce(part, axis=None)
    return math.isfinite(total) or bool(np.isfinite(part).all())


def require_finite(name: str, part: Array, whole: Array | None = None) -> None:
    """Raise if ``part`` (of the array ``whole``, itself by default) holds a NaN or an
    infinity; the message counts them over ``whole``."""
    if not _all_finite(part):
        whole = part if whole is None else whole
        n_bad = int(whole.size - np.count_nonzero(np.isfinite(whole)))
        raise ValueError(f"{name} contains {n_bad} NaN or infinite value(s); the layers need finite inputs")


def int_param(name: str, value: Any, minimum: int, where: str) -> int:
    """Return ``value`` as an int >= ``minimum`` or raise, naming ``where`` it came from."""
    if type(value) is not int and (isinstance(value, bool) or not isinstance(value, Integral)):
        raise TypeError(f"{where}[{name!r}] must be an integer, got {value!r} ({type(value).__name__})")
    if value < minimum:
        raise ValueError(f"{where}[{name!r}] must be >= {minimum}, got {value}")
    return int(value)


def hparams(hparameters: Any, keys: tuple[str, ...], minimums: dict[str, int]) -> dict[str, int]:
    """Validate an ``hparameters`` dict holding integer ``keys``."""
    if type(hparameters) is not dict and not isinstance(hparameters, Mapping):
        raise TypeError(f"hparameters must be a dict with keys {list(keys)}, got {type(hparameters).__name__}")
    missing = [key for key in keys if key not in hparameters]
    if missing:
        raise ValueError(
            f"hparameters is missing key(s) {missing}; expected a dict with keys {list(keys)}, "
            f"got keys {sorted(map(str, hparameters))}"
        )
    return {key: int_param(key, hparameters[key], minimums[key], "hparameters") for key in keys}


def output_size(n_in: int, f: int, stride: int, pad: int, axis: str) -> int:
    """``floor((n_in + 2 pad - f) / stride) + 1``, or raise when the window does not fit."""
    if f > n_in + 2 * pad:
        raise ValueError(
            f"filter size f={f} is larger than the padded input {axis} "
            f"({n_in} + 2*pad={pad} = {n_in + 2 * pad}); use a smaller f or a larger pad"
        )
    return (n_in + 2 * pad - f) // stride + 1
