"""One worker process at an isolation level: started, fed its load message, killed and reaped.

``WorkerProcess.start`` spawns ``gradcheck.boundary.worker`` in ``python -I`` (``module_command``; under bubblewrap
at the ``sandbox`` level, see ``gradcheck.boundary.sandbox``) with two pipes, then sends the load
message. ``reap`` turns the way a worker died into a status (``crashed``, ``memory``,
``timeout``) and a sentence. ``kill``/``reap``/``close`` also kill every process the
submission started (its strays).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from typing import Any

from gradcheck.boundary import confine, sandbox, strays
from gradcheck.boundary.protocol import REPLY_SLACK, Closed, Deadline, ProtocolError, pack, read_message, write_all


def module_command(module: str, *args: str) -> list[str]:
    """``python -I`` running gradcheck's ``module`` as ``__main__`` with ``args``, from this checker's own tree.

    ``-I`` ignores ``PYTHONPATH`` (the worker must not trust the environment), so ``-m`` would import whichever
    ``gradcheck`` the installation points at (an editable install of another checkout, or none inside the
    sandbox); the folder this ``gradcheck`` was imported from goes first on ``sys.path`` instead.
    """
    import gradcheck

    root = os.path.dirname(os.path.dirname(os.path.abspath(gradcheck.__file__)))
    boot = (
        f"import runpy, sys; sys.path.insert(0, {root!r}); "
        f"runpy.run_module({module!r}, run_name='__main__', alter_sys=True)"
    )
    return [sys.executable, "-I", "-c", boot, *args]


PIPE_SIZE = 1 << 20  # bytes a pipe holds: a batch of calls (or its reply) is written without waiting for the reader


def _widen(fd: int) -> None:
    """Let the pipe of ``fd`` hold ``PIPE_SIZE`` bytes (Linux; elsewhere, or above the system's
    limit, it keeps its size): a batch sent while the worker is busy, or a reply the checker
    reads after judging the previous batch, then crosses without a switch per 64 KiB."""
    try:
        import fcntl

        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, PIPE_SIZE)
    except (ImportError, AttributeError, OSError):
        pass


EXIT_WAIT = 1.0  # seconds a worker whose pipe closed gets to exit on its own before it is killed
LOG_LIMIT = 16 << 20  # RLIMIT_FSIZE: the worker's stdout/stderr log and any file it writes


class WorkerProcess:
    """The process side of ``WorkerBackend``: ``to_worker``/``from_worker`` are the pipe fds (-1: none)."""

    def __init__(
        self,
        *,
        isolation: str,
        target: str,
        is_path: bool,
        visible: Sequence[str],
        label: str,
        timeout: float,
        memory_limit: int,
        cpu_limit: int,
        load_timeout: float,
    ):
        self.isolation, self.target, self.is_path, self.visible = isolation, target, is_path, list(visible)
        self.label, self.timeout, self.load_timeout = label, timeout, load_timeout
        self.memory_limit, self.cpu_limit = memory_limit, cpu_limit
        self.process: subprocess.Popen | None = None
        self.to_worker = self.from_worker = -1
        self._log: Any = None
        self._scratch: str | None = None
        self._copy: str | None = None
        self._uid: int | None = None
        self.use_reference: tuple[str, ...] = ()  # contract names the worker replaces by the reference's
        self.convention = "article"  # decided by the checker from the source (gradcheck.load.declared)
        self.plan_functions: tuple[str, ...] = ()  # an assignment's function names the worker also calls
        self.plan_methods: dict = {}  # its class-based layers (gradcheck.specs.objects.described)

    def start(self) -> dict:
        """Start a fresh worker, send it its load message; its ready message (LoadError if it fails)."""
        from gradcheck.errors import LoadError

        parent_read, child_write = os.pipe()
        child_read, parent_write = os.pipe()
        for fd in (parent_read, parent_write):
            _widen(fd)
        if self._log is not None:
            self._log.close()
        self._log = tempfile.TemporaryFile()
        worker = module_command("gradcheck.boundary.worker", str(child_read), str(child_write))
        self._remove_scratch()
        visible: list = list(self.visible)
        if self.isolation == "sandbox" and confine.mode() == "own-uid":  # what its uid cannot read: a copy
            self._scratch, visible = confine.stage(self.visible, confine.sandbox_uid())
        command, env = sandbox.worker_command(self.isolation, worker, visible, answer_key=bool(self.use_reference))
        try:
            self.process = subprocess.Popen(
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
        self.to_worker, self.from_worker = parent_write, parent_read
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
            "use_reference": list(self.use_reference),
            "convention": self.convention,
            "plan_functions": list(self.plan_functions),
            "plan_methods": self.plan_methods,
        }
        if self.isolation == "sandbox":
            config.update(sys_path=sandbox.sandbox_sys_path(self.visible), cwd="/tmp")
        elif self.isolation == "unprivileged-user":
            self._uid = sandbox.UID_BASE + self.process.pid
            files = self.visible if self.is_path else []  # the submission first, then what it needs beside it
            self._scratch, self._copy = sandbox.private_scratch(self._uid, files)
            config.update(cwd=self._scratch, drop=[self._uid, self._uid], target=self._copy or self.target)
            config["sys_path"] = [p for p in sys.path if isinstance(p, str) and p] + (
                [] if self.is_path else [os.getcwd()]
            )
        deadline = time.monotonic() + self.load_timeout
        try:
            write_all(self.to_worker, pack(config, []), deadline)
            header, arrays = read_message(self.from_worker, deadline, budget=REPLY_SLACK)
        except Deadline:
            self.kill()
            self.reap()
            raise LoadError(
                f"{self.label}: importing it did not finish within {self.load_timeout:g} s"
            ) from None
        except (Closed, ProtocolError) as exc:
            status, why = self.reap()
            detail = f" ({exc})" if isinstance(exc, ProtocolError) else ""
            raise LoadError(
                f"{self.label}: the worker process {why} while importing it{detail}"
                + self.log_tail()
            ) from None
        return self.unmask(header)

    def unmask(self, data: Any) -> Any:
        """Texts from the worker with the private copy's path replaced by the submission's."""
        if self._copy is None:
            return data
        if type(data) is str:
            return data.replace(self._copy, self.target)
        if type(data) is list:
            return [self.unmask(item) for item in data]
        if type(data) is dict:
            return {key: self.unmask(item) for key, item in data.items()}
        return data

    def _remove_scratch(self) -> None:
        sandbox.remove_scratch(self._scratch)
        self._scratch = self._copy = None

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        process = self.process
        if process is None:
            return
        strays.kill_strays(process.pid, self._uid)
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            process.kill()
        except ProcessLookupError:
            pass

    def reap(self) -> tuple[str, str]:
        """Wait for a dead worker; (status, what happened) for messages."""
        process = self.process
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
        self.process = None
        strays.kill_strays(process.pid, self._uid)
        code = process.returncode
        if self.isolation == "sandbox" and code is not None and 128 < code <= 128 + 64:
            code = -(code - 128)  # bwrap exits with 128 + the signal that killed the worker
        log = self.log_tail()
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
        for fd in (self.to_worker, self.from_worker):
            if fd >= 0:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self.to_worker = self.from_worker = -1

    def log_tail(self, size: int = 1500) -> str:
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
        """End the worker, whatever it is doing, and everything it started; remove its scratch."""
        process = self.process
        if process is not None:
            strays.kill_strays(process.pid, self._uid)
        if process is not None and process.poll() is None:
            try:
                write_all(self.to_worker, pack({"op": "exit"}, []), time.monotonic() + 0.5)
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
        self.process = None
        if process is not None:
            strays.kill_strays(process.pid, self._uid)
        self._close_pipes()
        self._remove_scratch()
        if self._log is not None:
            self._log.close()
            self._log = None
