"""Check the layers of a plan: screen generated cases, shrink a failure, explain the smallest.

For each layer of the plan the implementation defines, one screen judges all its quantities
(a backward's gradients share each call, ``gradcheck.specs.cases``):

1. the smallest case (every dimension at its lowest) per element and for determinism, then
   ``examples - 1`` cases with dimensions and values drawn from a Generator seeded by
   ``seed`` and the layer's position, in chunks of growing size (``gradcheck.engine.driver``:
   the calls of a chunk cross to the worker together, and the next chunk's are sent before
   this one is judged, so that the worker runs them meanwhile);
2. a quantity that fails leaves the screen; its case is shrunk (one dimension at a time
   lowered, the seed kept) to a smallest failing one, which is run twice more screened and
   once per element: a case that passes once of three is nondeterminism, not a wrong formula;
3. a timeout, memory exhaustion or crash ends every quantity of the layer at once.

No code here names a layer: what a layer is and how it is judged is its spec.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from gradcheck.boundary.backend import Backend
from gradcheck.engine.checks.case import FATAL, CaseVerdict
from gradcheck.engine.driver import Started, run_case, run_cases, start_cases
from gradcheck.engine.screening import chunk_sizes
from gradcheck.specs.cases import LayerVerdict, evaluate_case
from gradcheck.specs.draw import complete, draw_dims
from gradcheck.specs.spec import Dims, Layer, Plan
from gradcheck.verdict.results import CheckResult, Detail, case_text

Progress = Callable[[str], None]
MAX_SHRINK_ROUNDS = 32
Case = tuple[Dims, int]  # (dims, array seed)


def _factory(plan: Plan, layer: Layer, dims: Dims, seed: int, quantities: tuple[str, ...], **options: Any):
    return lambda ctx: evaluate_case(ctx, plan, layer, dims, seed, quantities, **options)


def _part(verdict: CaseVerdict, quantity: str) -> CaseVerdict:
    """The verdict on ``quantity`` (a CaseProblem of the whole call is every quantity's)."""
    if isinstance(verdict, LayerVerdict) and quantity in verdict.parts:
        return verdict.parts[quantity]
    return verdict


HEAVY_EVERY = 16  # every 16th drawn case has its dimensions in their extended ranges (draw.extended)


def drawn_cases(plan: Plan, layer: Layer, examples: int, seed: int) -> list[Case]:
    """The smallest case (seed ``seed``), then ``examples - 1`` drawn ones, every
    ``HEAVY_EVERY``-th of them heavy (dimensions up to about twice their usual largest)."""
    rng = np.random.default_rng([seed, plan.names.index(layer.name)])
    cases = [(draw_dims(layer, rng, smallest=True), seed)]
    for index in range(1, examples):
        heavy = index % HEAVY_EVERY == HEAVY_EVERY // 2
        cases.append((draw_dims(layer, rng, heavy=heavy), int(rng.integers(0, 2**62))))
    return cases


class _Tally:
    """What the screened cases of one quantity showed: its cases, warnings, its own passing
    comparison closest to its tolerance (``worst``), and those of the cases screened jointly
    with the layer's other gradients (``joint_cases``, ``joint_worst``): a figure of them
    together, not of this one."""

    def __init__(self) -> None:
        self.cases = 0
        self.warnings: list[str] = []
        self.worst = None
        self.joint: tuple[str, ...] = ()
        self.joint_cases = 0
        self.joint_worst = None

    def record_joint(self, verdict: CaseVerdict, quantities: tuple[str, ...]) -> None:
        joint = getattr(verdict, "joint", None)
        if joint is None:
            return
        self.joint = tuple(dict.fromkeys((*self.joint, *quantities)))
        self.joint_cases += 1
        if joint.passed and (self.joint_worst is None or joint.max_ratio > self.joint_worst.max_ratio):
            self.joint_worst = joint

    def record(self, verdict: CaseVerdict) -> None:
        for warning in verdict.warnings:
            if warning not in self.warnings:
                self.warnings.append(warning)
        comparison = verdict.comparison
        if verdict.passed and comparison is not None and comparison.analytic.size:
            if self.worst is None or comparison.max_ratio > self.worst.max_ratio:
                self.worst = comparison


def screen_layer(backend: Backend, plan: Plan, layer: Layer, quantities: tuple[str, ...], examples: int,
                 seed: int) -> tuple[dict[str, tuple[Dims, int, CaseVerdict] | None], dict[str, _Tally]]:
    """The first failing (dims, seed, verdict) of each quantity (None: all passed), and tallies.

    The chunks overlap: once a chunk's calls have returned, the next chunk's are sent (with the
    quantities still screened then) before this chunk's are judged, so that the worker runs them
    while the checker judges; a quantity that fails in this chunk ignores the next one's verdicts.
    No chunk is sent ahead after a timeout, crash or memory outcome."""
    tallies = {quantity: _Tally() for quantity in quantities}
    found: dict[str, tuple[Dims, int, CaseVerdict] | None] = dict.fromkeys(quantities)
    queue = drawn_cases(plan, layer, examples, seed)
    starts = [0]
    for size in chunk_sizes(len(queue)):
        starts.append(starts[-1] + size)

    def launch(number: int, active: tuple[str, ...]) -> Started:
        chunk = queue[starts[number] : starts[number + 1]]
        return start_cases(backend, [
            _factory(plan, layer, dims, case_seed, active, first=starts[number] + i == 0,
                     full=starts[number] + i == 0) for i, (dims, case_seed) in enumerate(chunk)])

    ahead: list[Started] = []
    for number in range(len(starts) - 1):
        active = tuple(quantity for quantity in quantities if found[quantity] is None)
        if not active:
            break
        started = ahead.pop() if ahead else launch(number, active)

        def send_next(outcomes, following=number + 1, active=active):
            if following < len(starts) - 1 and not any(outcome.status in FATAL for outcome in outcomes):
                ahead.append(launch(following, active))

        verdicts = started.finish(send_next)
        chunk = queue[starts[number] : starts[number + 1]]
        for (dims, case_seed), verdict in zip(chunk, verdicts, strict=False):
            for quantity in active:
                if found[quantity] is not None:
                    continue
                part = _part(verdict, quantity)
                tallies[quantity].cases += 1
                tallies[quantity].record(part)
                tallies[quantity].record_joint(verdict, active)
                if not part.passed:
                    found[quantity] = (dims, case_seed, part)
            if verdict.status in FATAL:  # the worker died: nothing more of this layer is asked
                for quantity in active:
                    found[quantity] = found[quantity] or (dims, case_seed, verdict)
                break
    backend.release()
    return found, tallies


def _smaller(layer: Layer, dims: Dims) -> list[Dims]:
    """Cases with one drawn dimension lowered (to its lowest first, then by one)."""
    candidates = []
    for name, (low, _) in layer.dims.items():
        for value in dict.fromkeys((low, dims[name] - 1)):
            if low <= value < dims[name]:
                drawn = {key: dims[key] for key in layer.dims} | {name: value}
                candidates.append(complete(layer, drawn))
    return candidates


def shrink(backend: Backend, plan: Plan, layer: Layer, quantity: str, dims: Dims, seed: int,
           verdict: CaseVerdict) -> tuple[Dims, CaseVerdict]:
    """A smallest failing case of ``quantity`` from (dims, seed): dimensions lowered one at a time."""
    for _ in range(MAX_SHRINK_ROUNDS):
        candidates = _smaller(layer, dims)
        if not candidates:
            break
        verdicts = run_cases(backend, [_factory(plan, layer, c, seed, (quantity,)) for c in candidates],
                             stop_at_fatal=False)
        backend.release()
        failing = [(c, _part(v, quantity)) for c, v in zip(candidates, verdicts, strict=False)
                   if not _part(v, quantity).passed and v.status not in FATAL]
        if not failing:
            break
        dims, verdict = failing[0]
    return dims, verdict


def _oracle(plan: Plan, layer: Layer, quantity: str) -> str:
    if layer.judged:
        return layer.judged
    if layer.kind == "backward":
        return f"central differences of the reference {layer.forward} (Richardson extrapolation)"
    if layer.kind == "loss" and quantity != layer.returns[0]:
        return f"central differences of the reference {layer.name}'s {layer.returns[0]} (Richardson extrapolation)"
    return f"the reference {layer.name}"


def _counterexample(dims: Dims, seed: int) -> dict[str, Any]:
    return {**{key: int(value) for key, value in dims.items()}, "seed": int(seed)}


def _failure(plan: Plan, layer: Layer, quantity: str, dims: Dims, seed: int, verdict: CaseVerdict,
             tally: _Tally) -> CheckResult:
    counterexample = _counterexample(dims, seed)
    result = CheckResult(layer.name, quantity, "fail" if verdict.passed else verdict.status, cases=tally.cases,
                         counterexample=counterexample, warnings=list(tally.warnings))
    where = case_text(counterexample)
    comparison = verdict.comparison
    if comparison is None:
        result.message = f"{layer.name}: {quantity} fails on the smallest failing case ({where}):\n{verdict.message}"
        return result
    result.max_error, result.tolerance = comparison.max_error, comparison.worst_tolerance
    if comparison.analytic.ndim:
        result.worst_index = [int(i) for i in comparison.worst]
        result.detail = Detail(comparison.analytic, comparison.expected, comparison.tolerance, inputs=verdict.inputs)
    how = ("measured truncation and rounding of the differences" if "differences" in _oracle(plan, layer, quantity)
           else "rounding-error analysis")
    result.message = (
        f"{layer.name}: {quantity} does not match {_oracle(plan, layer, quantity)}\n"
        f"  tolerance per element from the {how} (at the worst element {comparison.worst_tolerance:.3g})\n"
        f"  smallest failing case: {where}\n{verdict.message}"
    )
    return result


def check_layer(backend: Backend, plan: Plan, layer: Layer, *, examples: int, seed: int) -> list[CheckResult]:
    """The verdicts on every quantity of ``layer`` (see the module docstring)."""
    quantities = layer.checked
    found, tallies = screen_layer(backend, plan, layer, quantities, examples, seed)
    results = []
    for quantity in quantities:
        tally, failure = tallies[quantity], found[quantity]
        if failure is None:
            result = CheckResult(layer.name, quantity, "pass", cases=tally.cases, warnings=list(tally.warnings),
                                 message=f"{layer.name}: {quantity} matches {_oracle(plan, layer, quantity)} on "
                                 f"{tally.cases} generated cases")
            if tally.worst is not None:
                result.max_error, result.tolerance = tally.worst.max_error, tally.worst.worst_tolerance
            results.append(_with_joint(result, tally))
            continue
        dims, case_seed, verdict = failure
        if verdict.status in FATAL or not verdict.reproducible:
            results.append(CheckResult(layer.name, quantity, verdict.status, cases=tally.cases,
                                       counterexample=_counterexample(dims, case_seed),
                                       message=f"{layer.name}: {verdict.message}", warnings=list(tally.warnings)))
            continue
        dims, verdict = shrink(backend, plan, layer, quantity, dims, case_seed, verdict)
        again = run_cases(backend, [_factory(plan, layer, dims, case_seed, (quantity,)) for _ in range(2)]
                          + [_factory(plan, layer, dims, case_seed, (quantity,), full=True)], stop_at_fatal=False)
        backend.release()
        parts = [_part(v, quantity) for v in again]
        if any(part.passed for part in parts[:2]):
            results.append(CheckResult(
                layer.name, quantity, "fail", cases=tally.cases, counterexample=_counterexample(dims, case_seed),
                warnings=list(tally.warnings),
                message=f"{layer.name}: {quantity} passed and failed on the same inputs: the results are not "
                "reproducible (nondeterministic code?)"))
            continue
        explained = parts[2] if not parts[2].passed and parts[2].comparison is not None else verdict
        result = _failure(plan, layer, quantity, dims, case_seed, explained, tally)
        result.diagnosis = _cause(backend, plan, layer, quantity, (dims, explained), seed)
        results.append(_with_joint(result, tally))
    return results


CAUSE_CASES = 2  # larger failing cases, per element, besides the smallest, before a factor is named
CAUSE_DRAWS = 6  # drawn cases they are looked for in


def _cause(backend: Backend, plan: Plan, layer: Layer, quantity: str, smallest: tuple[Dims, CaseVerdict],
           seed: int) -> dict[str, Any] | None:
    """A measured cause of a gradient's failure (``gradcheck.specs.causes``), or None. Never
    changes the verdict: a failure to measure one is no cause."""
    from gradcheck.specs.causes import constant_factor

    if layer.kind == "forward" or quantity == (layer.returns[0] if layer.kind == "loss" else None):
        return None
    dims, verdict = smallest
    if verdict.comparison is None or not verdict.comparison.analytic.ndim:
        return None
    rng = np.random.default_rng([seed, plan.names.index(layer.name), 7])
    others = [(draw_dims(layer, rng), int(rng.integers(0, 2**62))) for _ in range(CAUSE_DRAWS)]
    verdicts = run_cases(backend, [_factory(plan, layer, d, s, (quantity,), full=True) for d, s in others],
                         stop_at_fatal=False)
    backend.release()
    cases = [(dims, verdict.comparison)]
    for (other, _), found in zip(others, verdicts, strict=True):
        part = _part(found, quantity)
        if part.passed:  # a case where the mistake does not show (N = 1 for a missing 1/N)
            continue
        if part.comparison is None or not part.comparison.analytic.ndim:
            return None  # it fails another way there: no constant factor to name
        cases.append((other, part.comparison))
    return constant_factor(quantity, cases[: 1 + CAUSE_CASES]) if len(cases) > CAUSE_CASES else None


def _with_joint(result: CheckResult, tally: _Tally) -> CheckResult:
    """The cases this quantity shared with the layer's other gradients, and their figure together."""
    if tally.joint_cases:
        worst = tally.joint_worst
        result.joint_screen = {"quantities": list(tally.joint), "cases": int(tally.joint_cases),
                               "max_error": None if worst is None else worst.max_error,
                               "tolerance": None if worst is None else worst.worst_tolerance}
    return result


def evaluate(backend: Backend, plan: Plan, function: str, quantity: str, counterexample: dict[str, Any], *,
             full: bool = True) -> CaseVerdict:
    """One case of ``function``'s ``quantity`` on a counterexample's dims and seed (per element
    when ``full``): what a diagnosis or a report re-runs."""
    layer = plan.layer(function)
    dims = complete(layer, {key: int(value) for key, value in counterexample.items() if key in layer.dims})
    verdict = run_case(backend, _factory(plan, layer, dims, int(counterexample.get("seed", 0)), (quantity,),
                                         full=full))
    return _part(verdict, quantity)


def run_plan(backend: Backend, plan: Plan, *, examples: int, seed: int, only: tuple[str, ...] | None = None,
             progress: Progress | None = None) -> list[CheckResult]:
    """Check every layer of ``plan`` that ``only`` names (None: all): a layer the implementation
    does not define is ``missing``."""
    present = backend.functions()
    layers = [layer for layer in plan.layers if only is None or layer.name in only]
    results: list[CheckResult] = []
    for index, layer in enumerate(layers, start=1):
        if layer.name not in present:
            results.append(CheckResult(layer.name, "*", "missing", message=f"{layer.name} is not defined"))
            continue
        if progress:
            progress(f"[{index}/{len(layers)}] {layer.name}: {', '.join(layer.checked)}")
        results += check_layer(backend, plan, layer, examples=examples, seed=seed)
        backend.release()
    return results
