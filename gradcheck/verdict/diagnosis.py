"""Diagnosis: name the likely cause of a failing check, with evidence that was verified.

``diagnose(result, evaluate)`` looks at a failing :class:`~gradcheck.verdict.results.CheckResult`
and returns ``{"id", "cause", "evidence"}`` when the failure matches a known bug
class, else ``None``. Every hint is verified before it is returned:

- transform classes recompute the transformed gradient from the failing case
  (``result.detail``) and require it to match within the check's tolerance
  everywhere, while the plain comparison fails:
  ``batch_averaged``   analytic * m == numeric
  ``kernel_flipped``   analytic == gradient with W[::-1, ::-1]   (convolution vs correlation)
  ``hw_swapped``       analytic == numeric with the H and W axes swapped
  ``mask_wrong``       the mask is one-hot off the maximum, or not one-hot
  ``distribute_factor`` analytic == c * numeric for a constant c != 1
  ``bias_in_window``   Z - Z_ref == (f*f*n_C_prev - 1) * b, or db off by f*f*n_C_prev
- the pattern class ``border_only`` requires every mismatch of dA_prev to lie in a
  border band no wider than max(f - 1, pad) around a non-empty interior that matches;
- re-run classes call ``evaluate(geometry, seed)`` (the engine's ``evaluate_case``
  bound to the backend, function and quantity) on the counterexample with one
  hyperparameter changed and require every re-run to pass:
  ``stride_only``      fails at stride > 1, passes at stride = 1
  ``overlap_only``     fails at stride < f, passes at stride = f (fails at stride = 1)
  ``pad_zero_crash``   crashes at pad = 0, passes at pad = 1 and pad = 2

A rule that cannot verify its hint (no detail, no ``evaluate``, an exception)
stays silent: no hint is better than a wrong one. Passing checks, the tie-rule
checks and crashes other than at pad = 0 get no hint.

With ``evaluate``, a hint on an NHWC quantity (dA_prev, Z, A) also carries
``"example"``: the same failure re-run on a larger input (``{"geometry",
"analytic", "numeric", "tolerance"}`` as lists), because the minimal counterexample
is often 1x1 and shows no pattern; the report draws it as a heatmap.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np

from gradcheck.verdict.results import CheckResult, Detail

Hint = dict[str, str]
# evaluate(geometry, seed) -> CaseVerdict with .passed, .status, .analytic, .numeric, .tolerance
Evaluate = Callable[[dict[str, Any], int], Any]

CAUSES: dict[str, str] = {
    "border_only": (
        "dA_prev is wrong only in a border band and right in the interior: the windows that "
        "reach into the zero padding (or the crop of the padding from dA_prev_pad) are handled "
        "wrongly"
    ),
    "stride_only": (
        "fails only with stride > 1: the windows are placed as if stride were 1 (vert_start = h instead of h * stride)"
    ),
    "overlap_only": (
        "fails only where windows overlap (stride < f): the gradient of a window is assigned "
        "with `=` instead of accumulated with `+=`"
    ),
    "batch_averaged": (
        "the gradient is divided by the batch size m: the checked loss is a sum over the batch, "
        "not a mean, so do not divide by m"
    ),
    "kernel_flipped": (
        "the kernel is rotated by 180 degrees (true convolution); the layer is a "
        "cross-correlation: use W[p, q] as is, without flipping"
    ),
    "hw_swapped": (
        "the height and width axes are swapped (arrays are NHWC: index [i, h, w, c], W is (f, f, n_C_prev, n_C))"
    ),
    "mask_wrong": (
        "the max-pooling mask is wrong: it must be one-hot at the window's maximum "
        "(x == np.max(x)), the only element through which the gradient flows"
    ),
    "distribute_factor": (
        "distribute_value is off by a constant factor: each of the n_H * n_W elements gets dz / (n_H * n_W)"
    ),
    "pad_zero_crash": (
        "crashes only at pad = 0: the crop `x[pad:-pad]` is empty when pad = 0; "
        "slice with `x[pad:pad + n_H_prev]` instead"
    ),
    "bias_in_window": (
        "the bias is added inside the window sum (once per element of the window) instead of "
        "once per output: Z = sum(a_slice * W) + b"
    ),
}

_NHWC = {
    ("conv_backward", "dA_prev"),
    ("pool_backward", "dA_prev"),
    ("conv_forward", "Z"),
    ("pool_forward", "A"),
}


# checks of the subgradient rule at ties have no gradient arrays to explain
_NOT_DIAGNOSED = frozenset({"ties[max]", "mask_ties"})


def _base(quantity: str) -> str:
    """``dA_prev[max]`` -> ``dA_prev``: quantities may carry the pooling mode."""
    return quantity.split("[", 1)[0]


def diagnose(result: CheckResult, evaluate: Evaluate | None = None) -> Hint | None:
    """The likely cause of ``result``'s failure as ``{"id", "cause", "evidence"}``, or None.

    ``evaluate(geometry, seed)`` re-runs one case of the same function and quantity
    (geometry as in ``result.counterexample`` without ``"seed"``); without it the
    re-run classes (``stride_only``, ``overlap_only``, ``pad_zero_crash``) are not tried.
    """
    if result.status not in ("fail", "error"):
        return None
    if result.quantity in _NOT_DIAGNOSED:
        return None
    try:
        result = _with_detail(result, evaluate)
    except Exception:  # noqa: BLE001
        pass
    for rule in _RULES:
        try:
            hint = rule(result, evaluate)
        except Exception:  # noqa: BLE001 - a diagnosis must never break a verdict or a report
            hint = None
        if hint is not None:
            try:
                example = _larger_example(result, evaluate)
            except Exception:  # noqa: BLE001
                example = None
            if example is not None:
                hint["example"] = example
            return hint
    return None


EXAMPLE_SIZE = 8  # spatial size of the larger input a hint shows the bug on


def _larger_example(result: CheckResult, evaluate: Evaluate | None) -> dict[str, Any] | None:
    """The same failure on a larger input, so its pattern shows in a heatmap:
    ``{"geometry", "analytic", "numeric", "tolerance"}`` (JSON-ready lists), or None."""
    found = _geometry(result)
    if evaluate is None or found is None:
        return None
    geometry, seed = found
    if "n_H_prev" not in geometry or "f" not in geometry:
        return None
    if _base(result.quantity) not in ("dA_prev", "Z", "A", "X_pad"):
        return None  # dW and db keep their shape on a larger input
    size = max(EXAMPLE_SIZE, 2 * int(geometry["f"]) + 2)
    larger = {
        **geometry,
        "n_H_prev": max(int(geometry["n_H_prev"]), size),
        "n_W_prev": max(int(geometry["n_W_prev"]), size),
    }
    if larger == geometry:
        return None
    verdict = evaluate(dict(larger), seed)
    analytic, numeric = getattr(verdict, "analytic", None), getattr(verdict, "numeric", None)
    if getattr(verdict, "passed", True) or analytic is None or numeric is None:
        return None
    if np.shape(analytic) != np.shape(numeric) or np.ndim(analytic) == 0:
        return None
    return {
        "geometry": {**larger, "seed": seed},
        "analytic": np.asarray(analytic, dtype=np.float64).tolist(),
        "numeric": np.asarray(numeric, dtype=np.float64).tolist(),
        "tolerance": np.broadcast_to(verdict.tolerance, np.shape(analytic)).astype(np.float64).tolist(),
    }


def _with_detail(result: CheckResult, evaluate: Evaluate | None) -> CheckResult:
    """``result`` with the arrays of its counterexample, re-run when the engine kept none
    (scalar quantities such as conv_single_step's Z)."""
    if result.detail is not None or result.status != "fail" or evaluate is None:
        return result
    found = _geometry(result)
    if found is None:
        return result
    verdict = evaluate(*found)
    analytic = getattr(verdict, "analytic", None)
    if getattr(verdict, "passed", True) or analytic is None or verdict.numeric is None:
        return result
    detail = Detail(
        np.asarray(analytic, dtype=np.float64),
        np.asarray(verdict.numeric, dtype=np.float64),
        np.asarray(verdict.tolerance, dtype=np.float64),
        inputs=dict(getattr(verdict, "inputs", None) or {}),
    )
    return dataclasses.replace(result, detail=detail)


# --------------------------------------------------------------------------- helpers


def _hint(class_id: str, evidence: str) -> Hint:
    return {"id": class_id, "cause": CAUSES[class_id], "evidence": evidence}


def _tol(tolerance: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    tolerance = np.asarray(tolerance, dtype=np.float64)
    if tolerance.shape == shape or tolerance.size == 1:
        return np.broadcast_to(tolerance.reshape(()) if tolerance.size == 1 else tolerance, shape)
    return np.full(shape, float(np.max(tolerance)) if tolerance.size else 0.0)


def _close(a: Any, b: Any, tolerance: Any) -> bool:
    """Every |a - b| <= tolerance (elementwise); False on a shape mismatch or NaN."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or a.size == 0:
        return False
    return bool(np.all(np.abs(a - b) <= _tol(tolerance, a.shape)))


def _n_mismatched(a: np.ndarray, b: np.ndarray, tolerance: np.ndarray) -> int:
    return int(np.count_nonzero(~(np.abs(a - b) <= _tol(tolerance, a.shape))))


def _failing_detail(result: CheckResult) -> Detail | None:
    """The detail of a failing comparison: finite arrays of equal shape that do not match."""
    detail = result.detail
    if result.status != "fail" or detail is None:
        return None
    a, n = np.asarray(detail.analytic), np.asarray(detail.numeric)
    if a.size == 0 or n.size == 0 or not (np.all(np.isfinite(a)) and np.all(np.isfinite(n))):
        return None
    if a.shape == n.shape and _close(a, n, detail.tolerance):
        return None  # the arrays match: nothing to explain from them
    return detail


def _largest(a: np.ndarray, b: np.ndarray) -> str:
    return f"{float(np.max(np.abs(a - b))):.2g}"


def _mismatch_summary(detail: Detail) -> str:
    a, n = detail.analytic, detail.numeric
    count = _n_mismatched(a, n, detail.tolerance)
    return f"{count} of {a.size} elements differ from the numeric gradient"


def _conv_inputs(detail: Detail) -> tuple | None:
    inputs = detail.inputs or {}
    needed = ("A_prev", "W", "b", "hparameters")
    if not all(key in inputs for key in needed):
        return None
    return tuple(inputs[key] for key in needed)


def _geometry(result: CheckResult) -> tuple[dict[str, Any], int] | None:
    example = result.counterexample
    if not isinstance(example, dict):
        return None
    geometry = {key: value for key, value in example.items() if key != "seed"}
    return geometry, int(example.get("seed", 0))


def _all_pass(evaluate: Evaluate, geometries: list[dict[str, Any]], seed: int) -> bool:
    for geometry in geometries:
        for case_seed in (seed, seed + 1):
            verdict = evaluate(dict(geometry), case_seed)
            if not bool(getattr(verdict, "passed", False)):
                return False
    return True


def _fails(evaluate: Evaluate, geometry: dict[str, Any], seed: int) -> bool:
    """The case does not pass when re-run (the failure is real, not a stale status)."""
    verdict = evaluate(dict(geometry), seed)
    return not bool(getattr(verdict, "passed", True))


def _fails_on_values(evaluate: Evaluate, geometry: dict[str, Any], seed: int) -> bool:
    """The re-run case fails by its values: right shape, wrong numbers (not a crash or a
    wrong output shape, which a stride or overlap slip does not cause)."""
    verdict = evaluate(dict(geometry), seed)
    if bool(getattr(verdict, "passed", True)):
        return False
    analytic, numeric = getattr(verdict, "analytic", None), getattr(verdict, "numeric", None)
    return analytic is not None and numeric is not None and np.shape(analytic) == np.shape(numeric)


def _fmt_geometry(geometry: dict[str, Any]) -> str:
    return ", ".join(f"{key}={value}" for key, value in geometry.items())


# ------------------------------------------------------------------ re-run: crash at pad = 0


def _pad_zero_crash(result: CheckResult, evaluate: Evaluate | None) -> Hint | None:
    if evaluate is None or not result.function.startswith("conv"):
        return None
    found = _geometry(result)
    if found is None:
        return None
    geometry, seed = found
    if geometry.get("pad") != 0:
        return None
    crashed = result.status == "error"
    empty = (
        result.status == "fail"
        and result.detail is not None
        and result.detail.analytic.ndim == 4
        and 0 in result.detail.analytic.shape[1:3]
    )
    if not (crashed or empty):
        return None
    padded = [{**geometry, "pad": pad} for pad in (1, 2)]
    if not _fails(evaluate, geometry, seed) or not _all_pass(evaluate, padded, seed):
        return None
    what = "crashes" if crashed else "returns an empty dA_prev"
    # the exception line ("conv_backward raised ValueError: ..."), not the header
    first = next((line.strip() for line in result.message.splitlines() if " raised " in line), "")
    return _hint(
        "pad_zero_crash",
        f"{result.function} {what} at pad=0 ({_fmt_geometry(geometry)}"
        + (f": {first}" if first else "")
        + "); the same case passes with pad=1 and pad=2 (two seeds each)",
    )


# --------------------------------------------------------------------------- transform classes


def _bias_in_window(result: CheckResult, evaluate: Evaluate | None) -> Hint | None:
    detail = _failing_detail(result)
    if detail is None:
        return None
    a, n, tol = detail.analytic, detail.numeric, detail.tolerance
    inputs = detail.inputs or {}
    if result.function == "conv_forward":
        found = _conv_inputs(detail)
        if found is None:
            return None
        A_prev, W, b, _ = found
        f, _, n_C_prev, n_C = np.shape(W)
        k = f * f * n_C_prev
        expected = (k - 1) * np.asarray(b, dtype=np.float64).reshape(1, 1, 1, n_C)
        offset = np.broadcast_to(expected, a.shape) if a.shape == n.shape else None
        if k > 1 and offset is not None and _close(a - n, offset, tol):
            return _hint(
                "bias_in_window",
                f"Z - Z_ref equals (f*f*n_C_prev - 1) * b = {k - 1} * b in every one of the "
                f"{a.size} outputs (f={f}, n_C_prev={n_C_prev}; largest deviation "
                f"{_largest(a - n, offset)})",
            )
    elif result.function == "conv_single_step":
        if "a_slice_prev" not in inputs or "b" not in inputs:
            return None
        k = int(np.size(inputs["a_slice_prev"]))
        b = float(np.asarray(inputs["b"], dtype=np.float64).reshape(-1)[0])
        if k > 1 and a.size == 1 and n.size == 1 and _close(a - n, np.full(a.shape, (k - 1) * b), tol):
            return _hint(
                "bias_in_window",
                f"the result minus the reference equals (f*f*n_C_prev - 1) * b = {k - 1} * {b:.4g} "
                f"(the window has {k} elements)",
            )
    elif result.function == "conv_backward" and result.quantity == "db":
        found = _conv_inputs(detail)
        if found is None:
            return None
        f, _, n_C_prev, _ = np.shape(found[1])
        k = f * f * n_C_prev
        if k > 1 and _close(a, k * n, tol):
            return _hint(
                "bias_in_window",
                f"analytic db = f*f*n_C_prev * numeric db = {k} * numeric db in all {a.size} "
                f"channels (f={f}, n_C_prev={n_C_prev}): the bias was counted once per window "
                "element",
            )
    return None


def _batch_size(result: CheckResult, detail: Detail) -> int | None:
    inputs = detail.inputs or {}
    if "A_prev" in inputs:
        return int(np.shape(inputs["A_prev"])[0])
    if isinstance(result.counterexample, dict) and "m" in result.counterexample:
        return int(result.counterexample["m"])
    return None


def _batch_averaged(result: CheckResult, evaluate: Evaluate | None) -> Hint | None:
    if result.function not in ("conv_backward", "pool_backward"):
        return None
    detail = _failing_detail(result)
    if detail is None:
        return None
    m = _batch_size(result, detail)
    a, n = detail.analytic, detail.numeric
    if m is None or m < 2 or not _close(a * m, n, detail.tolerance):
        return None
    return _hint(
        "batch_averaged",
        f"analytic {result.quantity} * m (m={m}) matches the numeric gradient at all {a.size} "
        f"elements (largest difference {_largest(a * m, n)}), while {_mismatch_summary(detail)}",
    )


def _named_factor(c: float, shape: tuple[int, ...]) -> str:
    if len(shape) != 2:
        return f"{c:.6g}"
    n_H, n_W = shape
    names = {
        "n_H*n_W": n_H * n_W,
        "1/(n_H*n_W)": 1 / (n_H * n_W),
        "n_H": n_H,
        "n_W": n_W,
        "1/n_H": 1 / n_H,
        "1/n_W": 1 / n_W,
        "-1": -1.0,
    }
    for name, value in names.items():
        if abs(c - value) <= 1e-6 * max(1.0, abs(value)):
            return f"{c:.6g} = {name} for shape ({n_H}, {n_W})"
    return f"{c:.6g}"


def _distribute_factor(result: CheckResult, evaluate: Evaluate | None) -> Hint | None:
    detail = _failing_detail(result)
    if detail is None:
        return None
    if result.function == "distribute_value":
        shape = detail.analytic.shape
    elif result.function == "pool_backward" and (detail.inputs or {}).get("mode") == "average":
        hp = (detail.inputs or {}).get("hparameters") or {}
        shape = (hp["f"], hp["f"]) if "f" in hp else ()
    else:
        return None
    a, n = detail.analytic, detail.numeric
    if a.shape != n.shape:
        return None
    denominator = float(np.sum(n * n))
    if denominator == 0.0:
        return None
    c = float(np.sum(a * n)) / denominator
    if abs(c - 1.0) <= 1e-6 or abs(c) <= 1e-12 or not _close(a, c * n, detail.tolerance):
        return None
    return _hint(
        "distribute_factor",
        f"analytic = c * numeric at all {a.size} elements with the constant c = "
        f"{_named_factor(c, shape)} (largest difference {_largest(a, c * n)})",
    )


def _one_hot(values: np.ndarray, tolerance: np.ndarray) -> int | None:
    """The flat index of the single 1 when ``values`` is one-hot within tolerance."""
    tol = _tol(tolerance, values.shape)
    ones = np.abs(values - 1.0) <= tol
    zeros = np.abs(values) <= tol
    if np.count_nonzero(ones) == 1 and np.all(ones | zeros):
        return int(np.flatnonzero(ones)[0])
    return None


_ROUTES: dict[str, str] = {
    "argmin": "routed to each window's minimum instead of its maximum",
    "above_mean": "routed to every element above the window's mean (x > np.mean(x): not one-hot)",
    "all": "copied to every element of each window (a mask of ones, not one-hot)",
    "mean": "spread evenly over each window, as in average pooling (not one-hot)",
}


def _route_mask(window: np.ndarray, pick: str) -> np.ndarray:
    """The (m, f, f, n_C) mask ``pick`` puts on each (f, f) window of ``window``."""
    m, f, _, n_C = window.shape
    if pick == "all":
        return np.ones(window.shape)
    if pick == "mean":
        return np.full(window.shape, 1.0 / (f * f))
    if pick == "above_mean":
        return (window > window.mean(axis=(1, 2), keepdims=True)).astype(np.float64)
    flat = window.reshape(m, f * f, n_C)
    one_hot = np.arange(f * f)[None, :, None] == flat.argmin(axis=1)[:, None, :]
    return one_hot.astype(np.float64).reshape(window.shape)


def _pool_backward_routed(dA: np.ndarray, A_prev: np.ndarray, f: int, stride: int, pick: str) -> np.ndarray:
    """pool_backward (max) with each window's gradient routed by the wrong mask ``pick``."""
    _, n_H, n_W, _ = dA.shape
    dA_prev = np.zeros(A_prev.shape)
    for h in range(n_H):
        for w in range(n_W):
            rows, cols = slice(h * stride, h * stride + f), slice(w * stride, w * stride + f)
            mask = _route_mask(A_prev[:, rows, cols, :], pick)
            dA_prev[:, rows, cols, :] += mask * dA[:, h : h + 1, w : w + 1, :]
    return dA_prev


def _mask_wrong(result: CheckResult, evaluate: Evaluate | None) -> Hint | None:
    detail = _failing_detail(result)
    if detail is None:
        return None
    if result.function == "create_mask_from_window":
        return _mask_from_window_wrong(detail)
    inputs = detail.inputs or {}
    if result.function != "pool_backward" or inputs.get("mode", "max") != "max":
        return None
    if not all(key in inputs for key in ("A_prev", "hparameters", "dA")):
        return None
    a, tol = detail.analytic, detail.tolerance
    A_prev = np.asarray(inputs["A_prev"], dtype=np.float64)
    dA = np.asarray(inputs["dA"], dtype=np.float64)
    f, stride = int(inputs["hparameters"]["f"]), int(inputs["hparameters"]["stride"])
    for pick, how in _ROUTES.items():
        if _close(a, _pool_backward_routed(dA, A_prev, f, stride, pick), tol):
            return _hint(
                "mask_wrong",
                f"analytic dA_prev equals the gradient {how} at all {a.size} elements, "
                f"while {_mismatch_summary(detail)}",
            )
    return None


def _mask_from_window_wrong(detail: Detail) -> Hint | None:
    """The mask (times the upstream scalar dz) is one-hot off the maximum, or not one-hot."""
    inputs = detail.inputs or {}
    a, n = detail.analytic, detail.numeric
    if a.shape != n.shape:
        return None
    dz = float(inputs.get("dz", 1.0))
    if dz == 0.0:
        return None
    mask, true_mask = a / dz, n / dz
    tol = _tol(detail.tolerance, a.shape) / abs(dz)
    x = np.asarray(inputs["x"], dtype=np.float64) if "x" in inputs else None
    true_at = _one_hot(true_mask, tol)
    if true_at is None or (x is not None and (x.shape != n.shape or int(np.argmax(x)) != true_at)):
        return None  # the numeric gradient is not the one-hot of a tie-free window

    def at(flat: int) -> str:
        index = list(map(int, np.unravel_index(flat, n.shape)))
        return f"{index} (x={x.flat[flat]:.4g})" if x is not None else f"{index}"

    got_at = _one_hot(mask, tol)
    if got_at is not None:
        which = " (the window's minimum)" if x is not None and got_at == int(np.argmin(x)) else ""
        return _hint(
            "mask_wrong",
            f"the mask is one-hot at {at(got_at)}{which} instead of at the maximum {at(true_at)}",
        )
    distinct = np.unique(np.round(mask, 6))
    shown = ", ".join(f"{v:.4g}" for v in distinct[:5]) + (", ..." if distinct.size > 5 else "")
    return _hint(
        "mask_wrong",
        f"the mask is not one-hot: its values are {{{shown}}}, summing to "
        f"{float(np.sum(mask)):.4g}; "
        f"the gradient of max is a single 1 at the maximum {at(true_at)}",
    )


def _kernel_flipped(result: CheckResult, evaluate: Evaluate | None) -> Hint | None:
    if result.function not in ("conv_backward", "conv_forward"):
        return None
    detail = _failing_detail(result)
    if detail is None:
        return None
    a, n, tol = detail.analytic, detail.numeric, detail.tolerance
    if result.function == "conv_backward" and result.quantity == "dW":
        if a.shape[0] > 1 and _close(a, n[::-1, ::-1], tol):
            return _hint(
                "kernel_flipped",
                f"analytic dW equals the numeric dW rotated by 180 degrees (dW[::-1, ::-1]) at all "
                f"{a.size} elements, while {_mismatch_summary(detail)}",
            )
        return None
    found = _conv_inputs(detail)
    if found is None:
        return None
    A_prev, W, b, hp = found
    W = np.asarray(W, dtype=np.float64)
    if W.shape[0] < 2:
        return None
    from reference import conv_backward, conv_forward

    flipped = np.ascontiguousarray(W[::-1, ::-1])
    if result.function == "conv_forward":
        recomputed, name = conv_forward(A_prev, flipped, b, hp)[0], "Z"
    elif result.function == "conv_backward" and result.quantity == "dA_prev":
        dZ = (detail.inputs or {}).get("dZ")
        if dZ is None:
            return None
        recomputed, name = conv_backward(dZ, (A_prev, flipped, b, hp))[0], "dA_prev"
    else:
        return None
    if _close(a, recomputed, tol):
        return _hint(
            "kernel_flipped",
            f"analytic {name} equals the reference {name} computed with W rotated by 180 degrees "
            f"(W[::-1, ::-1]) at all {a.size} elements (largest difference "
            f"{_largest(a, recomputed)}), "
            f"while {_mismatch_summary(detail)}",
        )
    return None


def _hw_swapped(result: CheckResult, evaluate: Evaluate | None) -> Hint | None:
    detail = _failing_detail(result)
    if detail is None:
        return None
    a, n, tol = detail.analytic, detail.numeric, detail.tolerance
    key = (result.function, _base(result.quantity))
    if key in _NHWC and n.ndim == 4:
        axes, label = (1, 2), "H and W (axes 1 and 2)"
    elif key == ("conv_backward", "dW") and n.ndim == 4:
        axes, label = (0, 1), "the two kernel axes of dW (axes 0 and 1)"
    elif result.function == "distribute_value" and n.ndim == 2:
        axes, label = (0, 1), "n_H and n_W"
    else:
        return None
    if n.shape[axes[0]] < 2 and n.shape[axes[1]] < 2:
        return None
    swapped = np.swapaxes(n, *axes)
    swapped_tol = np.swapaxes(_tol(tol, n.shape), *axes)
    if _close(a, swapped, swapped_tol):
        shape_note = "" if a.shape == n.shape else f" (analytic shape {a.shape}, expected {n.shape})"
        return _hint(
            "hw_swapped",
            f"analytic {result.quantity} equals the numeric gradient with {label} swapped at all "
            f"{a.size} elements{shape_note}",
        )
    if key == ("conv_backward", "dA_prev"):
        return _hw_swapped_windows(result, detail)
    return None


def _hw_swapped_windows(result: CheckResult, detail: Detail) -> Hint | None:
    """Window slices indexed [w..., h...]: dA_prev == conv_backward(dZ with h and w swapped)."""
    found = _conv_inputs(detail)
    dZ = (detail.inputs or {}).get("dZ")
    if found is None or dZ is None:
        return None
    dZ = np.asarray(dZ, dtype=np.float64)
    A_prev = np.asarray(found[0])
    if dZ.shape[1] != dZ.shape[2] or A_prev.shape[1] != A_prev.shape[2] or dZ.shape[1] < 2:
        return None
    from reference import conv_backward

    recomputed = conv_backward(np.ascontiguousarray(dZ.swapaxes(1, 2)), found)[0]
    if _close(detail.analytic, recomputed, detail.tolerance):
        return _hint(
            "hw_swapped",
            f"analytic dA_prev equals the gradient with dZ's h and w swapped (each window placed "
            f"at "
            f"[w * stride, h * stride]) at all {detail.analytic.size} elements, while "
            f"{_mismatch_summary(detail)}",
        )
    return None


# --------------------------------------------------------------------------- pattern: border band


def _border_band(a: np.ndarray, n: np.ndarray, tol: Any, limit: int) -> tuple[int, int] | None:
    """(band width, mismatches) when every mismatch of NHWC a vs n lies within ``limit`` of an
    edge of (h, w) and a non-empty interior matches; else None."""
    if a.shape != n.shape or a.ndim != 4:
        return None
    bad = np.any(~(np.abs(a - n) <= _tol(tol, a.shape)), axis=(0, 3))
    if not bad.any():
        return None
    n_H, n_W = bad.shape
    rows, cols = np.nonzero(bad)
    distance = np.minimum.reduce([rows, n_H - 1 - rows, cols, n_W - 1 - cols])
    width = int(distance.max()) + 1
    if width > limit or n_H - 2 * width < 1 or n_W - 2 * width < 1:
        return None
    return width, int(bad.sum())


def _border_only(result: CheckResult, evaluate: Evaluate | None) -> Hint | None:
    """The band pattern in the failing case; with ``evaluate``, confirmed on a larger input
    (or, when the failing case has no interior, found there)."""
    if (result.function, _base(result.quantity)) != (
        "conv_backward",
        "dA_prev",
    ) or result.status != "fail":
        return None
    found = _geometry(result)
    geometry, seed = found if found is not None else ({}, 0)
    inputs = result.detail.inputs if result.detail is not None else {}
    hp = (inputs or {}).get("hparameters") or {}
    pad = int(hp.get("pad", geometry.get("pad", -1)))
    f = int(geometry["f"]) if "f" in geometry else None
    if f is None and "W" in (inputs or {}):
        f = int(np.shape(inputs["W"])[0])
    if f is None or pad < 0:
        return None
    limit = max(f - 1, pad, 1)
    evidence = []
    detail = _failing_detail(result)
    if detail is not None:
        band = _border_band(detail.analytic, detail.numeric, detail.tolerance, limit)
        if band is not None:
            evidence.append(_band_text(band, detail.analytic.shape, f"the failing case (f={f}, pad={pad})"))
    if evaluate is not None and "n_H_prev" in geometry:
        size = 2 * limit + 3  # an interior of at least 3x3 inside a band of width `limit`
        larger = {
            **geometry,
            "n_H_prev": max(int(geometry["n_H_prev"]), size),
            "n_W_prev": max(int(geometry["n_W_prev"]), size),
        }
        verdict = evaluate(dict(larger), seed + 1)
        analytic = getattr(verdict, "analytic", None)
        if getattr(verdict, "passed", True) or analytic is None:
            return None
        a = np.asarray(analytic, dtype=np.float64)
        n = np.asarray(verdict.numeric, dtype=np.float64)
        band = _border_band(a, n, verdict.tolerance, limit)
        if band is None:
            return None
        evidence.append(_band_text(band, a.shape, f"a re-run on a larger input ({_fmt_geometry(larger)})"))
    if not evidence:
        return None
    hint = _hint("border_only", "; ".join(evidence))
    if pad == 0:  # no padding to blame: the windows at the edges are
        hint["cause"] = (
            "dA_prev is wrong only in a border band and right in the interior: the windows at the edges "
            "of the input are handled wrongly (e.g. a loop bound that skips the last row or column)"
        )
    return hint


def _band_text(band: tuple[int, int], shape: tuple[int, ...], where: str) -> str:
    width, count = band
    n_H, n_W = shape[1:3]
    interior = (n_H - 2 * width) * (n_W - 2 * width)
    return (
        f"in {where} all {count} mismatching (h, w) positions of dA_prev ({n_H}x{n_W}) lie within "
        f"{width} row(s)/column(s) of the border and the {interior} interior positions match"
    )


# ------------------------------------------------------------------ re-run: stride, overlap


def _stride_only(result: CheckResult, evaluate: Evaluate | None) -> Hint | None:
    if evaluate is None or result.status != "fail":
        return None
    found = _geometry(result)
    if found is None:
        return None
    geometry, seed = found
    stride = geometry.get("stride")
    if not isinstance(stride, int) or stride < 2:
        return None
    if not _fails_on_values(evaluate, geometry, seed):
        return None
    if not _all_pass(evaluate, [{**geometry, "stride": 1}], seed):
        return None
    return _hint(
        "stride_only",
        f"fails at stride={stride} ({_fmt_geometry(geometry)}) and passes on the same case with stride=1 (two seeds)",
    )


def _overlap_only(result: CheckResult, evaluate: Evaluate | None) -> Hint | None:
    if evaluate is None or result.status != "fail":
        return None
    found = _geometry(result)
    if found is None:
        return None
    geometry, seed = found
    stride, f = geometry.get("stride"), geometry.get("f")
    if not (isinstance(stride, int) and isinstance(f, int)) or f < 2 or stride >= f:
        return None
    if not _fails_on_values(evaluate, geometry, seed):
        return None
    if not _all_pass(evaluate, [{**geometry, "stride": f}], seed):
        return None
    if stride > 1 and not _fails(evaluate, {**geometry, "stride": 1}, seed):
        return None  # passes at stride 1 too: not about overlap
    return _hint(
        "overlap_only",
        f"fails with overlapping windows (stride={stride} < f={f}, {_fmt_geometry(geometry)}) and "
        f"passes on the same case with stride=f={f}, where windows do not overlap (two seeds)",
    )


_RULES: tuple[Callable[[CheckResult, Evaluate | None], Hint | None], ...] = (
    _pad_zero_crash,
    _bias_in_window,
    _batch_averaged,
    _distribute_factor,
    _mask_wrong,
    _kernel_flipped,
    _hw_swapped,
    _border_only,
    _stride_only,
    _overlap_only,
)
