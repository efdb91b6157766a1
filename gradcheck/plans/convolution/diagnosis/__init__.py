"""Diagnosis: name the likely cause of a failing check, only with evidence that was verified.

``diagnose(result, evaluate)`` looks at a failing :class:`~gradcheck.verdict.results.CheckResult`
and returns ``{"id", "cause", "evidence"}`` (plus ``"example"``, a larger failing input for a
heatmap) or None. ``evaluate(geometry, seed)`` is the engine's ``evaluate_case`` bound to the
backend, function and quantity; with it the rules re-run the failing case.

No hint is better than a wrong one:

1. **Non-degenerate evidence.** A minimal counterexample is often degenerate (a 1x1
   window, one example, one channel, a 1x1 output) where many bugs look alike (with
   f = 1 every max-pooling mask is right). The rules read a *non-degenerate* case:
   the failing case when it has f >= 2, m >= 2, channels >= 2 and outputs of at least
   3x3, else the same failure re-run on such a geometry (same stride, pad and mode;
   ``common.nondegenerate``). Without ``evaluate`` a rule speaks only when the failing
   case meets what that rule needs (``templates.NEEDS``).
2. **Evidence that rules out the other causes.** Template rules (``templates``,
   ``masks``) recompute the hypothesised mistake from the case's inputs with the
   reference layers and require it to reproduce the analytic result at *every* element
   while the plain comparison fails; structural rules (``structure``) state measured
   facts (a constant ratio whose name holds on two sizes, the exact part of the
   upstream gradient the result is the gradient of, a border band); re-run rules
   (``dependence``) change one parameter and require every changed case to pass.
3. A rule that cannot verify (no arrays, no ``evaluate``, an exception) stays silent.

``root_cause`` says which callee to fix first when a function fails because of another
contract function (``gradcheck.plans.convolution.diagnosis.root_cause``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradcheck.plans.convolution.diagnosis import calls, dependence, notes, shapes, structure, templates
from gradcheck.plans.convolution.diagnosis.causes import CAUSES
from gradcheck.plans.convolution.diagnosis.common import (
    Case,
    Evaluate,
    Hint,
    base,
    case_from_result,
    fmt_geometry,
    needs_met,
    nondegenerate,
    rerun,
)
from gradcheck.verdict.results import CheckResult

RULES: tuple[templates.Rule, ...] = (
    dependence.single_precision,
    calls.call_kind,
    templates.pad_zero_crash,
    templates.all_zero,
    templates.bias,
    templates.other_mode,
    templates.max_from_zero,
    templates.window_size,
    templates.kernel_flipped,
    templates.kernel_transposed,
    templates.hw_swapped,
    templates.crop_offset,
    templates.equals_other_tensor,
    templates.starts_from_input,
    templates.cumulative_examples,
    templates.mask_wrong,
    structure.constant_factor,
    structure.upstream_part,
    structure.unwritten_outputs,
    structure.border_only,
    notes.stated_note,  # what the message states (an error's hint, an input changed, the other layout)
    shapes.wrong_shape,  # a size formula fitted on re-runs: before the dependence rules, which only say when
    dependence.stride_only,
    dependence.overlap_only,
    dependence.pad_only,
    dependence.batch_only,
    dependence.channels_only,
    dependence.nonsquare_only,
)

EVERYTHING = frozenset({"window", "interior", "batch", "channels"})
NEEDS: dict[Any, frozenset[str]] = {
    dependence.single_precision: frozenset(),  # rounding shows on any case off the grid
    calls.call_kind: frozenset(),  # the same inputs called the usual way
    **templates.NEEDS,
    structure.border_only: frozenset({"interior"}),
    structure.constant_factor: frozenset({"window", "batch", "channels"}),
    structure.upstream_part: frozenset({"batch", "interior"}),
    structure.unwritten_outputs: frozenset({"batch", "interior"}),
    notes.stated_note: frozenset(),  # the message's own note, on whatever case failed
    shapes.wrong_shape: frozenset(),  # fitted on re-runs of its own
}

# checks of the subgradient rule at ties have no gradient arrays to explain
_NOT_DIAGNOSED = frozenset({"ties[max]", "mask_ties"})


def diagnose(result: CheckResult, evaluate: Evaluate | None = None) -> Hint | None:
    """The likely cause of ``result``'s failure as ``{"id", "cause", "evidence"}``, or None."""
    if result.status not in ("fail", "error") or result.quantity in _NOT_DIAGNOSED:
        return None
    try:
        original = case_from_result(result)
        case = _primary(original, evaluate)
    except Exception:  # noqa: BLE001 - a diagnosis must never break a verdict or a report
        return None
    for rule in RULES:
        read = original if rule is shapes.wrong_shape else case  # a wrong shape is read on the failing case
        try:
            found = rule(read, evaluate)
        except Exception:  # noqa: BLE001
            found = None
        if found is None or not needs_met(read, NEEDS.get(rule, EVERYTHING)):
            continue
        hint: Hint = {"id": found[0], "cause": found[2] if len(found) > 2 else CAUSES[found[0]]}
        hint["evidence"] = found[1] + _where(read, result)
        try:
            example = _larger_example(case, evaluate)
        except Exception:  # noqa: BLE001
            example = None
        if example is not None:
            hint["example"] = example
        return hint
    return None


def _where(case: Case, result: CheckResult) -> str:
    original = {k: v for k, v in (result.counterexample or {}).items() if k != "seed"}
    if case.geometry == original:
        return ""
    shown = fmt_geometry(case.geometry)
    return f" (measured on the same failure re-run on a non-degenerate case: {shown}, seed={case.seed})"


def _primary(case: Case, evaluate: Evaluate | None) -> Case:
    """The case the rules read: the failing case when it is non-degenerate, else the same
    failure on a non-degenerate geometry (when it fails there), else the failing case."""
    if case.status == "fail" and case.analytic is None and case.geometry is not None and evaluate is not None:
        again = rerun(case, evaluate, case.geometry)  # scalar quantities keep no arrays: recompute them
        if again is not None and again.status == "fail":
            case = again
    if needs_met(case, EVERYTHING) or case.geometry is None or evaluate is None:
        return case
    larger = rerun(case, evaluate, _fit(evaluate, nondegenerate(case.geometry)))
    if larger is None or larger.status in ("pass", "timeout", "memory", "crashed"):
        return case
    return larger


def _fit(evaluate: Evaluate, geometry: dict[str, Any]) -> dict[str, Any]:
    """``geometry`` grown into the contract of the submission's convention when the engine says
    how (``evaluate.fit``: CS231n's output sizes must be integers), else as it is. Only the
    geometries the rules ask for on their own account are fitted; a re-run that changes one
    parameter to test a hypothesis is never moved (outside the contract it raises, and the
    rule stays silent)."""
    fit = getattr(evaluate, "fit", None)
    return fit(geometry) if fit is not None else geometry


EXAMPLE_SIZE = 8  # spatial size of the larger input a hint shows the bug on


def _larger_example(case: Case, evaluate: Evaluate | None) -> dict[str, Any] | None:
    """The same failure on a larger input, so its pattern shows in a heatmap:
    ``{"geometry", "analytic", "numeric", "tolerance"}`` (JSON-ready lists), or None."""
    g = case.geometry
    if evaluate is None or g is None or "n_H_prev" not in g or "f" not in g:
        return None
    if base(case.quantity) not in ("dA_prev", "Z", "A", "X_pad"):
        return None  # dW and db keep their shape on a larger input
    size = max(EXAMPLE_SIZE, 2 * int(max(g["f"], g.get("f_W", 0))) + 2)
    larger = {**g, "n_H_prev": max(int(g["n_H_prev"]), size), "n_W_prev": max(int(g["n_W_prev"]), size)}
    larger = _fit(evaluate, larger)
    if larger == g:
        return None
    verdict = evaluate(dict(larger), case.seed)
    analytic, numeric = getattr(verdict, "analytic", None), getattr(verdict, "numeric", None)
    if getattr(verdict, "passed", True) or analytic is None or numeric is None:
        return None
    if np.shape(analytic) != np.shape(numeric) or np.ndim(analytic) == 0:
        return None
    return {
        "geometry": {**larger, "seed": case.seed},
        "analytic": np.asarray(analytic, dtype=np.float64).tolist(),
        "numeric": np.asarray(numeric, dtype=np.float64).tolist(),
        "tolerance": np.broadcast_to(verdict.tolerance, np.shape(analytic)).astype(np.float64).tolist(),
    }


__all__ = ["CAUSES", "RULES", "diagnose", "Hint", "Evaluate"]
