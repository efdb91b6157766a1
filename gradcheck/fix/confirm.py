"""Confirm a fix the way a user applies it: the whole edited file, checked afresh.

A candidate that passed the function's whole check plan as a variant in the submission's worker
(``gradcheck.boundary.variants``: its edited definitions run in a copy of the module that worker
already loaded and ran) is not yet shown: that worker holds whatever the first check left behind
(a flag a first call set, a cache), and module-level objects that refer to the original functions
(a registry tuple, a ``functools.partial``) still do. So the edited source is written, whole, to
a file in a private temporary folder (with copies of the modules beside the submission that its
worker was shown, so that its imports resolve as they did), and that file is checked by a new
worker: the same isolation level and limits, the same seed and number of examples, the function's
whole check plan, no fix search, within the search's deadline. Only when it passes every check
is the fix shown.
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


@dataclasses.dataclass
class Fresh:
    """The fresh run's outcome: ``cases`` of the first function passed (None: it did not pass
    every check), ``out_of_time`` when the deadline came before it could say."""

    cases: int | None
    out_of_time: bool = False
    regressed: tuple[str, ...] = ()  # the first function passed, but these (that passed before) now fail


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
        visible = _copy_beside(backend, source.path, folder)
        if visible is None:
            return Fresh(None)
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


def _copy_beside(backend: Any, target: str, folder: str) -> list[str] | None:
    """Copy into ``folder`` the files and packages the submission's worker was shown beside it
    (``backend.bound``) that sit in its own folder; the paths elsewhere are returned, to be
    shown as they are (``visible``). None when they are more than :data:`MAX_COPIED_BYTES`."""
    home = os.path.dirname(os.path.abspath(target))
    elsewhere: list[str] = []
    total = 0
    for path in getattr(backend, "bound", []) or []:
        path = os.path.abspath(path)
        if os.path.dirname(path) != home or os.path.islink(path):
            elsewhere.append(path)
            continue
        destination = os.path.join(folder, os.path.basename(path))
        if os.path.isdir(path):
            for root, _, files in os.walk(path):
                total += sum(os.path.getsize(os.path.join(root, name)) for name in files)
            if total > MAX_COPIED_BYTES:
                return None
            shutil.copytree(path, destination, symlinks=True)
        elif os.path.isfile(path):
            total += os.path.getsize(path)
            if total > MAX_COPIED_BYTES:
                return None
            shutil.copy2(path, destination)
    return elsewhere
