"""The unprivileged-user level and a private Python installation: reaching its import roots, and the probe.

At the ``unprivileged-user`` level the worker switches to a uid of its own before it imports the
submission. When the Python installation lives below a folder other users cannot enter (a pyenv or
a virtual environment under ``/root``, mode 0700), that uid could import only what the worker had
imported before switching: ``import matplotlib.pyplot``, ``from scipy import signal`` or nbformat's
schema files would fail, and a correct submission would not load.

So, just before switching, the worker (still root) calls :func:`reach_import_roots`: it opens an
``O_PATH`` descriptor on each *import root* other users cannot reach (an entry of ``sys.path``
inside the installation, or the ``gradcheck``/``reference`` package folder) and rewrites
``sys.path`` and the paths every imported module carries (``__file__``, ``__cached__``,
``__path__``, its spec and its loader's ``path``) from ``ROOT/...`` to ``/proc/self/fd/N/...``. A
process follows the magic links of its own descriptors whatever its uid, and below each root the
kernel checks the installation's own permissions as usual: lazily imported modules, data files
(matplotlib's ``mpl-data``, nbformat's schemas) and extension modules (an ``$ORIGIN`` rpath
resolves through the link) all load. No permission on the host changes, nothing is copied, and no
other process gains anything.

What the uid reaches that it could not before: the import roots and, since ``..`` climbs out of a
descriptor, what other users may read below the folders above each root up to the first one they
cannot enter (a pyenv under ``/root``: ``/root/.pyenv``, never ``/root`` itself); ``reach_note``
names them.

Whether the worker can then import what the checker imports is decided by a real probe, once per
checker process (:func:`import_problem`): a worker that switches users exactly as the real one does
(``gradcheck.boundary.worker._drop_privileges``), then finds and opens every top-level module of
every import root and imports modules it did not preload.
"""

from __future__ import annotations

import functools
import importlib
import json
import os
import subprocess
import sys
import types
from collections.abc import Sequence

ANSWER_KEY = ("reference",)  # not probed: the worker of a submission never imports it (the fence refuses it)
PROBE_TIMEOUT = 60.0  # seconds for the probe worker (it imports numpy first, as the worker does)
# not preloaded by the worker: a standard module with an extension beside it (csv, _csv), a lazily imported
# submodule of a preloaded package (its __path__ rewritten), a data file read through a rewritten loader
PROBE_IMPORTS = ("csv", "numpy.polynomial")
PROBE_RESOURCE = ("numpy", "__init__.py")


# --- which folders --------------------------------------------------------------------------


def others_can_reach(path: str) -> bool:
    """Whether a user that is neither owner nor in the group can enter every folder down to ``path`` and list it
    (mode bits only: the probe is the judge)."""
    real = os.path.realpath(path)
    parts = real.split(os.sep)
    try:
        for end in range(1, len(parts) + 1):
            if not os.stat(os.sep.join(parts[:end]) or os.sep).st_mode & 0o001:
                return False
        return bool(os.stat(real).st_mode & 0o004)
    except OSError:
        return False


def import_roots(paths: Sequence[str]) -> list[str]:
    """The folders imports start from that belong to the installation (``sandbox._python_roots``): the entries of
    ``paths`` inside it, then the ``gradcheck`` and ``reference`` package folders. The grader's own folders (its
    working folder on ``sys.path``, say) are not among them."""
    from gradcheck.boundary.sandbox import _python_roots

    installation = _python_roots()
    inside = [
        p for p in dict.fromkeys(paths)
        if isinstance(p, str) and p and os.path.isdir(p)
        and any(os.path.realpath(p) == r or os.path.realpath(p).startswith(r + os.sep) for r in installation)
    ]
    packages = [r for r in installation if os.path.basename(r) in ("gradcheck", "reference")]
    return inside + [r for r in packages if r not in inside]


def private_roots(paths: Sequence[str]) -> list[str]:
    """The import roots of ``paths`` that other users cannot reach: the worker opens a descriptor on each."""
    return [root for root in import_roots(paths) if not others_can_reach(root)]


def exposed_above(root: str) -> str | None:
    """The highest folder above ``root`` that a uid holding a descriptor on ``root`` reaches by climbing with ``..``
    (every folder from ``root`` up to it lets other users enter); None when climbing reaches nothing new."""
    folder, top = os.path.realpath(root), None
    try:
        while folder != os.sep and os.stat(folder).st_mode & 0o001:
            parent = os.path.dirname(folder)
            if not os.stat(parent).st_mode & 0o001:
                break
            folder = top = parent
    except OSError:
        return top
    return top


def reach_note(paths: Sequence[str] | None = None) -> str | None:
    """What the unprivileged-user worker reaches through descriptors (None when the installation is not private)."""
    roots = private_roots(sys.path if paths is None else paths)
    if not roots:
        return None
    tops = sorted({top for top in map(exposed_above, roots) if top is not None})
    climb = f", and with them what other users may read below {', '.join(tops)}" if tops else ""
    return (
        f"the Python installation is not readable by other users: the worker reaches its import roots "
        f"({', '.join(roots)}) through descriptors opened before switching users{climb}"
    )


# --- in the worker, just before switching users ----------------------------------------------------


def reach_import_roots() -> dict[str, str]:
    """Open a descriptor on each private import root of ``sys.path`` and rewrite the import paths through it.

    Call as root, just before switching users. Returns {root: ``/proc/self/fd/N``} (empty when nothing is private).
    """
    links: dict[str, str] = {}
    for root in private_roots(sys.path):
        descriptor = os.open(root, getattr(os, "O_PATH", os.O_RDONLY) | os.O_DIRECTORY | os.O_CLOEXEC)
        links[root] = f"/proc/self/fd/{descriptor}"
        links.setdefault(os.path.realpath(root), links[root])
    if links:
        rewrite_import_paths(links)
    return links


def rewrite_import_paths(links: dict[str, str]) -> None:
    """Replace each ``root`` of ``links`` by its link in ``sys.path`` and in every imported module's paths."""
    ordered = sorted(links.items(), key=lambda item: len(item[0]), reverse=True)  # the deepest root first

    def moved(path: object) -> object:
        if type(path) is str:
            for root, link in ordered:
                if path == root or path.startswith(root + os.sep):
                    return link + path[len(root):]
        return path

    sys.path[:] = [moved(p) for p in sys.path]
    if type(getattr(sys, "_stdlib_dir", None)) is str:  # where frozen standard modules say they come from
        sys._stdlib_dir = moved(sys._stdlib_dir)
    for module in list(sys.modules.values()):
        if not isinstance(module, types.ModuleType):
            continue
        namespace = module.__dict__  # not getattr: a module's __getattr__ may import lazily
        for name in ("__file__", "__cached__"):
            if type(namespace.get(name)) is str:
                namespace[name] = moved(namespace[name])
        spec = namespace.get("__spec__")
        lists = [namespace.get("__path__"), getattr(spec, "submodule_search_locations", None)]
        for search in {id(item): item for item in lists if type(item) is list}.values():
            search[:] = [moved(p) for p in search]  # in place: a spec and its module share the list
        if spec is not None:
            spec.origin = moved(spec.origin)
            if type(spec.__dict__.get("_cached")) is str:
                spec.cached = moved(spec.__dict__["_cached"])
        loaders = (namespace.get("__loader__"), getattr(spec, "loader", None))
        for loader in {id(item): item for item in loaders}.values():
            if not isinstance(loader, type) and type(getattr(loader, "path", None)) is str:
                loader.path = moved(loader.path)
    sys.path_importer_cache.clear()  # finders of the old paths
    importlib.invalidate_caches()


# --- the probe ----------------------------------------------------------------------------------


@functools.cache
def import_problem() -> str | None:
    """Why a worker switched to its own uid could not import what this checker imports; None when it can.

    Probed once per process, as root, by ``python -m gradcheck.boundary.privileges probe`` (see :func:`_probe`).
    """
    from gradcheck.boundary.process import module_command
    from gradcheck.boundary.sandbox import SCRUBBED_ENV

    paths = [p for p in sys.path if isinstance(p, str) and p]
    command = module_command("gradcheck.boundary.privileges", "probe")
    try:
        done = subprocess.run(command, input=json.dumps(paths), capture_output=True, text=True,
                              timeout=PROBE_TIMEOUT, env=dict(SCRUBBED_ENV), cwd=os.sep, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"a worker switched to its own uid did not answer: {exc}"
    try:
        answer = json.loads(done.stdout.strip().splitlines()[-1])
        missing, where = dict(answer["missing"]), dict(answer["where"])
    except (ValueError, IndexError, KeyError, TypeError):
        last = done.stderr.strip().splitlines()[-1:] or [f"exit status {done.returncode}"]
        return f"a worker switched to its own uid failed: {last[0][:300]}"
    if not missing:
        return None
    names = sorted(missing)
    listed = ", ".join(names[:6]) + (f" and {len(names) - 6} more" if len(names) > 6 else "")
    unreadable = sorted({str(where[name]) for name in names if name in where}) or private_roots(paths)
    return (
        f"a worker switched to its own uid could not import {listed} ({str(missing[names[0]])[:300]}): "
        f"part of the Python installation is not readable by other users; make it readable "
        f"(chmod -R o+rX {' '.join(unreadable[:6])}) or install bubblewrap"
    )


def _probe(paths: list[str]) -> dict:
    """In the probe worker: switch users as the worker does, then find and open every top-level module of every
    import root and import ``PROBE_IMPORTS``. {"missing": {name: error}, "where": {name: its file or folder},
    "checked": number of names}; the errors name the installation's paths, not the descriptors'."""
    import importlib.machinery
    import importlib.resources
    import pkgutil

    from gradcheck.boundary.sandbox import UID_BASE
    from gradcheck.boundary.worker import _drop_privileges

    sys.path[:] = paths
    entries = [root for root in import_roots(paths) if root in paths]
    found = {}  # as root: what the checker can import, and where
    for info in pkgutil.iter_modules(entries):
        if info.name in ANSWER_KEY:  # a submission's worker never imports it (an installation may lock it)
            continue
        spec = importlib.machinery.PathFinder.find_spec(info.name, entries)
        if info.name not in found and spec is not None:
            found[info.name] = (spec.submodule_search_locations or [spec.origin])[0]  # a package: its folder
    uid = UID_BASE + os.getpid()
    links = _drop_privileges(uid, uid, "probe.py")
    missing: dict[str, str] = {}
    for name in sorted(found):
        try:
            spec = importlib.machinery.PathFinder.find_spec(name, sys.path)
            if spec is None:
                raise ModuleNotFoundError(f"No module named {name!r}")
            if spec.has_location and spec.origin:
                with open(spec.origin, "rb") as handle:
                    handle.read(1)
            for folder in spec.submodule_search_locations or ():
                os.listdir(folder)
        except Exception as exc:  # noqa: BLE001 - any failure is what the probe reports
            missing[name] = f"{type(exc).__name__}: {exc}"
    for name in PROBE_IMPORTS:
        try:
            importlib.import_module(name)
        except Exception as exc:  # noqa: BLE001
            missing[name] = f"{type(exc).__name__}: {exc}"
    package, resource = PROBE_RESOURCE
    try:
        importlib.resources.files(package).joinpath(resource).read_bytes()
    except Exception as exc:  # noqa: BLE001
        missing[f"{package}/{resource}"] = f"{type(exc).__name__}: {exc}"
    for root, link in links.items():
        missing = {name: error.replace(link, root) for name, error in missing.items()}
    return {"missing": missing, "where": {name: found[name] for name in missing if name in found},
            "checked": len(found)}


if __name__ == "__main__":
    if sys.argv[1:] != ["probe"]:
        raise SystemExit("usage: python -m gradcheck.boundary.privileges probe < sys.path as JSON")
    print(json.dumps(_probe(json.loads(sys.stdin.read()))))
