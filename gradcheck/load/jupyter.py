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

A notebook's displayed values are ``Out``, ``_``, ``__``, ``___``, ``_N`` (:func:`displayed`).
Other names only IPython binds (``In``, ``_ih``, ``_i3``, ``exit``...) are not provided: a
statement that raises NameError on one of them, when it or the rest of its cell binds a name
the notebook's functions use, makes the load fail (:func:`ipython_only_name`): what Jupyter
bound there is unknown.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import importlib
import inspect
import os
import re
import runpy
import shlex
from collections.abc import Iterator
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
    name, line = (first_line.split(None, 1) + [""])[:2]
    try:
        paths, _ = _magic_arguments(line)
    except ValueError:
        return None
    if name != "%%writefile" or len(paths) != 1:
        return None
    return f"get_ipython().run_cell_magic('writefile', {line!r}, {body!r})"


def _magic_arguments(line: str) -> tuple[list[str], set[str]]:
    """A magic line's words: (the paths, the options such as ``-a``)."""
    words = shlex.split(line)
    return [word for word in words if not word.startswith("-")], {word for word in words if word.startswith("-")}


WRITTEN: set[str] = set()  # module names of the .py files a %%writefile cell wrote (or tried to)


_SCRATCH: list[str] = []  # this process's scratch folder for %%writefile, made on first use


def _scratch() -> str:
    """A private folder of this process (``mkdtemp``: 0700, a new name), never shared with another
    notebook's run, whatever the isolation level."""
    if not _SCRATCH:
        import tempfile

        _SCRATCH.append(tempfile.mkdtemp(prefix="gradcheck-notebook-files-"))
    return _SCRATCH[0]


class NotEmulated(OSError):
    """What the notebook asks of IPython that the loader does not do (an OSError: what the
    grader's run lacks; a statement that raises it and binds a needed name fails the load)."""


def _relative(path: str) -> str:
    """``path`` as a path inside the notebook's folder, or NotEmulated (absolute, ``..``, a
    variable to expand)."""
    if any(mark in path for mark in ("{", "$")):
        raise NotEmulated(f"{path!r}: gradcheck does not expand variables in magic lines")
    normal = os.path.normpath(os.path.expanduser(path))
    if os.path.isabs(normal) or normal == ".." or normal.startswith(".." + os.sep):
        raise NotEmulated(f"{path!r}: gradcheck writes and runs a notebook's files inside its folder only")
    return normal


def write_cell_file(folder: str, path: str, body: str, append: bool = False) -> None:
    """A ``%%writefile`` cell: ``body`` written to ``path`` (relative to the notebook's ``folder``).
    The file goes to the process's private scratch folder, at the same relative path, first on
    ``sys.path``: a later ``import`` or ``%run`` of it finds it there, as it would beside the
    notebook in Jupyter, and the submission's folder (read-only in the sandbox) is never written.
    ``-a`` appends to the file beside the notebook when the scratch folder has none yet."""
    import shutil
    import sys

    relative = _relative(path)
    target = os.path.join(_scratch(), relative)
    parts = relative.split(os.sep)[:-1]
    if parts and os.path.isdir(os.path.join(folder, parts[0])) \
            and not os.path.exists(os.path.join(_scratch(), parts[0])):
        # a package beside the notebook: its copy in the scratch folder is the one imported (a regular
        # package there wins over the scratch folder's loose subfolder), with the written file in it
        shutil.copytree(os.path.join(folder, parts[0]), os.path.join(_scratch(), parts[0]),
                        ignore=shutil.ignore_patterns("__pycache__"))
    if relative.endswith(".py"):
        WRITTEN.add(relative[:-3].replace(os.sep, ".").split(".")[0])
    os.makedirs(os.path.dirname(target) or ".", exist_ok=True)
    beside = os.path.join(folder, relative)
    if append and not os.path.exists(target) and os.path.isfile(beside):
        shutil.copyfile(beside, target)
    with open(target, "a" if append else "w", encoding="utf-8") as handle:
        handle.write(body)
    if sys.path[:1] != [_scratch()]:  # first, before the notebook's folder (put there when it was loaded)
        sys.path[:] = [_scratch(), *(entry for entry in sys.path if entry != _scratch())]
    sys.modules.pop(_module_of(relative), None)  # a rewritten module is imported again, as Jupyter would
    importlib.invalidate_caches()


def _module_of(relative: str) -> str:
    return relative[:-3].replace(os.sep, ".") if relative.endswith(".py") else ""


def resolve(folder: str, path: str) -> str:
    """A notebook's file for ``%run``: the one a ``%%writefile`` cell wrote, else the one beside it."""
    relative = _relative(path)
    written = os.path.join(_scratch(), relative)
    return written if os.path.isfile(written) else os.path.join(folder, relative)


class _Shell:
    """``get_ipython()`` of a notebook run by the loader: its magics as the loader runs magic lines,
    ``run_cell``/``ex`` run code in the namespace, ``push`` binds names; anything else IPython's shell
    has raises AttributeError (a statement that calls it and binds a needed name fails the load)."""

    def __init__(self, namespace: dict[str, Any], folder: str) -> None:
        self.user_ns = namespace
        self._folder = folder

    def run_line_magic(self, name: str, line: str, _stack_depth: int = 1) -> Any:
        if name in ("time", "prun"):
            return _run_python(line, self.user_ns)
        if name == "run":
            paths, _ = _magic_arguments(line)
            if paths:
                self.user_ns.update(runpy.run_path(resolve(self._folder, paths[0]), run_name="__main__"))
            return None
        if any(mark in line for mark in ("{", "$")) and name not in ("matplotlib", "config"):
            raise NotEmulated(f"%{name} {line}: gradcheck does not expand variables in magic lines")
        return None

    def run_cell_magic(self, name: str, line: str, cell: str) -> Any:
        if name in ("time", "capture", "prun"):
            return _run_python(cell, self.user_ns)
        if name == "writefile":
            paths, options = _magic_arguments(line)
            if len(paths) != 1:
                raise NotEmulated(f"%%writefile {line}: one file name expected")
            write_cell_file(self._folder, paths[0], cell, bool(options & {"-a", "--append"}))
        return None

    def run_cell(self, raw_cell: str, store_history: bool = False, silent: bool = False, **_options: Any) -> Any:
        return _run_python(raw_cell, self.user_ns)

    def ex(self, cmd: str) -> None:
        exec(compile(cmd, "<ex>", "exec", dont_inherit=True), self.user_ns)

    def ev(self, expr: str) -> Any:
        return eval(compile(expr, "<ev>", "eval", dont_inherit=True), self.user_ns)

    def push(self, variables: Any, interactive: bool = True) -> None:
        if isinstance(variables, str):
            import sys

            frame = sys._getframe(1)
            variables = {name: eval(name, frame.f_globals, frame.f_locals) for name in variables.split()}
        self.user_ns.update(dict(variables))

    def magic(self, line: str) -> Any:
        name, _, rest = line.lstrip("%").partition(" ")
        return self.run_line_magic(name, rest)

    def system(self, command: str) -> None:  # shell escapes do nothing, as the loader's `!` lines
        return None

    def getoutput(self, command: str) -> list[str]:
        return []


_Shell.__name__ = _Shell.__qualname__ = "ZMQInteractiveShell"  # the class Jupyter's kernel shows
_Shell.__module__ = "ipykernel.zmqshell"


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


def prepare(module: Any, folder: str, notebook: bool) -> None:
    """Bind what Jupyter's namespace has and a module's does not (see the module's docstring); a
    notebook (not a script exported from one) also has no ``__file__`` and ``Out`` as its displayed
    values (:func:`displayed`); while its cells run it is ``sys.modules["__main__"]``, as IPython's
    namespace is (:func:`as_main`)."""
    namespace = module.__dict__
    namespace["__name__"] = "__main__"
    if notebook:
        namespace.pop("__file__", None)
        namespace["Out"] = namespace["_oh"] = {}
    try:
        from IPython.display import display
    except ImportError:  # IPython is optional: a display that prints, as IPython's does for plain objects
        display = _display
    namespace["display"] = display
    shell = _Shell(namespace, folder)
    namespace["get_ipython"] = lambda: shell


@contextlib.contextmanager
def as_main(module: Any, notebook: bool) -> Iterator[None]:
    """``sys.modules["__main__"]`` is the notebook's module while its cells run (``import __main__``
    finds its names, as in IPython), and what it was afterwards (an in-process check runs in the
    user's own interpreter)."""
    import sys

    saved = sys.modules.get("__main__")
    if notebook:
        sys.modules["__main__"] = module
    try:
        yield
    finally:
        if notebook and saved is not None:
            sys.modules["__main__"] = saved


def displayed(namespace: dict[str, Any], number: int, value: Any) -> None:
    """What IPython's display hook does with a cell's last expression: ``Out[number]``, ``_number``,
    and ``_``, ``__``, ``___`` shifted (None is not displayed, nor stored)."""
    if value is None or not isinstance(namespace.get("Out"), dict):
        return
    namespace["Out"][number] = value
    namespace[f"_{number}"] = value
    namespace["___"], namespace["__"] = namespace.get("__", ""), namespace.get("_", "")
    namespace["_"] = value


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
