"""Run submitted code in a limited worker process: :class:`WorkerBackend`.

The worker (``python -I -m gradcheck.boundary.worker``) runs in its own session with
limits on CPU time, address space, file size and processes set before the
submission is imported, and ``OPENBLAS_NUM_THREADS=1``. It talks to the parent
over two dedicated pipes (not stdin/stdout, which go to /dev/null and a capped
log file, so prints at import time cannot corrupt the protocol).

Message format, both directions: 8-byte big-endian header length, a JSON header,
then the raw bytes of the arrays the header refers to (``{"a": [index, dtype,
shape]}``, dtype a numeric numpy type string such as ``"<f8"``), rebuilt with
``np.frombuffer`` after checking dtype, shape and size. Nothing the worker
sends is unpickled; the parent decodes every reply into wire values
(``gradcheck.boundary.values``), validating its structure and sizes, and treats anything
malformed as a crash.

A call that outlives its deadline gets the worker's process group killed
(``timeout``); a worker that dies (``sys.exit``, ``os._exit``, a signal, the
address-space limit) yields ``crashed`` or ``memory``. The next call starts a
fresh worker; caches (``CacheRef``) held by the dead one are reported lost.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import math
import os
import re
import select
import signal
import subprocess
import sys
import tempfile
import time
import weakref
from collections.abc import Sequence
from typing import Any

import numpy as np

from gradcheck.boundary.backend import Backend, Call, Outcome
from gradcheck.boundary.values import CacheRef, Opaque
from gradcheck.contract import CALL_STATUSES, CONTRACT_FUNCTIONS

GiB = 1 << 30
MAX_HEADER = 64 << 20  # bytes of JSON header accepted from the worker
MAX_MESSAGE = 1 << 30  # bytes of arrays accepted from the worker per reply
MAX_DEPTH = 12
BATCH_TIMEOUT_CAP = 300.0  # seconds: the longest a batch of calls may take in total
GRACE = 2.0  # seconds on top of the worker-side timeout (encoding, transfer)
LOG_LIMIT = 16 << 20  # RLIMIT_FSIZE: the worker's stdout/stderr log and any file it writes
_KEY_BITS = 32


class ProtocolError(Exception):
    """A message that does not follow the protocol (from a misbehaving worker)."""


class _Deadline(Exception):
    pass


class _Closed(Exception):
    pass


# --- encoding -----------------------------------------------------------------


def encode(value: Any, arrays: list[bytes]) -> Any:
    """A wire value as JSON data; array bytes appended to ``arrays``."""
    if isinstance(value, np.ndarray):
        arrays.append(np.ascontiguousarray(value).tobytes())
        return {"a": [len(arrays) - 1, value.dtype.str, list(value.shape)]}
    if value is None or type(value) in (bool, int, str):
        return value
    if type(value) is float:
        if value != value or value in (float("inf"), float("-inf")):
            return {"f": repr(value)}
        return value
    if type(value) is tuple:
        return {"t": [encode(item, arrays) for item in value]}
    if type(value) is list:
        return {"l": [encode(item, arrays) for item in value]}
    if type(value) is dict:
        return {"d": [[key, encode(item, arrays)] for key, item in value.items()]}
    if type(value) is CacheRef:
        return {"r": value.key}
    if type(value) is Opaque:
        return {"o": value.type_name}
    raise TypeError(f"not a wire value: {type(value).__name__}")


def decode(data: Any, arrays: list[bytes], depth: int = 0) -> Any:
    """Inverse of :func:`encode`, validating everything (raises ProtocolError)."""
    if depth > MAX_DEPTH:
        raise ProtocolError("value nested too deeply")
    if data is None or type(data) in (bool, int, str):
        return data
    if type(data) is float:
        return data
    if type(data) is not dict or len(data) != 1:
        raise ProtocolError(f"unexpected value {type(data).__name__}")
    ((tag, body),) = data.items()
    if tag == "a":
        return _load_array(body, arrays)
    if tag == "f":
        if body not in ("nan", "inf", "-inf"):
            raise ProtocolError("bad float")
        return float(body)
    if tag in ("t", "l"):
        if type(body) is not list:
            raise ProtocolError("bad sequence")
        items = [decode(item, arrays, depth + 1) for item in body]
        return tuple(items) if tag == "t" else items
    if tag == "d":
        if type(body) is not list:
            raise ProtocolError("bad dict")
        result = {}
        for pair in body:
            if type(pair) is not list or len(pair) != 2 or type(pair[0]) is not str:
                raise ProtocolError("bad dict item")
            result[pair[0]] = decode(pair[1], arrays, depth + 1)
        return result
    if tag == "r":
        if type(body) is not int or body < 0:
            raise ProtocolError("bad cache reference")
        return CacheRef(body)
    if tag == "o":
        if type(body) is not str:
            raise ProtocolError("bad opaque value")
        return Opaque(body[:200])
    raise ProtocolError(f"unknown tag {tag!r}")


_DTYPE = re.compile(r"[<>|=][biufc][0-9]{1,2}")
MAX_NDIM = 32


def _load_array(body: Any, arrays: list[bytes]) -> np.ndarray:
    """Rebuild an array from ``[index, dtype, shape]``; only numeric dtypes, sizes checked."""
    if type(body) is not list or len(body) != 3:
        raise ProtocolError("bad array reference")
    index, dtype_text, shape = body
    if type(index) is not int or not 0 <= index < len(arrays):
        raise ProtocolError("bad array reference")
    if type(dtype_text) is not str or not _DTYPE.fullmatch(dtype_text):
        raise ProtocolError(f"bad array dtype {str(dtype_text)[:40]!r}")
    try:
        dtype = np.dtype(dtype_text)
    except TypeError:
        raise ProtocolError(f"bad array dtype {dtype_text!r}") from None
    if (
        type(shape) is not list
        or len(shape) > MAX_NDIM
        or not all(type(n) is int and n >= 0 for n in shape)
    ):
        raise ProtocolError("bad array shape")
    blob = arrays[index]
    if math.prod(shape) * dtype.itemsize != len(blob):
        raise ProtocolError("array size does not match its shape")
    array = np.frombuffer(blob, dtype=dtype).reshape(shape)
    return array.astype(dtype.newbyteorder("="), copy=True)


def pack(header: dict[str, Any], arrays: Sequence[bytes]) -> bytes:
    """One message: length-prefixed JSON header (with array sizes), then the arrays."""
    header = dict(header, sizes=[len(blob) for blob in arrays])
    text = json.dumps(header, allow_nan=False).encode()
    return len(text).to_bytes(8, "big") + text + b"".join(arrays)


# --- pipe I/O with deadlines ------------------------------------------------------


def write_all(fd: int, data: bytes, deadline: float | None) -> None:
    view = memoryview(data)
    while view:
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise _Deadline()
            _, ready, _ = select.select([], [fd], [], remaining)
            if not ready:
                raise _Deadline()
        try:
            written = os.write(fd, view[: 1 << 20])
        except BlockingIOError:
            continue
        except (BrokenPipeError, OSError):
            raise _Closed() from None
        view = view[written:]


def read_exact(fd: int, size: int, deadline: float | None) -> bytes:
    chunks = []
    while size > 0:
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise _Deadline()
            ready, _, _ = select.select([fd], [], [], remaining)
            if not ready:
                raise _Deadline()
        try:
            chunk = os.read(fd, min(size, 1 << 20))
        except BlockingIOError:
            continue
        except OSError:
            raise _Closed() from None
        if not chunk:
            raise _Closed()
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def read_message(
    fd: int, deadline: float | None, *, trusted: bool = False
) -> tuple[dict, list[bytes]]:
    """Read one message; from an untrusted sender, sizes are checked before reading."""
    length = int.from_bytes(read_exact(fd, 8, deadline), "big")
    if not trusted and length > MAX_HEADER:
        raise ProtocolError(f"header of {length} bytes")
    data = read_exact(fd, length, deadline)
    try:
        header = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise ProtocolError(f"bad header: {exc}") from None
    if type(header) is not dict:
        raise ProtocolError("header is not an object")
    sizes = header.get("sizes", [])
    if type(sizes) is not list or not all(type(size) is int and size >= 0 for size in sizes):
        raise ProtocolError("bad array sizes")
    if not trusted and sum(sizes) > MAX_MESSAGE:
        raise ProtocolError(f"reply of {sum(sizes)} bytes of arrays")
    return header, [read_exact(fd, size, deadline) for size in sizes]


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
    requests answered by a worker.
    """

    def __init__(
        self,
        target: str,
        timeout: float = 10.0,
        *,
        memory_limit: int = 4 * GiB,
        cpu_limit: int = 1800,
        load_timeout: float = 30.0,
        use_reference: tuple[str, ...] = (),
    ):
        from gradcheck.errors import LoadError
        from gradcheck.load.loaders import TargetNotFound, is_path_like

        self.target = os.path.abspath(target) if is_path_like(target) else target
        self.label = target
        self.timeout = float(timeout)
        self.memory_limit = int(memory_limit)
        self.cpu_limit = int(cpu_limit)
        self.load_timeout = float(load_timeout)
        self.use_reference = tuple(name for name in use_reference if name in CONTRACT_FUNCTIONS)
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
        self.import_output = str(ready.get("output", ""))[:5000]

    # process management ---------------------------------------------------------

    def _start(self) -> dict:
        from gradcheck.errors import LoadError

        parent_read, child_write = os.pipe()
        child_read, parent_write = os.pipe()
        if self._log is not None:
            self._log.close()
        self._log = tempfile.TemporaryFile()
        env = dict(os.environ)
        env.update(
            OPENBLAS_NUM_THREADS="1",
            OMP_NUM_THREADS="1",
            MKL_NUM_THREADS="1",
            MPLBACKEND="Agg",
            PYTHONDONTWRITEBYTECODE="1",
        )
        try:
            self._process = subprocess.Popen(
                [
                    sys.executable,
                    "-I",
                    "-m",
                    "gradcheck.boundary.worker",
                    str(child_read),
                    str(child_write),
                ],
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
            "use_reference": list(self.use_reference),
        }
        deadline = time.monotonic() + self.load_timeout
        try:
            write_all(self._to_worker, pack(config, []), deadline)
            header, arrays = read_message(self._from_worker, deadline)
        except _Deadline:
            self._kill()
            self._reap()
            raise LoadError(
                f"{self.label}: importing it did not finish within {self.load_timeout:g} s"
            ) from None
        except (_Closed, ProtocolError) as exc:
            status, why = self._reap()
            detail = f" ({exc})" if isinstance(exc, ProtocolError) else ""
            raise LoadError(
                f"{self.label}: the worker process {why} while importing it{detail}"
                + self._log_tail()
            ) from None
        return header

    def _alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def _kill(self) -> None:
        process = self._process
        if process is None:
            return
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
        self._kill_group_if_alive(process)
        try:
            _, raw_status, usage = os.wait4(process.pid, 0)
            process.returncode = os.waitstatus_to_exitcode(raw_status)
        except ChildProcessError:
            usage = None
            process.wait()
        self._process = None
        code = process.returncode
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
        if process is not None and process.poll() is None:
            try:
                write_all(self._to_worker, pack({"op": "exit"}, []), time.monotonic() + 0.5)
                process.wait(timeout=1.0)
            except (_Deadline, _Closed, subprocess.TimeoutExpired, OSError):
                pass
        if process is not None:
            self._kill_group_if_alive(process)
            try:
                process.kill()
                process.wait(timeout=5)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        self._process = None
        self._close_pipes()
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
        except _Deadline:
            self._kill()
            self._reap()
            return Outcome(
                "timeout",
                message=f"{header.get('name')} did not return within {budget:g} s "
                "(the worker process was killed)",
            )
        except _Closed:
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
            message=str(data.get("message", ""))[:20000],
            args_after=args_after,
            kept=kept,
            output=str(data.get("output", ""))[:20000],
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

    def call_batch(self, calls: Sequence[Call]) -> list[Outcome]:
        """Run ``calls`` in order in one round trip (see ``Backend.call_batch``)."""
        if not calls:
            return []
        arrays: list[bytes] = []
        encoded = [self._encode_args(call.args, arrays) for call in calls]
        lost = [index for index, item in enumerate(encoded) if item is None]
        if lost:
            return [self._lost_cache(calls[lost[0]].name) for _ in calls]
        failed = self._ensure_worker()
        if failed is not None:
            return [failed for _ in calls]
        budget = min(self.timeout * len(calls), max(self.timeout, BATCH_TIMEOUT_CAP))
        header = {
            "op": "call_batch",
            "name": calls[0].name,
            "calls": [
                {"name": call.name, "args": args, "keep": [int(i) for i in call.keep],
                 "select": call.select, "collect": bool(call.collect_args)}
                for call, args in zip(calls, encoded, strict=True)
            ],
        }
        reply = self._request(header, arrays, budget)
        if isinstance(reply, Outcome):
            return [reply for _ in calls]
        try:
            outcomes = reply[0].get("outcomes")
            if type(outcomes) is not list or len(outcomes) != len(calls):
                raise ProtocolError("wrong number of outcomes")
            return [self._outcome(item, reply[1]) for item in outcomes]
        except ProtocolError as exc:
            self._kill()
            self._reap()
            message = f"{calls[0].name}: malformed reply from the worker process ({exc})"
            return [Outcome("crashed", message=message) for _ in calls]

    @contextlib.contextmanager
    def with_reference(self, names: tuple[str, ...]):
        """A second worker on the same target whose module globals ``names`` are the reference's."""
        other = WorkerBackend(self.target, self.timeout, memory_limit=self.memory_limit, cpu_limit=self.cpu_limit,
                              load_timeout=self.load_timeout, use_reference=tuple(names))
        try:
            yield other
        finally:
            other.close()

    def release(self) -> None:
        if self._alive():
            reply = self._request({"op": "release", "name": "release"}, [], self.timeout)
            del reply
