"""Element-wise comparison of an analytic result with its oracle, and the mismatch message.

The message follows ``numpy.testing.assert_allclose`` and improves on it: a header
naming the function, quantity, step and tolerance; ``Mismatched elements: k / n
(p%)``; up to five worst rows ``[i, h, w, c]: analytic=..., numeric=...``; the
largest absolute and relative difference. Shape, dtype and NaN problems are
reported before (and instead of) any numbers, by ``validate_array``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from gradcheck.boundary.values import Opaque, describe

MAX_ROWS = 5


ELEMENTWISE = "element-wise"
NORMWISE = "norm-wise"
NORMWISE_NOTE = (
    "accepted by the norm-wise rounding bound of transform algorithms (FFT, Winograd): some elements "
    "differ from the oracle by more than the element-wise bound of summed products, but within the "
    "bound of an FFT- or Winograd-computed convolution (Higham, Accuracy and Stability of Numerical "
    "Algorithms, ch. 24; Barabasz et al., ACM TOMS 2020); a correct transform algorithm rounds this way"
)


def mismatch_order(error: np.ndarray, tolerance: np.ndarray) -> np.ndarray:
    """Flat indices of the elements beyond tolerance, worst first: the ONE ranking of
    "worst elements" (largest |diff| / tolerance, NaN first, ties in index order) used by
    the mismatch message, the terminal, Markdown and HTML reports."""
    tolerance = np.broadcast_to(tolerance, error.shape)
    bad = ~(error <= tolerance)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        ratio = error / np.maximum(tolerance, np.finfo(np.float64).tiny)
    ratio = np.where(np.isnan(ratio), np.inf, ratio)
    order = np.argsort(-ratio, axis=None, kind="stable")
    return order[bad.reshape(-1)[order]]


@dataclass
class Comparison:
    """``|analytic - expected| <= tolerance`` element-wise.

    ``normwise`` (optional, broadcast like ``tolerance``) is the fallback bound of
    transform algorithms (FFT, Winograd; see ``gradcheck.engine.numeric``): an element
    outside ``tolerance`` still matches when it is within ``normwise``. ``bound`` says
    which decided: ``"element-wise"``, or ``"norm-wise"`` when some element needed the
    fallback. ``effective`` (also ``tolerance`` after construction) is the tolerance each
    element was held to; ``elementwise`` the element-wise bound alone.
    """

    analytic: np.ndarray
    expected: np.ndarray
    tolerance: np.ndarray
    normwise: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.tolerance = np.broadcast_to(self.tolerance, self.analytic.shape)
        self.error = np.abs(self.analytic - self.expected)
        within = self.error <= self.tolerance  # NaN never matches
        self.effective = self.tolerance
        self.bound = ELEMENTWISE
        if self.normwise is not None:
            self.normwise = np.broadcast_to(self.normwise, self.analytic.shape)
            rescued = ~within & (self.error <= self.normwise)
            if rescued.any():
                self.bound = NORMWISE
            self.effective = np.where(within, self.tolerance, np.maximum(self.tolerance, self.normwise))
            within = within | rescued
        # downstream (details, reports, diagnosis) sees the tolerance each element was held to
        self.elementwise, self.tolerance = self.tolerance, self.effective
        self.mismatched = ~within
        with np.errstate(over="ignore", invalid="ignore"):
            ratio = self.error / np.maximum(self.effective, np.finfo(np.float64).tiny)
        ratio = np.where(np.isnan(ratio), np.inf, ratio)
        self.worst = np.unravel_index(int(np.argmax(ratio)), ratio.shape) if ratio.size else ()
        self.max_ratio = float(ratio.max()) if ratio.size else 0.0

    @property
    def passed(self) -> bool:
        return not bool(self.mismatched.any())

    @property
    def max_error(self) -> float:
        return float(self.error[self.worst]) if self.error.size else 0.0

    @property
    def worst_tolerance(self) -> float:
        return float(self.effective[self.worst]) if self.error.size else 0.0

    def table(self, expected_name: str = "numeric", index_of: Callable[[list[int]], list[int]] | None = None) -> str:
        """The mismatch message; ``index_of`` shows an element's index in another layout
        (a convention's, e.g. NCHW) instead of the array's own."""
        total = self.analytic.size
        count = int(self.mismatched.sum())
        lines = [f"Mismatched elements: {count} / {total} ({100.0 * count / max(total, 1):.3g}%)"]
        for flat in mismatch_order(self.error, self.effective)[:MAX_ROWS]:
            index = np.unravel_index(int(flat), self.analytic.shape)
            shown = list(map(int, index)) if index_of is None else index_of(list(map(int, index)))
            lines.append(
                f"  {shown}: analytic={self.analytic[index]:.17g}, "
                f"{expected_name}={self.expected[index]:.17g}, |diff|={self.error[index]:.3g}, "
                f"tol={self.effective[index]:.3g}"
            )
        if count > MAX_ROWS:
            lines.append(f"  ... and {count - MAX_ROWS} more")
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            relative = self.error / np.abs(self.expected)
        relative = np.where(np.isfinite(relative), relative, np.inf)
        if self.normwise is not None:
            lines.append(
                "  (tol: the element-wise rounding bound, or where larger the norm-wise bound of FFT/Winograd "
                "algorithms; see gradcheck.engine.numeric)"
            )
        lines.append(f"Max absolute difference: {float(self.error.max()):.6g}")
        lines.append(f"Max relative difference: {float(relative.max()):.6g}")
        return "\n".join(lines)


def validate_array(
    value: Any,
    what: str,
    shape: tuple[int, ...],
    *,
    allow_bool: bool = False,
    channels_first: bool = False,
) -> tuple[np.ndarray | None, str | None]:
    """Return (float64 array, None) when ``value`` is a finite float64 ndarray of ``shape``
    (either byte order), else (None, message) saying what is wrong and how to fix it.
    ``allow_bool``: the value is a mask, accepted in any real dtype (bool, int, float32).
    ``channels_first``: ``shape`` is NCHW (CS231n), so an NHWC result gets the hint."""
    if isinstance(value, Opaque) or not isinstance(value, np.ndarray):
        return None, (
            f"{what} is {describe(value)}, not a numpy.ndarray; return a plain np.ndarray "
            f"(no subclasses, lists or custom objects) of shape {shape}"
        )
    if value.shape != tuple(shape):
        hint = ""
        if value.ndim == 4 and len(shape) == 4 and channels_first and value.shape == (
            shape[0], shape[2], shape[3], shape[1]
        ):
            hint = " (this looks like NHWC; CS231n's arrays are NCHW: (N, C, H, W))"
        elif not channels_first and value.ndim == 4 and len(shape) == 4 and value.shape == (
            shape[0], shape[3], shape[1], shape[2]
        ):
            hint = " (this looks like NCHW; the contract is NHWC)"
        elif sorted(value.shape) == sorted(shape):
            hint = " (the same sizes in another order: are axes swapped?)"
        return None, f"{what} has shape {value.shape}, expected {tuple(shape)}{hint}"
    kind = value.dtype.kind
    if allow_bool and kind in "buif":
        # a mask of 0s and 1s is exact in any real dtype (bool as in the course, int, float32)
        value = value.astype(np.float64)
        kind = "f"
    if kind != "f":
        hint = (
            " (integer arrays truncate gradients: create it with np.zeros(shape) or dtype=float)"
            if kind in "iu"
            else ""
        )
        return None, f"{what} has dtype {value.dtype}, expected a float array (float64){hint}"
    if kind == "f" and value.dtype.itemsize == 8 and value.dtype != np.float64:
        value = value.astype(np.float64)  # float64 in the other byte order
    if value.dtype != np.float64:
        return None, (
            f"{what} has dtype {value.dtype}; finite differences need float64: "
            f"compute in float64 (e.g. np.zeros(shape) is float64)"
        )
    finite = np.isfinite(value)
    if not finite.all():
        bad = np.argwhere(~finite)[:3].tolist()
        return None, f"{what} contains {int((~finite).sum())} NaN/inf value(s), first at {bad}"
    return value, None


def unpack(value: Any, what: str, names: tuple[str, ...]) -> tuple[tuple | None, str | None]:
    """Check that ``value`` is a tuple/list of ``len(names)`` items."""
    if not isinstance(value, tuple | list) or len(value) != len(names):
        return None, f"{what} returned {describe(value)}; expected a tuple ({', '.join(names)})"
    return tuple(value), None
