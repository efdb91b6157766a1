"""No new processes, threads allowed: a seccomp filter the worker installs before the submission runs.

A submission that forks multiplies the memory limit (each child has its own ``RLIMIT_AS``) and
floods the machine; ``RLIMIT_NPROC = 0`` stops it, but also stops threads, and that limit holds
only where the worker is not root, so correct code that starts a thread pool failed at some
isolation levels and passed at others. The kernel's seccomp filter (``prctl(PR_SET_SECCOMP)``,
the mechanism bubblewrap, Docker and systemd use) can tell the two apart: ``clone`` with
``CLONE_THREAD`` makes a thread and is allowed; ``fork``, ``vfork``, ``clone`` without it (what
``os.fork``, ``subprocess`` and ``posix_spawn`` call) fail with ``EAGAIN`` (Python's
``BlockingIOError``, as under ``RLIMIT_NPROC``); ``clone3``, whose flags a filter cannot read,
fails with ``ENOSYS``, so the C library falls back to ``clone``. The filter holds at every level,
root included, and for the worker's whole life (a filter cannot be removed); ``RLIMIT_NPROC``
then only caps the threads (:data:`THREADS`).

x86-64 and aarch64 are known; on another architecture :func:`install` returns False and the
limits alone apply (the report's ``limits`` says which held).
"""

from __future__ import annotations

import ctypes
import errno
import functools
import platform
import struct
import subprocess
import sys

THREADS = 64  # RLIMIT_NPROC once processes are refused by the filter: the worker's threads

# syscall numbers: (clone, clone3, fork, vfork); aarch64 has no fork/vfork syscalls
_SYSCALLS = {"x86_64": (56, 435, 57, 58), "aarch64": (220, 435, None, None)}
_AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}
CLONE_THREAD = 0x00010000

_LD_W_ABS, _JEQ_K, _AND_K, _RET_K = 0x20, 0x15, 0x54, 0x06
_RET_ALLOW = 0x7FFF0000
_RET_ERRNO = 0x00050000
_PR_SET_NO_NEW_PRIVS, _PR_SET_SECCOMP, _SECCOMP_MODE_FILTER = 38, 22, 2
_OFFSET_NR, _OFFSET_ARCH, _OFFSET_ARG0 = 0, 4, 16  # struct seccomp_data (args[0]'s low word: little-endian)


def _program(machine: str) -> list[tuple[int, int, int, int]]:
    """The BPF program: (code, jump if true, jump if false, constant) per instruction."""
    clone, clone3, fork, vfork = _SYSCALLS[machine]
    refuse, no_syscall = _RET_ERRNO | errno.EAGAIN, _RET_ERRNO | errno.ENOSYS
    program = [
        (_LD_W_ABS, 0, 0, _OFFSET_ARCH),
        (_JEQ_K, 1, 0, _AUDIT_ARCH[machine]),
        (_RET_K, 0, 0, _RET_ALLOW),  # another ABI (x32, compat): not filtered here
        (_LD_W_ABS, 0, 0, _OFFSET_NR),
        (_JEQ_K, 0, 1, clone3),
        (_RET_K, 0, 0, no_syscall),
    ]
    for number in (fork, vfork):
        if number is not None:
            program += [(_JEQ_K, 0, 1, number), (_RET_K, 0, 0, refuse)]
    program += [
        (_JEQ_K, 1, 0, clone),
        (_RET_K, 0, 0, _RET_ALLOW),
        (_LD_W_ABS, 0, 0, _OFFSET_ARG0),
        (_AND_K, 0, 0, CLONE_THREAD),
        (_JEQ_K, 0, 1, CLONE_THREAD),
        (_RET_K, 0, 0, _RET_ALLOW),
        (_RET_K, 0, 0, refuse),
    ]
    return program


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def install() -> bool:
    """Refuse new processes (not threads) to this process and its threads, for good; True when
    the filter is in place, False where it cannot be (another architecture, no seccomp)."""
    machine = platform.machine()
    if machine not in _SYSCALLS:
        return False
    program = _program(machine)
    code = b"".join(struct.pack("=HBBI", *instruction) for instruction in program)
    buffer = ctypes.create_string_buffer(code, len(code))
    fprog = _SockFprog(len(program), ctypes.cast(buffer, ctypes.c_void_p))
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            return False
        return libc.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) == 0
    except (OSError, AttributeError):
        return False


_WORKS = """
import os, threading
from gradcheck.boundary import noforks
assert noforks.install()
threading.Thread(target=lambda: None).start()
try:
    os.fork()
except BlockingIOError:
    print("refused")
"""


@functools.cache
def works() -> bool:
    """Whether the filter installs here and refuses a fork while a thread still starts (probed
    once per process, in a child)."""
    import os

    import gradcheck

    root = os.path.dirname(os.path.dirname(os.path.abspath(gradcheck.__file__)))
    try:
        done = subprocess.run([sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {root!r})\n{_WORKS}"],
                              capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.stdout.strip() == "refused"

