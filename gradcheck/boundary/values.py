"""What crosses the boundary between a submission and the checker.

Every value a submission returns is turned into a *wire value* before the checker
looks at it: plain ``numpy.ndarray`` (exact type, own copy), ``float``, ``int``,
``bool``, ``str``, ``None``, tuples/lists and str-keyed dicts of those, a
:class:`CacheRef` for an object kept on the submission's side, and
:class:`Opaque` for anything else (its type name only). ndarray subclasses and
objects with custom comparison operators are ``Opaque``: they can never pass.

The in-process backend and the worker process use the same conversion, so both
give the same verdicts; the worker additionally encodes wire values without
pickle (see ``gradcheck.boundary.isolated``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class CacheRef:
    """A handle to an object (a layer's cache) kept where the submission runs."""

    key: int


@dataclass(frozen=True)
class FortranOrder:
    """An argument array the submission receives in column-major (Fortran) memory order, as a
    transposed or sliced array would come: code that assumes C order (strides computed by
    hand for ``as_strided``, a raw ``reshape`` of the buffer) shows. Values are the same."""

    array: np.ndarray


@dataclass(frozen=True)
class StridedView:
    """An argument array the submission receives as a strided view that is neither C- nor
    Fortran-contiguous: every other element, along every axis, of a larger buffer whose other
    elements are NaN (as a slice with steps, ``X[:, ::2, ::2]``, would come). Code that computes
    strides by hand for ``as_strided`` (right for C or F order only), or reads a raw buffer, shows:
    it reads the NaNs between the elements. Values are the same (:func:`strided_view`)."""

    array: np.ndarray


def strided_view(array: np.ndarray) -> np.ndarray:
    """``array``'s values in a fresh strided view: every other element of a buffer twice as long
    along every axis, the elements between them NaN (zeros for a non-float dtype)."""
    fill = np.nan if array.dtype.kind in "fc" else 0
    buffer = np.full(tuple(2 * n for n in array.shape), fill, dtype=array.dtype)
    view = buffer[tuple(slice(None, None, 2) for _ in array.shape)]
    view[...] = array
    return view


@dataclass(frozen=True)
class Opaque:
    """A returned object the checker does not accept; only its type name crosses."""

    type_name: str

    def __str__(self) -> str:
        return f"<{self.type_name}>"


_MAX_DEPTH = 8


def to_wire(value: Any, depth: int = 0) -> Any:
    """Convert a returned object into a wire value (see module docstring)."""
    if depth > _MAX_DEPTH:
        return Opaque("too deeply nested object")
    kind = type(value)
    if kind is np.ndarray:
        if value.dtype.kind not in "biufc" or value.dtype.hasobject:
            return Opaque(f"ndarray of dtype {value.dtype}")
        return np.array(value, copy=True)
    if kind in (float, int, bool, str) or value is None:
        return value
    if isinstance(value, np.generic) and kind.__module__ == "numpy":
        if isinstance(value, np.bool_):
            return bool(value)
        if isinstance(value, np.integer):
            return int(value)
        if isinstance(value, np.floating):
            # float64 scalars are floats; a float32 scalar keeps its dtype (as a 0-d array) so
            # that the checker can say "float32", not report a rounding mismatch
            return float(value) if value.dtype == np.float64 else np.array(value)
        return Opaque(f"numpy scalar {kind.__name__}")
    if kind in (tuple, list):
        return kind(to_wire(item, depth + 1) for item in value)
    if isinstance(value, tuple):  # a namedtuple is a tuple
        return tuple(to_wire(item, depth + 1) for item in value)
    if kind is dict:
        if all(type(key) is str for key in value):
            return {key: to_wire(item, depth + 1) for key, item in value.items()}
        return Opaque("dict with non-str keys")
    if kind is CacheRef:
        return value
    return Opaque(f"{kind.__module__}.{kind.__qualname__}")


def wire_equal(left: Any, right: Any) -> bool:
    """Bitwise equality of two wire values (NaN equals NaN at the same place)."""
    if type(left) is not type(right):
        return False
    if isinstance(left, np.ndarray):
        return (
            left.shape == right.shape
            and left.dtype == right.dtype
            and left.tobytes() == right.tobytes()
        )
    if isinstance(left, tuple | list):
        return len(left) == len(right) and all(map(wire_equal, left, right))
    if isinstance(left, dict):
        return left.keys() == right.keys() and all(wire_equal(left[k], right[k]) for k in left)
    if isinstance(left, float):
        return left == right or (left != left and right != right)
    return left == right


def describe(value: Any) -> str:
    """Short description of a wire value for messages: ``ndarray float64 (2, 3)``, ``tuple of 2``."""
    if isinstance(value, np.ndarray):
        return f"ndarray {value.dtype} {value.shape}"
    if isinstance(value, tuple | list):
        return f"{type(value).__name__} of {len(value)}"
    if isinstance(value, Opaque):
        return value.type_name
    return type(value).__name__
