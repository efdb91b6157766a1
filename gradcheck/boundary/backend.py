"""How the checker calls an implementation: the backend interface and the in-process backend.

The engine never calls submitted code directly. It asks a :class:`Backend` to
call a contract function by name with wire-value arguments (``gradcheck.boundary.values``)
and gets an :class:`Outcome` back: the return value converted to wire values, the
arguments as they were after the call (to detect modified inputs), captured
output, and a status. Outputs the engine names in ``keep`` (a layer's cache) stay
on the implementation's side as a :class:`~gradcheck.boundary.values.CacheRef`; a later call
may pass that ref as an argument.

``InProcessBackend`` runs trusted code in this process (``--in-process``);
``gradcheck.boundary.isolated.WorkerBackend`` runs it in a limited worker process. Both
share ``run_call`` so that they give the same verdicts.
"""

from __future__ import annotations

import contextlib
import copy
import io
import os
import signal
import threading
import traceback
import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import numpy as np

from gradcheck.boundary.values import CacheRef, FortranOrder, StridedView, strided_view, to_wire
from gradcheck.contract import FATAL_STATUSES
from gradcheck.contract import CallStatus as Status
from gradcheck.plans.convolution import CONTRACT_FUNCTIONS

OUTPUT_LIMIT = 4000  # characters of captured stdout/stderr kept per call
KEEP_RESULT = -1  # a ``keep`` index: the whole returned value stays on the implementation's side
# The name of a call that runs no submitted code: with the arguments ``(EARLIER, n)``, it returns
# ``(CacheRef, current value)`` of every object the call ``n`` places before it in the same batch
# kept: to see whether a later call changed an earlier result, in the round trip of the calls.
READ_KEPT = "<kept>"
EARLIER = "earlier"


@dataclass
class Outcome:
    """The result of one call of a submitted function."""

    status: Status
    value: Any = None
    message: str = ""
    args_after: tuple | None = None
    kept: dict[int, Any] = field(default_factory=dict)  # output index -> wire snapshot of the kept object
    output: str = ""
    skipped: bool = False  # not run: an earlier call of its batch ended it

    @property
    def ok(self) -> bool:
        return self.status == "ok"


@dataclass(frozen=True)
class Call:
    """One call of a batch: ``name(*args)``; outputs at ``keep`` stay on the implementation's
    side as CacheRefs (:data:`KEEP_RESULT`: the whole returned value); with ``select`` only
    that output of a tuple is returned; the arguments after the call, and a snapshot of each
    kept output (``Outcome.kept``), are sent back only with ``collect_args``. A call named
    :data:`READ_KEPT` runs no submitted code: it returns what an earlier call of the batch kept.
    ``take``: ``(position, back)`` pairs: the argument at ``position`` is the object the call
    ``back`` calls earlier in the same batch kept (its first kept output), so that a backward
    crosses in the same round trip as the forward whose cache it takes; when that call kept
    nothing (it failed), this one is not run and ends ``error``. ``refill``: ``n > 0`` writes
    this call's array arguments, in place, into the array arguments of the call ``n`` places
    earlier in the batch (same position, shape and dtype, writeable; any other argument is passed
    as it is) and calls with those objects: the same arrays with new values, as a training loop's
    ``W -= lr * dW`` hands them to a layer (a backend that does not keep a batch's arguments
    passes them as they are)."""

    name: str
    args: tuple
    keep: tuple[int, ...] = ()
    select: int | None = None
    collect_args: bool = True
    variant: int | None = None  # the fix search's variant of the submission to call (None: the submission)
    take: tuple[tuple[int, int], ...] = ()
    refill: int = 0


class Backend(ABC):
    """Calls contract functions of one implementation.

    ``pool_modes``: the pooling modes the implementation supports (CS231n: max only).
    ``display_names``: contract name -> name to report (``conv_forward`` -> ``conv_forward_naive``).
    """

    label: str = "implementation"
    plan: Any = None  # the assignment whose layers are checked besides the contract's (gradcheck.plans)
    convention: str = "article"  # whose contract its cases are drawn from (gradcheck.conventions)
    pool_modes: tuple[str, ...] = ("max", "average")
    display_names: dict[str, str] = {}  # noqa: RUF012 - never mutated, replaced per instance

    @abstractmethod
    def functions(self) -> frozenset[str]:
        """The contract function names the implementation defines."""

    @abstractmethod
    def call(self, name: str, args: tuple, *, keep: Sequence[int] = ()) -> Outcome:
        """Call ``name(*args)``; outputs at indices ``keep`` stay remote as CacheRef."""

    def call_many(self, name: str, arg_list: Sequence[tuple], *, select: int | None = None) -> list[Outcome]:
        """Call ``name`` once per argument tuple (one round trip in a worker).

        With ``select``, only output ``select`` of a tuple-returning function is
        returned, and ``args_after`` is not collected (finite differences).
        """
        return self.call_batch([Call(name, args, select=select, collect_args=False) for args in arg_list])

    def call_batch(self, calls: Sequence[Call]) -> list[Outcome]:
        """Run ``calls`` in order (one round trip in a worker); after a timeout, memory or
        crash outcome the rest is not run and gets the same status (see :func:`run_batch`)."""
        made: list[list[CacheRef]] = []  # per call so far, the CacheRefs it kept (for ``Call.take``)

        def run(call: Call) -> Outcome:
            args, missing = taken(call, lambda back: made[-back][0] if back <= len(made) and made[-back] else None)
            if missing:
                made.append([])
                return missing
            outcome = self.call(call.name, args, keep=call.keep)
            value = outcome.value if outcome.ok else None
            items = value if isinstance(value, tuple | list) else (value,)
            made.append([item for item in items if isinstance(item, CacheRef)])
            return select_output(outcome, call)

        return run_batch(run, calls)

    def send_batch(self, calls: Sequence[Call]) -> Any:
        """Start ``calls`` (:meth:`call_batch`); :meth:`receive` of what this returns gives their
        outcomes. A worker runs them while the checker goes on; here they run at once."""
        return self.call_batch(calls)

    def receive(self, sent: Any) -> list[Outcome]:
        """The outcomes of a :meth:`send_batch`."""
        return sent

    def release(self) -> None:  # noqa: B027 - a default no-op, not abstract
        """Drop kept objects (caches)."""

    def with_reference(self, names: tuple[str, ...]) -> contextlib.AbstractContextManager[Backend | None]:
        """A backend whose implementation calls ``reference.<name>`` for ``names`` when its own
        functions look them up (root causes across functions); None when not supported."""
        return contextlib.nullcontext(None)

    def close(self) -> None:  # noqa: B027 - a default no-op, not abstract
        """Free resources (the worker process)."""

    def __enter__(self) -> Backend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def run_batch(run: Callable[[Call], Outcome], calls: Sequence[Call]) -> list[Outcome]:
    """Run a batch of calls; after a timeout, memory or crash outcome the rest is not run
    (same status, ``skipped``). Calls of variants (``Call.variant``, the fix search) are
    independent of each other: a fatal outcome skips only the later calls of the same variant."""
    outcomes: list[Outcome] = []
    ended: dict[int | None, Outcome] = {}  # variant -> the fatal outcome that ended it
    for call in calls:
        key = getattr(call, "variant", None)
        first = ended.get(key)
        if first is not None:
            outcomes.append(Outcome(first.status, message=f"not run: an earlier call of {call.name} in the same "
                                    f"batch ended with {first.status} ({(first.message.splitlines() or [''])[0]})",
                                    skipped=True))
            continue
        outcome = run(call)
        outcomes.append(outcome)
        if outcome.status in FATAL_STATUSES:
            ended[key] = outcome
    return outcomes


def taken(call: Call, pick: Callable[[int], Any]) -> tuple[tuple, Outcome | None]:
    """``call.args`` with each ``call.take`` argument replaced by ``pick(back)``, the first object
    kept by the call ``back`` calls earlier in the batch (None: there is no such call, or it kept
    nothing); an ``error`` outcome when one is None."""
    if not call.take:
        return call.args, None
    args = list(call.args)
    for position, back in call.take:
        found = pick(back) if type(back) is int and back > 0 else None
        if found is None or not (type(position) is int and 0 <= position < len(args)):
            return call.args, Outcome("error", message=f"{call.name} was not run: the earlier call whose result "
                                      "it takes kept nothing (it failed)")
        args[position] = found
    return tuple(args), None


def select_output(outcome: Outcome, call: Call) -> Outcome:
    """``outcome`` as ``call`` asks for it: only output ``call.select`` of a returned tuple
    (a wrong return structure is left for the engine to report), and the arguments after
    the call only with ``call.collect_args``."""
    if outcome.ok and call.select is not None:
        if isinstance(outcome.value, tuple | list) and len(outcome.value) > call.select:
            outcome.value = outcome.value[call.select]
    if not call.collect_args:
        outcome.args_after = None
    return outcome


MESSAGE_CHARS = 4000  # of a submission's exception message kept (the reports show less)


def trimmed_traceback(exc: BaseException, keep_file: Callable[[str], bool]) -> str:
    """``Type: message`` and the stack frames for which ``keep_file(filename)`` is true."""
    frames = [frame for frame in traceback.extract_tb(exc.__traceback__) if keep_file(frame.filename)]
    try:
        text = str(exc)
    except BaseException:  # noqa: BLE001 - a submission's exception may fail to print
        text = "(its message could not be shown: its __str__ raised)"
    if len(text) > MESSAGE_CHARS:  # cut where it is made: a 20 MB message per call cost minutes downstream
        text = text[:MESSAGE_CHARS] + f" ... ({len(text) - MESSAGE_CHARS} more characters)"
    lines = [f"{type(exc).__name__}: {text}"]
    if frames:
        lines.append("Traceback (submission frames only):")
        lines.extend(line.rstrip("\n") for line in traceback.format_list(frames[-6:]))
    return printable("\n".join(lines))


def printable(text: str) -> str:
    """``text`` with lone surrogates (undecodable bytes a submission printed) escaped, so
    that every writer and terminal can encode it."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


_OWN_DIRS = (os.path.dirname(os.path.dirname(os.path.abspath(__file__))),)  # the gradcheck package


def _is_submission_frame(filename: str) -> bool:
    path = os.path.abspath(filename)
    return not path.startswith(_OWN_DIRS) and "site-packages" not in path and "<frozen" not in filename


class _Timeout(BaseException):
    """Raised by the alarm; a BaseException so that `except Exception` in submitted code cannot swallow it."""


@contextlib.contextmanager
def _alarm(seconds: float | None):
    """SIGALRM-based timeout, only in the main thread of a POSIX process."""
    usable = (
        seconds is not None
        and hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
    )
    if not usable:
        yield
        return

    def on_alarm(signum, frame):
        raise _Timeout()

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class CallRunner:
    """Runs calls against a namespace of functions and converts results to wire values.

    Used by the in-process backend and inside the worker process.
    """

    def __init__(self, namespace: dict[str, Any], timeout: float | None = None, reraise_interrupt: bool = False):
        self.namespace = namespace
        self.timeout = timeout
        # In process, Ctrl-C is the user's: stop the run. In the worker (its own session,
        # out of reach of the terminal) a KeyboardInterrupt can only come from the submission.
        self.reraise_interrupt = reraise_interrupt
        self.kept: dict[int, Any] = {}
        self._next_key = 0
        self._batch_keys: list[tuple[int, ...]] | None = None  # in a batch: per call so far, the keys it kept
        self._batch_args: list[tuple] | None = None  # in a batch: per call so far, the arguments it was given
        # the fix search's variants of the submission (key -> namespace, or why it did not load)
        self.variants: dict[int, dict[str, Any] | str] = {}

    def functions(self) -> frozenset[str]:
        """The names of the namespace (the contract's and a plan's) bound to something callable."""
        return frozenset(name for name, value in self.namespace.items() if callable(value))

    def _resolve(self, value: Any) -> Any:
        if isinstance(value, CacheRef):
            return self.kept[value.key]
        if isinstance(value, FortranOrder):
            return value.array.copy(order="F")
        if isinstance(value, StridedView):
            return strided_view(value.array)
        return copy.deepcopy(value)

    def _refilled(self, call_args: tuple, back: int) -> tuple:
        """``call_args`` with each array written into the array at the same position of the call
        ``back`` places earlier in this batch, when both are arrays of one shape and dtype and the
        earlier one is writeable (see ``Call.refill``)."""
        if back <= 0 or self._batch_args is None or back >= len(self._batch_args):
            return call_args
        earlier = self._batch_args[-1 - back]
        out = list(call_args)
        for position, value in enumerate(call_args):
            old = earlier[position] if position < len(earlier) else None
            if isinstance(value, np.ndarray) and type(old) is np.ndarray and old.shape == value.shape \
                    and old.dtype == value.dtype and old.flags.writeable:
                np.copyto(old, value)
                out[position] = old
        return tuple(out)

    def _read_kept(self, args: tuple) -> Outcome:
        """:data:`READ_KEPT` ``(EARLIER, n)``: ``(CacheRef, current value)`` of every object the
        call ``n`` places back in this batch kept."""
        if len(args) != 2 or args[0] != EARLIER or type(args[1]) is not int:
            return Outcome("error", message=f"{READ_KEPT} takes ({EARLIER!r}, n)")
        back = args[1]
        if self._batch_keys is None or not 0 < back <= len(self._batch_keys):
            return Outcome("error", message="no such earlier call in this batch")
        keys = [key for key in self._batch_keys[-back] if key in self.kept]
        return Outcome("ok", value=tuple((CacheRef(key), to_wire(self.kept[key])) for key in keys))

    def run(self, name: str, args: tuple, keep: Sequence[int] = (), collect_args: bool = True,
            variant: int | None = None, timeout: float | None = None, refill: int = 0) -> Outcome:
        """Call ``name(*args)`` of the submission, or of its variant ``variant``; ``timeout``: a
        shorter limit than the runner's for this call (the fix search's screen)."""
        first_key = self._next_key
        try:
            if name == READ_KEPT:
                return self._read_kept(args)
            return self._run(name, args, keep, collect_args, variant, timeout, refill)
        finally:  # the keys this call kept, for a READ_KEPT later in the batch
            if self._batch_keys is not None:
                self._batch_keys.append(tuple(range(first_key, self._next_key)))

    def _run(self, name: str, args: tuple, keep: Sequence[int], collect_args: bool, variant: int | None,
             timeout: float | None, refill: int = 0) -> Outcome:
        namespace = self.namespace if variant is None else self.variants.get(variant)
        if not isinstance(namespace, dict):
            why = "was not loaded" if namespace is None else f"did not load: {namespace}"
            return Outcome("error", message=f"variant {variant} of the submission {why}")
        function = namespace.get(name)
        limit = self.timeout if timeout is None or (self.timeout is not None and self.timeout < timeout) else timeout
        if not callable(function):
            what = "is not defined" if function is None else f"is a {type(function).__name__}, not a function"
            return Outcome("missing", message=f"{name} {what}")
        call_args = self._refilled(tuple(self._resolve(arg) for arg in args), refill)
        if self._batch_args is not None:
            self._batch_args[-1] = call_args
        captured = CappedText()
        try:
            with (
                _alarm(limit),
                contextlib.redirect_stdout(captured),
                contextlib.redirect_stderr(captured),
                warnings.catch_warnings(record=True) as caught,
            ):
                # warnings are the submission's output, never errors (whatever the caller's filters)
                warnings.simplefilter("always")
                result = function(*call_args)
            for warning in caught[:5]:
                captured.write(f"{warning.category.__name__}: {warning.message}\n")
        except _Timeout:
            return Outcome("timeout", message=f"{name} did not return within {limit:g} s",
                           output=captured.getvalue())
        except MemoryError:
            return Outcome("memory", message=f"{name} ran out of memory (MemoryError)",
                           output=captured.getvalue())
        except KeyboardInterrupt:
            if self.reraise_interrupt:
                raise
            return Outcome("crashed", message=f"{name} raised KeyboardInterrupt", output=captured.getvalue())
        except SystemExit as exc:
            return Outcome("crashed", message=printable(f"{name} tried to exit the process (SystemExit: {exc})"),
                           output=captured.getvalue())
        except BaseException as exc:  # noqa: BLE001 - any exception of submitted code is a verdict
            return Outcome("error", message=trimmed_traceback(exc, _is_submission_frame),
                           output=captured.getvalue())
        kept_snapshots: dict[int, Any] = {}
        if KEEP_RESULT in keep:
            key = self._next_key
            self._next_key += 1
            self.kept[key] = result
            if collect_args:
                kept_snapshots[KEEP_RESULT] = to_wire(result)
            result = CacheRef(key)
        elif keep and isinstance(result, tuple | list):
            returned_list = type(result) is list  # said as it was returned in messages
            result = list(result)
            for index in keep:
                if index < len(result):
                    key = self._next_key
                    self._next_key += 1
                    self.kept[key] = result[index]
                    if collect_args:  # what the checker compares with the arguments after a later call
                        kept_snapshots[index] = to_wire(result[index])
                    result[index] = CacheRef(key)
            result = result if returned_list else tuple(result)
        args_after = None
        if collect_args:
            args_after = tuple(
                to_wire(self.kept[arg.key]) if isinstance(arg, CacheRef) else to_wire(call_arg)
                for arg, call_arg in zip(args, call_args, strict=True)
            )
        return Outcome("ok", value=to_wire(result), args_after=args_after, kept=kept_snapshots,
                       output=captured.getvalue())

    def run_batch(self, calls: Sequence[Call], timeout: float | None = None) -> list[Outcome]:
        """:func:`run_batch` of ``calls`` against the namespace (a call with ``variant`` against
        that variant's); ``timeout``: a shorter limit per call than the runner's."""
        self._batch_keys = []

        def earlier(back: int) -> CacheRef | None:
            keys = self._batch_keys or ()
            found = [key for key in keys[-back] if key in self.kept] if back <= len(keys) else []
            return CacheRef(found[0]) if found else None

        def run(call: Call) -> Outcome:
            self._batch_args.append(())  # what the call is given (a refill later in the batch writes into it)
            args, missing = taken(call, earlier)
            if missing:
                if self._batch_keys is not None:
                    self._batch_keys.append(())
                return missing
            return select_output(self.run(call.name, args, call.keep, call.collect_args, call.variant, timeout,
                                          call.refill), call)

        self._batch_args = []
        try:
            return run_batch(run, calls)
        finally:
            self._batch_keys = None
            self._batch_args = None

    def release(self) -> None:
        self.kept.clear()


class CappedText(io.TextIOBase):
    """A write-only text stream keeping the first OUTPUT_LIMIT characters and counting the rest."""

    def __init__(self, limit: int = OUTPUT_LIMIT):
        self._parts: list[str] = []
        self._kept = 0
        self._dropped = 0
        self._limit = limit

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        text = str(text)
        room = self._limit - self._kept
        if room > 0:
            self._parts.append(text[:room])
            self._kept += min(room, len(text))
        self._dropped += max(0, len(text) - max(room, 0))
        return len(text)

    def getvalue(self) -> str:
        text = printable("".join(self._parts))
        if self._dropped:
            text += f"\n... ({self._dropped} more characters of output cut)"
        return text


def _limit(text: str) -> str:
    if len(text) <= OUTPUT_LIMIT:
        return text
    return text[:OUTPUT_LIMIT] + f"\n... ({len(text) - OUTPUT_LIMIT} more characters of output cut)"


class InProcessBackend(Backend):
    """Calls a module's (or any object's) functions in this process: for trusted code."""

    def __init__(self, implementation: ModuleType | Any, timeout: float | None = 10.0, plan: Any = None,
                 plan_source: Any = None):
        """``plan``: the assignment (``gradcheck.specs.spec.Plan``) whose functions are called too,
        found on ``plan_source`` (default: ``implementation``; the module when that is an adapter)."""
        self.plan = plan
        namespace = {name: getattr(implementation, name, None) for name in CONTRACT_FUNCTIONS}
        source = implementation if plan_source is None else plan_source
        for name in plan.names if plan is not None else ():
            namespace.setdefault(name, getattr(source, name, None) if not isinstance(source, dict)
                                 else source.get(name))
        if plan is not None:  # class-based layers: their methods bound as functions
            from gradcheck.specs.objects import bound, described

            namespace.update(bound(source, described(plan)))
        self.label = getattr(implementation, "__name__", type(implementation).__name__)
        if not isinstance(implementation, ModuleType):  # an adapter (gradcheck.load.cs231n), not a student's module
            self.pool_modes = tuple(getattr(implementation, "pool_modes", Backend.pool_modes))
            self.display_names = dict(getattr(implementation, "display_names", {}))
            if getattr(implementation, "convention", None) == "cs231n":
                self.convention = "cs231n"
        self._runner = CallRunner(namespace, timeout=timeout, reraise_interrupt=True)

    def functions(self) -> frozenset[str]:
        return self._runner.functions()

    def call(self, name: str, args: tuple, *, keep: Sequence[int] = ()) -> Outcome:
        return self._runner.run(name, args, keep)

    def call_batch(self, calls: Sequence[Call]) -> list[Outcome]:
        return self._runner.run_batch(calls)

    def release(self) -> None:
        self._runner.release()

    @contextlib.contextmanager
    def with_reference(self, names: tuple[str, ...]):
        """This backend, with ``reference.<name>`` in the module globals of its functions (restored after)."""
        import reference

        saved: list[tuple[dict, str, Any]] = []
        try:
            functions = self._runner.namespace.values()
            modules = {id(g): g for f in functions if (g := getattr(f, "__globals__", None)) is not None}
            for namespace in modules.values():
                for name in names:
                    if name in namespace:
                        saved.append((namespace, name, namespace[name]))
                        namespace[name] = getattr(reference, name)
            yield self
        finally:
            for namespace, name, value in reversed(saved):
                namespace[name] = value


