"""What a notebook's code finds in Jupyter that a plain module does not have.

A notebook runs as ``__main__``, with IPython's ``display`` and ``get_ipython()`` in reach,
``%%writefile`` writing its file, and top-level ``await`` allowed. The loader
(``gradcheck.load.loaders``) gives a notebook's namespace the same: :func:`prepare` binds
``__name__ = "__main__"``, ``display`` (IPython's own when IPython is installed, else one that
prints the object's text, as IPython's does for a plain object) and ``get_ipython`` (a shell
whose magics do what the loader does with magic lines: ``%time``/``%prun`` and
``%%time``/``%%capture``/``%%prun`` run their Python in the namespace, ``%%writefile`` writes,
``%run`` runs the file and binds its names, the rest does nothing); :func:`writefile_statement`
is a ``%%writefile`` cell as a statement; :func:`run_code` runs a statement compiled with
``PyCF_ALLOW_TOP_LEVEL_AWAIT``.

Names only IPython binds (``In``, ``Out``, ``_``, ``_i3``, ``exit``...) are not provided: a
statement that raises NameError on one of them, when it or the rest of its cell binds a name
the notebook's functions use, makes the load fail (:func:`ipython_only_name`): what Jupyter
bound there is unknown.
"""

from __future__ import annotations

import ast
import asyncio
import importlib
import inspect
import os
import re
import runpy
import shlex
from typing import Any

ALLOW_AWAIT = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
_IPYTHON_ONLY = re.compile(r"^(In|Out|_|__|___|_i|_ii|_iii|_ih|_oh|_dh|_i?\d+|exit|quit)$")


def ipython_only_name(exc: BaseException) -> str | None:
    """The IPython-only name a NameError is about, else None."""
    name = getattr(exc, "name", None)
    if isinstance(exc, NameError) and isinstance(name, str) and _IPYTHON_ONLY.match(name):
        return name
    return None


def writefile_statement(first_line: str, body: str) -> str | None:
    """``%%writefile [-a] PATH`` with its cell ``body`` as one Python statement: the call of the
    notebook's shell that writes the file (relative to the notebook's folder, as Jupyter's working
    folder is the notebook's), as ``jupyter nbconvert`` exports it; None for a line that is not
    such a magic."""
    try:
        words = shlex.split(first_line)
    except ValueError:
        return None
    if not words or words[0] != "%%writefile":
        return None
    paths = [word for word in words[1:] if not word.startswith("-")]
    if len(paths) != 1:
        return None
    return f"get_ipython().run_cell_magic('writefile', {first_line.split(None, 1)[1]!r}, {body!r})"


WRITTEN: set[str] = set()  # module names of the .py files a %%writefile cell wrote (or tried to)


_SCRATCH: list[str] = []  # this process's scratch folder for %%writefile, made on first use


def _scratch() -> str:
    """A private folder of this process (``mkdtemp``: 0700, a new name), never shared with another
    notebook's run, whatever the isolation level."""
    if not _SCRATCH:
        import tempfile

        _SCRATCH.append(tempfile.mkdtemp(prefix="gradcheck-notebook-files-"))
    return _SCRATCH[0]


def write_cell_file(path: str, body: str, append: bool = False) -> None:
    """A ``%%writefile`` cell: ``body`` written to ``path``. Where the notebook's folder is read-only
    (the sandbox mounts it so), the file goes to a scratch folder put first on ``sys.path``, so that
    a later ``import`` of it finds it, as it would in Jupyter."""
    mode = "a" if append else "w"
    if path.endswith(".py"):
        WRITTEN.add(os.path.splitext(os.path.basename(path))[0])
    try:
        with open(path, mode, encoding="utf-8") as handle:
            handle.write(body)
        return
    except OSError:
        pass
    import sys

    try:
        scratch = _scratch()
        with open(os.path.join(scratch, os.path.basename(path)), mode, encoding="utf-8") as handle:
            handle.write(body)
    except OSError:
        raise
    if scratch not in sys.path:
        sys.path.insert(0, scratch)
    importlib.invalidate_caches()


class _Shell:
    """``get_ipython()`` of a notebook run by the loader: its magics as the loader runs magic lines."""

    def __init__(self, namespace: dict[str, Any], folder: str) -> None:
        self.user_ns = namespace
        self._folder = folder

    def run_line_magic(self, name: str, line: str, _stack_depth: int = 1) -> Any:
        if name in ("time", "prun"):
            return _run_python(line, self.user_ns)
        if name == "run":
            words = shlex.split(line)
            paths = [word for word in words if not word.startswith("-")]
            if paths:
                self.user_ns.update(runpy.run_path(os.path.join(self._folder, paths[0]), run_name="__main__"))
        return None

    def run_cell_magic(self, name: str, line: str, cell: str) -> Any:
        if name in ("time", "capture", "prun"):
            return _run_python(cell, self.user_ns)
        if name == "writefile":
            words = shlex.split(line)
            paths = [word for word in words if not word.startswith("-")]
            if len(paths) == 1:
                write_cell_file(os.path.join(self._folder, paths[0]), cell, any(w in ("-a", "--append") for w in words))
        return None

    def magic(self, line: str) -> Any:
        name, _, rest = line.lstrip("%").partition(" ")
        return self.run_line_magic(name, rest)

    def system(self, command: str) -> None:  # shell escapes do nothing, as the loader's `!` lines
        return None

    def getoutput(self, command: str) -> list[str]:
        return []


def _run_python(text: str, namespace: dict[str, Any]) -> Any:
    tree = ast.parse(text)
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    if tree.body:
        run_code(compile(tree, "<magic>", "exec", flags=ALLOW_AWAIT, dont_inherit=True), namespace)
    if last is not None:
        return run_code(compile(ast.Expression(last.value), "<magic>", "eval", flags=ALLOW_AWAIT,
                                dont_inherit=True), namespace)
    return None


def _display(*objects: Any, **_options: Any) -> None:
    for value in objects:
        print(repr(value))


def prepare(namespace: dict[str, Any], folder: str) -> None:
    """Bind what Jupyter's namespace has and a module's does not (see the module's docstring)."""
    namespace["__name__"] = "__main__"
    try:
        from IPython.display import display
    except ImportError:  # IPython is optional: a display that prints, as IPython's does for plain objects
        display = _display
    namespace["display"] = display
    shell = _Shell(namespace, folder)
    namespace["get_ipython"] = lambda: shell


def run_code(code: Any, namespace: dict[str, Any]) -> Any:
    """``exec`` (or ``eval``) of ``code``; compiled with top-level ``await``, a coroutine is run to
    its end on an event loop of its own."""
    if code.co_flags & inspect.CO_COROUTINE:
        loop = asyncio.new_event_loop()
        try:
            return loop.run_until_complete(eval(code, namespace))
        finally:
            loop.close()
    return eval(code, namespace)
