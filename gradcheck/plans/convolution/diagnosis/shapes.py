"""A result of the wrong shape, explained by the size formula that gives it.

When a function returns an array of the wrong shape, the size of each wrong axis is fitted to
the expressions students write for it: the output size without its ``+ 1``, rounded up instead
of floored, without the stride or the padding (or with the padding once), the padded size left
uncropped, an input size rebuilt from the output size, an empty ``x[pad:-pad]`` crop at pad = 0,
the other spatial axis's size, the other channel count, a window axis left in. The failing case
is re-run on three more geometries of other sizes (the engine's ``evaluate``, fitted to the
convention's contract); an expression is named only when it gives the observed size of that axis
on every case where the shape was wrong, and the right size where it was not, on at least two
cases with a wrong shape, while it differs from the right size on some case. The expressions are
over the geometry's own names (``n_H_prev``, ``f``, ``stride``, ``pad``, ...); a geometry without
them gets no shape cause.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

from gradcheck.plans.convolution.diagnosis.common import Case, Evaluate, nondegenerate
from gradcheck.plans.convolution.diagnosis.templates import Found

_SHAPES = re.compile(r"has shape \(([^)]*)\), expected \(([^)]*)\)")

Size = Callable[[dict[str, int], str], int | None]  # (geometry, spatial axis "H" or "W") -> size


def _out(g: dict[str, int], axis: str, *, pad: int | None = None, stride: int | None = None,
         rounding: Callable[[float], int] = math.floor, plus: int = 1) -> int:
    prev, f = g[f"n_{axis}_prev"], g.get(f"f_{axis}", g["f"])
    p = g.get("pad", 0) if pad is None else pad
    s = g.get("stride", 1) if stride is None else stride
    return int(rounding((prev + 2 * p - f) / s)) + plus


def _round_half_even(x: float) -> int:
    return round(x)


def _other(axis: str) -> str:
    return "W" if axis == "H" else "H"


# (id, the expression as written, the cause): spatial axes (H, W: "X" in the text is the axis)
SPATIAL: tuple[tuple[str, str, Size, str], ...] = (
    ("output_size_no_plus_one", "(n_X_prev + 2 * pad - f) // stride", lambda g, a: _out(g, a, plus=0),
     "the output size is missing its + 1: n_X = (n_X_prev + 2 * pad - f) // stride + 1"),
    ("output_size_stride_ignored", "n_X_prev + 2 * pad - f + 1", lambda g, a: _out(g, a, stride=1),
     "the output size ignores the stride: n_X = (n_X_prev + 2 * pad - f) // stride + 1"),
    ("output_size_pad_ignored", "(n_X_prev - f) // stride + 1", lambda g, a: _out(g, a, pad=0),
     "the output size ignores the padding: n_X = (n_X_prev + 2 * pad - f) // stride + 1"),
    ("output_size_pad_once", "(n_X_prev + pad - f) // stride + 1",
     lambda g, a: _out({**g, "n_" + a + "_prev": g[f"n_{a}_prev"] - g.get("pad", 0)}, a),
     "the output size counts the padding on one side only: n_X = (n_X_prev + 2 * pad - f) // stride + 1"),
    ("output_size_rounded_up", "ceil((n_X_prev + 2 * pad - f) / stride) + 1",
     lambda g, a: _out(g, a, rounding=math.ceil),
     "the output size is rounded up (ceil) where the formula floors: n_X = (n_X_prev + 2 * pad - f) // stride + 1 "
     "(int() or //, never ceil)"),
    ("output_size_rounded", "round((n_X_prev + 2 * pad - f) / stride) + 1",
     lambda g, a: _out(g, a, rounding=_round_half_even),
     "the output size is rounded to the nearest integer where the formula floors: n_X = (n_X_prev + 2 * pad - f) "
     "// stride + 1 (int() or //, never round)"),
    ("output_size_parentheses", "n_X_prev + 2 * pad - f // stride + 1",
     lambda g, a: g[f"n_{a}_prev"] + 2 * g.get("pad", 0) - g.get(f"f_{a}", g["f"]) // g.get("stride", 1) + 1,
     "the output size is missing its parentheses: n_X = (n_X_prev + 2 * pad - f) // stride + 1, not "
     "n_X_prev + 2 * pad - f // stride + 1"),
    ("output_size_other_axis", "the output size of the other axis", lambda g, a: _out(g, _other(a)),
     "height and width are mixed up: this axis has the other axis's output size (n_H where n_W belongs, or the "
     "reverse)"),
    ("input_size_other_axis", "n_Y_prev (the other axis's input size)", lambda g, a: g[f"n_{_other(a)}_prev"],
     "height and width are mixed up: this axis has the other axis's input size (n_H_prev where n_W_prev "
     "belongs, or the reverse)"),
    ("output_has_input_size", "n_X_prev", lambda g, a: g[f"n_{a}_prev"],
     "the result has the input's size on this axis where the output size belongs: n_X = (n_X_prev + 2 * pad - f) "
     "// stride + 1"),
    ("padded_size", "n_X_prev + 2 * pad", lambda g, a: g[f"n_{a}_prev"] + 2 * g.get("pad", 0),
     "the padded size is kept: the padding is not cropped (dA_prev = dA_prev_pad[:, pad:-pad, pad:-pad, :], "
     "or the whole array when pad = 0)"),
    ("empty_crop_at_pad_zero", "n_X_prev, but 0 when pad = 0 (x[pad:-pad])",
     lambda g, a: 0 if g.get("pad", 0) == 0 else g[f"n_{a}_prev"],
     "the crop x[pad:-pad] is empty when pad = 0 (-0 is 0): crop with x[pad:pad + n_X_prev], or only when "
     "pad > 0"),
    ("input_size_from_output", "(n_X - 1) * stride + f - 2 * pad (rebuilt from the output size)",
     lambda g, a: (_out(g, a) - 1) * g.get("stride", 1) + g.get(f"f_{a}", g["f"]) - 2 * g.get("pad", 0),
     "the input size is rebuilt from the output size, (n_X - 1) * stride + f - 2 * pad, which loses the rows or "
     "columns no window covers when stride does not divide n_X_prev + 2 * pad - f: take n_X_prev from the input "
     "(A_prev.shape)"),
    ("window_axis_left", "f (a window axis)", lambda g, a: g.get(f"f_{a}", g["f"]),
     "a window axis is left in the result: the sum or mean runs over the wrong axes"),
)

INPUT_SIZED = frozenset({"input_size_other_axis", "padded_size", "empty_crop_at_pad_zero", "input_size_from_output",
                         "window_axis_left"})  # the expressions of an axis whose right size is n_X_prev

COUNTS = ("n_C_prev", "n_C", "m", "f")  # the sizes an axis of counts (channels, examples) may wrongly have


def _shapes(message: str) -> tuple[tuple[int, ...], tuple[int, ...]] | None:
    found = _SHAPES.search(message)
    if found is None:
        return None
    try:
        got, expected = (tuple(int(part) for part in text.split(",") if part.strip()) for text in found.groups())
    except ValueError:
        return None
    return got, expected


def _geometries(g: dict[str, Any], evaluate: Evaluate) -> list[dict[str, Any]]:
    """The failing geometry and three of other sizes, each fitted to the convention's contract."""
    fit = getattr(evaluate, "fit", None) or (lambda geometry: geometry)
    base = nondegenerate(g)
    grown = {**base, "n_H_prev": int(base["n_H_prev"]) + 3, "n_W_prev": int(base["n_W_prev"]) + 5}
    other = {**base, "n_H_prev": int(base["n_H_prev"]) + 4, "n_W_prev": int(base["n_W_prev"]) + 1,
             "stride": int(base.get("stride", 1)) + 1}
    for key, step in (("f", 1), ("n_C", 2), ("n_C_prev", 3), ("pad", 1)):  # counts that differ pairwise (m = 2)
        if key in other:
            other[key] = int(other[key]) + step
    third = {**base, "n_H_prev": int(base["n_H_prev"]) + 6, "n_W_prev": int(base["n_W_prev"]) + 2,
             "stride": int(base.get("stride", 1)) + 2}
    if "pad" in third:
        third["pad"] = 0 if int(base.get("pad", 0)) else 1
    out, seen = [dict(g)], [dict(g)]
    for candidate in (fit(base), fit(grown), fit(other), fit(third)):
        if candidate not in seen:
            seen.append(candidate)
            out.append(candidate)
    return out


def wrong_shape(case: Case, evaluate: Evaluate | None) -> Found:
    """The size formula behind a result of the wrong shape (see the module's docstring)."""
    g = case.geometry
    if evaluate is None or g is None or case.status != "fail" or "n_H_prev" not in g or "f" not in g:
        return None
    first = _shapes(case.message)
    if first is None or len(first[0]) != len(first[1]):
        return None
    observed: list[tuple[dict[str, Any], tuple[int, ...], tuple[int, ...]]] = []
    passed: list[dict[str, Any]] = []
    for geometry in _geometries(g, evaluate):
        if geometry == g:
            got, expected = first
        else:
            verdict = evaluate(dict(geometry), case.seed)
            if bool(getattr(verdict, "passed", False)):
                passed.append(geometry)  # the right shape there: a formula must give the right size too
                continue
            shapes = _shapes(str(getattr(verdict, "message", "")))
            if shapes is None or len(shapes[0]) != len(first[0]):
                continue
            got, expected = shapes
        observed.append((geometry, got, expected))
    if len(observed) < 2:
        return None
    axes = sorted({k for _, got, expected in observed for k in range(len(got)) if got[k] != expected[k]})
    if not axes:
        return None
    named: list[tuple[str, str, str, int]] = []
    for k in axes:
        found = _explain_axis(k, observed, passed)
        if found is None:
            return None  # every wrong axis explained, or nothing said
        named.append((*found, k))
    sizes = "; ".join(
        f"axis {k}: {text} gives " + ", ".join(str(got[k]) for _, got, _ in observed)
        + " where " + ", ".join(str(expected[k]) for _, _, expected in observed) + " belong"
        for _, text, _, k in named
    )
    evidence = (f"{case.quantity} had the wrong shape on {len(observed)} cases of different sizes ("
                + "; ".join(_short(geometry) for geometry, _, _ in observed) + f"): {sizes}")
    causes = list({found_id: text for found_id, _, text, _ in reversed(named)}.values())[::-1]  # one per id
    return "wrong_shape", evidence, _joined(causes)


def _joined(causes: list[str]) -> str:
    """The causes in one sentence, a reason they share said once: "axis 0 has size m where 1
    belongs; axis 3 has size 1 where n_C belongs: a sum over the wrong axes, ..."."""
    reasons = {cause.partition(": ")[2] for cause in causes}
    if len(causes) > 1 and len(reasons) == 1 and all(cause.startswith("axis ") for cause in causes):
        return "; ".join(cause.partition(": ")[0] for cause in causes) + ": " + reasons.pop()
    return "; ".join(causes)


def _explain_axis(k: int, observed: list[tuple[dict[str, Any], tuple[int, ...], tuple[int, ...]]],
                  passed: list[dict[str, Any]]) -> tuple[str, str, str] | None:
    """(id, the expression, the cause) of the one expression that gives axis ``k``'s observed size
    on every case (and the right size on the cases that passed), or None (none, or several)."""
    fitting: list[tuple[str, str, str]] = []
    for axis in ("H", "W"):
        roles = ((lambda geometry, axis=axis: _out(geometry, axis), None),  # an output-sized axis
                 (lambda geometry, axis=axis: int(geometry[f"n_{axis}_prev"]), INPUT_SIZED))  # an input-sized one
        for right, allowed in roles:
            if not all(expected[k] == right(geometry) for geometry, _, expected in observed):
                continue  # axis k does not have this role
            fitting += [(ident, text.replace("X", axis).replace("Y", _other(axis)), cause.replace("X", axis))
                        for ident, text, size, cause in SPATIAL
                        if (allowed is None or ident in allowed)
                        and _fits(observed, passed, k, lambda geometry, size=size, axis=axis: size(geometry, axis),
                                  right)]
            if allowed is not None and _fits(observed, passed, k, lambda geometry, axis=axis: _out(geometry, axis),
                                             right):
                fitting.append(("input_has_output_size", f"n_{axis} (the output size)",
                                f"the result has the output size n_{axis} on this axis where the input's "
                                f"n_{axis}_prev belongs"))
    def count(geometry: dict[str, Any], name: str) -> int:
        return 1 if name == "1" else int(geometry[name])

    known = [name for name in (*COUNTS, "1") if name == "1" or all(name in g for g, _, _ in observed)]
    right_names = [name for name in known if name != "f"
                   and all(expected[k] == count(geometry, name) for geometry, _, expected in observed)]
    for name in known if len(right_names) == 1 else ():
        if _fits(observed, [], k, lambda geometry, name=name: count(geometry, name), None):
            fitting.append(("window_axis_left" if name == "f" else f"{name}_for_{right_names[0]}", name,
                            f"axis {k} has size {name} where {right_names[0]} belongs: "
                            + ("a window axis is left in the result (the sum or mean runs over the wrong axes)"
                               if name == "f" else "a sum over the wrong axes, or the axes in the wrong order")))
    return fitting[0] if len({ident for ident, _, _ in fitting}) == 1 else None  # one kind of mistake, or nothing


def _fits(observed: list[tuple[dict[str, Any], tuple[int, ...], tuple[int, ...]]], passed: list[dict[str, Any]],
          k: int, size: Callable[[dict[str, Any]], int | None],
          right: Callable[[dict[str, Any]], int] | None) -> bool:
    """``size`` gives the observed size of axis ``k`` on every case, the right size (``right``) on
    every case that passed, and differs from the right size on at least two."""
    differs = 0
    try:
        for geometry, got, expected in observed:
            value = size(geometry)
            if value != got[k]:
                return False
            differs += value != expected[k]
        if right is not None and any(size(geometry) != right(geometry) for geometry in passed):
            return False
    except (KeyError, ZeroDivisionError, ValueError):
        return False
    return differs >= 2


def _short(geometry: dict[str, Any]) -> str:
    keys = ("m", "n_H_prev", "n_W_prev", "n_C_prev", "n_C", "f", "stride", "pad")
    return ", ".join(f"{key}={geometry[key]}" for key in keys if key in geometry)
