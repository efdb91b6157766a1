"""Root cause across functions: a caller that fails only because a contract function it calls
is wrong.

``pool_backward`` calls ``create_mask_from_window`` (max) and ``distribute_value`` (average),
``conv_forward`` calls ``zero_pad`` and ``conv_single_step``, ``conv_backward`` calls
``zero_pad``. When a caller's check fails and so does a callee's, the caller is re-run on its
failing case (two seeds) and on a non-degenerate one with the callee replaced by the
reference (``reference.<callee>`` in the submission's globals; in the worker, by the
backend's ``use_reference`` option). A callee that passes its own check with a warning (an
array where the contract says a float) is a suspect too. When every re-run passes, the
caller's result gets
``root_cause`` ("pool_backward fails because of create_mask_from_window; fix that first")
and that sentence becomes its likely cause.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gradcheck.plans.convolution.diagnosis.common import fmt_geometry, nondegenerate
from gradcheck.verdict.results import CheckResult

# caller -> quantity prefix -> callees it may call
CALLEES: dict[str, dict[str, tuple[str, ...]]] = {
    "pool_backward": {"dA_prev[max]": ("create_mask_from_window",), "ties[max]": ("create_mask_from_window",),
                      "dA_prev[average]": ("distribute_value",)},
    "conv_forward": {"Z": ("zero_pad", "conv_single_step")},
    "conv_backward": {"": ("zero_pad",)},
}

# evaluate(function, quantity, geometry, seed) with the callees replaced -> CaseVerdict
Rerun = Callable[[str, str, dict[str, Any], int], Any]


def callees(function: str, quantity: str) -> tuple[str, ...]:
    found: list[str] = []
    for prefix, names in CALLEES.get(function, {}).items():
        if quantity.startswith(prefix):
            found += [name for name in names if name not in found]
    return tuple(found)


def attach_root_causes(results: list[CheckResult], with_reference: Callable[[tuple[str, ...]], Any]) -> None:
    """Mark the failing callers whose failure disappears with a failing callee replaced.

    ``with_reference(names)`` is a context manager yielding a :data:`Rerun` that calls the
    reference for ``names`` (or None when the backend cannot do that)."""
    failing = {r.function for r in results if r.status not in ("pass", "missing")}
    # a callee that passes with a warning (e.g. returns an array where the contract says a
    # float) can still break its callers: it is a suspect too, named only if replacing it works
    warned = {r.function: r.warnings[0] for r in results if r.status == "pass" and r.warnings}
    for result in results:
        if result.status in ("pass", "missing") or not isinstance(result.counterexample, dict):
            continue
        for callee in callees(result.function, result.quantity):
            if callee not in failing and callee not in warned:
                continue
            own = f"{callee}'s own check fails" if callee in failing else (
                f"{callee} passes its own check with a warning: {warned[callee]}"
            )
            try:
                evidence = _passes_without(result, callee, with_reference, own)
            except Exception:  # noqa: BLE001 - a diagnosis never breaks a verdict
                evidence = None
            if evidence is None:
                continue
            text = f"{result.function} fails because of {callee}; fix that first"
            result.root_cause = {"function": result.function, "callee": callee, "text": text, "evidence": evidence}
            result.diagnosis = {"id": "root_cause", "cause": text, "evidence": evidence}
            break


def _passes_without(result: CheckResult, callee: str, with_reference: Callable, own: str) -> str | None:
    example = dict(result.counterexample or {})
    seed = int(example.pop("seed", 0))
    cases = [(example, seed), (example, seed + 1), (nondegenerate(example), seed)]
    with with_reference((callee,)) as rerun:
        if rerun is None:
            return None
        for geometry, case_seed in cases:
            verdict = rerun(result.function, result.quantity, geometry, case_seed)
            if not bool(getattr(verdict, "passed", False)):
                return None
    return (
        f"{result.function} ({result.quantity}) fails on its own, and passes with {callee} replaced by the reference "
        f"on the failing case ({fmt_geometry(example)}; seeds {seed} and {seed + 1}) and on a larger one "
        f"({fmt_geometry(cases[2][0])}); {own}"
    )
