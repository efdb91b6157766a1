"""Keep the checker's own packages out of a submission's imports, inside the worker.

The worker runs gradcheck's code (the wire protocol, the call runner, the loaders) in the same
process as the submission. Once :func:`install` has run, an ``import`` of ``reference`` (the
answer key) or of ``gradcheck`` made by any code outside those packages raises
:class:`ImportError` with a message that says why; the checker's own imports go on working.

This is hygiene, not the guarantee: inside one process a determined submission can reach
the objects the worker already holds (``sys.modules``, ``gc``). What makes that useless is
that nothing the worker holds decides a verdict: the plan, the reference results, the finite
differences and the tolerances are all computed in the checker's process
(docs/sandbox.md). What keeps the answer key out of reach at the sandbox level is that its
files are not in the sandbox at all (``gradcheck.boundary.sandbox``).
"""

from __future__ import annotations

import builtins
import sys
from collections.abc import Sequence
from typing import Any

FENCED = ("reference", "gradcheck")
MESSAGES = {
    "reference": "the reference solution is not available to submissions",
    "gradcheck": (
        "gradcheck is not available to submissions while it checks them; remove the import "
        "(or move it under `if __name__ == \"__main__\":`)"
    ),
}


class FencedImport(ImportError):
    """An import of the checker's own packages by submitted code."""


def _in_package(module: object, packages: Sequence[str]) -> bool:
    return isinstance(module, str) and any(module == name or module.startswith(name + ".") for name in packages)


def _caller_is_checker(depth: int) -> bool:
    """Whether the code that asked for the import (the first frame outside the import machinery
    and this module) belongs to a fenced package: the checker's own imports go on."""
    frame: Any = sys._getframe(depth)
    while frame is not None:
        module = frame.f_globals.get("__name__")
        if not _in_package(module, ("importlib", "_frozen_importlib", "_frozen_importlib_external", __name__)):
            return _in_package(module, FENCED)
        frame = frame.f_back
    return False


class _Finder:
    """A meta-path finder that refuses the fenced packages to code outside the checker."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> None:
        top = fullname.split(".", 1)[0]
        if top in FENCED and not _caller_is_checker(2):
            raise FencedImport(f"No module named {fullname!r}: {MESSAGES[top]}", name=fullname)
        return None  # the other finders decide


def install() -> None:
    """From now on, refuse ``import reference`` / ``import gradcheck`` to every caller whose code
    is not in those packages (a frame's module name: the checker's own imports go on)."""
    sys.meta_path.insert(0, _Finder())
    original = builtins.__import__

    def fenced_import(name: str, globals: Any = None, locals: Any = None, fromlist: Any = (), level: int = 0) -> Any:
        top = name.split(".", 1)[0]
        if level == 0 and top in FENCED and not _caller_is_checker(2):
            raise FencedImport(f"No module named {name!r}: {MESSAGES[top]}", name=name)
        return original(name, globals, locals, fromlist, level)

    builtins.__import__ = fenced_import
