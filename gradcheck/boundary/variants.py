"""Variants of a submission, made in its worker: the fix search's candidates (``gradcheck.fix``).

Worker side only: this module runs submitted code (the ``def`` statements of an edited copy of
the submission's source). The checker sends, per variant, the top-level function definitions of
the edited source (each as its text, the code cell it is in for a notebook, and its first line);
:func:`build_variant` runs them in a copy of the loaded submission's module namespace, so that
every function of the variant sees the variant's functions (a fixed helper is the one its caller
calls), while the rest of the namespace (imports, constants, data the notebook computed) is the
submission's own, never run again. :func:`traced` records the lines of the submission a batch of
calls executed (which lines the failing case ran: where the search looks first).
"""

from __future__ import annotations

import ast
import contextlib
import sys
import types
from collections.abc import Callable, Iterator
from typing import Any

MAX_TRACED_LINES = 20000
_COMPILED: dict[tuple[str, int, str, int], Any] = {}  # (file name, first line, text, flags) -> code
_COMPILED_LIMIT = 4096


def _filename(module: types.ModuleType, cell: int | None) -> str:
    path = str(getattr(module, "__file__", "") or "")
    return path if cell is None else f"{path} [code cell {cell}]"


def _compiled(filename: str, first_line: int, text: str, flags: int) -> Any:
    key = (filename, first_line, text, flags)
    code = _COMPILED.get(key)
    if code is None:
        tree = ast.parse(text, filename)
        ast.increment_lineno(tree, first_line - 1)
        code = compile(tree, filename, "exec", flags=flags, dont_inherit=True)
        if len(_COMPILED) >= _COMPILED_LIMIT:
            _COMPILED.clear()
        _COMPILED[key] = code
    return code


def _origin(value: Any) -> tuple[str, int] | None:
    code = getattr(value, "__code__", None)
    if code is None:
        return None
    return code.co_filename, code.co_firstlineno


def build_variant(module: types.ModuleType, defs: list[Any], future: list[Any]) -> types.ModuleType:
    """A copy of ``module`` whose top-level functions are redefined from ``defs`` (``[cell, first
    line, text]`` each, in source order; ``cell`` None for a ``.py`` file). A name bound to one of
    the submission's functions is bound to the variant's function from the same definition (an
    alias such as ``conv_backward = my_conv_backward`` follows it); any other binding is kept."""
    import __future__

    flags = 0
    for name in future:
        feature = getattr(__future__, str(name), None)
        if isinstance(feature, __future__._Feature):
            flags |= feature.compiler_flag
    variant = types.ModuleType(module.__name__)
    variant.__dict__.update(module.__dict__)
    namespace = variant.__dict__
    made: dict[tuple[str, int], Any] = {}
    for item in defs:
        cell, first_line, text = item
        filename = _filename(module, cell if isinstance(cell, int) else None)
        code = _compiled(filename, int(first_line), str(text), flags)
        names = [node.name for node in ast.parse(str(text)).body
                 if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)]
        exec(code, namespace)
        for name in names:
            value = namespace.get(name)
            origin = _origin(value)
            if origin is not None:
                made[(filename, int(first_line))] = value
                made[origin] = value
    for name, old in list(module.__dict__.items()):
        origin = _origin(old)
        if origin is None:
            continue
        namespace[name] = made.get(origin, old)
    return variant


@contextlib.contextmanager
def traced(keep_file: Callable[[str], bool]) -> Iterator[set[tuple[str, int]]]:
    """The (file name, line) of every line run in a file ``keep_file`` accepts while the block runs."""
    lines: set[tuple[str, int]] = set()
    wanted: dict[str, bool] = {}

    def local(frame: Any, event: str, arg: Any) -> Any:
        if event == "line" and len(lines) < MAX_TRACED_LINES:
            lines.add((frame.f_code.co_filename, frame.f_lineno))
        return local

    def tracer(frame: Any, event: str, arg: Any) -> Any:
        if event != "call":
            return None
        filename = frame.f_code.co_filename
        keep = wanted.get(filename)
        if keep is None:
            keep = wanted[filename] = bool(keep_file(filename))
        if not keep:
            return None
        if len(lines) < MAX_TRACED_LINES:
            lines.add((filename, frame.f_lineno))
        return local

    previous = sys.gettrace()
    sys.settrace(tracer)
    try:
        yield lines
    finally:
        sys.settrace(previous)
