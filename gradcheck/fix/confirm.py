"""Confirm a fix the way a user applies it: the whole edited file, checked afresh.

A candidate that passed the function's whole check plan as a variant in the submission's worker
(``gradcheck.boundary.variants``: its edited definitions run in a copy of the module that worker
already loaded and ran) is not yet shown: that worker holds whatever the first check left behind
(a flag a first call set, a cache), and module-level objects that refer to the original functions
(a registry tuple, a ``functools.partial``) still do. So the edited source is written, whole, to
a file in a private temporary folder (with copies of the modules beside the submission that its
worker was shown, so that its imports resolve as they did), and that file is checked by a new
worker: the same isolation level and limits, the same seed and number of examples, the function's
whole check plan, no fix search, within the search's deadline. The functions that passed before
and can reach the edited definition are checked there too. Only when the function passes every
check and none of those fails is the fix shown.

The copy is bounded like the rest of the search: at most :data:`MAX_COPIED_FILES` files and
folders and :data:`MAX_COPIED_BYTES`, walked and copied one entry at a time with the deadline
checked as it goes (a sibling package of 150,000 empty files once cost 19 s at a 2 s budget).
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
import time
from typing import Any

from gradcheck.fix.source import Source

MAX_COPIED_BYTES = 16 << 20  # the modules beside the submission copied for the fresh run, in all
MAX_COPIED_FILES = 2000  # ... and their files and folders: a folder of 150,000 empty files is no cheaper to copy


@dataclasses.dataclass
class Fresh:
    """The fresh run's outcome: ``cases`` of the first function passed (None: it did not pass
    every check), ``out_of_time`` when the deadline came before it could say."""

    cases: int | None
    out_of_time: bool = False
    regressed: tuple[str, ...] = ()  # the first function passed, but these (that passed before) now fail
    beside: str | None = None  # why the modules beside the submission could not be copied


def confirm_fresh(backend: Any, source: Source, lines: list[str], names: tuple[str, ...], *, examples: int,
                  seed: int, deadline: float) -> Fresh:
    """Check ``names`` of the submission with its (only) unit's text replaced by ``lines``, in a new
    worker like ``backend``'s (``WorkerBackend``), from a fresh copy of the edited file: the
    failing function first, then the functions that passed before and may run the edit (each
    must pass again, else ``regressed`` names them)."""
    from gradcheck.boundary.isolated import VariantView, WorkerBackend
    from gradcheck.engine.runner import run_checks
    from gradcheck.errors import LoadError

    if len(source.units) != 1 or source.notebook:
        return Fresh(None)
    if deadline - time.monotonic() <= 0.05:
        return Fresh(None, out_of_time=True)
    folder = tempfile.mkdtemp(prefix="gradcheck-fix-")
    fresh = None
    try:
        path = os.path.join(folder, os.path.basename(source.path))
        try:
            visible = _copy_beside(backend, source.path, folder, deadline)
        except Beside as refused:
            return Fresh(None, out_of_time=refused.out_of_time, beside=refused.reason)
        except OSError:
            return Fresh(None, beside="the modules beside the submission could not be copied")
        with open(path, "w", encoding="utf-8") as handle:
            handle.write("\n".join(lines))
        remaining = deadline - time.monotonic()
        if remaining <= 0.05:
            return Fresh(None, out_of_time=True)
        try:
            fresh = WorkerBackend(
                path, getattr(backend, "timeout", 10.0), memory_limit=backend.memory_limit,
                cpu_limit=backend.cpu_limit, load_timeout=max(0.05, min(backend.load_timeout, remaining)),
                isolation=backend.isolation, visible=visible, siblings=getattr(backend, "_siblings", True),
                convention=backend.convention,
            )
        except LoadError:
            return Fresh(None, out_of_time=time.monotonic() >= deadline)
        view = VariantView(fresh, None, deadline=deadline)
        results = run_checks(view, examples=examples, seed=seed, only=names, diagnose=False)
        if time.monotonic() >= deadline:
            return Fresh(None, out_of_time=True)
        if not results or not {result.function for result in results} >= {_shown(backend, name) for name in names}:
            return Fresh(None)
        first = _shown(backend, names[0])
        if not all(result.passed for result in results if result.function == first):
            return Fresh(None)
        regressed = tuple(dict.fromkeys(result.function for result in results if not result.passed))
        if regressed:
            return Fresh(None, regressed=regressed)
        return Fresh(sum(int(result.cases) for result in results if result.function == first))
    finally:
        if fresh is not None:
            fresh.close()
        shutil.rmtree(folder, ignore_errors=True)


def _shown(backend: Any, name: str) -> str:
    return dict(getattr(backend, "display_names", {}) or {}).get(name, name)


class Beside(Exception):
    """The modules beside the submission cannot be copied for a fresh run: ``reason`` says why
    (over a limit), or ``out_of_time``."""

    def __init__(self, reason: str | None, out_of_time: bool = False) -> None:
        super().__init__(reason or "out of time")
        self.reason = reason
        self.out_of_time = out_of_time


def beside(backend: Any, target: str, deadline: float) -> tuple[list[tuple[str, str, str]], list[str]]:
    """What a fresh run must copy: the files and packages the submission's worker was shown
    beside it (``backend.bound``) that sit in its own folder, as ``(kind, source, relative
    destination)`` entries (``dir``, ``file``, ``link``), parents first; and the paths elsewhere,
    to be shown as they are (``visible``). Walked one entry at a time, so a folder of 150,000
    files costs no more than the limits: :class:`Beside` when they are over
    :data:`MAX_COPIED_FILES` entries or :data:`MAX_COPIED_BYTES`, or at ``deadline``."""
    home = os.path.dirname(os.path.abspath(target))
    elsewhere: list[str] = []
    entries: list[tuple[str, str, str]] = []
    total = 0

    def add(kind: str, path: str, relative: str, size: int = 0) -> None:
        nonlocal total
        entries.append((kind, path, relative))
        total += size
        if len(entries) > MAX_COPIED_FILES:
            raise Beside(f"the modules beside the submission are over {MAX_COPIED_FILES} files")
        if total > MAX_COPIED_BYTES:
            raise Beside(f"the modules beside the submission are over {MAX_COPIED_BYTES >> 20} MB")
        if len(entries) % 64 == 0 and time.monotonic() >= deadline:
            raise Beside(None, out_of_time=True)

    for path in getattr(backend, "bound", []) or []:
        path = os.path.abspath(path)
        if os.path.dirname(path) != home or os.path.islink(path):
            elsewhere.append(path)
            continue
        name = os.path.basename(path)
        if os.path.isdir(path):
            add("dir", path, name)
            stack = [(path, name)]
            while stack:
                folder, relative = stack.pop()
                try:
                    with os.scandir(folder) as listing:
                        for entry in listing:
                            inner = os.path.join(relative, entry.name)
                            if entry.is_symlink():
                                add("link", entry.path, inner)
                            elif entry.is_dir():
                                add("dir", entry.path, inner)
                                stack.append((entry.path, inner))
                            else:
                                add("file", entry.path, inner, entry.stat().st_size)
                except OSError:
                    continue
        elif os.path.isfile(path):
            add("file", path, name, os.path.getsize(path))
    return entries, elsewhere


def _copy_beside(backend: Any, target: str, folder: str, deadline: float) -> list[str]:
    """Copy into ``folder`` what :func:`beside` lists, looking at the clock as it goes; the
    paths elsewhere are returned. :class:`Beside` when over a limit or at ``deadline``."""
    entries, elsewhere = beside(backend, target, deadline)
    for done, (kind, path, relative) in enumerate(entries):
        if done % 16 == 0 and time.monotonic() >= deadline:
            raise Beside(None, out_of_time=True)
        destination = os.path.join(folder, relative)
        if kind == "dir":
            os.makedirs(destination, exist_ok=True)
        elif kind == "link":
            os.symlink(os.readlink(path), destination)
        else:
            shutil.copy2(path, destination)
    return elsewhere
