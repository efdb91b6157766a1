"""Run submitted code in a limited worker process: :class:`WorkerBackend`.

The worker (``python -I -m gradcheck.boundary.worker``) runs at an isolation
level (``gradcheck.boundary.sandbox``: a bubblewrap sandbox, an unprivileged
uid, or limits only), with limits on CPU time, address space, file size and
processes set before the submission is imported, and ``OPENBLAS_NUM_THREADS=1``.
The level used is ``WorkerBackend.isolation``. It talks to the parent over two
dedicated pipes (not stdin/stdout, which go to /dev/null and a capped log file,
so prints at import time cannot corrupt the protocol). Starting, killing and
reaping it is ``gradcheck.boundary.process``.

The wire format lives in ``gradcheck.boundary.protocol``: nothing the worker
sends is unpickled; the parent decodes every reply into wire values
(``gradcheck.boundary.values``), validating its structure and sizes, and treats
anything malformed as a crash.

A call that outlives its deadline gets the worker's process group killed
(``timeout``); a worker that dies (``sys.exit``, ``os._exit``, a signal, the
address-space limit) yields ``crashed`` or ``memory``. The next call starts a
fresh worker; caches (``CacheRef``) held by the dead one are reported lost.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import time
import weakref
from collections.abc import Sequence
from typing import Any

from gradcheck.boundary import confine, sandbox
from gradcheck.boundary.backend import Backend, Call, Outcome
from gradcheck.boundary.process import LOG_LIMIT, WorkerProcess
from gradcheck.boundary.protocol import (
    REPLY_RULE,
    Closed,
    Deadline,
    ProtocolError,
    decode,
    encode,
    pack,
    read_message,
    reply_budget,
    write_all,
)
from gradcheck.boundary.siblings import refusal_note, shown_to_worker
from gradcheck.boundary.values import CacheRef
from gradcheck.contract import CALL_STATUSES
from gradcheck.plans import plan_for
from gradcheck.plans.convolution import CONTRACT_FUNCTIONS

GiB = 1 << 30
BATCH_TIMEOUT_CAP = 300.0  # seconds: the longest a batch of calls may take in total
GRACE = 2.0  # seconds on top of the worker-side timeout (encoding, transfer)
_KEY_BITS = 32


# --- the parent side ----------------------------------------------------------------


def _list(value: Any) -> list:
    return value if type(value) is list else []


class _Sent:
    """A request written to the worker: its reply (read when awaited, or when another request
    must be written first), the deadline and the largest reply allowed."""

    def __init__(self, name: str, budget: float, deadline: float, allowed: int):
        self.name, self.budget, self.deadline, self.allowed = name, budget, deadline, allowed
        self.sequence = 0
        self.reply: tuple[dict, list[bytes]] | Outcome | None = None
        self.pipelined = False  # sent by send_batch: its reply may be read late (see _read_reply)


class _Batch:
    """A batch of calls: its outcomes when they were decided without the worker, else the
    request sent (and the fix search's ``trace``)."""

    def __init__(self, calls: Sequence[Call], outcomes: list[Outcome] | None, sent: _Sent | None = None,
                 trace: set[tuple[str, int]] | None = None):
        self.calls, self.outcomes, self.sent, self.trace = calls, outcomes, sent, trace


_LIVE: weakref.WeakSet[WorkerBackend] = weakref.WeakSet()


@atexit.register
def _kill_all() -> None:
    for backend in list(_LIVE):
        backend.close()


class WorkerBackend(Backend):
    """Calls an implementation loaded in a limited worker process (see module docstring).

    ``target``: a ``.py`` path, an ``.ipynb`` path or a module name.
    ``timeout``: seconds per call (a batch gets ``timeout`` per call, at most
    ``BATCH_TIMEOUT_CAP`` in total). ``memory_limit``: address-space limit in
    bytes. ``cpu_limit``: CPU seconds for the worker's whole life.
    ``load_timeout``: seconds to import the target. ``round_trips`` counts
    requests answered by a worker. ``isolation``: ``"auto"`` (default, or
    ``$GRADCHECK_ISOLATION``), ``"strict"`` or a level of
    ``gradcheck.boundary.sandbox.LEVELS``; the level used is ``self.isolation``, why ``self.isolation_reason``.
    ``visible``: more paths the sandbox shows read-only (a submission's folder). ``siblings``:
    also show the modules beside a file target that it imports (``grade`` turns it off for
    files in a shared class folder).
    """

    def __init__(
        self,
        target: str,
        timeout: float = 10.0,
        *,
        memory_limit: int = 4 * GiB,
        cpu_limit: int = 1800,
        load_timeout: float = 30.0,
        isolation: str | None = None,
        visible: Sequence[str] = (),
        siblings: bool = True,
        use_reference: tuple[str, ...] = (),
        convention: str | None = None,
        plan: str | None = None,
    ):
        from gradcheck.conventions import convention as convention_named
        from gradcheck.errors import LoadError
        from gradcheck.load.declared import declared
        from gradcheck.load.loaders import TargetNotFound, is_path_like

        self.isolation = sandbox.resolve(isolation)
        self.isolation_reason = sandbox.level_reason(isolation, self.isolation)
        self._is_path = is_path_like(target)
        self.target = os.path.abspath(target) if self._is_path else target
        # what is checked is decided here, from the source, before any submitted code runs
        self._declared = declared(self.target, self._is_path, convention)
        # the assignment (gradcheck.plans) is decided here too: its conv layers follow its convention
        self.plan = plan_for(plan, self._declared.names)
        if self.plan is not None and self.plan.convention and convention is None \
                and self._declared.convention != self.plan.convention:
            self._declared = declared(self.target, self._is_path, self.plan.convention)
        self.convention = self._declared.convention
        shown_names = convention_named(self.convention)
        self.pool_modes = ("max",) if self.convention == "cs231n" else ("max", "average")
        self.display_names = dict(shown_names.functions)
        self._visible, self.refused = shown_to_worker(self.target, self._is_path, siblings, visible)
        self.bound = [path for path in self._visible if path != self.target]  # extra files shown: the report
        self.label = target
        self.timeout = float(timeout)
        self.memory_limit = int(memory_limit)
        self.cpu_limit = int(cpu_limit)
        self.load_timeout = float(load_timeout)
        self.round_trips = 0
        self.restarts = 0
        self._sequence = 0  # numbers the requests; each reply echoes its request's
        self.warnings: list[str] = []
        self._generation = 0
        self._variant_defs: dict[int, list] = {}  # the fix search's variants (add_variants)
        self._variant_future: list[str] = []
        self._variants_loaded: dict[int, int] = {}  # variant -> the worker generation that loaded it
        self._awaited: _Sent | None = None  # a request written whose reply is not read yet (send_batch)
        self._release_due = False  # release() asked since the last request: sent with the next one
        self._worker = WorkerProcess(
            isolation=self.isolation, target=self.target, is_path=self._is_path, visible=self._visible,
            label=self.label, timeout=self.timeout, memory_limit=self.memory_limit, cpu_limit=self.cpu_limit,
            load_timeout=self.load_timeout,
        )
        # root causes: the worker puts reference.<name> in the submission's globals after import
        self.use_reference = tuple(name for name in use_reference if name in CONTRACT_FUNCTIONS)
        self._worker.use_reference = self.use_reference
        self._worker.convention = self.convention
        self._worker.plan_functions = self.plan.names if self.plan is not None else ()
        from gradcheck.specs.objects import described

        self._worker.plan_methods = described(self.plan)
        self._siblings = siblings
        _LIVE.add(self)
        try:
            ready = self._start()
        except BaseException:
            self.close()
            raise
        if ready.get("error") is not None:
            self.close()
            error_type = TargetNotFound if ready.get("kind") == "not_found" else LoadError
            note = f"\n({refusal_note(self.refused)})" if self.refused else ""
            raise error_type(f"{ready['error']}{note}")
        # the worker may add a function the source could not show (bound in a loop, by exec),
        # never remove one the source declares: that one is still called, and fails
        found_names = {name for name in _list(ready.get("functions")) if type(name) is str}
        planned = shown_names.functions if self.convention == "cs231n" else dict.fromkeys(CONTRACT_FUNCTIONS)
        if self.plan is not None:
            planned = {**planned, **dict.fromkeys(self.plan.names)}
        plan_declared = {name for name in self._declared.names if self.plan is not None and name in self.plan.names}
        self._functions = frozenset(self._declared.functions | plan_declared
                                    | {name for name in found_names if name in planned})
        self.warnings = [w[:2000] for w in _list(ready.get("warnings")) if type(w) is str][:50]
        if self.refused:
            self.warnings.append(refusal_note(self.refused))
        from gradcheck.load.inspection import introspection_note

        looks = introspection_note(list(self._declared.uses))
        if looks is not None:
            self.warnings.insert(0, looks)
        self.review = [str(use)[:300] for use in self._declared.uses][:50]
        self.import_output = str(ready.get("output", ""))[:5000]

    @property
    def limits(self) -> dict[str, dict[str, Any]]:
        """For each resource limit, whether it held on this machine and by what (the report's ``limits``)."""
        return confine.limits(self.isolation, memory=self.memory_limit, cpu=self.cpu_limit, file_size=LOG_LIMIT,
                              reply=REPLY_RULE)

    # process management (gradcheck.boundary.process) -----------------------------

    def _start(self) -> dict:
        ready = self._worker.start()
        self._generation += 1
        return ready

    @property
    def _to_worker(self) -> int:
        return self._worker.to_worker

    @property
    def _from_worker(self) -> int:
        return self._worker.from_worker

    def _alive(self) -> bool:
        return self._worker.alive()

    def _kill(self) -> None:
        self._worker.kill()

    def _reap(self) -> tuple[str, str]:
        return self._worker.reap()

    def _log_tail(self, size: int = 1500) -> str:
        return self._worker.log_tail(size)

    def close(self) -> None:
        self._awaited = None
        worker = getattr(self, "_worker", None)
        if worker is not None:
            worker.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass

    # requests ---------------------------------------------------------------------

    def functions(self) -> frozenset[str]:
        return self._functions

    def _encode_args(self, args: tuple, arrays: list[bytes]) -> Any:
        """Encode arguments, translating CacheRefs to the worker's keys (None if one is lost)."""
        lost = []

        def translate(value: Any) -> Any:
            if type(value) is CacheRef:
                generation, key = value.key >> _KEY_BITS, value.key & ((1 << _KEY_BITS) - 1)
                if generation != self._generation or not self._alive():
                    lost.append(value)
                return CacheRef(key)
            if type(value) in (tuple, list):
                return type(value)(translate(item) for item in value)
            if type(value) is dict:
                return {key: translate(item) for key, item in value.items()}
            return value

        encoded = encode(tuple(translate(arg) for arg in args), arrays)
        return None if lost else encoded

    def _globalize(self, value: Any) -> Any:
        if type(value) is CacheRef:
            return CacheRef((self._generation << _KEY_BITS) | (value.key & ((1 << _KEY_BITS) - 1)))
        if type(value) in (tuple, list):
            return type(value)(self._globalize(item) for item in value)
        if type(value) is dict:
            return {key: self._globalize(item) for key, item in value.items()}
        return value

    def _request(
        self, header: dict, arrays: list[bytes], budget: float, grace: bool = True
    ) -> tuple[dict, list[bytes]] | Outcome:
        """One round trip; an Outcome (timeout/crashed/memory) if the worker did not answer.

        Each request carries a number the reply must echo: a reply to a request that was not
        sent (written ahead, or left over) is malformed, and the worker is treated as crashed."""
        return self._receive(self._send(header, arrays, budget, grace))

    def _send(self, header: dict, arrays: list[bytes], budget: float, grace: bool = True) -> _Sent:
        """Write a request (the reply of one still awaited is read first, and kept for its
        :meth:`_receive`: the worker answers in order, one request at a time)."""
        self._settle()
        sent = _Sent(str(header.get("name")), budget, time.monotonic() + budget + (GRACE if grace else 0.0),
                     reply_budget(sum(len(blob) for blob in arrays)))  # checked before the reply is read
        self._sequence += 1
        sent.sequence = self._sequence
        header = {**header, "seq": self._sequence}
        if self._release_due:  # a release asked for since the last request: done first, in the same round trip
            header["release"] = True
            self._release_due = False
        try:
            write_all(self._to_worker, pack(header, arrays), sent.deadline)
        except Deadline:
            sent.reply = self._timed_out(sent)
            return sent
        except Closed:
            sent.reply = self._closed(sent)
            return sent
        self._awaited = sent
        return sent

    def _settle(self) -> None:
        """Read the reply of the request still awaited, if any, into it."""
        sent, self._awaited = self._awaited, None
        if sent is not None and sent.reply is None:
            sent.reply = self._read_reply(sent)

    def _receive(self, sent: _Sent) -> tuple[dict, list[bytes]] | Outcome:
        if sent.reply is None:
            if self._awaited is not sent:
                return Outcome("crashed", message=f"{sent.name}: the worker process was stopped before it answered")
            self._settle()
        reply = sent.reply
        sent.reply = None
        return reply

    def _read_reply(self, sent: _Sent) -> tuple[dict, list[bytes]] | Outcome:
        # a batch's reply read late (the checker went on with other work meanwhile) gets the grace from now
        deadline = max(sent.deadline, time.monotonic() + GRACE) if sent.pipelined else sent.deadline
        try:
            reply = read_message(self._from_worker, deadline, budget=sent.allowed)
            if type(reply[0]) is not dict or reply[0].get("seq") != sent.sequence:
                raise ProtocolError(f"a reply to a request that was not sent (expected number {sent.sequence})")
        except Deadline:
            return self._timed_out(sent)
        except Closed:
            return self._closed(sent)
        except ProtocolError as exc:
            self._kill()
            self._reap()
            return Outcome(
                "crashed",
                message=f"{sent.name}: the worker process sent a malformed reply "
                f"({exc}); the submission may have tampered with it or returned far larger values than "
                "it was given (return arrays of the shapes the contract describes)",
            )
        self.round_trips += 1
        return reply

    def _timed_out(self, sent: _Sent) -> Outcome:
        self._kill()
        self._reap()
        return Outcome("timeout", message=f"{sent.name} did not return within {sent.budget:g} s "
                       "(the worker process was killed)")

    def _closed(self, sent: _Sent) -> Outcome:
        status, why = self._reap()
        return Outcome(status, message=f"{sent.name} brought the worker process down: it {why}{self._log_tail(600)}")

    def _ensure_worker(self) -> Outcome | None:
        self._settle()  # a reply still awaited is the running worker's: read before any restart
        if self._alive():
            return None
        from gradcheck.errors import LoadError

        self.restarts += 1
        try:
            ready = self._start()
        except LoadError as exc:
            return Outcome("crashed", message=f"could not restart the worker process: {exc}")
        if ready.get("error") is not None:
            return Outcome(
                "crashed", message=f"could not restart the worker process: {ready['error']}"
            )
        return None

    def _outcome(self, data: Any, arrays: list[bytes]) -> Outcome:
        if type(data) is not dict:
            raise ProtocolError("outcome is not an object")
        status = data.get("status")
        if status not in CALL_STATUSES:
            raise ProtocolError(f"bad status {status!r}")
        kept_raw = data.get("kept", [])
        if type(kept_raw) is not list:
            raise ProtocolError("bad kept list")
        kept = {}
        for pair in kept_raw:
            if type(pair) is not list or len(pair) != 2 or type(pair[0]) is not int:
                raise ProtocolError("bad kept item")
            kept[pair[0]] = decode(pair[1], arrays)
        args_after = data.get("args_after")
        args_after = None if args_after is None else decode(args_after, arrays)
        if args_after is not None and type(args_after) is not tuple:
            raise ProtocolError("bad args_after")
        return Outcome(
            status,
            value=self._globalize(decode(data.get("value"), arrays)),
            message=self._worker.unmask(str(data.get("message", ""))[:20000]),
            args_after=args_after,
            kept=kept,
            output=self._worker.unmask(str(data.get("output", ""))[:20000]),
            skipped=data.get("skipped") is True,
        )

    def _lost_cache(self, name: str) -> Outcome:
        return Outcome(
            "error",
            message=f"{name}: the cache from an earlier call was lost when the worker "
            "process died or was restarted; it cannot be passed back",
        )

    def call(self, name: str, args: tuple, *, keep: Sequence[int] = ()) -> Outcome:
        arrays: list[bytes] = []
        encoded = self._encode_args(args, arrays)
        if encoded is None:
            return self._lost_cache(name)
        failed = self._ensure_worker()
        if failed is not None:
            return failed
        reply = self._request(
            {"op": "call", "name": name, "args": encoded, "keep": [int(i) for i in keep]},
            arrays,
            self.timeout,
        )
        if isinstance(reply, Outcome):
            return reply
        try:
            return self._outcome(reply[0].get("outcome"), reply[1])
        except ProtocolError as exc:
            self._kill()
            self._reap()
            return Outcome(
                "crashed", message=f"{name}: malformed reply from the worker process ({exc})"
            )

    def call_batch(self, calls: Sequence[Call], *, timeout: float | None = None, deadline: float | None = None,
                   trace: set[tuple[str, int]] | None = None) -> list[Outcome]:
        """Run ``calls`` in order in one round trip (see ``Backend.call_batch``).

        The fix search's options (``gradcheck.fix``): ``timeout``, a shorter limit per call than
        the backend's; ``deadline`` (``time.monotonic()``), after which nothing more is sent (every
        call then ends ``timeout``) and a batch that is still running is cut (the worker is
        killed); ``trace``, a set that receives the (file, line) of the submission's lines the calls
        ran. Calls of a variant (``Call.variant``) load that variant into the worker first if this
        worker has not loaded it yet (:meth:`add_variants`)."""
        return self.receive(self._send_batch(calls, timeout, deadline, trace, pipelined=False))

    def send_batch(self, calls: Sequence[Call]) -> Any:
        """Write ``calls`` as :meth:`call_batch` does, without waiting: the worker runs them while
        the checker goes on, and :meth:`receive` reads their outcomes (any other request first
        reads them, and keeps them for it)."""
        return self._send_batch(calls, None, None, None, pipelined=True)

    def _send_batch(self, calls: Sequence[Call], timeout: float | None, deadline: float | None,
                    trace: set[tuple[str, int]] | None, *, pipelined: bool) -> _Batch:
        if not calls:
            return _Batch(calls, [])
        if deadline is not None and time.monotonic() >= deadline:
            return _Batch(calls, [Outcome("timeout", message=f"{call.name}: not run, the fix search's time budget "
                                          "ran out", skipped=True) for call in calls])
        arrays: list[bytes] = []
        encoded = [self._encode_args(call.args, arrays) for call in calls]
        lost = [index for index, item in enumerate(encoded) if item is None]
        if lost:
            return _Batch(calls, [self._lost_cache(calls[lost[0]].name) for _ in calls])
        failed = self._ensure_worker()
        if failed is not None:
            return _Batch(calls, [failed for _ in calls])
        failed = self._load_variants_for(calls, deadline)
        if failed is not None:
            return _Batch(calls, [failed for _ in calls])
        per_call = self.timeout if timeout is None else min(self.timeout, timeout)
        budget = min(per_call * len(calls), max(per_call, BATCH_TIMEOUT_CAP))
        if deadline is not None:
            budget = max(0.05, min(budget, deadline - time.monotonic()))
        header: dict[str, Any] = {
            "op": "call_batch",
            "name": calls[0].name,
            "calls": [
                {"name": call.name, "args": args, "keep": [int(i) for i in call.keep],
                 "select": call.select, "collect": bool(call.collect_args),
                 **({"variant": int(call.variant)} if call.variant is not None else {}),
                 **({"take": [[int(p), int(b)] for p, b in call.take]} if call.take else {}),
                 **({"refill": int(call.refill)} if call.refill else {})}
                for call, args in zip(calls, encoded, strict=True)
            ],
        }
        if timeout is not None:
            header["timeout"] = per_call
        if trace is not None:
            header["trace"] = True
        sent = self._send(header, arrays, budget, grace=deadline is None)
        sent.pipelined = pipelined
        return _Batch(calls, None, sent, trace)

    def receive(self, sent: Any) -> list[Outcome]:
        """The outcomes of a :meth:`send_batch` (or of the batch :meth:`call_batch` sent)."""
        batch: _Batch = sent
        if batch.outcomes is not None:
            return batch.outcomes
        calls, trace = batch.calls, batch.trace
        reply = self._receive(batch.sent)
        if isinstance(reply, Outcome):
            return [reply for _ in calls]
        try:
            outcomes = reply[0].get("outcomes")
            if type(outcomes) is not list or len(outcomes) != len(calls):
                raise ProtocolError("wrong number of outcomes")
            decoded = [self._outcome(item, reply[1]) for item in outcomes]
        except ProtocolError as exc:
            self._kill()
            self._reap()
            message = f"{calls[0].name}: malformed reply from the worker process ({exc})"
            return [Outcome("crashed", message=message) for _ in calls]
        if trace is not None:
            for item in _list(reply[0].get("lines"))[:50000]:
                if type(item) is list and len(item) == 2 and type(item[0]) is str and type(item[1]) is int:
                    trace.add((self._worker.unmask(item[0]), item[1]))
        return decoded

    # the fix search's variants (gradcheck.fix) -------------------------------------

    def add_variants(self, variants: dict[int, list], future: Sequence[str] = ()) -> None:
        """Remember variants of the submission (key -> its top-level definitions, ``[cell, first
        line, text]`` each, see ``gradcheck.boundary.variants``); each is loaded into the worker
        with the first batch that calls it (and again into a restarted worker)."""
        self._variant_defs.update(variants)
        self._variant_future = [str(name) for name in future]

    def drop_variants(self, keys: Sequence[int]) -> None:
        """Forget variants (and free them in the worker)."""
        for key in keys:
            self._variant_defs.pop(key, None)
            self._variants_loaded.pop(key, None)
        if self._alive() and keys:
            self._request({"op": "drop_variants", "name": "drop_variants", "keys": [int(k) for k in keys]}, [],
                          self.timeout)

    def _load_variants_for(self, calls: Sequence[Call], deadline: float | None) -> Outcome | None:
        wanted = {call.variant for call in calls if call.variant is not None}
        missing = [key for key in sorted(wanted) if self._variants_loaded.get(key) != self._generation]
        if not missing:
            return None
        unknown = [key for key in missing if key not in self._variant_defs]
        if unknown:
            return Outcome("error", message=f"variant {unknown[0]} of the submission is not known")
        budget = self.timeout * len(missing)
        if deadline is not None:
            budget = max(0.05, min(budget, deadline - time.monotonic()))
        reply = self._request({"op": "variants", "name": "variants", "future": self._variant_future,
                               "items": [[key, self._variant_defs[key]] for key in missing]}, [], budget,
                              grace=deadline is None)
        if isinstance(reply, Outcome):
            return reply
        for key in missing:
            self._variants_loaded[key] = self._generation
        return None

    @contextlib.contextmanager
    def with_reference(self, names: tuple[str, ...]):
        """A second worker on the same target whose module globals ``names`` are the reference's."""
        other = WorkerBackend(
            self.target, self.timeout, memory_limit=self.memory_limit, cpu_limit=self.cpu_limit,
            load_timeout=self.load_timeout, isolation=self.isolation, visible=self._visible,
            siblings=self._siblings, use_reference=tuple(names), convention=self.convention,
        )
        try:
            yield other
        finally:
            other.close()

    def release(self) -> None:
        """Drop the worker's kept objects: done first by the worker's next request (no round trip
        of its own; a restarted worker has none)."""
        if self._alive():
            self._release_due = True


class VariantView(Backend):
    """A :class:`WorkerBackend`'s worker seen through the fix search (``gradcheck.fix``): the
    calls go to variant ``key`` of the submission (None: calls keep the variant they carry, the
    submission's own when none), with a shorter limit per call (``timeout``), nothing sent after
    ``deadline`` (``time.monotonic()``), and the lines they run added to ``trace`` when it is a set.
    Everything runs in the same worker, at the same isolation level, under the same limits."""

    def __init__(self, parent: WorkerBackend, key: int | None, *, timeout: float | None = None,
                 deadline: float | None = None, trace: set[tuple[str, int]] | None = None):
        self.parent, self.key = parent, key
        self.timeout, self.deadline, self.trace = timeout, deadline, trace
        self.label = parent.label
        self.convention = parent.convention
        self.pool_modes = parent.pool_modes
        self.display_names = parent.display_names
        self.plan = None

    def functions(self) -> frozenset[str]:
        return self.parent.functions()

    def call(self, name: str, args: tuple, *, keep: Sequence[int] = ()) -> Outcome:
        return self.call_batch([Call(name, tuple(args), tuple(keep))])[0]

    def call_batch(self, calls: Sequence[Call]) -> list[Outcome]:
        import dataclasses

        if self.key is not None:
            calls = [call if call.variant is not None else dataclasses.replace(call, variant=self.key)
                     for call in calls]
        return self.parent.call_batch(calls, timeout=self.timeout, deadline=self.deadline, trace=self.trace)

    def release(self) -> None:
        self.parent.release()
