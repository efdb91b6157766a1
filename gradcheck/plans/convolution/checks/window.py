"""Checks of the window helpers: create_mask_from_window (the gradient of max, and the
subgradient rule at ties) and distribute_value (dz times the gradient of the mean)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from gradcheck.engine import numeric as fd
from gradcheck.engine.checks.case import CaseProblem, CaseVerdict, Context, Steps, laid_out, make_verdict
from gradcheck.strategies import tie_free_array, tie_the_maximum
from gradcheck.verdict.compare import Comparison, validate_array


def subgradient_rule(routed: np.ndarray, tied: np.ndarray, where: str) -> tuple[str | None, bool]:
    """(failure message or None, k-times warning) for one window's routed share ``routed``
    (the gradient divided by the upstream value) and the boolean mask of its tied maxima."""
    k = int(tied.sum())
    tol = 1e-12
    if (routed < -tol).any():
        return f"{where}: negative gradient share {routed.min():.3g} (a subgradient of max is non-negative)", False
    off = np.abs(routed[~tied])
    if off.size and off.max() > tol:
        return f"{where}: gradient on an element that is not a maximum (share {off.max():.3g})", False
    total = float(routed[tied].sum())
    if abs(total - 1.0) <= 1e-9:
        return None, False
    if k > 1 and abs(total - k) <= 1e-9 * k and np.allclose(routed[tied], 1.0):
        return None, True
    return f"{where}: shares over the {k} tied maxima sum to {total:.6g}, expected 1", False


def tie_warning(function: str, k: int) -> str:
    """The warning for ``x == np.max(x)`` masks (``k`` is not in the text, so it is said once)."""
    return (
        f"{function}: when k maxima of a window tie, every one of them gets the full gradient "
        f"(x == np.max(x)), so the window passes k times the upstream gradient. It is the course's "
        f"solution and only matters at exact ties; PyTorch routes the gradient to one maximum "
        f"(the first), a valid subgradient: mark only np.argmax(x) to do the same."
    )


@dataclass(frozen=True)
class WindowCase:
    """A pooling window shape for create_mask_from_window / distribute_value."""

    n_H: int
    n_W: int

    def as_dict(self) -> dict[str, Any]:
        return {"n_H": self.n_H, "n_W": self.n_W}


def mask_case(
    ctx: Context, window: WindowCase, seed: int, *, first: bool = False, full: bool = False
) -> Steps[CaseVerdict]:
    """mask == d max(x) / dx, by central differences of max on a tie-free window; off the grid
    (``numeric.off_grid``) the runner-up is within 1e-9 of the maximum, which differences cannot
    resolve, and the mask must be exactly the one-hot at the maximum (no tolerance: it is 0 or 1)."""
    rng = np.random.default_rng([fd.value_seed(seed), 3])
    x = tie_free_array(rng, (window.n_H, window.n_W))
    near = fd.off_grid(seed) and x.size > 1
    if near:  # a near tie: np.isclose(x, x.max()) marks both, the true maximum is one
        order = np.argsort(x, axis=None)
        x.flat[order[-2]] = x.flat[order[-1]] * (1 - 1e-9) if x.flat[order[-1]] > 0 else x.flat[order[-1]] * (1 + 1e-9)
    outcome = yield from ctx.call("create_mask_from_window", laid_out(seed, x))
    ctx.check_unmodified("create_mask_from_window", outcome, {0: ("x", x)})
    mask, problem = validate_array(outcome.value, "mask", x.shape, allow_bool=True)
    if problem:
        raise CaseProblem("fail", problem)
    if near:
        expected = (x == x.max()).astype(np.float64)
        return make_verdict(Comparison(mask, expected, np.zeros(x.shape)), {"x": x}, "the one-hot at the maximum")
    upstream = fd.upstream_gradient(rng, ())
    upstream = upstream if upstream != 0 else np.float64(1.5)
    result = fd.central_difference(
        lambda xs: [np.array(np.max(v)) for v in xs],
        x,
        np.asarray(upstream),
        magnitude=np.array(np.max(np.abs(x)) + fd.STEP),
        n_terms=1,
    )
    tolerance = fd.SAFETY * result.bound
    return make_verdict(
        Comparison(mask * upstream, result.gradient, tolerance), {"x": x, "dz": float(upstream)}, "numeric"
    )


def mask_ties_case(
    ctx: Context, window: WindowCase, seed: int, *, first: bool = False, full: bool = False
) -> Steps[CaseVerdict]:
    rng = np.random.default_rng([fd.value_seed(seed), 4])
    size = window.n_H * window.n_W
    x = tie_free_array(rng, (window.n_H, window.n_W))
    k = int(rng.integers(2, size + 1)) if size > 1 else 1
    tie_the_maximum(x, rng, k, 0.5)
    outcome = yield from ctx.call("create_mask_from_window", (x,))
    mask, problem = validate_array(outcome.value, "mask", x.shape, allow_bool=True)
    if problem:
        raise CaseProblem("fail", problem)
    message, k_times = subgradient_rule(mask, x == x.max(), f"window with {k} tied maxima")
    if message:
        raise CaseProblem("fail", "create_mask_from_window at ties: " + message)
    verdict = CaseVerdict("pass", inputs={"x": x})
    if k_times:
        verdict.warnings.append(tie_warning("create_mask_from_window", k))
    return verdict


def distribute_case(
    ctx: Context, window: WindowCase, seed: int, *, first: bool = False, full: bool = False
) -> Steps[CaseVerdict]:
    """distribute_value(dz, shape) == dz * d mean(a) / da, by central differences of the mean."""
    rng = np.random.default_rng([fd.value_seed(seed), 5])
    shape = (window.n_H, window.n_W)
    dz = float(fd.upstream_gradient(rng, ()))
    outcome = yield from ctx.call("distribute_value", (dz, shape))
    analytic, problem = validate_array(outcome.value, "distribute_value's result", shape)
    if problem:
        raise CaseProblem("fail", problem)
    a = fd.quantize(rng.standard_normal(shape))
    result = fd.central_difference(
        lambda xs: [np.array(np.mean(v)) for v in xs],
        a,
        np.asarray(dz),
        magnitude=np.array(np.mean(np.abs(a)) + fd.STEP),
        n_terms=a.size + 1,
    )
    analytic_bound = fd.gamma(2) * np.abs(analytic)
    tolerance = fd.SAFETY * (result.bound + analytic_bound)
    return make_verdict(Comparison(analytic, result.gradient, tolerance), {"dz": dz, "shape": shape}, "numeric")
