"""Screening the cases of a check, and shrinking the first failure.

:func:`screen` runs the representative case (per element, and for determinism) and the
drawn cases of one (function, quantity), in chunks of growing size through
``gradcheck.engine.driver`` (a bug is usually caught in the first, small chunk; a
correct implementation pays a few round trips per chunk). :func:`screen_jointly`
screens several quantities of one function with the same calls (a plan's joint screen: the
convolution notebook's conv_backward's dA_prev, dW and db share the forward and backward calls
and one random direction over all three inputs); a failing case is then screened per quantity
to say which is wrong, and the others go on together. A joint case measures the quantities together, not each:
the :class:`Tally` keeps its figure apart from each quantity's own. :func:`shrink` moves a
failure to a smallest failing case.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from gradcheck.boundary.backend import Backend
from gradcheck.engine.checks.case import FATAL, CaseVerdict, Steps
from gradcheck.engine.driver import CaseFactory, run_cases
from gradcheck.verdict.compare import NORMWISE

# Cases are screened in chunks of growing size: a bug is usually caught in the first
# chunk (few calls), a correct implementation pays few round trips in all.
CHUNKS = (16, 48, 128)
LAST_CHUNK = 256
MAX_SHRINK_ROUNDS = 64


class Spec(Protocol):
    """What the engine asks of the spec of one (function, quantity) (a plan's, such as
    ``gradcheck.plans.convolution.plan.Spec``): how its cases are drawn, shrunk and evaluated."""

    function: str
    quantity: str
    representative: Any  # the geometry always run first, per element
    oracle: str  # what the quantity is compared with, for messages
    evaluate: Callable[..., Steps[CaseVerdict]]  # (ctx, geometry, seed, *, first, full, sweep) -> a case

    @property
    def swept(self) -> bool:
        """Its gradients are screened along a random direction: the step can be swept."""

    @property
    def screened_twice(self) -> bool:
        """Its representative is also screened (both modes of checking run on it)."""

    def drawn(self, seed: int, count: int) -> list[tuple[Any, int]]:
        """``count`` (geometry, array seed) cases after the representative."""

    def shrink(self, geometry: Any, seed: int) -> list[tuple[Any, int]]:
        """The cases one step smaller than ``(geometry, seed)``, smallest first."""

    def geometry(self, fields: dict[str, Any]) -> Any:
        """Its geometry from a counterexample-like dict."""

    def notes(self, seed: int, convention: str = "article") -> list[str]:
        """How a case with this seed called the function, when not as most cases do."""


Found = tuple[Any, int, CaseVerdict]  # (geometry, array seed, verdict) of a case that did not pass


def factory(spec: Spec, geometry: Any, seed: int, **options: Any) -> CaseFactory:
    """A case of ``spec`` on ``geometry`` with arrays from ``seed`` (options: first, full, sweep)."""
    return lambda ctx: spec.evaluate(ctx, geometry, seed, **options)


def chunk_sizes(total: int) -> list[int]:
    sizes, left = [], total
    for size in (*CHUNKS, *([LAST_CHUNK] * (total // LAST_CHUNK + 1))):
        if left <= 0:
            break
        sizes.append(min(size, left))
        left -= sizes[-1]
    return sizes


class Tally:
    """What the screened cases of one quantity have shown so far.

    ``worst``: the passing comparison of this quantity's own checks closest to its tolerance
    (its figure). A case screened jointly with other quantities (one direction over all
    their inputs, :func:`screen_jointly`) measures them together, not this one: its
    comparison goes to ``joint_worst`` instead, and ``joint`` names the quantities and
    ``joint_cases`` counts those cases, so that reports can say so."""

    def __init__(self) -> None:
        self.cases = 0
        self.warnings: list[str] = []
        self.worst = None  # the passing comparison closest to its tolerance
        self.normwise = False  # some comparison needed the norm-wise bound of transform algorithms
        self.joint: tuple[str, ...] = ()  # the quantities screened together with this one (itself included)
        self.joint_cases = 0
        self.joint_worst = None

    def record(self, verdict: CaseVerdict, joint: tuple[str, ...] = (), count: bool = False) -> None:
        """Record a verdict; ``joint``: the quantities it screened together (more than one), and
        ``count``: whether it is one more case screened jointly."""
        for warning in verdict.warnings:
            if warning not in self.warnings:
                self.warnings.append(warning)
        comparison = verdict.comparison
        if comparison is not None and comparison.bound == NORMWISE:
            self.normwise = True
        if len(joint) > 1:
            self.joint = tuple(dict.fromkeys((*self.joint, *joint)))
            self.joint_cases += count
            if verdict.passed and comparison is not None and comparison.analytic.size:
                if self.joint_worst is None or comparison.max_ratio > self.joint_worst.max_ratio:
                    self.joint_worst = comparison
            return
        if verdict.passed and comparison is not None and comparison.analytic.size:
            if self.worst is None or comparison.max_ratio > self.worst.max_ratio:
                self.worst = comparison


def screen(
    backend: Backend, spec: Spec, examples: int, seed: int, trusted: set[str], tally: Tally
) -> tuple[Any, int, CaseVerdict] | None:
    """Screen the representative case (per element, determinism) and ``examples - 1`` drawn
    cases; return the first (geometry, seed, verdict) that does not pass, or None."""
    screened_twice = spec.screened_twice
    # the representative per element (and for determinism), and also screened where the
    # screen is another mode of checking (the backwards), then the drawn cases
    first = [factory(spec, spec.representative, seed, first=True, full=True)]
    if screened_twice:
        first.append(factory(spec, spec.representative, seed, first=False, full=False))
    queue = [(spec.representative, seed, case) for case in first]
    queue += [(geometry, case_seed, factory(spec, geometry, case_seed)) for geometry, case_seed in
              spec.drawn(seed, examples - 1)]
    start, explicit = 0, None
    for size in chunk_sizes(len(queue)):
        chunk = queue[start : start + size]
        verdicts = run_cases(backend, [case for _, _, case in chunk], trusted)
        backend.release()
        for number, ((geometry, case_seed, _), verdict) in enumerate(zip(chunk, verdicts, strict=False), start):
            representative = number < len(first)
            tally.cases += number != 1 or not screened_twice  # the representative counts once
            tally.record(verdict)
            if verdict.passed:
                continue
            if representative and verdict.status not in FATAL:
                # as hypothesis treats an explicit example: kept, and used only when no drawn
                # case fails (a drawn failure can be shrunk)
                explicit = explicit or (geometry, case_seed, verdict)
                continue
            return geometry, case_seed, verdict
        start += size
    return explicit


def shrink(
    backend: Backend, spec: Spec, geometry: Any, seed: int, verdict: CaseVerdict, trusted: set[str]
) -> tuple[Any, int, CaseVerdict]:
    """Move to smaller failing cases (screened) until no candidate of ``spec.shrink`` fails."""
    for _ in range(MAX_SHRINK_ROUNDS):
        candidates = spec.shrink(geometry, seed)
        if not candidates:
            break
        verdicts = run_cases(
            backend, [factory(spec, g, s) for g, s in candidates], trusted, stop_at_fatal=False
        )
        backend.release()
        failing = [
            (candidate, found)
            for candidate, found in zip(candidates, verdicts, strict=False)
            if not found.passed and found.status not in FATAL
        ]
        if not failing:
            break
        (geometry, seed), verdict = failing[0]
    return geometry, seed, verdict


def screen_jointly(
    backend: Backend,
    specs: list[Spec],
    joint_case: Any,
    examples: int,
    seed: int,
    trusted: set[str],
    tallies: dict[str, Tally],
) -> dict[str, Found | None]:
    """:func:`screen` for several quantities of one function with shared calls.

    Each quantity's representative case runs on its own (per element, determinism);
    the drawn cases run ``joint_case(ctx, geometry, seed, quantities)`` over the
    quantities not yet failed. A joint failure is screened per quantity: those that
    fail are found there, the others go on together from the next case.
    """
    by_quantity = {spec.quantity: spec for spec in specs}
    found: dict[str, Found | None] = dict.fromkeys(by_quantity)
    firsts = run_cases(
        backend,
        [factory(spec, spec.representative, seed, first=True, full=True) for spec in specs],
        trusted,
        stop_at_fatal=False,
    )
    backend.release()
    explicit: dict[str, Found | None] = dict.fromkeys(by_quantity)
    for spec, verdict in zip(specs, firsts, strict=True):
        tallies[spec.quantity].cases += 1
        tallies[spec.quantity].record(verdict)
        if verdict.status in FATAL:
            found[spec.quantity] = (spec.representative, seed, verdict)
        elif not verdict.passed:  # kept, used only when no drawn case fails (see screen)
            explicit[spec.quantity] = (spec.representative, seed, verdict)
    queue = [(specs[0].representative, seed), *specs[0].drawn(seed, examples - 1)]
    position, sizes, stopped = 0, iter(chunk_sizes(len(queue))), False
    while position < len(queue) and not stopped:
        active = tuple(quantity for quantity, failure in found.items() if failure is None)
        if not active:
            break
        size = next(sizes, LAST_CHUNK)
        chunk = queue[position : position + size]
        verdicts = run_cases(
            backend, [(lambda ctx, g=g, s=s, a=active: joint_case(ctx, g, s, a)) for g, s in chunk], trusted
        )
        backend.release()
        advanced = len(chunk)
        for index, ((geometry, case_seed), verdict) in enumerate(zip(chunk, verdicts, strict=False)):
            for quantity in active:
                counted = position + index > 0  # the representative is counted above
                tallies[quantity].cases += counted
                tallies[quantity].record(verdict, joint=active, count=counted)
            if verdict.passed:
                continue
            if verdict.status in FATAL:  # ends every quantity still screened
                for quantity in active:
                    found[quantity] = (geometry, case_seed, verdict)
                stopped = True
                break
            alone = run_cases(
                backend, [factory(by_quantity[q], geometry, case_seed) for q in active], trusted, stop_at_fatal=False
            )
            backend.release()
            for quantity, own_verdict in zip(active, alone, strict=True):  # each one's own figure
                tallies[quantity].record(own_verdict)
            culprits = [(q, v) for q, v in zip(active, alone, strict=True) if not v.passed]
            for quantity, own_verdict in culprits or [(q, verdict) for q in active]:
                found[quantity] = (geometry, case_seed, own_verdict)
            advanced = index + 1
            break
        position += advanced
    return {quantity: found[quantity] or explicit[quantity] for quantity in found}
