"""Run submitted code in a limited worker process: :class:`WorkerBackend`.

The worker (``python -I -m gradcheck.boundary.worker``) runs in its own session with
limits on CPU time, address space, file size and processes set before the
submission is imported, and ``OPENBLAS_NUM_THREADS=1``. It talks to the parent
over two dedicated pipes (not stdin/stdout, which go to /dev/null and a capped
log file, so prints at import time cannot corrupt the protocol).

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
import os
import signal
import subprocess
import sys
import tempfile
import time
import weakref
from collections.abc import Sequence
from typing import Any

from gradcheck.boundary import sandbox
from gradcheck.boundary.backend import Backend, Outcome
from gradcheck.boundary.protocol import (
    Closed,
    Deadline,
    ProtocolError,
    decode,
    encode,
    pack,
    read_message,
    write_all,
)
from gradcheck.boundary.values import CacheRef
from gradcheck.contract import CONTRACT_FUNCTIONS

GiB = 1 << 30
BATCH_TIMEOUT_CAP = 300.0  # seconds: the longest a batch of calls may take in total
EXIT_WAIT = 1.0  # seconds a worker whose pipe closed gets to exit on its own before it is killed
GRACE = 2.0  # seconds on top of the worker-side timeout (encoding, transfer)
LOG_LIMIT = 16 << 20  # RLIMIT_FSIZE: the worker's stdout/stderr log and any file it writes
_KEY_BITS = 32


# --- the parent side ----------------------------------------------------------------


def _list(value: Any) -> list:
    return value if type(value) is list else []


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
    ``gradcheck.boundary.sandbox.LEVELS``; the level used is ``self.isolation``.
    ``visible``: more paths the sandbox shows read-only (a submission's folder).
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
    ):
        from gradcheck.errors import LoadError
        from gradcheck.load.loaders import TargetNotFound, is_path_like

        self.isolation = sandbox.resolve(isolation)
        self._is_path = is_path_like(target)
        self.target = os.path.abspath(target) if self._is_path else target
        self._visible = [*sandbox.visible_paths(self.target, self._is_path), *map(os.path.abspath, visible)]
        self._scratch: str | None = None
        self._copy: str | None = None
        self._uid: int | None = None
        self.label = target
        self.timeout = float(timeout)
        self.memory_limit = int(memory_limit)
        self.cpu_limit = int(cpu_limit)
        self.load_timeout = float(load_timeout)
        self.round_trips = 0
        self.restarts = 0
        self.warnings: list[str] = []
        self._process: subprocess.Popen | None = None
        self._generation = 0
        self._log: Any = None
        self._to_worker = self._from_worker = -1
        _LIVE.add(self)
        try:
            ready = self._start()
        except BaseException:
            self.close()
            raise
        if ready.get("error") is not None:
            self.close()
            error_type = TargetNotFound if ready.get("kind") == "not_found" else LoadError
            raise error_type(ready["error"])
        self._functions = frozenset(
            name for name in _list(ready.get("functions")) if name in CONTRACT_FUNCTIONS
        )
        modes = _list(ready.get("pool_modes", ["max", "average"]))
        self.pool_modes = tuple(mode for mode in modes if mode in ("max", "average"))
        names = ready.get("display_names", {})
        self.display_names = (
            {k: v[:100] for k, v in names.items() if k in CONTRACT_FUNCTIONS and type(v) is str}
            if type(names) is dict
            else {}
        )
        self.warnings = [w[:2000] for w in _list(ready.get("warnings")) if type(w) is str][:50]
        if self.isolation == "unprivileged-user" and sandbox.stdlib_warning():
            self.warnings.append(sandbox.stdlib_warning())
        self.import_output = str(ready.get("output", ""))[:5000]

    # process management ---------------------------------------------------------

    def _start(self) -> dict:
        from gradcheck.errors import LoadError

        parent_read, child_write = os.pipe()
        child_read, parent_write = os.pipe()
        if self._log is not None:
            self._log.close()
        self._log = tempfile.TemporaryFile()
        worker = [sys.executable, "-I", "-m", "gradcheck.boundary.worker", str(child_read), str(child_write)]
        command, env = sandbox.worker_command(self.isolation, worker, self._visible)
        try:
            self._process = subprocess.Popen(
                command,
                pass_fds=(child_read, child_write),
                stdin=subprocess.DEVNULL,
                stdout=self._log,
                stderr=self._log,
                start_new_session=True,
                env=env,
                close_fds=True,
            )
        finally:
            os.close(child_read)
            os.close(child_write)
        self._to_worker, self._from_worker = parent_write, parent_read
        self._generation += 1
        config = {
            "op": "load",
            "target": self.target,
            "timeout": self.timeout,
            "memory_limit": self.memory_limit,
            "cpu_limit": self.cpu_limit,
            "fsize_limit": LOG_LIMIT,
            "sys_path": [p for p in sys.path if isinstance(p, str)] + [os.getcwd()],
            "cwd": os.getcwd(),
            "drop": None,
        }
        self._remove_scratch()
        if self.isolation == "sandbox":
            config.update(sys_path=sandbox.sandbox_sys_path(self._visible), cwd="/tmp")
        elif self.isolation == "unprivileged-user":
            self._uid = sandbox.UID_BASE + self._process.pid
            self._scratch, self._copy = sandbox.private_scratch(self._uid, self.target if self._is_path else None)
            config.update(cwd=self._scratch, drop=[self._uid, self._uid], target=self._copy or self.target)
            config["sys_path"] = [p for p in sys.path if isinstance(p, str) and p] + (
                [] if self._is_path else [os.getcwd()]
            )
        deadline = time.monotonic() + self.load_timeout
        try:
            write_all(self._to_worker, pack(config, []), deadline)
            header, arrays = read_message(self._from_worker, deadline)
        except Deadline:
            self._kill()
            self._reap()
            raise LoadError(
                f"{self.label}: importing it did not finish within {self.load_timeout:g} s"
            ) from None
        except (Closed, ProtocolError) as exc:
            status, why = self._reap()
            detail = f" ({exc})" if isinstance(exc, ProtocolError) else ""
            raise LoadError(
                f"{self.label}: the worker process {why} while importing it{detail}"
                + self._log_tail()
            ) from None
        return self._unmask(header)

    def _unmask(self, data: Any) -> Any:
        """Texts from the worker with the private copy's path replaced by the submission's."""
        if self._copy is None:
            return data
        if type(data) is str:
            return data.replace(self._copy, self.target)
        if type(data) is list:
            return [self._unmask(item) for item in data]
        if type(data) is dict:
            return {key: self._unmask(item) for key, item in data.items()}
        return data

    def _remove_scratch(self) -> None:
        sandbox.remove_scratch(self._scratch)
        self._scratch = self._copy = None

    def _alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def _kill(self) -> None:
        process = self._process
        if process is None:
            return
        sandbox.kill_strays(process.pid, self._uid)
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            process.kill()
        except ProcessLookupError:
            pass

    def _reap(self) -> tuple[str, str]:
        """Wait for a dead worker; (status, what happened) for messages."""
        process = self._process
        self._close_pipes()
        if process is None:
            return "crashed", "was not running"
        try:
            pid, raw_status, usage = os.wait4(process.pid, os.WNOHANG)
            deadline = time.monotonic() + EXIT_WAIT  # a dying worker (or its sandbox) exits on its own
            while pid == 0 and time.monotonic() < deadline:
                time.sleep(0.005)
                pid, raw_status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid == 0:
                self._kill_group_if_alive(process)
                _, raw_status, usage = os.wait4(process.pid, 0)
            process.returncode = os.waitstatus_to_exitcode(raw_status)
        except ChildProcessError:
            usage = None
            process.wait()
        self._process = None
        sandbox.kill_strays(process.pid, self._uid)
        code = process.returncode
        if self.isolation == "sandbox" and code is not None and 128 < code <= 128 + 64:
            code = -(code - 128)  # bwrap exits with 128 + the signal that killed the worker
        log = self._log_tail()
        peak = usage.ru_maxrss * 1024 if usage is not None else 0
        memory = "MemoryError" in log or "Cannot allocate memory" in log or "bad_alloc" in log
        if code is not None and code < 0:
            name = signal.Signals(-code).name if -code in signal.valid_signals() else str(-code)
            if -code == signal.SIGXFSZ:
                return (
                    "crashed",
                    f"wrote more than {LOG_LIMIT >> 20} MiB of output or files (SIGXFSZ)",
                )
            if -code == signal.SIGXCPU:
                return "timeout", f"exceeded its CPU time limit ({self.cpu_limit} s)"
            if memory or peak >= 0.8 * self.memory_limit:
                return (
                    "memory",
                    f"was killed by {name} near its memory limit ({self.memory_limit >> 20} MiB)",
                )
            return "crashed", f"was killed by signal {name}"
        if memory:
            return "memory", f"ran out of memory (limit {self.memory_limit >> 20} MiB) and exited"
        return "crashed", f"exited with status {code}"

    def _kill_group_if_alive(self, process: subprocess.Popen) -> None:
        try:
            os.killpg(process.pid, signal.SIGKILL)  # also strays the submission may have started
        except (ProcessLookupError, PermissionError):
            pass

    def _close_pipes(self) -> None:
        for fd in (self._to_worker, self._from_worker):
            if fd >= 0:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._to_worker = self._from_worker = -1

    def _log_tail(self, size: int = 1500) -> str:
        if self._log is None:
            return ""
        try:
            self._log.seek(0, os.SEEK_END)
            end = self._log.tell()
            self._log.seek(max(0, end - size))
            text = self._log.read().decode("utf-8", "replace").strip()
        except (OSError, ValueError):
            return ""
        return f"\nworker output (last {size} bytes):\n{text}" if text else ""

    def close(self) -> None:
        process = self._process
        if process is not None:
            sandbox.kill_strays(process.pid, self._uid)
        if process is not None and process.poll() is None:
            try:
                write_all(self._to_worker, pack({"op": "exit"}, []), time.monotonic() + 0.5)
                process.wait(timeout=1.0)
            except (Deadline, Closed, subprocess.TimeoutExpired, OSError):
                pass
        if process is not None:
            self._kill_group_if_alive(process)
            try:
                process.kill()
                process.wait(timeout=5)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        self._process = None
        if process is not None:
            sandbox.kill_strays(process.pid, self._uid)
        self._close_pipes()
        self._remove_scratch()
        if self._log is not None:
            self._log.close()
            self._log = None

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
        self, header: dict, arrays: list[bytes], budget: float
    ) -> tuple[dict, list[bytes]] | Outcome:
        """One round trip; an Outcome (timeout/crashed/memory) if the worker did not answer."""
        deadline = time.monotonic() + budget + GRACE
        try:
            write_all(self._to_worker, pack(header, arrays), deadline)
            reply = read_message(self._from_worker, deadline)
        except Deadline:
            self._kill()
            self._reap()
            return Outcome(
                "timeout",
                message=f"{header.get('name')} did not return within {budget:g} s "
                "(the worker process was killed)",
            )
        except Closed:
            status, why = self._reap()
            return Outcome(
                status,
                message=f"{header.get('name')} brought the worker process down: it {why}"
                f"{self._log_tail(600)}",
            )
        except ProtocolError as exc:
            self._kill()
            self._reap()
            return Outcome(
                "crashed",
                message=f"{header.get('name')}: the worker process sent a malformed reply "
                f"({exc}); the submission may have tampered with it",
            )
        self.round_trips += 1
        return reply

    def _ensure_worker(self) -> Outcome | None:
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
        if status not in ("ok", "error", "timeout", "memory", "crashed", "missing"):
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
            message=self._unmask(str(data.get("message", ""))[:20000]),
            args_after=args_after,
            kept=kept,
            output=self._unmask(str(data.get("output", ""))[:20000]),
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

    def call_many(
        self, name: str, arg_list: Sequence[tuple], *, select: int | None = None
    ) -> list[Outcome]:
        if not arg_list:
            return []
        arrays: list[bytes] = []
        encoded = [self._encode_args(args, arrays) for args in arg_list]
        if any(item is None for item in encoded):
            return [self._lost_cache(name) for _ in arg_list]
        failed = self._ensure_worker()
        if failed is not None:
            return [failed for _ in arg_list]
        budget = min(self.timeout * len(arg_list), max(self.timeout, BATCH_TIMEOUT_CAP))
        reply = self._request(
            {"op": "call_many", "name": name, "arg_list": encoded, "select": select}, arrays, budget
        )
        if isinstance(reply, Outcome):
            return [reply for _ in arg_list]
        try:
            outcomes = reply[0].get("outcomes")
            if type(outcomes) is not list or len(outcomes) != len(arg_list):
                raise ProtocolError("wrong number of outcomes")
            return [self._outcome(item, reply[1]) for item in outcomes]
        except ProtocolError as exc:
            self._kill()
            self._reap()
            return [
                Outcome(
                    "crashed", message=f"{name}: malformed reply from the worker process ({exc})"
                )
                for _ in arg_list
            ]

    def release(self) -> None:
        if self._alive():
            reply = self._request({"op": "release", "name": "release"}, [], self.timeout)
            del reply
