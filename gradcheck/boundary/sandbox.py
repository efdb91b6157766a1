"""Isolation levels of the worker process: which one this machine offers, and how to start it.

Three levels, strongest first (``LEVELS``):

- ``"sandbox"``: the worker runs under bubblewrap (``bwrap``) in new user, PID,
  network, IPC, UTS (and cgroup) namespaces with no capabilities; the file
  system it sees holds only the Python installation, the ``gradcheck`` and
  ``reference`` packages and the one submission, all read-only, plus a private
  tmpfs ``/tmp`` as scratch; a scrubbed environment; ``--die-with-parent``.
- ``"unprivileged-user"`` (the checker runs as root, no usable bwrap): the
  worker drops to a uid/gid of its own (no supplementary groups) after its
  trusted imports and before the submission is imported, in a private scratch
  directory holding a copy of the submission, with a scrubbed environment.
- ``"limits-only"``: the worker runs as the checker's user, with the resource
  limits only.

``resolve`` turns a request (``"auto"``, ``"strict"`` or a level name; the
``GRADCHECK_ISOLATION`` environment variable when none is given) into a level.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence

from gradcheck.errors import UsageError

LEVELS = ("sandbox", "unprivileged-user", "limits-only")
CHOICES = ("auto", "strict", *LEVELS)
ENV_VAR = "GRADCHECK_ISOLATION"
INSTALL_HINT = (
    "install bubblewrap (Debian/Ubuntu: `apt-get install bubblewrap`, Fedora: `dnf install bubblewrap`, "
    "Arch: `pacman -S bubblewrap`) and make sure it can create namespaces (see docs/sandbox.md)"
)
UID_BASE = 1 << 30  # unprivileged-user level: worker uid = gid = UID_BASE + worker pid (one per worker)
SCRATCH_SIZE = 256 << 20  # bytes of the sandbox's tmpfs /tmp
BWRAP_NAMESPACES = ("--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try")
SCRUBBED_ENV = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "LANG": "C.UTF-8",
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "MPLBACKEND": "Agg",
    "PYTHONDONTWRITEBYTECODE": "1",
}


# --- which level ------------------------------------------------------------------------


def resolve(isolation: str | None = None, *, where: str = "isolation") -> str:
    """The level to run at for ``isolation`` (None: ``$GRADCHECK_ISOLATION``, else ``"auto"``).

    ``where`` names the setting in messages. ``"auto"``: the strongest available level, but never limits-only as
    root (that would run the submission as root: a :class:`UsageError` says why and what to do). ``"strict"``:
    ``"sandbox"`` or a
    :class:`UsageError` saying how to install bubblewrap. A level name: that
    level (a weaker one than available is allowed: tests and comparisons use it).
    """
    if isolation is None:
        isolation, where = os.environ.get(ENV_VAR) or "auto", f"${ENV_VAR}"
    if isolation not in CHOICES:
        raise UsageError(f"{where}={isolation} is not an isolation level; choose from {', '.join(CHOICES)}")
    if isolation == "auto":
        level = next(level for level in LEVELS if why_unavailable(level) is None)
        if level == "limits-only" and os.geteuid() == 0:  # never a silent fallback to running code as root
            passed_over = "; ".join(f"{other}: {why_unavailable(other)}" for other in LEVELS[:-1])
            raise UsageError(
                f"{where}=auto: as root, the only level available here is limits-only, which would run the "
                f"submission as root ({passed_over}); {INSTALL_HINT}, or make the installation readable by "
                "other users; or ask for limits-only explicitly (--isolation limits-only) for trusted code")
        return level
    wanted = "sandbox" if isolation == "strict" else isolation
    reason = why_unavailable(wanted)
    if reason is not None:
        hint = f"; {INSTALL_HINT}" if wanted == "sandbox" else ""
        raise UsageError(f"{where}={isolation}: the {wanted} isolation level is not available here ({reason}){hint}")
    return wanted


@functools.cache
def why_unavailable(level: str) -> str | None:
    """Why this machine cannot offer ``level``; None when it can (probed once per process)."""
    if level == "sandbox" and bwrap_flags() is None:
        return _bwrap_problem()
    if level == "unprivileged-user" and os.geteuid() != 0:
        return "the checker does not run as root, so it cannot switch users"
    if level == "unprivileged-user" and not _uids_mapped(UID_BASE, UID_BASE + PID_MAX):
        return f"uids {UID_BASE}.. are not mapped in this user namespace (/proc/self/uid_map)"
    if level == "unprivileged-user":
        from gradcheck.boundary.privileges import import_problem

        return import_problem()  # a worker that switches users and imports: it must import what the checker can
    return None


PID_MAX = 1 << 22  # the kernel's largest pid_max


def _uids_mapped(first: int, last: int) -> bool:
    """Whether every uid in [first, last] exists in this process's user namespace."""
    try:
        with open("/proc/self/uid_map") as handle:
            ranges = [tuple(int(n) for n in line.split()) for line in handle if line.strip()]
    except (OSError, ValueError):
        return True  # not Linux, or no user namespaces: nothing restricts the uids
    return any(start <= first and last < start + count for start, _, count in ranges)


def unavailable() -> dict[str, str]:
    """Every level this machine cannot offer, with the reason."""
    return {level: reason for level in LEVELS if (reason := why_unavailable(level)) is not None}


@functools.cache
def bwrap_flags() -> tuple[str, ...] | None:
    """The namespace flags bwrap accepts here (with a user namespace if it can), None if it cannot run."""
    if shutil.which("bwrap") is None:
        return None
    for flags in (("--unshare-user", "--uid", "65534", "--gid", "65534"), ()):
        command = bwrap_command([sys.executable, "-I", "-S", "-c", "pass"], flags=flags)
        try:
            done = subprocess.run(command, capture_output=True, timeout=20, check=False)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if done.returncode == 0:
            return flags
    return None


def _bwrap_problem() -> str:
    if shutil.which("bwrap") is None:
        return "bwrap is not installed"
    command = bwrap_command([sys.executable, "-I", "-S", "-c", "pass"], flags=())
    try:
        done = subprocess.run(command, capture_output=True, timeout=20, check=False, text=True)
        detail = done.stderr.strip().splitlines()[-1:] or [f"exit status {done.returncode}"]
    except (OSError, subprocess.TimeoutExpired) as exc:
        detail = [str(exc)]
    return f"bwrap cannot create its namespaces here: {detail[0][:300]}"


NOTES = {
    "unprivileged-user": "the submission ran as a user of its own, without namespaces: it could see the "
    "processes and network of this machine and read world-readable files",
    "limits-only": "the submission ran as your user with resource limits only: it could read and write your "
    "files and signal your processes",
}


def level_reason(isolation: str | None, level: str) -> str:
    """Why ``resolve(isolation)`` gave ``level``: the request, and for ``auto`` why each stronger level was passed
    over; at the unprivileged-user level, what the worker reaches of a private installation."""
    where = "isolation"
    if isolation is None:
        isolation, where = os.environ.get(ENV_VAR) or "auto", f"${ENV_VAR}"
    if isolation == "auto":
        stronger = LEVELS[:LEVELS.index(level)]
        passed_over = "; ".join(f"{other} is not available here ({why_unavailable(other)})" for other in stronger)
        reason = f"chosen by auto: {passed_over or 'bubblewrap runs here'}"
    else:
        reason = f"requested: {where}={isolation}"
    if level == "unprivileged-user":
        from gradcheck.boundary.privileges import reach_note

        note = reach_note()
        reason += f"; {note}" if note else ""
    return reason


def level_note(level: str | None, reason: str | None = None) -> str | None:
    """What a level below the sandbox did not protect and the remedy, then why it was used (None for the sandbox)."""
    if level not in NOTES:
        return None
    why = f"\n  {reason}" if reason else ""
    return f"isolation {level}: {NOTES[level]}; install bubblewrap for the sandbox level (docs/sandbox.md){why}"


# --- the sandbox command line ---------------------------------------------------------------


def _python_roots(answer_key: bool = False) -> list[str]:
    """Folders the Python installation and its packages live in (read-only in the sandbox):
    the ``gradcheck`` package, and ``reference`` only with ``answer_key``."""
    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    roots.add(os.path.dirname(os.path.dirname(os.path.realpath(sys.executable))))
    roots.update(p for p in sys.path if p and os.path.basename(p) in ("site-packages", "dist-packages"))
    import gradcheck

    roots.add(os.path.dirname(os.path.abspath(gradcheck.__file__)))
    if answer_key:
        roots.add(reference_folder())
    return sorted(os.path.realpath(root) for root in roots if os.path.isdir(root))


def reference_folder() -> str:
    """Where the reference layers (the answer key) live, found without importing them."""
    spec = importlib.util.find_spec("reference")
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    return os.path.realpath(locations[0]) if locations else ""


SYSTEM_PATHS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/etc/ld.so.cache", "/etc/localtime")
SANDBOX_ENV = {**SCRUBBED_ENV, "HOME": "/tmp", "TMPDIR": "/tmp"}  # all bubblewrap and the worker get


def _make_parents(dest: str, covered: list[str], made: set[str]) -> list[str]:
    """``--dir`` options for the folders above ``dest`` that nothing bound provides, mode 0755
    (bubblewrap would make them 0700: a worker of its own uid could not pass them)."""
    options: list[str] = []
    parent = os.path.dirname(dest)
    chain = []
    while parent not in ("/", "") and parent not in made:
        if any(parent == c or parent.startswith(c + "/") for c in covered):
            break
        chain.append(parent)
        parent = os.path.dirname(parent)
    for folder in reversed(chain):
        options += ["--perms", "0755", "--dir", folder]
        made.add(folder)
    return options


def bwrap_command(worker: Sequence[str], *, flags: Sequence[str], visible: Sequence[str | tuple[str, str]] = (),
                  answer_key: bool = False, uid: int | None = None) -> list[str]:
    """The ``bwrap`` command line that runs ``worker`` in the sandbox.

    Read-only: the system libraries, the Python installation, ``gradcheck`` and each item of
    ``visible``: a path (shown at its own path) or a (source, shown at) pair (a copy shown at
    the original's path). Writable: a fresh tmpfs ``/tmp`` (also the working directory) and a
    ``/dev/shm`` of ``confine.SHM_SIZE`` bytes; ``/dev`` is read-only. Nothing else exists: the
    reference layers (the answer key) are absent, even from an installation that holds them (an
    empty tmpfs covers them), unless ``answer_key`` (a root-cause re-run, whose results only
    ever feed a diagnosis). ``uid``: bubblewrap sets up as root (``flags`` then empty) and
    ``setpriv`` starts the worker as ``uid`` (gradcheck.boundary.confine). The command expects
    to be started with the environment ``SANDBOX_ENV`` (bubblewrap's own, which pid 1 shows).
    """
    from gradcheck.boundary.confine import CAPS_FOR_SETPRIV, SHM_SIZE, run_as

    command = [shutil.which("bwrap") or "bwrap", *flags, *BWRAP_NAMESPACES, "--cap-drop", "ALL"]
    if uid is not None:
        command += CAPS_FOR_SETPRIV
    command += ["--die-with-parent", "--new-session"]
    # the scratch first: binds below /tmp (a venv or a submission there) then sit on top of it
    command += ["--perms", "01777", "--size", str(SCRATCH_SIZE), "--tmpfs", "/tmp"]
    covered: list[str] = []
    made: set[str] = set()
    for path in SYSTEM_PATHS:
        if os.path.islink(path):
            command += ["--symlink", os.readlink(path), path]
            covered.append(path)
        elif os.path.exists(path):
            command += ["--ro-bind", path, path]
            covered.append(path)
    for path in _python_roots(answer_key):
        command += [*_make_parents(path, covered, made), "--ro-bind", path, path]
        covered.append(path)
    key = reference_folder()
    if key and not answer_key and any(key.startswith(root + os.sep) for root in _python_roots()):
        command += ["--tmpfs", key]  # installed inside a bound folder (site-packages): hidden
    for item in visible:
        source, dest = (item, item) if isinstance(item, str) else item
        real = os.path.realpath(dest)
        source = os.path.realpath(source) if isinstance(item, str) else source
        command += [*_make_parents(real, covered, made), "--ro-bind", source, real]
        if isinstance(item, str) and real != os.path.abspath(item):
            link = os.path.abspath(item)
            command += [*_make_parents(link, covered, made), "--symlink", real, link]
    command += ["--proc", "/proc", "--dev", "/dev"]
    command += ["--perms", "01777", "--size", str(SHM_SIZE), "--tmpfs", "/dev/shm", "--remount-ro", "/dev"]
    command += ["--remount-ro", "/", "--clearenv"]
    for key, value in SANDBOX_ENV.items():
        command += ["--setenv", key, value]
    prefix = run_as(uid) if uid is not None else []
    return [*command, "--chdir", "/tmp", *prefix, *worker]


def imported_siblings(path: str) -> list[str]:
    """Modules next to ``path`` that it imports and may see (files or packages; never a link or,
    in a class folder, another submission: ``gradcheck.boundary.siblings``)."""
    from gradcheck.boundary.siblings import find

    return find(path).shown


def visible_paths(target: str, is_path: bool, siblings: bool = True) -> list[str]:
    """What of the submission the sandbox must show: the file (and, with ``siblings``, the modules
    next to it that it imports), or a module's file/package."""
    if is_path:
        return [target, *(imported_siblings(target) if siblings else [])]
    top = target.split(".")[0]
    old_path = sys.path[:]
    sys.path.append(os.getcwd())
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        spec = None
    finally:
        sys.path[:] = old_path
    if spec is None or not spec.origin or not os.path.isabs(spec.origin):
        return []  # built in, or not found (the worker then reports it as not found)
    if spec.submodule_search_locations:
        return [p for p in spec.submodule_search_locations if os.path.isdir(p)]
    return [spec.origin]


def sandbox_sys_path(extra: Sequence[str]) -> list[str]:
    """The checker's ``sys.path`` entries that exist in the sandbox, plus the folders of ``extra``."""
    roots = _python_roots()
    packages = {os.path.dirname(r) for r in roots if os.path.basename(r) in ("gradcheck", "reference")}
    kept = [  # the installation's entries, and the folder above gradcheck and reference (a source checkout)
        p for p in sys.path
        if isinstance(p, str) and p
        and (any(p == r or p.startswith(r + os.sep) for r in roots) or os.path.realpath(p) in packages)
    ]
    parents = [os.path.dirname(os.path.abspath(p)) for p in extra]
    return kept + [p for p in dict.fromkeys(parents) if p not in kept]


# --- the unprivileged-user level -----------------------------------------------------------


def private_scratch(uid: int, files: Sequence[str]) -> tuple[str, str | None]:
    """A 0700 scratch folder owned by ``uid`` (as root), with read-only copies of ``files``
    (the submission first, then the modules beside it that it imports: files or packages).

    Returns (folder, path of the submission's copy or None).
    """
    folder = tempfile.mkdtemp(prefix="gradcheck-scratch-")
    copies = []
    for path in files:
        copy = os.path.join(folder, os.path.basename(path))
        if os.path.isdir(path):
            shutil.copytree(path, copy)
        else:
            shutil.copyfile(path, copy)
        copies.append(copy)
    for root, dirs, names in os.walk(folder):
        for name in dirs + names:
            os.chown(os.path.join(root, name), uid, uid)
            os.chmod(os.path.join(root, name), 0o500 if name in dirs else 0o400)
    os.chown(folder, uid, uid)
    os.chmod(folder, 0o700)
    return folder, (copies[0] if copies else None)


def remove_scratch(folder: str | None) -> None:
    if folder:
        shutil.rmtree(folder, ignore_errors=True)


# --- starting the worker at a level --------------------------------------------------------


def worker_command(
    level: str, worker: Sequence[str], visible: Sequence[str | tuple[str, str]], answer_key: bool = False
) -> tuple[list[str], dict[str, str]]:
    """(command, environment) that start ``worker`` at ``level``; ``answer_key``: the sandbox shows
    the reference layers (root-cause re-runs only). In the sandbox the environment is
    ``SANDBOX_ENV`` only: bubblewrap, the sandbox's pid 1, holds nothing of the checker's."""
    if level == "sandbox":
        from gradcheck.boundary import confine

        flags = bwrap_flags()
        if flags is None:
            raise UsageError(f"the sandbox isolation level is not available here; {INSTALL_HINT}")
        uid = confine.sandbox_uid() if confine.mode() == "own-uid" else None
        return bwrap_command(worker, flags=() if uid is not None else flags, visible=visible, answer_key=answer_key,
                             uid=uid), dict(SANDBOX_ENV)
    if level == "unprivileged-user":
        return list(worker), dict(SCRUBBED_ENV)  # HOME/TMPDIR: the scratch folder, set by the worker
    env = dict(os.environ)
    env.update({key: value for key, value in SCRUBBED_ENV.items() if key not in ("PATH", "LANG")})
    return list(worker), env
