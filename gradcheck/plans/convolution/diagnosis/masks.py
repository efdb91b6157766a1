"""Max-pooling masks: ``create_mask_from_window`` and the routing of ``pool_backward``.

A mask hint is given only when every window's share of the upstream gradient
(analytic / dA over the window) is itself a mask: 0s and 1s (or the window's values at
its ones, or a uniform 1/(f*f)), every window receives something, nothing lands outside
the windows, and at least one window's mask differs from the one-hot of its maximum.
That rules out the other causes (a skipped window gets nothing; a misplaced window
gives shares that are ratios of unrelated upstream values, not 0/1). It is read on
non-overlapping windows (stride >= f): an overlapping failing case is re-run with
stride = f, where each element belongs to one window.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradcheck.plans.convolution.diagnosis.common import Case, Evaluate, changed_passes, pool_inputs, rerun


def _one_hot(values: np.ndarray, tolerance: np.ndarray) -> int | None:
    """The flat index of the single 1 when ``values`` is one-hot within tolerance."""
    ones = np.abs(values - 1.0) <= tolerance
    zeros = np.abs(values) <= tolerance
    if np.count_nonzero(ones) == 1 and np.all(ones | zeros):
        return int(np.flatnonzero(ones)[0])
    return None


def mask_from_window(case: Case) -> tuple[str, str] | None:
    """(kind, evidence) for a wrong create_mask_from_window on a tie-free window."""
    found = case.arrays()
    if found is None or case.function != "create_mask_from_window":
        return None
    a, n, tol = found
    dz = float(case.inputs.get("dz", 1.0))
    if dz == 0.0 or "x" not in case.inputs:
        return None
    x = np.asarray(case.inputs["x"], dtype=np.float64)
    if x.shape != n.shape or x.size < 2:
        return None
    mask, true_mask, tol = a / dz, n / dz, tol / abs(dz)
    true_at = _one_hot(true_mask, tol)
    if true_at is None or int(np.argmax(x)) != true_at:
        return None  # the numeric gradient is not the one-hot of a tie-free window

    def at(flat: int) -> str:
        return f"{list(map(int, np.unravel_index(flat, n.shape)))} (x={x.flat[flat]:.4g})"

    got_at = _one_hot(mask, tol)
    if got_at is not None:
        which = " (the window's minimum)" if got_at == int(np.argmin(x)) else ""
        return "one-hot", f"the mask is one-hot at {at(got_at)}{which} instead of at the maximum {at(true_at)}"
    if np.allclose(mask, true_mask * x, rtol=0, atol=float(np.max(tol)) + 1e-12):
        return "values", (
            f"the mask holds the window's value at the maximum ({x.flat[true_at]:.4g} at {at(true_at)}) instead "
            "of 1: it is x * (x == max), not the boolean (x == max)"
        )
    if not np.all((np.abs(mask) <= tol) | (np.abs(mask - 1.0) <= tol)):
        return None  # not a 0/1 mask: something else than the mask's rule
    ones = [at(int(i)) for i in np.flatnonzero(np.abs(mask - 1.0) <= tol)]
    return "k-hot", (
        f"the mask is not one-hot: it marks {len(ones)} of the {x.size} elements ({', '.join(ones[:4])}"
        f"{', ...' if len(ones) > 4 else ''}); the gradient of max is a single 1 at the maximum {at(true_at)}"
    )


def pool_routing(case: Case, evaluate: Evaluate | None) -> tuple[str, str] | None:
    """(kind, evidence) when pool_backward (max) routes each window's gradient by a wrong mask."""
    if case.function != "pool_backward" or case.mode != "max" or case.status != "fail":
        return None
    found = pool_inputs(case)
    if found is None or case.arrays() is None:
        return None
    _, hp, _ = found
    f, stride = int(hp["f"]), int(hp["stride"])
    if f < 2:
        return None
    failing = case
    if stride < f:
        if case.geometry is None or evaluate is None:
            return None
        case = rerun(case, evaluate, {**case.geometry, "stride": f})
        if case is None or case.arrays() is None or pool_inputs(case) is None:
            return None
    routing = _routing(case)
    # wrong only with several channels, each channel's own mask is right: a window or mask
    # taken from another channel, which dependence.channels_only names
    if routing is not None and changed_passes(failing, evaluate, {"n_C": 1}):
        return None
    return routing


def _routing(case: Case) -> tuple[str, str] | None:
    A_prev, hp, dA = pool_inputs(case)  # type: ignore[misc]
    a, _, tol = case.arrays()  # type: ignore[misc]
    f, stride = int(hp["f"]), int(hp["stride"])
    m, n_H, n_W, n_C = dA.shape
    covered = np.zeros(a.shape, dtype=bool)
    wrong, windows, kinds, minimum = 0, 0, set(), True
    for i in range(m):
        for c in range(n_C):
            for h in range(n_H):
                for w in range(n_W):
                    rows, cols = slice(h * stride, h * stride + f), slice(w * stride, w * stride + f)
                    covered[i, rows, cols, c] = True
                    g = float(dA[i, h, w, c])
                    if g == 0.0:
                        continue
                    x = A_prev[i, rows, cols, c]
                    share = a[i, rows, cols, c] / g
                    t = tol[i, rows, cols, c] / abs(g)
                    kind = _window_kind(share, x, t)
                    if kind is None:
                        return None
                    windows += 1
                    if kind != "right":
                        wrong += 1
                        kinds.add(kind)
                        minimum = minimum and kind == "one-hot" and _one_hot(share, t) == int(np.argmin(x))
    if wrong == 0 or np.any(np.abs(a[~covered]) > tol[~covered]):
        return None
    kind = kinds.pop() if len(kinds) == 1 else "mixed"
    how = {
        "one-hot": "one-hot at another element than the window's maximum"
        + (" (at its minimum)" if minimum else ""),
        "values": "the window's value at its maximum instead of 1 (x * mask)",
        "k-hot": "a 0/1 mask with several ones (not one-hot)",
        "uniform": "spread evenly over the window (1/(f*f) everywhere, as in average pooling)",
        "mixed": "a wrong 0/1 mask",
    }[kind]
    return kind, (
        f"on non-overlapping windows (f={f}, stride={stride}) each window's gradient is the upstream value "
        f"times a mask, and in {wrong} of {windows} windows that mask is {how}; every window receives "
        "gradient and nothing lands outside the windows"
    )


def _window_kind(share: np.ndarray, x: np.ndarray, tol: np.ndarray) -> str | None:
    """right | one-hot | k-hot | values | uniform for a window's share, None when it is no mask."""
    true_at = int(np.argmax(x))
    true = np.zeros(share.shape)
    true.flat[true_at] = 1.0
    if np.all(np.abs(share - true) <= tol):
        return "right"
    if np.all(np.abs(share - true * x) <= tol + 1e-12 * np.abs(x)):
        return "values"
    if np.all(np.abs(share - 1.0 / share.size) <= tol):
        return "uniform"
    is_zero, is_one = np.abs(share) <= tol, np.abs(share - 1.0) <= tol
    if not np.all(is_zero | is_one) or not is_one.any():
        return None
    return "one-hot" if is_one.sum() == 1 else "k-hot"


def describe_shares(values: Any) -> str:
    distinct = np.unique(np.round(np.asarray(values, dtype=np.float64), 6))
    return ", ".join(f"{v:.4g}" for v in distinct[:5]) + (", ..." if distinct.size > 5 else "")
