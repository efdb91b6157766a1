"""Structural descriptions, verifiable on any bug: a constant ratio between analytic and
numeric (with its value named), the part of the upstream gradient the analytic gradient
is exactly the gradient of (skipped or overwritten windows, one example), the part of a
forward's output left unwritten, and a border band of wrong elements.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradcheck.plans.convolution.diagnosis.common import (
    Case,
    Evaluate,
    close,
    distinct_sizes,
    fmt_geometry,
    largest,
    reference_quantity,
    rerun,
    upstream,
)
from gradcheck.plans.convolution.diagnosis.templates import Found

# ------------------------------------------------------------------ constant ratio


def _factor_names(case: Case) -> dict[str, float]:
    g = case.geometry or {}
    names: dict[str, float] = {}

    def add(name: str, value: float) -> None:
        if value not in (0.0, 1.0):
            names.setdefault(name, float(value))
            names.setdefault(f"1/{name}" if "*" not in name else f"1/({name})", 1.0 / float(value))

    if "f" in g:
        f = int(g["f"])
        add("m", int(g.get("m", 1)))
        add("f*f", f * f)
        add("f", f)
        if "n_C_prev" in g:
            add("f*f*n_C_prev", f * f * int(g["n_C_prev"]))
            add("n_C_prev", int(g["n_C_prev"]))
        add("n_C", int(g.get("n_C", 1)))
        add("stride", int(g.get("stride", 1)))
        if "n_H_prev" in g:
            pad, stride = int(g.get("pad", 0)), int(g.get("stride", 1))
            n_H = (int(g["n_H_prev"]) + 2 * pad - f) // stride + 1
            n_W = (int(g["n_W_prev"]) + 2 * pad - f) // stride + 1
            add("n_H*n_W", n_H * n_W)  # output positions
            add("m*n_H*n_W", int(g.get("m", 1)) * n_H * n_W)
    elif "n_H" in g:
        n_H, n_W = int(g["n_H"]), int(g["n_W"])
        add("n_H*n_W", n_H * n_W)
        add("n_W*n_W", n_W * n_W)
        add("n_H*n_H", n_H * n_H)
        add("n_H", n_H)
        add("n_W", n_W)
        names.setdefault("n_W/n_H", n_W / n_H)
        names.setdefault("n_H/n_W", n_H / n_W)
    for name, value in (("-1", -1.0), ("2", 2.0), ("1/2", 0.5)):
        names.setdefault(name, value)
    return names


def _ratio(case: Case) -> float | None:
    found = case.arrays()
    if found is None:
        return None
    a, n, tol = found
    denominator = float(np.sum(n * n))
    if denominator == 0.0:
        return None
    c = float(np.sum(a * n)) / denominator
    if abs(c - 1.0) <= 1e-6 or abs(c) <= 1e-12 or not close(a, c * n, tol * max(1.0, abs(c))):
        return None
    return c


def _matching(c: float, names: dict[str, float]) -> list[str]:
    return [name for name, value in names.items() if abs(c - value) <= 1e-6 * max(1.0, abs(value))]


def constant_factor(case: Case, evaluate: Evaluate | None) -> Found:
    """analytic = c * numeric everywhere, c a named constant that keeps its name on a re-run
    with different sizes (so 1/m is told from 1/n_C and from 1/(f*f)) and, where there is a
    stride, on one with another stride (a window sized by the stride is no constant factor)."""
    c = _ratio(case)
    if c is None:
        return None
    names = _matching(c, _factor_names(case))
    evidence = f"analytic = c * numeric at all {case.analytic.size} elements with c = {c:.6g}"
    if case.geometry is not None and evaluate is not None:
        reruns = [("other sizes", distinct_sizes(case.geometry))]
        if "stride" in case.geometry:  # a factor that is really f*f / stride**2 looks like f*f at stride 1
            stride = 2 if int(case.geometry["stride"]) == 1 else 1
            reruns.append(("another stride", distinct_sizes({**case.geometry, "stride": stride})))
        for what, geometry in reruns:
            other = rerun(case, evaluate, geometry)
            c2 = None if other is None else _ratio(other)
            if c2 is None:
                return None  # the factor does not hold (or is 1) there: not a constant factor
            names = [name for name in names if name in _matching(c2, _factor_names(other))]
            evidence += f"; on a re-run with {what} ({fmt_geometry(other.geometry)}) c = {c2:.6g}"
    if not names:
        return None
    name = names[0]
    evidence += f": c = {name} in each" if evaluate is not None and case.geometry is not None else f" = {name}"
    key = (case.function, case.quantity.split("[", 1)[0])
    if name == "1/m" and case.function in ("conv_backward", "pool_backward"):
        return "batch_averaged", evidence
    if case.function == "distribute_value" or (case.function == "pool_backward" and case.mode == "average"):
        return "distribute_factor", evidence
    if key == ("conv_backward", "db") and name == "f*f*n_C_prev":
        return "bias_in_window", evidence + " (the bias was counted once per window element)"
    what = "gradient" if case.function.endswith("backward") or case.function in ("distribute_value",) else "result"
    if name == "-1":
        return "constant_factor", evidence, (
            f"the {what} has the wrong sign (-1 times the right one): a -= where += belongs, or a difference "
            "taken the wrong way round"
        )
    return "constant_factor", evidence, (
        f"the {what} is {name} times the right one: a factor {name} is missing or extra "
        "(e.g. a division by the wrong count, or a sum taken as a mean)"
    )


# ------------------------------------------------------------------ part of the upstream gradient

_ALL = slice(None)
# (what is left out, the rows and columns of the upstream gradient zeroed)
_SKIPPED: tuple[tuple[str, tuple], ...] = (
    ("the last row of windows (h = n_H - 1)", ((_ALL, -1),)),
    ("the last column of windows (w = n_W - 1)", ((_ALL, _ALL, -1),)),
    ("the last row and the last column of windows", ((_ALL, -1), (_ALL, _ALL, -1))),
    ("the first row of windows (h = 0)", ((_ALL, 0),)),
    ("the first column of windows (w = 0)", ((_ALL, _ALL, 0),)),
    ("the windows of the last channel (c = n_C - 1)", ((_ALL, _ALL, _ALL, -1),)),
)


def upstream_part(case: Case, evaluate: Evaluate | None) -> Found:
    """The analytic gradient is exactly the reference gradient of part of the upstream gradient."""
    if case.function not in ("conv_backward", "pool_backward"):
        return None
    found, G = case.arrays(), upstream(case)
    if found is None or G is None or G.ndim != 4:
        return None
    a, n, tol = found
    m, n_H, n_W, _ = G.shape
    key = "dZ" if case.function == "conv_backward" else "dA"
    candidates: list[tuple[str, str, np.ndarray]] = []
    for what, zeroed in _SKIPPED:
        M = np.ones(G.shape)
        for index in zeroed:
            M[index] = 0.0
        candidates.append(("skipped_windows", f"every window except {what}", M))
    last = np.zeros(G.shape)
    last[-1, -1, -1, :] = 1.0
    candidates.append(("overwritten", "only the last window (i = m-1, h = n_H-1, w = n_W-1) of each channel", last))
    for index, label in ((-1, "the last example (i = m - 1)"), (0, "the first example (i = 0)")):
        M = np.zeros(G.shape)
        M[index] = 1.0
        candidates.append(("one_example", f"only {label}", M))
    for class_id, what, M in candidates:
        if not M.any() or M.all():
            continue
        computed = reference_quantity(case, **{key: G * M})
        if computed is not None and computed.shape == a.shape and close(a, computed, tol):
            evidence = (
                f"analytic {case.quantity} equals, at all {a.size} elements, the exact gradient of {what} "
                f"(m={m}, n_H={n_H}, n_W={n_W}): the gradient of the windows left out is missing"
            )
            if class_id == "one_example" and case.quantity.startswith("dA_prev"):
                # dA_prev[i] is each example's own: nothing sums over the batch, one store is missing
                return class_id, evidence, ONE_EXAMPLE_INPUT_CAUSE
            return class_id, evidence
    return None


ONE_EXAMPLE_INPUT_CAUSE = (
    "dA_prev is written for one example only, the others stay 0: the line that stores dA_prev[i] (e.g. the crop "
    "of da_prev_pad) must run once per example, inside the loop over i"
)


def unwritten_outputs(case: Case, evaluate: Evaluate | None) -> Found:
    """A forward's output equals the reference except a region left at 0 (never computed)."""
    if case.function not in ("conv_forward", "pool_forward"):
        return None
    found = case.arrays()
    if found is None or found[0].ndim != 4:
        return None
    a, n, tol = found
    regions = (
        ("the last row (h = n_H - 1)", (slice(None), -1)),
        ("the last column (w = n_W - 1)", (slice(None), slice(None), -1)),
        ("the first row (h = 0)", (slice(None), 0)),
        ("the first column (w = 0)", (slice(None), slice(None), 0)),
        ("the last example (i = m - 1)", (-1,)),
        ("the last channel (c = n_C - 1)", (Ellipsis, -1)),
    )
    for what, index in regions:
        expected = n.copy()
        expected[index] = 0.0
        if not close(expected, n, tol) and close(a, expected, tol):
            return "unwritten_outputs", (
                f"{case.quantity} matches the reference everywhere except {what}, which is 0: those outputs "
                f"are never computed ({case.quantity} has shape {a.shape})"
            )
    return None


# ------------------------------------------------------------------ border band


def _border_band(a: np.ndarray, n: np.ndarray, tol: Any, limit: int) -> tuple[int, int] | None:
    if a.shape != n.shape or a.ndim != 4:
        return None
    bad = np.any(~(np.abs(a - n) <= tol), axis=(0, 3))
    if not bad.any():
        return None
    n_H, n_W = bad.shape
    rows, cols = np.nonzero(bad)
    distance = np.minimum.reduce([rows, n_H - 1 - rows, cols, n_W - 1 - cols])
    width = int(distance.max()) + 1
    if width > limit or n_H - 2 * width < 1 or n_W - 2 * width < 1:
        return None
    return width, int(bad.sum())


def border_only(case: Case, evaluate: Evaluate | None) -> Found:
    """Every mismatch of dA_prev lies in a band no wider than max(f - 1, pad) and a non-empty
    interior matches; with ``evaluate`` also on a larger input."""
    if case.key != ("conv_backward", "dA_prev") or case.status != "fail":
        return None
    g = case.geometry or {}
    hp = case.inputs.get("hparameters") or {}
    pad = int(hp.get("pad", g.get("pad", -1)))
    f = int(g["f"]) if "f" in g else (int(np.shape(case.inputs["W"])[0]) if "W" in case.inputs else None)
    if f is None or pad < 0:
        return None
    limit = max(f - 1, pad, 1)
    evidence = []
    found = case.arrays()
    if found is not None:
        band = _border_band(*found, limit)
        if band is not None:
            evidence.append(_band_text(band, found[0].shape, f"the failing case (f={f}, pad={pad})"))
    if evaluate is not None and "n_H_prev" in g:
        size = 2 * limit + 3
        larger = {**g, "n_H_prev": max(int(g["n_H_prev"]), size), "n_W_prev": max(int(g["n_W_prev"]), size)}
        other = rerun(case, evaluate, larger, case.seed + 1)
        found = None if other is None else other.arrays()
        band = None if found is None else _border_band(*found, limit)
        if band is None:
            return None
        evidence.append(_band_text(band, found[0].shape, f"a re-run on a larger input ({fmt_geometry(larger)})"))
    if not evidence:
        return None
    if pad == 0:  # no padding to blame: the windows at the edges are
        return "border_only", "; ".join(evidence), BORDER_PAD0_CAUSE
    return "border_only", "; ".join(evidence)


BORDER_PAD0_CAUSE = (
    "dA_prev is wrong only in a border band and right in the interior: the windows at the edges "
    "of the input are handled wrongly (e.g. a loop bound that skips the last row or column)"
)


def _band_text(band: tuple[int, int], shape: tuple[int, ...], where: str) -> str:
    width, count = band
    n_H, n_W = shape[1:3]
    interior = (n_H - 2 * width) * (n_W - 2 * width)
    return (
        f"in {where} all {count} mismatching (h, w) positions of dA_prev ({n_H}x{n_W}) lie within "
        f"{width} row(s)/column(s) of the border and the {interior} interior positions match"
    )


__all__ = ["constant_factor", "upstream_part", "unwritten_outputs", "border_only", "largest"]
