"""Run many cases at once: their calls of the implementation cross in one round trip.

A case is a generator (``gradcheck.engine.checks.case.Steps``): it yields a list of
:class:`~gradcheck.boundary.backend.Call` and receives their outcomes. :func:`run_cases`
advances every case of a batch in lockstep: round ``r`` gathers the ``r``-th request of
each case still running, in case order, and sends them to the backend as one batch.
The order is fixed, so a run is reproducible call for call.

A batch in which a call timed out, ran out of memory or crashed the worker says
nothing reliable about the other cases of that batch (their calls may not have run,
and kept caches die with the worker). :func:`run_cases` then runs every case of the
batch again on its own, in order, so the verdict names the case that did it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from gradcheck.boundary.backend import Backend, Call, Outcome
from gradcheck.contract import FATAL_STATUSES
from gradcheck.engine.checks.case import CaseProblem, CaseVerdict, Context, Steps

CaseFactory = Callable[[Context], Steps[CaseVerdict]]


def _finish(ctx: Context, verdict: CaseVerdict) -> CaseVerdict:
    verdict.forward_calls = max(verdict.forward_calls, ctx.forward_calls)
    return verdict


def _lockstep(
    backend: Backend, factories: Sequence[CaseFactory], trusted_forwards: set[str]
) -> list[CaseVerdict] | None:
    """Run the cases together; None when a fatal outcome makes the batch unreliable."""
    contexts = [Context(backend, trusted_forwards) for _ in factories]
    running = {index: factory(ctx) for index, (factory, ctx) in enumerate(zip(factories, contexts, strict=True))}
    replies: dict[int, list[Outcome] | None] = dict.fromkeys(running)
    verdicts: dict[int, CaseVerdict] = {}
    while running:
        requests: dict[int, list[Call]] = {}
        for index, steps in running.items():
            try:
                requests[index] = steps.send(replies[index])
            except StopIteration as stop:
                verdicts[index] = _finish(contexts[index], stop.value)
            except CaseProblem as problem:
                verdict = CaseVerdict(problem.status, problem.message, reproducible=problem.reproducible)
                verdicts[index] = _finish(contexts[index], verdict)
        running = {index: running[index] for index in requests}
        if not requests:
            break
        calls = [call for index in requests for call in requests[index]]
        outcomes = backend.call_batch(calls)
        if len(requests) > 1 and any(outcome.status in FATAL_STATUSES for outcome in outcomes):
            for steps in running.values():
                steps.close()
            return None
        position = 0
        for index, asked in requests.items():
            replies[index] = outcomes[position : position + len(asked)]
            position += len(asked)
    return [verdicts[index] for index in range(len(factories))]


def run_cases(
    backend: Backend,
    factories: Sequence[CaseFactory],
    trusted_forwards: set[str] | None = None,
    *,
    stop_at_fatal: bool = True,
) -> list[CaseVerdict]:
    """Verdicts of the cases ``factories`` build (each called with a fresh Context).

    After a timeout, memory or crash in a batch, the cases run one by one; with
    ``stop_at_fatal`` the list then ends at the first case with such a verdict.
    """
    trusted = set(trusted_forwards or ())
    together = _lockstep(backend, factories, trusted)
    if together is not None:
        return together
    verdicts: list[CaseVerdict] = []
    for factory in factories:
        (verdict,) = _lockstep(backend, [factory], trusted) or [CaseVerdict("crashed", "the worker failed")]
        verdicts.append(verdict)
        if stop_at_fatal and verdict.status in FATAL_STATUSES:
            break
    return verdicts


def run_case(backend: Backend, factory: CaseFactory, trusted_forwards: set[str] | None = None) -> CaseVerdict:
    """The verdict of one case."""
    return run_cases(backend, [factory], trusted_forwards)[0]
