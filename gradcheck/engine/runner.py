"""The in-process engine: generate cases, screen them, shrink failures, explain the minimal one.

For every (function, quantity) of :data:`PLAN` that the implementation defines:

1. hypothesis draws ``examples`` cases (geometry and an array seed; the first is a
   fixed representative geometry) and screens each with the cheap check
   (directional for gradients); the first case is also checked per element and
   for determinism;
2. on a failure, hypothesis shrinks to the smallest failing geometry, which is
   re-checked per element to build the message (the counterexample);
3. a timeout, memory exhaustion or crash stops that quantity at once.

Forwards are checked first: a backward is finite-differenced through the
submission's own forward only when that forward passed, else through the
reference forward with the contract's cache (each function judged on its own).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, Phase, Verbosity, example, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st
from hypothesis.errors import Flaky

from gradcheck.boundary.backend import Backend
from gradcheck.engine.checks.case import FATAL, CaseProblem, CaseVerdict, Context
from gradcheck.engine.numeric import STEP
from gradcheck.engine.plan import PLAN, SPECS, Spec, mode_of
from gradcheck.strategies import PoolGeometry
from gradcheck.verdict.results import CheckResult, Detail

Progress = Callable[[str], None]

_SEED_RANGE = st.integers(0, 2**32 - 1)

# The engine's own hypothesis profile: no example database (verdicts depend only on
# the seed), no deadline (submissions may be slow loops), quiet, one failure per
# check. ``max_examples`` is the caller's ``examples``.
settings.register_profile(
    "gradcheck-engine",
    database=None,
    deadline=None,
    derandomize=False,
    suppress_health_check=list(HealthCheck),
    verbosity=Verbosity.quiet,
    phases=(Phase.explicit, Phase.generate, Phase.shrink),
    report_multiple_bugs=False,
    print_blob=False,
)
ENGINE_SETTINGS = settings.get_profile("gradcheck-engine")


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
    counterexample, or a geometry object); per element when ``full``."""
    spec = SPECS[(function, quantity)]
    if isinstance(geometry, dict):
        geometry = _geometry_from(spec, geometry)
    ctx = Context(backend, trusted_forwards)
    return _run_case(spec, ctx, geometry, seed, full=full, first=False)


def _geometry_from(spec: Spec, fields: dict[str, Any]) -> Any:
    """The geometry object of ``spec``'s kind from a counterexample-like dict (``seed`` ignored)."""
    fields = {key: value for key, value in fields.items() if key != "seed"}
    kind = type(spec.representative)
    if kind is PoolGeometry:
        fields.setdefault("mode", mode_of(spec.quantity) or "max")
    return kind(**fields)


def _run_case(spec: Spec, ctx: Context, geometry: Any, seed: int, *, full: bool, first: bool) -> CaseVerdict:
    try:
        verdict = spec.evaluate(ctx, geometry, seed, first=first, full=full)
    except CaseProblem as problem:
        verdict = CaseVerdict(problem.status, problem.message)
    verdict.forward_calls = max(verdict.forward_calls, ctx.forward_calls)
    return verdict


class _Stop(BaseException):
    """Ends a hypothesis run at once (timeout, memory, crash): no shrinking through those."""


class _CaseFailed(Exception):
    pass


def _counterexample(geometry: Any, seed: int) -> dict[str, Any]:
    return geometry.as_dict() | {"seed": int(seed)}


SWEEP_STEPS: tuple[float, ...] = tuple(2.0**-k for k in range(1, 41, 2))
SWEPT = ("conv_backward", "pool_backward")


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
    if function not in SWEPT or quantity.startswith("ties"):
        return None
    spec = SPECS[(function, quantity)]
    try:
        verdict = spec.evaluate(Context(backend, trusted_forwards), geometry, seed, sweep=steps)
    except CaseProblem:
        return None
    return verdict.sweep


def check_quantity(
    backend: Backend,
    function: str,
    quantity: str,
    *,
    examples: int,
    seed: int,
    trusted_forwards: set[str],
    display_name: str | None = None,
    sweep: bool = False,
    display_names: dict[str, str] | None = None,
) -> CheckResult:
    """Run the generated cases of one (function, quantity) and build its verdict.

    With ``sweep``, also record the error against the step on one case (for reports).
    """
    result = _check_quantity(
        backend,
        function,
        quantity,
        examples=examples,
        seed=seed,
        trusted_forwards=trusted_forwards,
        display_name=display_name,
        display_names=display_names,
    )
    if sweep and result.status in ("pass", "fail"):
        spec = SPECS[(function, quantity)]
        if result.counterexample is not None:
            geometry, case_seed = _geometry_from(spec, result.counterexample), result.counterexample["seed"]
        else:
            geometry, case_seed = spec.representative, seed
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
    display_name: str | None = None,
    display_names: dict[str, str] | None = None,
) -> CheckResult:
    spec = SPECS[(function, quantity)]
    ctx_factory = lambda: Context(backend, trusted_forwards)  # noqa: E731
    state: dict[str, Any] = {
        "cases": 0,
        "warnings": [],
        "failure": None,
        "stop": None,
        "worst": None,
        "explicit_failure": None,
    }

    def record(verdict: CaseVerdict) -> None:
        for warning in verdict.warnings:
            if warning not in state["warnings"]:
                state["warnings"].append(warning)
        comparison = verdict.comparison
        if verdict.passed and comparison is not None and comparison.analytic.size:
            if state["worst"] is None or comparison.max_ratio > state["worst"].max_ratio:
                state["worst"] = comparison

    @settings(ENGINE_SETTINGS, max_examples=examples)
    @hypothesis_seed(seed)
    @given(case=st.tuples(spec.strategy, _SEED_RANGE))
    @example(case=(spec.representative, seed))
    def run(case):
        geometry, array_seed = case
        first = state["cases"] == 0
        state["cases"] += 1
        verdict = _run_case(spec, ctx_factory(), geometry, array_seed, full=first, first=first)
        if (
            first
            and verdict.passed
            and function in ("conv_backward", "pool_backward")
            and not quantity.startswith("ties")
        ):
            # the first case is also screened, so both modes are exercised on it
            screened = _run_case(spec, ctx_factory(), geometry, array_seed, full=False, first=False)
            if not screened.passed:
                verdict = screened
        record(verdict)
        if first and verdict.status not in FATAL and not verdict.passed:
            # hypothesis never shrinks an explicit example: keep it, and let the
            # generated cases find (and shrink) a failure of their own
            state["explicit_failure"] = (geometry, array_seed, verdict)
            return
        if verdict.status in FATAL:
            state["stop"] = (geometry, array_seed, verdict)
            raise _Stop()
        if not verdict.passed:
            state["failure"] = (geometry, array_seed, verdict)
            raise _CaseFailed()

    name = display_name or function
    oracle = spec.oracle
    for contract_name, shown in (display_names or {}).items():
        oracle = oracle.replace(contract_name, shown)  # "of conv_forward" -> "of conv_forward_naive"
    try:
        run()
    except _Stop:
        geometry, array_seed, verdict = state["stop"]
        return CheckResult(
            name,
            quantity,
            verdict.status,
            cases=state["cases"],
            counterexample=_counterexample(geometry, array_seed),
            message=f"{name}: {verdict.message}",
            warnings=state["warnings"],
        )
    except _CaseFailed:
        pass
    except Flaky as exc:
        return CheckResult(
            name,
            quantity,
            "fail",
            cases=state["cases"],
            message=f"{name}: {quantity} passed and failed on the same inputs: the results are "
            f"not reproducible (nondeterministic code?) [{type(exc).__name__}]",
            warnings=state["warnings"],
        )
    if state["failure"] is None:
        state["failure"] = state["explicit_failure"]
    if state["failure"] is None:
        result = CheckResult(
            name,
            quantity,
            "pass",
            cases=state["cases"],
            warnings=state["warnings"],
            message=f"{name}: {quantity} matches {oracle} on {state['cases']} generated cases",
        )
        worst = state["worst"]
        if worst is not None:
            result.max_error, result.tolerance = worst.max_error, worst.worst_tolerance
        return result
    geometry, array_seed, screened = state["failure"]
    explained = _run_case(spec, ctx_factory(), geometry, array_seed, full=True, first=False)
    verdict = explained if not explained.passed else screened
    return _failure_result(name, spec, oracle, geometry, array_seed, verdict, state)


def _failure_result(
    name: str, spec: Spec, oracle: str, geometry: Any, array_seed: int, verdict: CaseVerdict, state: dict[str, Any]
) -> CheckResult:
    counterexample = _counterexample(geometry, array_seed)
    where = ", ".join(f"{key}={value}" for key, value in counterexample.items())
    status = "fail" if verdict.status == "pass" else verdict.status
    result = CheckResult(
        name, spec.quantity, status, cases=state["cases"], counterexample=counterexample, warnings=state["warnings"]
    )
    comparison = verdict.comparison
    if comparison is None:
        result.message = f"{name}: {spec.quantity} fails on the smallest failing case ({where}):\n{verdict.message}"
        return result
    result.max_error, result.tolerance = comparison.max_error, comparison.worst_tolerance
    if comparison.analytic.ndim:
        result.worst_index = [int(i) for i in comparison.worst]
        result.detail = Detail(
            comparison.analytic, comparison.expected, comparison.tolerance, inputs=verdict.inputs, step=STEP
        )
    step = "step h = 2^-10, " if "finite difference" in oracle else ""
    header = (
        f"{name}: {spec.quantity} does not match {oracle}\n"
        f"  {step}tolerance per element from rounding-error analysis "
        f"(at the worst element {comparison.worst_tolerance:.3g})\n"
        f"  smallest failing case: {where}"
    )
    if not comparison.analytic.ndim and spec.function in SWEPT:
        header += "\n  (random-direction screen: <G, J u> numeric vs <J^T G, u> analytic)"
    result.message = f"{header}\n{verdict.message}"
    return result


def run_checks(
    backend: Backend,
    *,
    examples: int = 25,
    seed: int = 0,
    only: tuple[str, ...] | None = None,
    progress: Progress | None = None,
    sweep: bool = False,
) -> list[CheckResult]:
    """Check every (function, quantity) of :data:`PLAN` the backend's implementation defines.

    Missing functions get status ``missing``; modes the backend does not support
    (``backend.pool_modes``) are not checked, and under another convention
    (``backend.display_names``, e.g. CS231n) functions it has no name for are not listed.
    """
    present = backend.functions()
    pool_modes = tuple(getattr(backend, "pool_modes", ("max", "average")))
    display = dict(getattr(backend, "display_names", {}) or {})
    plan = [(f, q) for f, q in PLAN if (only is None or f in only) and (mode_of(q) in (None, *pool_modes))]
    trusted: set[str] = set()
    results: list[CheckResult] = []
    missing_reported: set[str] = set()
    for index, (function, quantity) in enumerate(plan, start=1):
        name = display.get(function, function)
        if function not in present:
            if display and function not in display:
                continue  # another convention (CS231n) has no such function: nothing to report
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
            continue
        if progress:
            progress(f"[{index}/{len(plan)}] {name}: {quantity}")
        result = check_quantity(
            backend,
            function,
            quantity,
            examples=examples,
            seed=seed,
            trusted_forwards=set(trusted),
            display_name=name,
            display_names=display,
            sweep=sweep,
        )
        backend.release()
        _diagnose(result, backend, function, quantity, trusted)
        results.append(result)
        if function in ("conv_forward", "pool_forward"):
            if all(r.passed for r in results if r.function == name):
                trusted.add(function)
            else:
                trusted.discard(function)
    return results


def _diagnose(result: CheckResult, backend: Backend, function: str, quantity: str, trusted: set[str]) -> None:
    """Attach a verified likely cause to a failure (see ``gradcheck.verdict.diagnosis``), and
    say which rounding bound decided a compared verdict (``result.bound``)."""
    from gradcheck.verdict.compare import NORMWISE, NORMWISE_NOTE

    if result.status in ("pass", "fail") and result.tolerance is not None:
        result.bound = NORMWISE if NORMWISE_NOTE in result.warnings else "element-wise"
    if result.status in ("pass", "missing"):
        return
    try:
        from gradcheck.verdict.diagnosis import diagnose
    except ImportError:  # the diagnosis module is optional
        return

    def evaluate(geometry: dict[str, Any], seed: int) -> CaseVerdict:
        return evaluate_case(backend, function, quantity, geometry, seed, trusted_forwards=set(trusted))

    try:
        result.diagnosis = diagnose(result, evaluate)
    except Exception as exc:  # noqa: BLE001 - a diagnosis never changes a verdict
        result.warnings.append(f"diagnosis failed: {type(exc).__name__}: {exc}")


__all__ = ["PLAN", "SPECS", "run_checks", "check_quantity", "evaluate_case", "step_sweep"]
