"""What every diagnosis rule works on: one failing case (arrays, inputs, geometry), helpers to
compare arrays within the check's tolerance, and re-runs of the case on other geometries.

A :class:`Case` is built from a :class:`~gradcheck.verdict.results.CheckResult` (its
counterexample and detail) or from a re-run (the engine's ``evaluate(geometry, seed)``
returns a ``CaseVerdict``). Rules never trust a case they cannot recompute: a missing
array, a NaN or a shape mismatch makes a rule stay silent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gradcheck.verdict.results import CheckResult, case_text

Hint = dict[str, Any]
# evaluate(geometry, seed) -> CaseVerdict with .passed, .status, .message, .analytic, .numeric, .tolerance, .inputs
Evaluate = Callable[[dict[str, Any], int], Any]

NHWC = {
    ("conv_backward", "dA_prev"),
    ("pool_backward", "dA_prev"),
    ("conv_forward", "Z"),
    ("pool_forward", "A"),
}


def base(quantity: str) -> str:
    """``dA_prev[max]`` -> ``dA_prev``: quantities may carry the pooling mode."""
    return quantity.split("[", 1)[0]


@dataclass
class Case:
    """One failing case of one (function, quantity): what the rules look at.

    ``analytic``/``numeric``/``tolerance`` share the quantity's shape (None when the case
    crashed or returned the wrong shape); ``inputs`` are the case's arrays and parameters
    by name (A_prev, W, b, hparameters, dZ / dA, mode, x, dz, ...).
    """

    function: str
    quantity: str
    geometry: dict[str, Any] | None
    seed: int
    status: str
    message: str = ""
    analytic: np.ndarray | None = None
    numeric: np.ndarray | None = None
    tolerance: np.ndarray | None = None
    inputs: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str]:
        return self.function, base(self.quantity)

    @property
    def mode(self) -> str:
        return str(self.inputs.get("mode") or (self.geometry or {}).get("mode") or "max")

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """(analytic, numeric, tolerance) of a failing comparison of finite arrays of one shape."""
        if self.status != "fail" or self.analytic is None or self.numeric is None or self.tolerance is None:
            return None
        a, n = self.analytic, self.numeric
        if a.shape != n.shape or a.size == 0 or not (np.all(np.isfinite(a)) and np.all(np.isfinite(n))):
            return None
        tol = broadcast_tolerance(self.tolerance, a.shape)
        if close(a, n, tol):
            return None
        return a, n, tol


def case_from_result(result: CheckResult) -> Case:
    example = result.counterexample if isinstance(result.counterexample, dict) else None
    geometry = None if example is None else {k: v for k, v in example.items() if k != "seed"}
    seed = int(example.get("seed", 0)) if example else 0
    detail = result.detail
    case = Case(result.function, result.quantity, geometry, seed, result.status, result.message)
    if detail is not None:
        case.analytic = np.asarray(detail.analytic, dtype=np.float64)
        case.numeric = np.asarray(detail.numeric, dtype=np.float64)
        case.tolerance = np.asarray(detail.tolerance, dtype=np.float64)
        case.inputs = dict(detail.inputs or {})
    return case


def case_from_verdict(function: str, quantity: str, geometry: dict[str, Any], seed: int, verdict: Any) -> Case:
    status = str(getattr(verdict, "status", "fail"))
    case = Case(function, quantity, dict(geometry), seed, status, str(getattr(verdict, "message", "")))
    for name in ("analytic", "numeric", "tolerance"):
        value = getattr(verdict, name, None)
        if value is not None:
            setattr(case, name, np.asarray(value, dtype=np.float64))
    case.inputs = dict(getattr(verdict, "inputs", None) or {})
    return case


def rerun(case: Case, evaluate: Evaluate | None, geometry: dict[str, Any], seed: int | None = None) -> Case | None:
    """The same function and quantity re-run on ``geometry`` (None without ``evaluate``)."""
    if evaluate is None:
        return None
    seed = case.seed if seed is None else seed
    return case_from_verdict(case.function, case.quantity, geometry, seed, evaluate(dict(geometry), seed))


def broadcast_tolerance(tolerance: Any, shape: tuple[int, ...]) -> np.ndarray:
    tolerance = np.asarray(tolerance, dtype=np.float64)
    if tolerance.shape == shape:
        return tolerance
    if tolerance.size == 1:
        return np.broadcast_to(tolerance.reshape(()), shape)
    return np.full(shape, float(np.max(tolerance)) if tolerance.size else 0.0)


def close(a: Any, b: Any, tolerance: Any) -> bool:
    """Every |a - b| <= tolerance (element-wise); False on a shape mismatch, NaN or empty arrays."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or a.size == 0:
        return False
    return bool(np.all(np.abs(a - b) <= broadcast_tolerance(tolerance, a.shape)))


def n_mismatched(a: np.ndarray, b: np.ndarray, tolerance: Any) -> int:
    return int(np.count_nonzero(~(np.abs(a - b) <= broadcast_tolerance(tolerance, a.shape))))


def largest(a: np.ndarray, b: np.ndarray) -> str:
    return f"{float(np.max(np.abs(a - b))):.2g}"


def mismatch_summary(a: np.ndarray, n: np.ndarray, tolerance: Any) -> str:
    return f"{n_mismatched(a, n, tolerance)} of {a.size} elements differ from the numeric gradient"


fmt_geometry = case_text


def passes(evaluate: Evaluate, case: Case, geometry: dict[str, Any], seeds: int = 2) -> bool:
    """``geometry`` passes on ``seeds`` consecutive seeds from the case's, and so does a larger
    one (more rows, columns, examples and channels, same f, stride and pad): a pass that hangs on
    a coincidence of sizes (n_H * n_W == f * f, ...) does not count."""
    for offset in range(seeds):
        verdict = evaluate(dict(geometry), case.seed + offset)
        if not bool(getattr(verdict, "passed", False)):
            return False
    if "n_H_prev" not in geometry:
        return True
    # the same shape of problem (a square input stays square, a count of 1 stays 1), other sizes
    larger = {**geometry, "n_H_prev": int(geometry["n_H_prev"]) + 3, "n_W_prev": int(geometry["n_W_prev"]) + 3}
    larger.update({key: int(geometry[key]) + 1 for key in ("m", "n_C", "n_C_prev") if int(geometry.get(key, 1)) > 1})
    return bool(getattr(evaluate(larger, case.seed), "passed", False))


def changed_passes(case: Case, evaluate: Evaluate | None, changes: dict[str, Any]) -> bool:
    """The failing case fails again and passes (``passes``) with ``changes`` applied to its
    geometry, each a parameter it has and a value it does not already take."""
    g = case.geometry
    if evaluate is None or g is None or case.status not in ("fail", "error"):
        return False
    if any(key not in g or g[key] == value for key, value in changes.items()):
        return False
    return fails(evaluate, case, g) and passes(evaluate, case, {**g, **changes})


def fails(evaluate: Evaluate, case: Case, geometry: dict[str, Any]) -> bool:
    verdict = evaluate(dict(geometry), case.seed)
    return not bool(getattr(verdict, "passed", True))


def conv_inputs(case: Case) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict] | None:
    inputs = case.inputs
    if not all(key in inputs for key in ("A_prev", "W", "b", "hparameters")):
        return None
    A_prev, W, b = (np.asarray(inputs[key], dtype=np.float64) for key in ("A_prev", "W", "b"))
    return A_prev, W, b, dict(inputs["hparameters"])


def pool_inputs(case: Case) -> tuple[np.ndarray, dict, np.ndarray] | None:
    inputs = case.inputs
    if not all(key in inputs for key in ("A_prev", "hparameters", "dA")):
        return None
    return (
        np.asarray(inputs["A_prev"], dtype=np.float64),
        dict(inputs["hparameters"]),
        np.asarray(inputs["dA"], dtype=np.float64),
    )


def reference_quantity(case: Case, **replace: Any) -> np.ndarray | None:
    """The reference value of the case's quantity with some inputs replaced
    (``dZ``/``dA``: the upstream, ``W``, ``A_prev``, ``hparameters``, ``mode``), or None."""
    import reference

    quantity = base(case.quantity)
    if case.function in ("conv_backward", "conv_forward"):
        found = conv_inputs(case)
        if found is None:
            return None
        values = dict(zip(("A_prev", "W", "b", "hparameters"), found, strict=True))
        values.update({k: v for k, v in replace.items() if k in values})
        cache = (values["A_prev"], values["W"], values["b"], values["hparameters"])
        if case.function == "conv_forward":
            return reference.conv_forward(*cache)[0]
        dZ = replace.get("dZ", case.inputs.get("dZ"))
        if dZ is None:
            return None
        index = {"dA_prev": 0, "dW": 1, "db": 2}.get(quantity)
        return None if index is None else reference.conv_backward(np.asarray(dZ, dtype=np.float64), cache)[index]
    if case.function in ("pool_backward", "pool_forward"):
        A_prev = replace.get("A_prev", case.inputs.get("A_prev"))
        hp = replace.get("hparameters", case.inputs.get("hparameters"))
        mode = replace.get("mode", case.mode)
        if A_prev is None or hp is None:
            return None
        if case.function == "pool_forward":
            return reference.pool_forward(np.asarray(A_prev, dtype=np.float64), dict(hp), mode)[0]
        dA = replace.get("dA", case.inputs.get("dA"))
        if dA is None:
            return None
        return reference.pool_backward(np.asarray(dA, dtype=np.float64), (np.asarray(A_prev), dict(hp)), mode)
    return None


def upstream(case: Case) -> np.ndarray | None:
    value = case.inputs.get("dZ" if case.function == "conv_backward" else "dA")
    return None if value is None else np.asarray(value, dtype=np.float64)


# --------------------------------------------------------------------------- non-degenerate cases


def needs_met(case: Case, needs: frozenset[str]) -> bool:
    """The case is non-degenerate for ``needs``: ``window`` (f >= 2 or a window >= 2x2),
    ``batch`` (m >= 2), ``channels`` (every channel count >= 2), ``interior`` (an output of
    at least 3x3, so it has interior and border windows)."""
    g = case.geometry or {}
    if "window" in needs:
        if "f" in g and int(g["f"]) < 2:
            return False
        if "n_H" in g and "f" not in g and min(int(g["n_H"]), int(g["n_W"])) < 2:
            return False
    if "batch" in needs and "m" in g and int(g["m"]) < 2:
        return False
    if "channels" in needs and any(int(g[k]) < 2 for k in ("n_C", "n_C_prev") if k in g):
        return False
    if "interior" in needs and "f" in g and "n_H_prev" in g:
        for size in ("n_H_prev", "n_W_prev"):
            if _out(int(g[size]), g) < 3:
                return False
    return True


def _out(size: int, g: dict[str, Any]) -> int:
    return (size + 2 * int(g.get("pad", 0)) - int(g["f"])) // int(g.get("stride", 1)) + 1


def nondegenerate(geometry: dict[str, Any]) -> dict[str, Any]:
    """``geometry`` grown to m >= 2, channels >= 2, f >= 2, windows >= 2x2 and outputs of at
    least 3x3 (interior and border), keeping stride, pad and the mode."""
    g = dict(geometry)
    if "f" not in g:
        for key in ("n_H", "n_W"):
            if key in g:
                g[key] = max(int(g[key]), 2)
        return g
    g["f"] = max(int(g["f"]), 2)
    for key in ("m", "n_C", "n_C_prev"):
        if key in g:
            g[key] = max(int(g[key]), 2)
    if "n_H_prev" in g:
        f, stride, pad = int(g["f"]), int(g.get("stride", 1)), int(g.get("pad", 0))
        needed = max(f + 2 * stride - 2 * pad, f - 2 * pad, 1)
        grow = max(0, needed - min(int(g["n_H_prev"]), int(g["n_W_prev"])))  # a non-square input stays non-square
        for key in ("n_H_prev", "n_W_prev"):
            g[key] = int(g[key]) + grow
    return g


def distinct_sizes(geometry: dict[str, Any]) -> dict[str, Any]:
    """A non-degenerate geometry whose sizes differ pairwise and from the small constants 1, 2
    (f >= 3, m >= 3, channels 5 and 7, none equal to the kept stride), so that a factor m is
    told from n_C, f, f*f or a literal 2."""
    g = nondegenerate(geometry)
    if "f" not in g:
        if "n_H" in g:
            g["n_H"], g["n_W"] = 3, 4
        return g
    used = {1, 2, int(g.get("stride", 1))}

    def pick(start: int) -> int:
        value = start
        while value in used:
            value += 1
        used.add(value)
        return value

    g["f"] = pick(3)
    for key, start in (("m", 3), ("n_C_prev", 5), ("n_C", 7)):
        if key in g:
            g[key] = pick(start)
    return nondegenerate(g)
