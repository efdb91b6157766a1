"""Where grading tasks run: a local process pool, or a Dask distributed cluster.

Both take ``tasks`` (``(key, payload)`` pairs, payloads for
:func:`gradcheck.grade.task.grade_task`) and call ``on_done(key, result, attempts)``
in the coordinator as each task finishes, in completion order. A task whose
process dies (a submission that kills its parent, the OOM killer, a lost Dask
worker) is retried once, then reported with ``outcome="crashed"``; a task that
outlives ``task_timeout`` (the hard cap of a whole submission, 30 minutes by default: the
local pool process, or the child process a Dask task runs in, is killed) is reported with
``outcome="timeout"``. No task is dropped and none reported twice.

Processes, not threads: the engine's parent-side numerics are Python, so threads
would serialize on the GIL.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Any

from gradcheck.errors import UsageError
from gradcheck.grade.task import grade_task, grade_task_capped

OnDone = Callable[[str, dict[str, Any], int], None]
Task = tuple[str, Callable[[], dict[str, Any]]]  # (key, payload maker: reads the files when the task is sent)
DEFAULT_TASK_TIMEOUT = 1800.0  # seconds for one whole submission (the check's own limits come first)


def task_timeout_for(max_time: float | None) -> float:
    """The hard cap of a whole task for a run whose budget per submission is ``max_time``: 30 minutes,
    or the budget and ten minutes more (the budget is looked at between functions only)."""
    return DEFAULT_TASK_TIMEOUT if max_time is None else max(DEFAULT_TASK_TIMEOUT, float(max_time) + 600.0)


CRASHED = "the grading process died twice (it was retried once)"


def _crashed(detail: str, duration_s: float) -> dict[str, Any]:
    """The result of a task whose process died on both attempts (same text for every executor)."""
    return {"outcome": "crashed", "error": CRASHED, "detail": detail, "duration_s": duration_s}


def _unreadable(exc: OSError) -> dict[str, Any]:
    """The result of a submission whose files vanished or became unreadable after discovery."""
    return {"outcome": "error", "error": f"could not read the submission: {exc}", "duration_s": 0.0}


# --------------------------------------------------------------------------- local process pool


def _pool_main(conn: Connection) -> None:
    """A pool process: grade payloads from ``conn`` until it closes."""
    while True:
        try:
            payload = conn.recv()
        except (EOFError, OSError):
            return
        conn.send(grade_task(payload))


BLAS_THREADS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


@contextlib.contextmanager
def _single_threaded_blas() -> Iterator[None]:
    """Processes started inside get one BLAS thread each: one task per core, no oversubscription."""
    saved = {name: os.environ.get(name) for name in BLAS_THREADS}
    os.environ.update({name: "1" for name in BLAS_THREADS})
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@dataclass
class _Slot:
    process: Any = None
    conn: Connection | None = None
    task: Task | None = None
    attempt: int = 0
    started: float = 0.0
    pending: deque = field(default_factory=deque)


class LocalExecutor:
    """``workers`` pool processes (default: the number of cores), each grading one submission at a time."""

    def __init__(self, workers: int | None = None, *, task_timeout: float = DEFAULT_TASK_TIMEOUT):
        if workers is None:
            workers = os.cpu_count() or 1
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise UsageError(f"workers must be an integer >= 1, got {workers!r}")
        self.workers = workers
        self.task_timeout = float(task_timeout)
        self._context = multiprocessing.get_context("spawn")

    def _start(self, slot: _Slot) -> None:
        main = sys.modules.get("__main__")
        if main is not None and not hasattr(main, "__spec__"):
            # IPython's shell can leave a __main__ without __spec__, which spawn reads: a run started
            # from such a session would fail to start its grading processes
            main.__spec__ = None
        parent, child = self._context.Pipe()
        slot.process = self._context.Process(target=_pool_main, args=(child,), daemon=True)
        with _single_threaded_blas():
            slot.process.start()
        child.close()
        slot.conn = parent

    def _stop(self, slot: _Slot) -> None:
        if slot.process is not None:
            if slot.process.is_alive():
                slot.process.kill()
            slot.process.join(5)
        if slot.conn is not None:
            slot.conn.close()
        slot.process = slot.conn = None

    def run(self, tasks: Sequence[Task], on_done: OnDone) -> None:
        """Grade ``tasks``; ``on_done`` is called once per task, in this process."""
        queue: deque[tuple[Task, int]] = deque((task, 1) for task in tasks)
        slots = [_Slot() for _ in range(min(self.workers, len(queue)))]
        try:
            for slot in slots:
                self._start(slot)
            while queue or any(slot.task is not None for slot in slots):
                for slot in slots:
                    while slot.task is None and queue:
                        (key, payload), attempt = queue.popleft()
                        try:
                            message = payload()
                        except OSError as exc:
                            on_done(key, _unreadable(exc), attempt)
                            continue
                        slot.task, slot.attempt, slot.started = (key, payload), attempt, time.monotonic()
                        try:
                            slot.conn.send(message)
                        except (OSError, ValueError):
                            pass  # a dead process: its sentinel says so below
                busy = [slot for slot in slots if slot.task is not None]
                if not busy:
                    continue  # every remaining task was unreadable
                now = time.monotonic()
                wait_for = max(0.0, min(slot.started + self.task_timeout - now for slot in busy))
                ready = set(wait([s.conn for s in busy] + [s.process.sentinel for s in busy], timeout=wait_for))
                for slot in busy:
                    self._poll(slot, ready, queue, on_done)
        finally:
            for slot in slots:
                self._stop(slot)

    def _poll(self, slot: _Slot, ready: set, queue: deque, on_done: OnDone) -> None:
        key = slot.task[0]
        elapsed = time.monotonic() - slot.started
        if slot.conn in ready or slot.process.sentinel in ready:
            result = None
            try:
                if slot.conn.poll():
                    result = slot.conn.recv()
            except (EOFError, OSError):
                result = None
            if result is not None:
                slot.task = None
                on_done(key, result, slot.attempt)
                return
            code = slot.process.exitcode
            self._stop(slot)
            self._start(slot)
            if slot.attempt < 2:
                queue.appendleft((slot.task, slot.attempt + 1))  # retried once, next
            else:
                on_done(key, _crashed(f"local pool process, last exit code {code}", elapsed), 2)
            slot.task = None
        elif elapsed >= self.task_timeout:
            self._stop(slot)
            self._start(slot)
            slot.task = None
            message = f"grading took over {self.task_timeout:g} s"
            result = {"outcome": "timeout", "error": message, "duration_s": elapsed}
            on_done(key, result, slot.attempt)


# --------------------------------------------------------------------------- Dask


class DaskExecutor:
    """Tasks on a Dask distributed cluster: ``scheduler`` address, or a ``LocalCluster`` of ``workers``.

    A task whose worker died (``KilledWorker``) is submitted once more, then reported
    ``crashed``. A ``LocalCluster`` is made with ``allowed-failures = 0`` (no retry by
    the scheduler: the retry is this one) and ``worker-saturation = 1.0`` (a worker holds
    only the task it runs, so a submission that kills its worker cannot take a queued
    neighbour down with it); a remote scheduler keeps its own settings.

    **Authentication.** The ``LocalCluster`` listens on TLS only, with a key and a self-signed
    certificate made for this run (``distributed.security.Security.temporary()``: they live in
    the memory of the grader and of the cluster's processes, never in a file or the environment):
    every connection must present that certificate, so a submission that finds the scheduler's
    port (at the unprivileged-user level it shares the network) cannot submit work to it. A
    remote ``scheduler`` is the user's: ``security`` (a ``distributed.security.Security``, by
    default the one Dask's configuration describes) is what the client presents to it.

    **Time.** Each task runs :func:`~gradcheck.grade.task.grade_task` in a child process that is
    killed after ``task_timeout`` seconds (``outcome="timeout"``, as the local pool reports it);
    a task that has not come back ``2 * task_timeout + 120`` s after it was sent (a worker that
    stopped answering) is cancelled and reported ``timeout`` too.
    """

    def __init__(self, scheduler: str | None = None, workers: int | None = None, *,
                 task_timeout: float = DEFAULT_TASK_TIMEOUT, security: Any = None):
        try:
            import distributed  # noqa: F401
        except ImportError:
            raise UsageError(
                "--executor dask needs dask.distributed: pip install 'gradcheck[dask]'"
            ) from None
        self.scheduler = scheduler
        self.workers = workers or os.cpu_count() or 1
        self.task_timeout = float(task_timeout)
        self.security = security

    def _connect(self) -> tuple[Any, Any]:
        """(client, cluster or None): a fresh TLS LocalCluster, or the given scheduler."""
        import dask
        from distributed import Client, LocalCluster
        from distributed.security import Security

        if self.scheduler is not None:
            if self.scheduler.startswith("tcp://") or "://" not in self.scheduler:
                print(f"gradcheck grade: warning: {self.scheduler} is a plain TCP address: whoever reaches it "
                      "(a submission on one of its workers included) can run code on the cluster; give the "
                      "cluster TLS with client certificates and a tls:// address (docs/grading.md)",
                      file=sys.stderr)
            try:
                return Client(self.scheduler, timeout=60, security=self.security), None
            except OSError as exc:
                raise UsageError(f"cannot reach the Dask scheduler at {self.scheduler}: {exc}") from None
        security = self.security or Security.temporary()
        # no HTTP pages (the scheduler's logs, call stacks and task names on :8787): its HTTP servers
        # take no certificate, and a submission could read them
        no_pages = {"distributed.scheduler.http.routes": [], "distributed.worker.http.routes": []}
        with _single_threaded_blas(), dask.config.set(no_pages):
            cluster = LocalCluster(n_workers=self.workers, threads_per_worker=1, processes=True,
                                   dashboard_address=None, host="127.0.0.1", protocol="tls://", security=security)
        try:
            return Client(cluster, timeout=60, security=security), cluster
        except BaseException:
            cluster.close()
            raise

    def run(self, tasks: Sequence[Task], on_done: OnDone) -> None:
        import dask
        from distributed import wait as wait_for

        config = {
            "distributed.scheduler.allowed-failures": 0,  # a lost worker fails its task: we retry it ourselves
            "distributed.scheduler.worker-saturation": 1.0,  # a worker holds only the task it runs
        }
        with dask.config.set(config):
            client, cluster = self._connect()
        try:
            pending = list(reversed(tasks))
            futures: dict[Any, tuple[str, dict[str, Any], int, float]] = {}
            submitted: dict[str, float] = {}
            in_flight = 2 * max(1, sum(client.nthreads().values()))  # bounded: payloads carry file bytes
            patience = 2 * self.task_timeout + 120.0  # a task waits for at most one other on its thread

            def send(key: str, message: dict[str, Any], attempt: int) -> None:
                suffix = "" if attempt == 1 else f"-attempt{attempt}"
                future = client.submit(grade_task_capped, message, self.task_timeout,
                                       key=f"gradcheck-grade-{key}{suffix}", pure=False)
                futures[future] = (key, message, attempt, time.monotonic())
                submitted.setdefault(key, time.monotonic())

            def submit() -> None:
                while pending:
                    key, payload = pending.pop()
                    try:
                        message = payload()
                    except OSError as exc:
                        on_done(key, _unreadable(exc), 1)
                        continue
                    send(key, message, 1)
                    return

            for _ in range(min(in_flight, len(pending))):
                submit()
            while futures:
                now = time.monotonic()
                soonest = min(sent + patience for (_, _, _, sent) in futures.values())
                try:
                    done = wait_for(list(futures), timeout=max(0.5, soonest - now), return_when="FIRST_COMPLETED").done
                except TimeoutError:
                    done = set()
                now = time.monotonic()
                for future in list(futures):
                    key, message, attempt, sent = futures[future]
                    if future in done:
                        del futures[future]
                        result = self._result(future, key, message, attempt, submitted, send)
                    elif now - sent >= patience:
                        del futures[future]
                        client.cancel([future], force=True)
                        result = {"outcome": "timeout", "duration_s": now - submitted[key],
                                  "error": f"the Dask task did not come back within {patience:g} s; cancelled"}
                    else:
                        continue
                    if result is not None:
                        submit()
                        on_done(key, result, attempt)
        finally:
            client.close()
            if cluster is not None:
                cluster.close()

    @staticmethod
    def _result(future: Any, key: str, message: dict[str, Any], attempt: int, submitted: dict[str, float],
                send: Callable[[str, dict[str, Any], int], None]) -> dict[str, Any] | None:
        """A finished future's result; None when it was sent again (its first attempt died)."""
        try:
            result = future.result()
        except Exception as exc:  # KilledWorker (its worker died), TaskDied, a lost connection, ...
            future.release()
            if attempt == 1:
                send(key, message, 2)  # retried once
                return None
            elapsed = time.monotonic() - submitted[key]
            return _crashed(f"Dask: {type(exc).__name__}: {exc}"[:2000], elapsed)
        future.release()
        return result
