"""What bounds a sandboxed worker's whole process tree, and which of those limits hold here.

The sandbox (``gradcheck.boundary.sandbox``) runs the worker in one of two ways, chosen once per
process by :func:`mode` from a probe that runs the real thing:

- ``"own-uid"`` (the checker runs as root): bubblewrap sets the sandbox up as root, without a
  user namespace, and ``setpriv`` starts the worker as a uid of its own (:func:`sandbox_uid`,
  no groups, no capabilities, ``no_new_privs``). ``RLIMIT_NPROC`` then counts: the worker's
  limit of 0 refuses every fork and thread, so children can neither multiply the memory
  limit nor flood the machine, and the sandbox's pid 1 (root) cannot be signalled or read.
- ``"user-namespace"`` (the checker is not root, or the probe above failed): bubblewrap maps
  the sandbox to the checker's own uid. ``RLIMIT_NPROC`` holds when that uid is not root.

In both, bubblewrap itself starts with a cleared environment (``sandbox.SANDBOX_ENV`` only, so
pid 1 shows nothing of the grader's), ``/dev`` is read-only and ``/dev/shm`` a tmpfs of
:data:`SHM_SIZE`. :func:`probe` measures, in the mode used, what a sandboxed process can do
(fork, write to ``/dev/shm``, read pid 1's environment); :func:`limits` turns that into the
report's ``limits``: for each limit, whether it held on this machine and by what.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from typing import Any

SHM_SIZE = 1 << 20  # bytes of the sandbox's /dev/shm
CAPS_FOR_SETPRIV = ("--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID")  # dropped by setpriv itself

_PROBE = r"""
import json, os, resource
facts = {"uid": os.getuid()}
resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))
try:
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    facts["fork_refused"] = False
except OSError:
    facts["fork_refused"] = True
shm = os.statvfs("/dev/shm")
facts["shm_bytes"] = shm.f_blocks * shm.f_frsize
try:
    with open("/dev/gradcheck-probe", "w"):
        facts["dev_writable"] = True
except OSError:
    facts["dev_writable"] = False
try:
    with open("/proc/1/environ", "rb") as handle:
        names = [v.split(b"=")[0] for v in handle.read().split(b"\0") if v]
    facts["pid1_environ"] = sorted(name.decode("ascii", "replace") for name in names)
except OSError:
    facts["pid1_environ"] = None
facts["environ"] = sorted(os.environ)
print(json.dumps(facts))
"""


def sandbox_uid() -> int:
    """The uid of this checker process's sandboxed workers in ``own-uid`` mode: one per checker
    process, in the 2^22 uids after those of the unprivileged-user level."""
    from gradcheck.boundary.sandbox import PID_MAX, UID_BASE

    return UID_BASE + PID_MAX + os.getpid() % PID_MAX


def run_as(uid: int) -> list[str]:
    """The ``setpriv`` prefix that starts a command as ``uid`` with nothing of root's."""
    setpriv = shutil.which("setpriv") or "setpriv"
    return [setpriv, f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--inh-caps=-all", "--no-new-privs"]


def _run_probe(uid: int | None, flags: Sequence[str]) -> dict[str, Any] | None:
    from gradcheck.boundary.sandbox import SANDBOX_ENV, bwrap_command

    command = bwrap_command([os.path.realpath(sys.executable), "-I", "-S", "-c", _PROBE], flags=flags, uid=uid)
    try:
        done = subprocess.run(command, capture_output=True, timeout=20, check=False, env=dict(SANDBOX_ENV))
        return json.loads(done.stdout) if done.returncode == 0 else None
    except (OSError, subprocess.TimeoutExpired, ValueError):
        return None


@functools.cache
def probe() -> dict[str, Any]:
    """How this machine runs sandboxes (probed once per process): ``{"mode", "uid", facts...}``.

    ``mode`` is ``"own-uid"`` when the checker is root and a worker started by ``setpriv`` as
    :func:`sandbox_uid` runs (the Python installation must be readable by other users), else
    ``"user-namespace"``. The facts are what a process in that sandbox measured."""
    if os.geteuid() == 0 and shutil.which("setpriv"):
        facts = _run_probe(sandbox_uid(), ())
        if facts is not None:
            return {"mode": "own-uid", "uid": sandbox_uid(), **facts}
    from gradcheck.boundary.sandbox import bwrap_flags

    facts = _run_probe(None, bwrap_flags() or ())
    return {"mode": "user-namespace", "uid": None, **(facts or {})}


def mode() -> str:
    """``"own-uid"`` or ``"user-namespace"`` (see the module docstring)."""
    return probe()["mode"]


def readable_by_anyone(path: str) -> bool:
    """Whether every file and folder of ``path`` (a file, or a folder walked without following
    links) can be read by any user: then ``own-uid`` workers can read it where it is."""
    def open_to_all(mode: int, folder: bool) -> bool:
        return bool(mode & 0o004) and (not folder or bool(mode & 0o001))

    if not os.path.isdir(path):
        return open_to_all(os.stat(path).st_mode, False)
    for root, _, names in os.walk(path):
        if not open_to_all(os.stat(root).st_mode, True):
            return False
        for name in names:
            full = os.path.join(root, name)
            if not os.path.islink(full) and not open_to_all(os.lstat(full).st_mode, False):
                return False
    return True


def stage(paths: Sequence[str], uid: int) -> tuple[str | None, list[tuple[str, str]]]:
    """(folder, [(source, shown at)]): ``paths`` the ``own-uid`` worker can read where they are
    are shown as they are; the others are copied (regular files only, links never followed)
    into a folder only ``uid`` can read, and shown at their own path. The folder is None when
    nothing was copied; remove it with ``shutil.rmtree`` when the worker is done."""
    folder: str | None = None
    binds = []
    for path in paths:
        real = os.path.realpath(path)
        if readable_by_anyone(real):
            binds.append((real, real))
            continue
        folder = folder or tempfile.mkdtemp(prefix="gradcheck-sandbox-")
        copy = os.path.join(folder, str(len(binds)))
        _copy(real, copy)
        binds.append((copy, real))
    if folder is not None:
        for root, dirs, names in os.walk(folder):
            for name in dirs + names:
                os.chown(os.path.join(root, name), uid, uid, follow_symlinks=False)
        os.chown(folder, uid, uid)
        os.chmod(folder, 0o500)
    return folder, binds


def _copy(source: str, copy: str) -> None:
    if not os.path.isdir(source):
        _copy_file(source, copy)
        return
    for root, _, names in os.walk(source):
        relative = os.path.relpath(root, source)
        os.makedirs(os.path.join(copy, relative), mode=0o700, exist_ok=True)
        for name in names:
            _copy_file(os.path.join(root, name), os.path.join(copy, relative, name))


def _copy_file(source: str, copy: str) -> None:
    """A read-only copy of the regular file ``source`` (a link, FIFO or device is skipped)."""
    try:
        fd = os.open(source, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return
        with open(copy, "wb") as out, os.fdopen(os.dup(fd), "rb") as handle:
            shutil.copyfileobj(handle, out)
        os.chmod(copy, 0o400)
    finally:
        os.close(fd)


def limits(level: str, *, memory: int, cpu: int, file_size: int, reply: str) -> dict[str, dict[str, Any]]:
    """The report's ``limits``: for each limit, ``{"held": bool, "by": how}`` at ``level`` on this machine.

    Measured by :func:`probe` at the sandbox level; at the other levels from what is known of
    them (docs/sandbox.md)."""
    from gradcheck.boundary.sandbox import SANDBOX_ENV

    root = os.geteuid() == 0
    out: dict[str, dict[str, Any]] = {
        "address_space": {"held": True, "by": f"RLIMIT_AS = {memory >> 20} MiB per process"},
        "cpu_time": {"held": True, "by": f"RLIMIT_CPU = {cpu} s"},
        "file_size": {"held": True, "by": f"RLIMIT_FSIZE = {file_size >> 20} MiB per file"},
        "replies": {"held": True, "by": reply},
    }
    from gradcheck.boundary import noforks

    filtered = noforks.works()
    refused = "a seccomp filter refuses every new process (fork, vfork, spawn) and lets threads start, " \
        f"RLIMIT_NPROC = {noforks.THREADS} capping them"
    if level == "sandbox":
        facts = probe()
        uid = f"uid {facts['uid']} of its own (setpriv)" if facts["mode"] == "own-uid" else "the checker's uid"
        forks = facts.get("fork_refused") is True
        out["processes"] = {"held": forks, "by": f"RLIMIT_NPROC = 0 under {uid}: a fork in the probe was "
                            + ("refused" if forks else "allowed (root in a user namespace is exempt)")}
        shm = facts.get("shm_bytes")
        out["dev_shm"] = {"held": shm is not None and shm <= SHM_SIZE and not facts.get("dev_writable"),
                          "by": f"bwrap tmpfs /dev/shm of {shm} bytes, /dev read-only"}
        pid1 = facts.get("pid1_environ")
        out["environment"] = {"held": not pid1 or set(pid1) <= set(SANDBOX_ENV),
                              "by": "bubblewrap started with only " + ", ".join(SANDBOX_ENV)
                              + ("; pid 1's environment unreadable" if pid1 is None else "")}
        out["memory_total"] = {"held": forks, "by": f"{memory >> 20} MiB per process, no child processes, "
                               "plus the 256 MiB /tmp and the /dev/shm tmpfs"}
        if filtered:
            out["processes"] = {"held": True, "by": refused}
            out["memory_total"]["held"] = True
    else:
        held = level == "unprivileged-user" or not root
        out["processes"] = {"held": held, "by": "RLIMIT_NPROC = 0 under a uid that is not root" if held
                            else "RLIMIT_NPROC is not enforced for root"}
        out["dev_shm"] = {"held": False, "by": "the machine's /dev/shm is shared"}
        out["environment"] = {"held": level == "unprivileged-user", "by": "scrubbed" if level != "limits-only"
                              else "the worker gets the checker's environment"}
        out["memory_total"] = {"held": held, "by": f"{memory >> 20} MiB per process"
                               + (", no child processes" if held else "; each child process gets its own")}
        if filtered:
            out["processes"] = {"held": True, "by": refused}
            out["memory_total"] = {"held": True, "by": f"{memory >> 20} MiB per process, no child processes"}
    out["cgroup"] = {"held": False, "by": cgroup_note()}
    return out


@functools.cache
def cgroup_note() -> str:
    """Why no cgroup bounds the worker's tree here (gradcheck uses none yet; docs/sandbox.md)."""
    for path in ("/sys/fs/cgroup/cgroup.controllers", "/sys/fs/cgroup/unified/cgroup.controllers"):
        try:
            with open(path) as handle:
                controllers = handle.read().split()
            break
        except OSError:
            continue
    else:
        return "not used: no cgroup v2 hierarchy here"
    missing = [name for name in ("pids", "memory") if name not in controllers]
    if missing:
        return f"not used: the cgroup v2 hierarchy lacks {', '.join(missing)}"
    return "not used: gradcheck does not create cgroups (RLIMIT_NPROC bounds the tree)"
