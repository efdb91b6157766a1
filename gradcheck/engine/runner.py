"""The engine: draw cases, screen them in batches, shrink a failure, explain the minimal one.

For every (function, quantity) of the plan (``gradcheck.plans.convolution.plan.PLAN``) that the
implementation defines:

1. ``examples`` cases: a fixed representative geometry (checked per element and for
   determinism) and cases drawn by the spec (``gradcheck.plans.convolution.sampling``: geometry
   and an array seed, from a Generator seeded by ``seed``), each screened with the cheap
   check (directional for gradients). Cases run in chunks through
   ``gradcheck.engine.driver``: the calls of a whole chunk cross to the worker in a
   few round trips;
2. on a failure, the case is shrunk to a smallest failing geometry, which is
   re-checked per element to build the message (the counterexample);
3. a timeout, memory exhaustion or crash stops that quantity at once.

Forwards are checked first: a backward is finite-differenced through the
submission's own forward only when that forward passed, else through the
reference forward with the contract's cache (each function judged on its own).

Cases are drawn from the contract of the submission's convention
(``backend.convention``: the article's course, or CS231n with rectangular windows and
output sizes that are integers; ``gradcheck.plans.convolution.plan.specs_for``), never outside it.

The engine names no function: the plan's table, its specs and their facts (which gradients
are swept, which functions are screened jointly, which forwards are trusted once they pass)
and its diagnosis are the plan's (``gradcheck.plans.convolution``). The engine works in the
article's names and NHWC; each verdict is shown in the convention's names and layout
(``gradcheck.conventions``) once it is complete.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from gradcheck.boundary.backend import Backend
from gradcheck.conventions import ARTICLE, Convention
from gradcheck.conventions import convention as convention_named
from gradcheck.engine.checks.case import FATAL, CaseVerdict
from gradcheck.engine.driver import run_case, run_cases
from gradcheck.engine.numeric import STEP, off_grid
from gradcheck.engine.screening import Found, Spec, Tally, factory, screen, screen_jointly, shrink
from gradcheck.plans.convolution import FORWARDS
from gradcheck.plans.convolution.plan import JOINT_SCREENS, PLAN, mode_of, specs_for
from gradcheck.verdict.compare import ELEMENTWISE, NORMWISE
from gradcheck.verdict.results import CheckResult, Detail, case_text

Progress = Callable[[str], None]


class OutsideContract(ValueError):
    """A geometry the convention's contract excludes (CS231n: an output size that is not an
    integer): no case is run on it, so no verdict can come from it."""


def _specs(backend: Backend) -> dict[tuple[str, str], Spec]:
    return specs_for(getattr(backend, "convention", None))


def evaluate_case(
    backend: Backend,
    function: str,
    quantity: str,
    geometry: dict[str, Any] | Any,
    seed: int,
    *,
    full: bool = True,
    trusted_forwards: set[str] | None = None,
) -> CaseVerdict:
    """Evaluate one case of ``function``/``quantity`` on ``geometry`` (a dict as in a
    counterexample, or a geometry object); per element when ``full``. A geometry outside
    the contract of the backend's convention raises :class:`OutsideContract`."""
    spec = _specs(backend)[(function, quantity)]
    if isinstance(geometry, dict):
        geometry = spec.geometry(geometry)
    if hasattr(geometry, "valid") and not geometry.valid():
        raise OutsideContract(f"{geometry} is outside the contract of {function}")
    return run_case(backend, factory(spec, geometry, seed, first=False, full=full), trusted_forwards)


def fit_geometry(backend: Backend, function: str, quantity: str, fields: dict[str, Any]) -> dict[str, Any]:
    """``fields`` (a counterexample-like dict) grown to the nearest geometry of the contract
    (``fitted``: CS231n grows the input until the output size is an integer)."""
    geometry = _specs(backend)[(function, quantity)].geometry(fields)
    return geometry.fitted().as_dict() if hasattr(geometry, "fitted") else dict(fields)


def _counterexample(geometry: Any, seed: int) -> dict[str, Any]:
    return geometry.as_dict() | {"seed": int(seed)}


SWEEP_STEPS: tuple[float, ...] = tuple(2.0**-k for k in range(1, 41, 2))


def step_sweep(
    backend: Backend,
    function: str,
    quantity: str,
    geometry: Any,
    seed: int,
    trusted_forwards: set[str],
    steps: tuple[float, ...] = SWEEP_STEPS,
) -> dict[str, list[float]] | None:
    """Relative directional error against the finite-difference step on one case, or None
    when the quantity has no step (forwards, tie rules) or the case does not run."""
    spec = _specs(backend).get((function, quantity))
    if spec is None or not spec.swept:
        return None
    verdict = run_case(backend, factory(spec, geometry, seed, sweep=steps), trusted_forwards)
    return verdict.sweep


def check_quantity(
    backend: Backend,
    function: str,
    quantity: str,
    *,
    examples: int,
    seed: int,
    trusted_forwards: set[str],
    sweep: bool = False,
    convention: Convention = ARTICLE,
    screened: tuple[Found | None, Tally] | None = None,
) -> CheckResult:
    """Run the generated cases of one (function, quantity) and build its verdict.

    The result keeps the engine's names (function, quantity, counterexample, NHWC arrays)
    for the diagnosis; its messages are in ``convention``'s names and layout, and
    ``convention.present`` turns the rest. With ``sweep``, also record the error against
    the step on one case (for reports). ``screened``: the outcome of a joint screen
    (:func:`~gradcheck.engine.screening.screen_jointly`) that already ran this quantity's cases.
    """
    result, case = _check_quantity(
        backend,
        function,
        quantity,
        examples=examples,
        seed=seed,
        trusted_forwards=trusted_forwards,
        convention=convention,
        screened=screened,
    )
    result.case = case
    if sweep and result.status in ("pass", "fail"):
        geometry, case_seed = case or (_specs(backend)[(function, quantity)].representative, seed)
        result.step_sweep = step_sweep(backend, function, quantity, geometry, case_seed, trusted_forwards)
    return result


def _check_quantity(
    backend: Backend,
    function: str,
    quantity: str,
    *,
    examples: int,
    seed: int,
    trusted_forwards: set[str],
    convention: Convention = ARTICLE,
    screened: tuple[Found | None, Tally] | None = None,
) -> tuple[CheckResult, tuple[Any, int] | None]:
    """The verdict, and the (geometry, array seed) of its counterexample (None when it passed)."""
    spec = _specs(backend)[(function, quantity)]
    name = convention.function(function)
    shown_quantity = convention.quantity(function, quantity)
    oracle = spec.oracle
    for contract_name, shown in convention.functions.items():
        oracle = oracle.replace(contract_name, shown)  # "of conv_forward" -> "of conv_forward_naive"
    if screened is None:
        tally = Tally()
        found = screen(backend, spec, examples, seed, trusted_forwards, tally)
    else:
        found, tally = screened
    if found is None:
        result = CheckResult(
            function,
            quantity,
            "pass",
            cases=tally.cases,
            warnings=tally.warnings,
            message=f"{name}: {shown_quantity} matches {oracle} on {tally.cases} generated cases",
        )
        if tally.worst is not None:
            result.max_error, result.tolerance = tally.worst.max_error, tally.worst.worst_tolerance
        return _with_bound(result, tally, convention), None
    geometry, array_seed, verdict = found
    if verdict.status in FATAL or not verdict.reproducible:  # nothing to shrink or explain
        return CheckResult(
            function,
            quantity,
            verdict.status,
            cases=tally.cases,
            counterexample=_counterexample(geometry, array_seed),
            message=f"{name}: {verdict.message}",
            warnings=tally.warnings,
        ), (geometry, array_seed)
    geometry, array_seed, screened = shrink(backend, spec, geometry, array_seed, verdict, trusted_forwards)
    # the smallest case again, twice screened and once per element (one batch): a case that
    # fails only some of the time is nondeterminism, not a wrong formula
    *again, explained = run_cases(
        backend,
        [factory(spec, geometry, array_seed), factory(spec, geometry, array_seed),
         factory(spec, geometry, array_seed, first=False, full=True)],
        trusted_forwards,
        stop_at_fatal=False,
    )
    backend.release()
    if any(verdict.passed for verdict in again):
        return CheckResult(
            function,
            quantity,
            "fail",
            cases=tally.cases,
            counterexample=_counterexample(geometry, array_seed),
            message=f"{name}: {shown_quantity} passed and failed on the same inputs: the results are "
            "not reproducible (nondeterministic code?)",
            warnings=tally.warnings,
        ), (geometry, array_seed)
    verdict = explained if not explained.passed else screened
    result = _failure_result(convention, spec, oracle, geometry, array_seed, verdict, tally)
    return _with_bound(result, tally, convention), (geometry, array_seed)


def _with_bound(result: CheckResult, tally: Tally, convention: Convention = ARTICLE) -> CheckResult:
    """Say which rounding bound decided a compared verdict (``result.bound``), and which cases
    were screened jointly with other quantities, with their figure together (``result.joint_screen``,
    in the convention's quantity names)."""
    if result.tolerance is not None:
        result.bound = NORMWISE if tally.normwise else ELEMENTWISE
    if tally.joint_cases:
        worst = tally.joint_worst
        result.joint_screen = {
            "quantities": [convention.quantity(result.function, quantity) for quantity in tally.joint],
            "cases": int(tally.joint_cases),
            "max_error": None if worst is None else worst.max_error,
            "tolerance": None if worst is None else worst.worst_tolerance,
        }
    return result


def _failure_result(
    convention: Convention, spec: Spec, oracle: str, geometry: Any, array_seed: int, verdict: CaseVerdict,
    tally: Tally,
) -> CheckResult:
    name, quantity = convention.function(spec.function), convention.quantity(spec.function, spec.quantity)
    counterexample = _counterexample(geometry, array_seed)
    where = case_text(convention.case(counterexample))
    status = "fail" if verdict.status == "pass" else verdict.status
    result = CheckResult(
        spec.function, spec.quantity, status, cases=tally.cases, counterexample=counterexample,
        warnings=tally.warnings,
    )
    notes = spec.notes(array_seed, convention.name)
    if notes:  # how this case called the function, when not as most cases do
        where += "; " + "; ".join(notes)
    if off_grid(array_seed):
        where += " (general float64 values, off the grid on which finite differences are exact)"
        if "finite difference" in oracle:
            forward = oracle.rsplit(" of ", 1)[-1]
            oracle = f"the reference's gradient of {forward} (compared directly: the inputs are off the grid)"
    comparison = verdict.comparison
    if comparison is None:
        result.message = f"{name}: {quantity} fails on the smallest failing case ({where}):\n{verdict.message}"
        return result
    result.max_error, result.tolerance = comparison.max_error, comparison.worst_tolerance
    if comparison.analytic.ndim:
        result.worst_index = [int(i) for i in comparison.worst]
        result.detail = Detail(
            comparison.analytic, comparison.expected, comparison.tolerance, inputs=verdict.inputs, step=STEP
        )
    step = "step h = 2^-10, " if "finite difference" in oracle else ""
    table = verdict.message
    if convention is not ARTICLE and comparison.analytic.ndim:
        layout, shape = convention.layout(spec.quantity), comparison.analytic.shape
        table = comparison.table(verdict.oracle_name, lambda index: layout.index(index, shape))
    header = (
        f"{name}: {quantity} does not match {oracle}\n"
        f"  {step}tolerance per element from rounding-error analysis "
        f"(at the worst element {comparison.worst_tolerance:.3g})\n"
        f"  smallest failing case: {where}"
    )
    if not comparison.analytic.ndim and spec.swept:
        header += "\n  (random-direction screen: <G, J u> numeric vs <J^T G, u> analytic)"
    result.message = f"{header}\n{table}"
    return result


def run_checks(
    backend: Backend,
    *,
    examples: int = 25,
    seed: int = 0,
    only: tuple[str, ...] | None = None,
    progress: Progress | None = None,
    sweep: bool = False,
    trusted: set[str] | None = None,
    diagnose: bool = True,
    engine_results: list[CheckResult] | None = None,
) -> list[CheckResult]:
    """Check every (function, quantity) of the plan of the backend's convention (its specs,
    in its table's order) that the backend's implementation defines.

    Missing functions get status ``missing``; modes the backend does not support
    (``backend.pool_modes``) are not checked; another convention (``backend.convention``,
    e.g. CS231n) has its own specs, and its results are shown in its names and layout.

    ``trusted``: forwards known to pass already (a backward of ``only`` is then called with its
    own forward's cache, as in the run that found them). ``diagnose=False``: no likely causes and
    no root causes (the fix search's confirmation). ``engine_results``: receives each result as
    the engine made it (the contract's names and NHWC), in the order of the returned list.
    """
    present = backend.functions()
    pool_modes = tuple(getattr(backend, "pool_modes", ("max", "average")))
    convention = convention_named(getattr(backend, "convention", None))
    specs = specs_for(convention.name)
    plan = [(f, q) for f, q in PLAN if (f, q) in specs and (only is None or f in only)
            and (mode_of(q) in (None, *pool_modes))]
    trusted = set(trusted or ())
    results: list[CheckResult] = []
    missing_reported: set[str] = set()
    joint: dict[tuple[str, str], tuple[Found | None, Tally]] = {}
    passed: dict[str, bool] = {}  # function -> every quantity so far passed
    for index, (function, quantity) in enumerate(plan, start=1):
        name = convention.function(function)
        if function not in present:
            if function not in missing_reported:
                missing_reported.add(function)
                results.append(
                    CheckResult(
                        name,
                        quantity if sum(f == function for f, _ in plan) == 1 else "*",
                        "missing",
                        message=f"{name} is not defined",
                    )
                )
                if engine_results is not None:
                    engine_results.append(dataclasses.replace(results[-1], function=function))
            continue
        if progress:
            progress(f"[{index}/{len(plan)}] {name}: {convention.quantity(function, quantity)}")
        together = [q for f, q in plan if f == function]
        if function in JOINT_SCREENS and len(together) > 1 and (function, quantity) not in joint:
            tallies = {q: Tally() for q in together}
            found = screen_jointly(backend, [specs[(function, q)] for q in together], JOINT_SCREENS[function],
                                   examples, seed, set(trusted), tallies)
            joint.update({(function, q): (found[q], tallies[q]) for q in together})
        result = check_quantity(
            backend,
            function,
            quantity,
            examples=examples,
            seed=seed,
            trusted_forwards=set(trusted),
            convention=convention,
            sweep=sweep,
            screened=joint.get((function, quantity)),
        )
        backend.release()
        if diagnose:
            _diagnose(result, backend, function, quantity, trusted)
        results.append(convention.present(result))
        if engine_results is not None:
            engine_results.append(result)
        passed[function] = passed.get(function, True) and result.passed
        if function in FORWARDS:
            if passed[function]:
                trusted.add(function)
            else:
                trusted.discard(function)
    if convention is ARTICLE and diagnose:  # another convention's functions do not call each other by these names
        _root_causes(results, backend, trusted)
    return results


def _root_causes(results: list[CheckResult], backend: Backend, trusted: set[str]) -> None:
    """Name the callee to fix first when a caller fails only because of it
    (``gradcheck.plans.convolution.diagnosis.root_cause``)."""
    from gradcheck.plans.convolution.diagnosis.root_cause import attach_root_causes

    def with_reference(names: tuple[str, ...]) -> Any:
        import contextlib

        @contextlib.contextmanager
        def rerun():
            with backend.with_reference(names) as patched:
                if patched is None:
                    yield None
                    return

                def evaluate(function: str, quantity: str, geometry: dict[str, Any], seed: int) -> CaseVerdict:
                    return evaluate_case(patched, function, quantity, geometry, seed, trusted_forwards=set(trusted))

                yield evaluate

        return rerun()

    try:
        attach_root_causes(results, with_reference)
    except Exception as exc:  # noqa: BLE001 - a diagnosis never changes a verdict
        for result in results:
            if result.status not in ("pass", "missing"):
                result.warnings.append(f"root cause failed: {type(exc).__name__}: {exc}")


def _diagnose(result: CheckResult, backend: Backend, function: str, quantity: str, trusted: set[str]) -> None:
    """Attach a verified likely cause to a failure (see ``gradcheck.plans.convolution.diagnosis``)."""
    if result.status in ("pass", "missing"):
        return
    try:
        from gradcheck.plans.convolution.diagnosis import diagnose
    except ImportError:  # the diagnosis module is optional
        return

    def evaluate(geometry: dict[str, Any], seed: int) -> CaseVerdict:
        return evaluate_case(backend, function, quantity, geometry, seed, trusted_forwards=set(trusted))

    evaluate.fit = lambda geometry: fit_geometry(backend, function, quantity, geometry)  # type: ignore[attr-defined]
    try:
        # the rules know the contract's names; a convention's display name (conv_backward_naive) is only shown
        result.diagnosis = diagnose(dataclasses.replace(result, function=function), evaluate)
    except Exception as exc:  # noqa: BLE001 - a diagnosis never changes a verdict
        result.warnings.append(f"diagnosis failed: {type(exc).__name__}: {exc}")


__all__ = ["run_checks", "check_quantity", "evaluate_case", "step_sweep"]
