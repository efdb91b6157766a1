"""Load an implementation: a ``.py`` file, an ``.ipynb`` notebook or a module name.

``load_submission(target)`` imports the target and returns the module;
``as_contract(module)`` returns the object whose attributes are the contract's
functions (DESIGN.md): the module itself for the article's convention, or a
:class:`gradcheck.load.cs231n.CS231nAdapter` for CS231n's ``*_naive`` functions.

A notebook (or a script ``jupyter nbconvert`` exported from one) runs as Jupyter runs it: every
top-level statement of every code cell, in order, so that what is checked is what the student
ran (a function rebound in an ``if``, a constant computed by a call, an import in a ``try``).
Its namespace has what Jupyter's has (``gradcheck.load.jupyter``): ``__name__ == "__main__"``,
``display``, ``get_ipython()``; ``%%writefile`` writes its file, top-level ``await`` runs.
``%time``/``%prun`` lines and ``%%time``/``%%capture``/``%%prun`` cells run their Python,
``%run FILE`` runs the file and binds its names; other magics and shell escapes (``!...``) do
nothing. A statement that raises (the course's ``from public_tests import *``, a test cell
calling the course's helpers, a data file that is not there) or runs longer than
``STATEMENT_SECONDS`` (a training loop) is skipped with a note (:func:`load_warnings`), and
the rest goes on; after ``NOTEBOOK_SECONDS`` in all, only definitions, imports, assignments and
statements that bind a name the notebook's functions use still run. A statement that binds such
a name (a function, or a global one reads) is never skipped for time: it may run
``NEEDED_SECONDS``, and past that the load fails (what it would bind is unknown).

This module runs submitted code: call it in the worker process
(``gradcheck.boundary.isolated``) unless the code is trusted.
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import importlib
import importlib.machinery
import linecache
import os
import re
import signal
import sys
import threading
import time
import types
from typing import Any

from gradcheck.boundary.backend import _is_submission_frame, trimmed_traceback
from gradcheck.errors import LoadError
from gradcheck.load.jupyter import (
    ALLOW_AWAIT,
    WRITTEN,
    as_main,
    displayed,
    ipython_only_name,
    prepare,
    run_code,
    writefile_statement,
)
from gradcheck.plans.convolution import CONTRACT_FUNCTIONS

CS231N_FUNCTIONS: tuple[str, ...] = (
    "conv_forward_naive",
    "conv_backward_naive",
    "max_pool_forward_naive",
    "max_pool_backward_naive",
)


class TargetNotFound(LoadError):
    """No such file, or no importable module of that name (a usage error for the CLI)."""


def is_path_like(target: str) -> bool:
    """True if ``target`` names a file: a ``.py``/``.ipynb`` suffix, a path separator,
    or any existing file (``notes.txt`` is a file, never the module ``notes``)."""
    return target.endswith((".py", ".ipynb")) or os.sep in target or "/" in target or os.path.isfile(target)


def _is_package_dir(target: str) -> bool:
    """A folder that is an importable regular package by that name (``reference``)."""
    return target.isidentifier() and os.path.isfile(os.path.join(target, "__init__.py"))


def directory_message(target: str) -> str:
    """The usage error for a folder given where one submission is expected."""
    return (
        f"{target} is a directory; `gradcheck check` takes one .py file, .ipynb notebook or module name. "
        f"To grade every submission in a folder, run: gradcheck grade {target} --out DIR"
    )


def _module_search_path() -> list[str]:
    cwd = os.getcwd()
    return sys.path if cwd in sys.path or "" in sys.path else [*sys.path, cwd]


def _find_spec(name: str, locations: list[str] | None) -> Any:
    """The module spec of ``name`` from the import system's finders, importing nothing."""
    if locations is None:
        search = _module_search_path()
        finders = [f for f in sys.meta_path if f is not importlib.machinery.PathFinder]
        for finder in finders:  # e.g. editable installs' finders
            find = getattr(finder, "find_spec", None)
            try:
                spec = find(name, None) if find is not None else None
            except Exception:  # noqa: BLE001 - a broken finder is not our verdict
                spec = None
            if spec is not None:
                return spec
        return importlib.machinery.PathFinder.find_spec(name, search)
    return importlib.machinery.PathFinder.find_spec(name, locations)


def find_target(target: str) -> str | None:
    """Why ``target`` cannot be found (a message), or None if it exists.

    Module names are looked up without importing anything (no code runs).
    """
    if os.path.isdir(target) and not _is_package_dir(target):
        return directory_message(target)
    if is_path_like(target):
        if not os.path.exists(target):
            return f"no such file: {target}"
        if os.path.isdir(target):
            return directory_message(target)
        if not target.endswith((".py", ".ipynb")):
            return (
                f"{target} is not a .py or .ipynb file; give the Python file or notebook "
                "that defines the functions (or an importable module name)"
            )
        return None
    parts = target.split(".")
    if not all(part.isidentifier() for part in parts):
        return f"{target!r} is not a file and not a valid module name"
    if parts[0] in sys.builtin_module_names:
        return None
    locations: list[str] | None = None
    for index in range(len(parts)):
        name = ".".join(parts[: index + 1])
        spec = _find_spec(name, locations)
        if spec is None:
            return f"no such file or module: {target!r} (module {name!r} not found)"
        locations = list(spec.submodule_search_locations or [])
        if index < len(parts) - 1 and not locations:
            return f"no such module: {target!r} ({name!r} is not a package)"
    return None


def load_submission(target: str) -> types.ModuleType:
    """Import ``target`` (``.py`` path, ``.ipynb`` path or module name) and return the module.

    Raises :class:`TargetNotFound` when it does not exist and :class:`LoadError`
    (message: file, line, trimmed traceback) when importing it fails.
    """
    if not isinstance(target, str) or not target:
        raise TargetNotFound(f"target must be a non-empty path or module name, got {target!r}")
    missing = find_target(target)
    if missing is not None:
        raise TargetNotFound(missing)
    if target.endswith(".ipynb"):
        return _load_notebook(os.path.abspath(target))
    if is_path_like(target):
        return _load_file(os.path.abspath(target))
    return _load_module(target)


def _unique_name(path: str) -> str:
    """The module's name: its file's stem, as ``import stem`` names it (a name that tells nothing
    of the checker), or, when that name is taken in this process (``numpy.py``, a second load),
    the stem with a digest of the path."""
    stem = re.sub(r"\W", "_", os.path.splitext(os.path.basename(path))[0])
    if stem.isidentifier() and not stem.startswith("__") and stem not in sys.modules:
        return stem
    digest = hashlib.sha1(path.encode()).hexdigest()[:10]
    return f"{stem}_{digest}"


LOADED: set[str] = set()  # the names of the modules this loader made (not importable by their name elsewhere)


def _syntax_message(where: str, exc: SyntaxError) -> str:
    lines = [f"{where}: syntax error at line {exc.lineno}: {exc.msg}"]
    if exc.text:
        lines.append("    " + exc.text.rstrip("\n").strip())
    return "\n".join(lines)


def _exec_failure(where: str, exc: BaseException) -> LoadError:
    if isinstance(exc, SyntaxError):  # a helper module the submission imports
        return LoadError(_syntax_message(f"{where} (in {exc.filename})", exc))
    if isinstance(exc, ImportError):
        what = "import failed"
    elif isinstance(exc, SystemExit):
        return LoadError(f"{where}: the code called sys.exit({exc.code!r}) while being imported")
    else:
        what = "exception while importing"
    return LoadError(f"{where}: {what}: {trimmed_traceback(exc, _is_submission_frame)}")


_EXPORTED_MARKER = re.compile(rb"^# In\[[ 0-9]*\]:", re.MULTILINE)


def is_exported_notebook(source: bytes) -> bool:
    """True for a script ``jupyter nbconvert --to script`` wrote: its ``# In[ ]:`` cell markers,
    or ``get_ipython()`` called in its code (a magic, converted); it is loaded like the notebook
    it came from. The words in a string or a comment do not count."""
    if _EXPORTED_MARKER.search(source) is not None:
        return True
    if b"get_ipython" not in source:
        return False
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return False
    return any(
        isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "get_ipython"
        for node in ast.walk(tree)
    )


def exported_notebook_source(path: str, source: bytes) -> list[tuple[str, ast.Module]]:
    """(file name, module AST) of an exported notebook, its ``get_ipython()`` lines (converted
    magics) dropped: it runs as the notebook did (:func:`_exec_cells`)."""
    try:
        text = source.decode("utf-8")
        tree = ast.parse(text, path)
    except SyntaxError as exc:
        raise LoadError(_syntax_message(path, exc)) from None
    except UnicodeDecodeError as exc:
        raise LoadError(f"{path}: cannot read: {exc}") from None
    tree.body = [expanded for node in tree.body for expanded in _expand_magic(node)]
    starts = [source.count(b"\n", 0, match.start()) + 1 for match in _EXPORTED_MARKER.finditer(source)]
    if not starts:
        return [(path, tree)] if tree.body else []
    cells: list[tuple[str, ast.Module]] = []  # one per "# In[ ]:" cell: a statement that raises ends its cell
    for number, (first, last) in enumerate(zip(starts, [*starts[1:], 1 << 30], strict=True), start=1):
        body = [node for node in tree.body if first <= node.lineno < last]
        if body:
            cells.append((f"{path} [cell {number}]", ast.Module(body=body, type_ignores=[])))
    before = [node for node in tree.body if node.lineno < starts[0]]
    return ([(path, ast.Module(body=before, type_ignores=[]))] if before else []) + cells


_NAMESPACE_MAGICS = ("time", "capture", "prun")  # their Python runs in the notebook's namespace, as written


def _magic_call(value: ast.expr) -> tuple[str, str, list[ast.expr]] | None:
    """``get_ipython().run_line_magic(name, ...)`` / ``run_cell_magic``: (method, magic name, arguments)."""
    if not (isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute)
            and isinstance(value.func.value, ast.Call) and isinstance(value.func.value.func, ast.Name)
            and value.func.value.func.id == "get_ipython"):
        return None
    args = value.args
    if not args or not isinstance(args[0], ast.Constant) or not isinstance(args[0].value, str):
        return None
    return value.func.attr, args[0].value, args


def _python_of(text: Any, node: ast.stmt, mode: str = "exec") -> Any:
    """``text`` parsed, placed at ``node``'s line; None when it is not a string of Python."""
    if not isinstance(text, str):
        return None
    try:
        parsed = ast.parse(text, mode=mode)
    except (SyntaxError, ValueError):
        return None
    ast.increment_lineno(parsed, node.lineno - 1)
    return parsed


def _expand_magic(node: ast.stmt) -> list[ast.stmt]:
    """A converted magic as Jupyter runs it: ``%%time``/``%%capture``/``%%prun`` cells and
    ``%time``/``%prun`` lines run their Python in the notebook's namespace (``x = %time f()``
    binds x); ``%%timeit`` and ``%timeit`` run theirs in a scope of their own (nothing is
    bound), and other magics (shell, ``%matplotlib``) are dropped."""
    if not _is_magic_call(node):
        return [node]
    value = node.value
    found = _magic_call(value)
    if found is None:  # `ip = get_ipython()`, `get_ipython().user_ns`: runs, with the loader's shell
        return [node]
    method, name, args = found
    if method not in _MAGIC_METHODS:
        return [node]  # run_cell, ex, push, ...: the loader's shell runs them (or raises, and the load fails)
    if name in ("writefile", "run") and method in ("run_cell_magic", "run_line_magic"):
        return [node]  # the loader's shell writes the file, or runs it and binds its names (gradcheck.load.jupyter)
    if name not in _NAMESPACE_MAGICS:
        return []
    if method == "run_cell_magic" and isinstance(node, ast.Expr) and len(args) >= 3:
        body = _python_of(getattr(args[2], "value", None), node)
        return list(body.body) if body is not None else []
    if method == "run_line_magic" and len(args) >= 2:
        if isinstance(node, ast.Expr):
            body = _python_of(getattr(args[1], "value", None), node)
            return list(body.body) if body is not None else []
        expression = _python_of(getattr(args[1], "value", None), node, "eval")
        if expression is not None:
            return [ast.copy_location(ast.Assign(targets=node.targets, value=expression.body), node)]
    return []


def _is_magic_call(node: ast.stmt) -> bool:
    """``get_ipython().run_line_magic(...)`` and the like: a converted magic."""
    if not isinstance(node, ast.Expr | ast.Assign):
        return False
    return any(isinstance(inner, ast.Call) and isinstance(inner.func, ast.Name) and inner.func.id == "get_ipython"
               for inner in ast.walk(node.value))


def _load_file(path: str) -> types.ModuleType:
    folder = os.path.dirname(path)
    if folder not in sys.path:
        sys.path.insert(0, folder)  # helper modules next to the submission
    try:
        with open(path, "rb") as handle:
            source = handle.read()
        if is_exported_notebook(source):
            return _exec_cells(path, exported_notebook_source(path, source))
        code = compile(source, path, "exec", dont_inherit=True)
    except SyntaxError as exc:
        raise LoadError(_syntax_message(path, exc)) from None
    except (OSError, ValueError) as exc:
        raise LoadError(f"{path}: cannot read: {exc}") from None
    module = types.ModuleType(_unique_name(path))
    module.__file__ = path
    sys.modules[module.__name__] = module
    LOADED.add(module.__name__)
    try:
        exec(code, module.__dict__)
    except BaseException as exc:  # noqa: BLE001 - anything at import time is a load error
        sys.modules.pop(module.__name__, None)
        raise _exec_failure(path, exc) from None
    return module


def _load_module(name: str) -> types.ModuleType:
    cwd = os.getcwd()
    if cwd not in sys.path and "" not in sys.path:
        sys.path.append(
            cwd
        )  # modules in the current folder, as `python -c "import name"` sees them
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and (name == exc.name or name.startswith(exc.name + ".")):
            raise TargetNotFound(f"no such module: {name!r}") from None
        raise _exec_failure(name, exc) from None
    except SyntaxError as exc:
        raise LoadError(_syntax_message(f"{name} ({exc.filename})", exc)) from None
    except BaseException as exc:  # noqa: BLE001
        raise _exec_failure(name, exc) from None


# --- notebooks --------------------------------------------------------------

_PYTHON_CELL_MAGICS = ("%%time", "%%capture", "%%prun")  # their body is Python, run in the notebook's namespace
_NAMESPACE_LINE = re.compile(r"^(\s*)((?:[\w.\[\], ]+?\s*=\s*)?)%(?:time|prun)\s+(\S.*)$")  # x = %time f()
_MAGIC_LINE = re.compile(r"^(\s*)(?:[%!]|\w+\s*=\s*[%!])")
_HELP_LINE = re.compile(r"^(\s*)[\w.]+\?{1,2}\s*$")


_RUN_LINE = re.compile(r"^(\s*)%run\s+(?:-\w+\s+)*([^\s;]+)\s*$")  # %run helpers.py


# exceptions that depend on what the grader's run lacks (a name from a failed import, a module, a
# file, an attribute of the loader's shell), not on the notebook's own code
_OF_THE_ENVIRONMENT = (NameError, ImportError, OSError, AttributeError)
_MAGIC_METHODS = ("run_line_magic", "run_cell_magic", "magic", "system", "getoutput")


def _run_file(path: str) -> str:
    """The statement ``%run FILE`` is: the shell's (``gradcheck.load.jupyter``), which runs FILE as
    ``__main__`` and binds its names here, as IPython's does."""
    return f"get_ipython().run_line_magic('run', {path!r})"


class _CellRefused(Exception):
    """A cell IPython would not run at all (a cell magic below its first line)."""


def _open_brackets(line: str, depth: int) -> tuple[int, bool]:
    """The bracket depth after ``line`` (strings and comments skipped, roughly) and whether it
    ends with a backslash continuation: a magic or shell escape only starts a logical line."""
    quote = None
    index = 0
    while index < len(line):
        char = line[index]
        if quote:
            if char == "\\":
                index += 1
            elif line.startswith(quote, index):
                index += len(quote) - 1
                quote = None
        elif char == "#":
            break
        elif char in "\"'":
            quote = line[index:index + 3] if line[index:index + 3] in ('"""', "'''") else char
            index += len(quote) - 1
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth = max(0, depth - 1)
        index += 1
    return depth, line.rstrip().endswith("\\") and quote is None


def _clean_cell(source: str, folder: str = ".") -> str | None:
    """Cell source as Jupyter runs it, line numbers kept: ``%time``/``%prun`` lines become their
    statement (``x = %time f()`` binds x), ``%run file.py`` runs that file and binds its names
    (as IPython's does), other magics and shell escapes ``pass``; None for a cell that binds
    nothing in the notebook (``%%timeit``, whose body runs in a scope of its own) or is not
    Python (``%%bash``, ``%%writefile``...). A cell magic below the cell's first line makes
    IPython refuse the whole cell: :class:`_CellRefused`. A line inside brackets or after a
    backslash continues a statement: it is never a magic (``!= n`` is a comparison)."""
    lines = []
    if source.lstrip().startswith("%%"):
        first, _, source = source.lstrip().partition("\n")
        if first.split()[0] == "%%writefile":  # Jupyter writes the file: a later cell may import it
            written = writefile_statement(first, source)
            return None if written is None else written + "\n" * (source.count("\n") + 1)
        if first.split()[0] not in _PYTHON_CELL_MAGICS:
            return None
        lines.append("")  # keep line numbers
    depth, continued = 0, False
    for line in source.splitlines():
        starts = depth == 0 and not continued  # a logical line starts here
        if starts and line.lstrip().startswith("%%"):
            raise _CellRefused(f"the cell magic {line.split()[0]} is not on the cell's first line")
        timed = _NAMESPACE_LINE.match(line) if starts else None
        ran = _RUN_LINE.match(line) if starts else None
        match = (_MAGIC_LINE.match(line) or _HELP_LINE.match(line)) if starts else None
        if timed:
            line = timed.group(1) + timed.group(2) + timed.group(3)
        elif ran:
            line = ran.group(1) + _run_file(ran.group(2))
        elif match:
            line = match.group(1) + "pass"
        lines.append(line)
        depth, continued = _open_brackets(line, depth)
    return "\n".join(lines) + "\n"


def notebook_source(path: str) -> list[tuple[str, ast.Module]]:
    """(pseudo file name, module AST) per code cell with Python in it, magics dropped."""
    import nbformat

    try:
        notebook = nbformat.read(path, as_version=4)
    except Exception as exc:  # noqa: BLE001 - any unreadable notebook is a load error
        raise LoadError(f"{path}: not a readable notebook: {type(exc).__name__}: {exc}") from None
    cells = []
    code_cells = [cell for cell in notebook.cells if cell.get("cell_type") == "code"]
    for number, cell in enumerate(code_cells, start=1):
        filename = f"{path} [code cell {number}]"
        try:
            source = _clean_cell(cell.get("source", ""), os.path.dirname(os.path.abspath(path)))
        except _CellRefused as exc:
            _REFUSED_CELLS.setdefault(path, []).append(f"{filename}: not run: {exc} (IPython refuses such a cell)")
            continue
        if source is None:
            continue
        try:
            tree = ast.parse(source, filename)
        except SyntaxError as exc:  # Jupyter shows the error and goes on with the next cell
            _REFUSED_CELLS.setdefault(path, []).append(f"{_syntax_message(filename, exc)}: the cell was not run, "
                                                       "as in Jupyter")
            continue
        tree.body = [expanded for node in tree.body for expanded in _expand_magic(node)]
        if tree.body:
            linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
            cells.append((filename, tree))
    return cells


_REFUSED_CELLS: dict[str, list[str]] = {}  # notebook path -> the cells Jupyter would not run, and why


def _load_notebook(path: str) -> types.ModuleType:
    folder = os.path.dirname(path)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    _REFUSED_CELLS.pop(path, None)
    cells = notebook_source(path)
    return _exec_cells(path, cells, notes=_REFUSED_CELLS.pop(path, []))


_WARNINGS: dict[str, list[str]] = {}  # module name -> what loading it skipped (kept by the loader, not the module)
_KEYS: dict[int, str] = {}  # id of a notebook's module -> its name in sys.modules (its __name__ is "__main__")


def load_warnings(module: Any) -> list[str]:
    """What loading ``module`` skipped (a notebook's failing imports and statements): the
    loader's own record, not an attribute the submission could set; at most
    ``MAX_LOAD_WARNINGS`` lines, then how many more."""
    found = list(_WARNINGS.get(_KEYS.get(id(module), getattr(module, "__name__", "")), []))
    if len(found) > MAX_LOAD_WARNINGS:
        more = len(found) - MAX_LOAD_WARNINGS
        found = [*found[:MAX_LOAD_WARNINGS], f"... and {more} more statement(s) skipped"]
    return found


STATEMENT_SECONDS = 3.0  # a notebook statement that runs longer (training) is skipped...
NEEDED_SECONDS = 30.0  # ...unless it binds what a function reads: then it runs this long, or the load fails
NOTEBOOK_SECONDS = 12.0  # after this, only definitions, imports, assignments and needed statements run
MAX_LOAD_WARNINGS = 12  # notes on skipped statements shown; the rest are counted
_DEFINING = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom, ast.Assign,
             ast.AnnAssign, ast.AugAssign)


class _StatementTimeout(BaseException):
    """A notebook statement ran past STATEMENT_SECONDS (a BaseException: `except Exception` in the
    statement does not swallow it)."""


@contextlib.contextmanager
def _time_limit(seconds: float):
    """SIGALRM after ``seconds`` (main thread of a POSIX process; elsewhere no limit)."""
    if not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_alarm(signum, frame):
        raise _StatementTimeout()

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


_DYNAMIC = frozenset({"globals", "exec", "eval", "setattr", "vars", "__import__", "locals"})


_MUTATING = frozenset({"append", "extend", "insert", "update", "setdefault", "pop", "popitem", "clear", "remove",
                       "add", "discard", "sort", "reverse", "fill", "itemset", "put", "resize", "__setitem__",
                       "__setattr__"})


def _base_name(node: ast.expr) -> str:
    """The variable at the root of ``a.b[c].d`` (``"*"`` when it is not a plain name)."""
    while isinstance(node, ast.Subscript | ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else "*"


def _bound_names(node: ast.stmt) -> set[str]:
    """The names a top-level statement binds in the notebook's namespace (anywhere in its
    blocks, not inside the functions, classes and comprehensions it defines); ``"*"`` for a
    statement that may bind any name (``from m import *``, a call of ``globals``, ``exec``,
    ``setattr``...)."""
    names: set[str] = set()

    def visit(inner: ast.AST) -> None:
        if isinstance(inner, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(inner.name)
            return
        if isinstance(inner, ast.Lambda | ast.ListComp | ast.SetComp | ast.DictComp | ast.GeneratorExp):
            return
        if isinstance(inner, ast.Import | ast.ImportFrom):
            names.update("*" if alias.name == "*" else (alias.asname or alias.name).split(".")[0]
                         for alias in inner.names)
            return
        if isinstance(inner, ast.Name):
            if isinstance(inner.ctx, ast.Store | ast.Del):
                names.add(inner.id)
            elif inner.id in _DYNAMIC or inner.id == "get_ipython":  # the shell runs code, binds any name
                names.add("*")
        if isinstance(inner, ast.Subscript | ast.Attribute) and isinstance(inner.ctx, ast.Store | ast.Del):
            names.add(_base_name(inner))  # CFG["scale"] = 0.5, model.W = ...: changes what CFG holds
        if (isinstance(inner, ast.Call) and isinstance(inner.func, ast.Attribute)
                and inner.func.attr in _MUTATING and isinstance(inner.func.value, ast.Name | ast.Subscript)):
            names.add(_base_name(inner.func.value))  # CFG.update(...), SCALES.append(...)
        for child in ast.iter_child_nodes(inner):
            visit(child)

    visit(node)
    return names


def _needed_names(cells: list[tuple[str, ast.Module]]) -> set[str]:
    """What the notebook's functions need from its namespace: every function and class it
    defines at the top level, and every global name their bodies read (``symtable``: free of
    their arguments and locals), so that a statement binding one of them always runs."""
    import symtable

    needed: set[str] = set()
    for _, tree in cells:
        try:
            table = symtable.symtable(ast.unparse(tree), "<cell>", "exec")
        except (SyntaxError, ValueError, RecursionError):
            return {"*"}
        pending = list(table.get_children())
        while pending:
            scope = pending.pop()
            if scope.get_type() in ("function", "class"):
                needed.add(scope.get_name())
                needed.update(symbol.get_name() for symbol in scope.get_symbols()
                              if symbol.is_global() and symbol.is_referenced())
            pending.extend(scope.get_children())
    return needed


def _exec_cells(path: str, cells: list[tuple[str, ast.Module]], notes: list[str] | None = None) -> types.ModuleType:
    """Run a notebook's (or exported notebook's) statements in a fresh module, as Jupyter does
    (see the module docstring): a statement that raises ends its cell (the rest of the cell is
    not run, as in Jupyter), one that runs too long is skipped; each with a note
    (:func:`load_warnings`), after ``notes`` (cells that were not run at all)."""
    key = _unique_name(path)
    WRITTEN.clear()  # the files this notebook's %%writefile cells write
    module = types.ModuleType(key)
    module.__file__ = path
    warnings = _WARNINGS.setdefault(key, [])
    warnings.extend(notes or [])
    sys.modules[key] = module
    LOADED.add(key)
    _KEYS[id(module)] = key
    notebook = path.endswith(".ipynb")
    prepare(module, os.path.dirname(os.path.abspath(path)), notebook)  # __main__, display, get_ipython
    with as_main(module, notebook):
        _run_cells(module, cells, warnings, notebook)
    return module


def _run_cells(module: types.ModuleType, cells: list[tuple[str, ast.Module]], warnings: list[str],
               notebook: bool) -> None:
    """The statements of ``cells`` in ``module``'s namespace (see :func:`_exec_cells`)."""
    os.environ.setdefault("MPLBACKEND", "Agg")  # plots draw nowhere
    started = time.monotonic()
    wanted = _needed_names(cells)
    for filename, tree in cells:
        for position, node in enumerate(tree.body):
            where = f"{filename} line {node.lineno}"
            binds = _bound_names(node)
            needed = sorted(binds & wanted) or sorted(binds & {"*"}) or (["*"] if "*" in wanted and binds else [])
            left = NOTEBOOK_SECONDS - (time.monotonic() - started)
            if left <= 0 and not needed and not isinstance(node, _DEFINING):
                warnings.append(f"{where}: skipped (the notebook ran {NOTEBOOK_SECONDS:g} s: after that only "
                                "definitions, imports, assignments and what binds a name its functions use run)")
                continue
            limit = NEEDED_SECONDS if needed else STATEMENT_SECONDS
            shown = notebook and position == len(tree.body) - 1 and isinstance(node, ast.Expr) \
                and not _ends_with_semicolon(filename)  # a cell's last expression is displayed: Out[n], _
            try:
                tree_of = ast.Expression(node.value) if shown else ast.Module(body=[node], type_ignores=[])
                code = compile(tree_of, filename, "eval" if shown else "exec", flags=ALLOW_AWAIT,
                               dont_inherit=True)  # a SyntaxError here (`return` outside a function) ends the cell
                with _time_limit(limit):
                    value = run_code(code, module.__dict__)
                if shown:
                    displayed(module.__dict__, _cell_number(filename), value)
            except _StatementTimeout:
                if needed:  # what it would have bound is unknown: never check a stand-in
                    raise LoadError(
                        f"{where} ran longer than {limit:g} s and binds {', '.join(needed)}, which the notebook's "
                        "functions use (or which may be any name): what Jupyter would have bound there is unknown, "
                        "so nothing is checked; make that statement faster or move the definitions out of it"
                    ) from None
                warnings.append(f"{where}: skipped: it ran longer than {STATEMENT_SECONDS:g} s")
            except BaseException as exc:  # noqa: BLE001 - Jupyter stops the cell and goes on with the next one
                only_ipython = ipython_only_name(exc)
                is_import = isinstance(exc, ImportError) and isinstance(node, ast.Import | ast.ImportFrom)
                later = tree.body[position + 1:] if filename.endswith("]") and not is_import else []
                lost = binds.union(*(_bound_names(statement) for statement in later)) & (wanted | {"*"})
                if only_ipython is not None and lost:
                    raise LoadError(
                        f"{where} uses IPython's `{only_ipython}`, which gradcheck does not provide, and it or the "
                        f"rest of its cell binds {', '.join(sorted(lost))}, which the notebook's functions use: what "
                        "Jupyter bound there is unknown, so nothing is checked; bind those names without it"
                    ) from None
                if lost and not is_import and isinstance(exc, _OF_THE_ENVIRONMENT):
                    # a name, module, file or attribute the grader's run lacks: where the notebook ran it may
                    # not have raised, and what it or the rest of its cell bound there is unknown
                    raise LoadError(
                        f"{where} raised {type(exc).__name__}: {_one_line(exc)}, and it or the rest of its cell "
                        f"binds {', '.join(sorted(lost))}, which the notebook's functions use: where the notebook "
                        "ran, it may not have raised, so what it bound is unknown and nothing is checked; move "
                        "those definitions to a cell of their own"
                    ) from None
                own = sorted(_imported_modules(node) & WRITTEN) if is_import else []
                if own:  # not a package the grader lacks: the notebook's own file, which imported elsewhere
                    raise LoadError(f"{where}: importing {own[0]}, which a %%writefile cell of the notebook writes, "
                                    f"raised {type(exc).__name__}: {_one_line(exc)}; what Jupyter imported there is "
                                    "unknown, so nothing is checked (put the file beside the notebook, or its code "
                                    "in a cell)") from None
                told = (f"skipped failing import ({type(exc).__name__}: {_one_line(exc)})" if is_import
                        else f"skipped: it raised {type(exc).__name__}: {_one_line(exc)}")
                rest = len(tree.body) - position - 1
                # an import that fails here worked where the notebook was written (h5py, the course's
                # helpers): the cell goes on, as it did there; anything else ends its cell, as in Jupyter
                if rest and not is_import and filename.endswith("]"):
                    plural = "s" if rest > 1 else ""
                    told += f"; the rest of the cell ({rest} statement{plural}) was not run, as in Jupyter"
                    warnings.append(f"{where}: {told}")
                    break
                warnings.append(f"{where}: {told}")


def _cell_number(filename: str) -> int:
    """``nb.ipynb [code cell 3]`` -> 3: the execution count of the cell in a kernel run top to bottom."""
    found = re.search(r"\[code cell (\d+)\]$", filename)
    return int(found.group(1)) if found else 0


def _ends_with_semicolon(filename: str) -> bool:
    """Whether the cell's code ends with ``;`` (IPython then displays nothing)."""
    lines = [line.split("#", 1)[0].rstrip() for line in linecache.getlines(filename)]
    code = [line for line in lines if line]
    return bool(code) and code[-1].endswith(";")


def _imported_modules(node: ast.stmt) -> set[str]:
    """The top-level modules an import statement names (``from a.b import c``: ``a``)."""
    if isinstance(node, ast.Import):
        return {alias.name.split(".")[0] for alias in node.names}
    if isinstance(node, ast.ImportFrom) and node.module and not node.level:
        return {node.module.split(".")[0]}
    return set()


def _one_line(exc: BaseException) -> str:
    try:
        text = str(exc)
    except BaseException:  # noqa: BLE001 - a submission's exception may fail to print
        text = "(its message could not be shown)"
    text = " ".join(text.split())
    return text if len(text) <= 200 else text[:200] + " ..."


# --- conventions ------------------------------------------------------------


def detect_convention(module: Any) -> str:
    """The convention of the functions ``module`` defines (``gradcheck.conventions.detect``):
    ``"cs231n"`` when it defines more of CS231n's layers than of the article's, else
    ``"article"`` (a module with neither has every function reported missing)."""
    from gradcheck.conventions import detect

    names = (*CONTRACT_FUNCTIONS, *CS231N_FUNCTIONS)
    return detect(name for name in names if callable(getattr(module, name, None)))


def as_contract(module: Any, convention: str | None = None) -> Any:
    """The object whose attributes are the contract functions (see module docstring), under
    ``convention`` (None: the one the module's functions show, ``detect_convention``)."""
    if (convention or detect_convention(module)) == "cs231n":
        from gradcheck.load.cs231n import CS231nAdapter

        return CS231nAdapter(module)
    return module
