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
Received = Callable[[list[Outcome]], None]


def _finish(ctx: Context, verdict: CaseVerdict) -> CaseVerdict:
    verdict.forward_calls = max(verdict.forward_calls, ctx.forward_calls)
    return verdict


class _Lockstep:
    """Cases run together (see the module docstring): :meth:`start` sends their first round,
    :meth:`finish` runs them to the end."""

    def __init__(self, backend: Backend, factories: Sequence[CaseFactory], trusted_forwards: set[str]):
        self.backend = backend
        self.count = len(factories)
        self.contexts = [Context(backend, trusted_forwards) for _ in factories]
        self.running = {index: factory(ctx) for index, (factory, ctx) in enumerate(zip(factories, self.contexts,
                                                                                          strict=True))}
        self.replies: dict[int, list[Outcome] | None] = dict.fromkeys(self.running)
        self.verdicts: dict[int, CaseVerdict] = {}
        self.requests: dict[int, list[Call]] = {}
        self.sent: object = None

    def _advance(self) -> None:
        """Each running case up to its next request (or its verdict); that round's batch sent."""
        requests: dict[int, list[Call]] = {}
        for index, steps in self.running.items():
            try:
                requests[index] = steps.send(self.replies[index])
            except StopIteration as stop:
                self.verdicts[index] = _finish(self.contexts[index], stop.value)
            except CaseProblem as problem:
                verdict = CaseVerdict(problem.status, problem.message, reproducible=problem.reproducible)
                self.verdicts[index] = _finish(self.contexts[index], verdict)
        self.running = {index: self.running[index] for index in requests}
        self.requests = requests
        calls = [call for index in requests for call in requests[index]]
        self.sent = self.backend.send_batch(calls) if requests else None

    def start(self) -> _Lockstep:
        self._advance()
        return self

    def finish(self, received: Received | None = None) -> list[CaseVerdict] | None:
        """The verdicts; None when a fatal outcome makes the batch unreliable. ``received`` is
        called once, with the first round's outcomes when they are in (before the cases use them)."""
        while self.requests:
            outcomes = self.backend.receive(self.sent)
            if received is not None:
                received(outcomes)
                received = None
            if len(self.requests) > 1 and any(outcome.status in FATAL_STATUSES for outcome in outcomes):
                for steps in self.running.values():
                    steps.close()
                return None
            position = 0
            for index, asked in self.requests.items():
                self.replies[index] = outcomes[position : position + len(asked)]
                position += len(asked)
            self._advance()
        if received is not None:
            received([])
        return [self.verdicts[index] for index in range(self.count)]


def _lockstep(
    backend: Backend, factories: Sequence[CaseFactory], trusted_forwards: set[str]
) -> list[CaseVerdict] | None:
    """Run the cases together; None when a fatal outcome makes the batch unreliable."""
    return _Lockstep(backend, factories, trusted_forwards).start().finish()


class Started:
    """Cases whose first round was sent (:func:`start_cases`): :meth:`finish` gives their verdicts."""

    def __init__(self, backend: Backend, factories: Sequence[CaseFactory], trusted: set[str], stop_at_fatal: bool):
        self.backend, self.factories, self.trusted, self.stop_at_fatal = backend, factories, trusted, stop_at_fatal
        self.together = _Lockstep(backend, factories, trusted).start()

    def finish(self, received: Received | None = None) -> list[CaseVerdict]:
        """The verdicts, as :func:`run_cases` gives them; ``received`` is called once, with the
        first round's outcomes when they are in (to send more work before these cases use them)."""
        together = self.together.finish(received)
        if together is not None:
            return together
        verdicts: list[CaseVerdict] = []
        for factory in self.factories:
            (verdict,) = _lockstep(self.backend, [factory], self.trusted) or [CaseVerdict("crashed",
                                                                                          "the worker failed")]
            verdicts.append(verdict)
            if self.stop_at_fatal and verdict.status in FATAL_STATUSES:
                break
        return verdicts


def start_cases(
    backend: Backend,
    factories: Sequence[CaseFactory],
    trusted_forwards: set[str] | None = None,
    *,
    stop_at_fatal: bool = True,
) -> Started:
    """:func:`run_cases`, started: the first round of calls is sent (a worker runs it while the
    checker goes on); ``.finish()`` gives the verdicts."""
    return Started(backend, factories, set(trusted_forwards or ()), stop_at_fatal)


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
    return start_cases(backend, factories, trusted_forwards, stop_at_fatal=stop_at_fatal).finish()


def run_case(backend: Backend, factory: CaseFactory, trusted_forwards: set[str] | None = None) -> CaseVerdict:
    """The verdict of one case."""
    return run_cases(backend, [factory], trusted_forwards)[0]
