"""Functions of a live session (a notebook's ``globals()``, a module, a namespace) as a target.

``gradcheck.check(globals())`` in a notebook: the contract functions are found by
name in the namespace. To still run them isolated, their source is recovered
(``inspect.getsource`` of each function, plus what it uses: imports, constants,
helper functions and classes) and written to a private temporary ``.py`` file
that the worker loads like any submission. When something a function uses
cannot be written back as source (a closure, an array, an object built at run
time), :func:`recover_source` says what, and the caller runs the functions in
process instead, with a warning.
"""

from __future__ import annotations

import ast
import dis
import importlib
import inspect
import os
import tempfile
import textwrap
import types
from dataclasses import dataclass, field
from typing import Any

from gradcheck.plans.convolution import CONTRACT_FUNCTIONS

CS231N_FUNCTIONS: tuple[str, ...] = (
    "conv_forward_naive",
    "conv_backward_naive",
    "max_pool_forward_naive",
    "max_pool_backward_naive",
)
_NAMES = CONTRACT_FUNCTIONS + CS231N_FUNCTIONS


def checked_names() -> tuple[str, ...]:
    """Every function name a session may hold for checking: the contract's, CS231n's and every
    assignment's (``gradcheck.plans``)."""
    from gradcheck.plans import plans

    return tuple(dict.fromkeys((*_NAMES, *(name for plan in plans().values() for name in plan.names))))


def as_namespace(target: Any) -> Any:
    """An object whose attributes are the target's functions: a dict (``globals()``) becomes
    a namespace of its contract (and CS231n) functions; modules and other objects are kept."""
    if isinstance(target, dict):
        return types.SimpleNamespace(**{name: target[name] for name in checked_names() if name in target})
    return target


def label_of(target: Any) -> str:
    """A readable name for a target that is not a path (``globals()`` is ``<session>``)."""
    if isinstance(target, dict):
        return "<session>" if target.get("__name__") == "__main__" else "<namespace>"
    name = getattr(target, "__name__", None)
    return name if isinstance(name, str) and name != "__main__" else "<session>"


def module_file(target: Any) -> str | None:
    """The ``.py``/``.ipynb`` file a module object was loaded from, if it still exists."""
    path = getattr(target, "__file__", None) if isinstance(target, types.ModuleType) else None
    if isinstance(path, str) and path.endswith((".py", ".ipynb")) and os.path.isfile(path):
        return path
    return None


class Unrecoverable(Exception):
    """The source of the session's functions cannot be written back (the message says why)."""


@dataclass
class _Source:
    imports: list[str] = field(default_factory=list)
    constants: list[str] = field(default_factory=list)
    definitions: list[str] = field(default_factory=list)
    done: set[str] = field(default_factory=set)

    def text(self) -> str:
        header = (
            "# recovered by gradcheck from a live session (inspect.getsource)\n"
            "from __future__ import annotations  # annotations may name what the code itself does not use\n"
        )
        return header + "\n".join([*self.imports, *self.constants, "", *self.definitions]) + "\n"


_GLOBAL_OPS = ("LOAD_GLOBAL", "LOAD_NAME", "STORE_GLOBAL", "DELETE_GLOBAL")


def _global_names(code: types.CodeType) -> set[str]:
    """Names the code looks up as globals (attribute names such as ``.shape`` excluded)."""
    names = {ins.argval for ins in dis.get_instructions(code) if ins.opname in _GLOBAL_OPS}
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _global_names(const)
    return names


def _is_literal(value: Any) -> bool:
    try:
        return ast.literal_eval(repr(value)) == value and type(ast.literal_eval(repr(value))) is type(value)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return False


def _importable(value: Any) -> str | None:
    """``from MODULE import NAME`` when ``value`` is that module attribute, else None."""
    module_name, qualname = getattr(value, "__module__", None), getattr(value, "__qualname__", None)
    if not isinstance(module_name, str) or not isinstance(qualname, str) or "." in qualname:
        return None
    from gradcheck.load.loaders import LOADED

    if module_name == "__main__" or module_name in LOADED:  # a submission's module: not importable by its name
        return None
    try:
        found = getattr(importlib.import_module(module_name), qualname, None)
    except Exception:  # noqa: BLE001 - not importable: not recoverable this way
        return None
    return f"from {module_name} import {qualname}" if found is value else None


def _definition_source(value: Any, name: str) -> str:
    try:
        source = textwrap.dedent(inspect.getsource(value))
    except (OSError, TypeError) as exc:
        raise Unrecoverable(f"the source of {name} is not available ({exc})") from None
    tree = ast.parse(source)
    defined = tree.body[0].name if tree.body and hasattr(tree.body[0], "name") else None
    if len(tree.body) != 1 or defined != value.__name__:
        raise Unrecoverable(f"the source of {name} is not a plain def or class statement")
    if tree.body[0].decorator_list:
        raise Unrecoverable(f"{name} is decorated (the decorator's result is not its source)")
    return source if value.__name__ == name else f"{source}\n{name} = {value.__name__}\n"


def _add(source: _Source, name: str, value: Any) -> None:
    if name in source.done:
        return
    source.done.add(name)
    if isinstance(value, types.ModuleType):
        line = f"import {value.__name__}" if value.__name__ == name else f"import {value.__name__} as {name}"
        source.imports.append(line)
    elif isinstance(value, types.FunctionType) and _importable(value) is None:
        if value.__closure__:
            raise Unrecoverable(f"{name} is a closure (it uses variables of an enclosing function)")
        source.definitions.append(_definition_source(value, name))
        _add_globals(source, value.__code__, value.__globals__)
        for default in (value.__defaults__ or ()) + tuple((value.__kwdefaults__ or {}).values()):
            if not _is_literal(default):
                raise Unrecoverable(f"a default argument of {name} is {type(default).__name__}, not a literal")
    elif isinstance(value, type) and _importable(value) is None:
        source.definitions.append(_definition_source(value, name))
        for member in vars(value).values():
            function = getattr(member, "__func__", member)
            if isinstance(function, types.FunctionType):
                _add_globals(source, function.__code__, function.__globals__)
    elif _importable(value) is not None:
        line = _importable(value)
        source.imports.append(line if line.endswith(f" {name}") else f"{line} as {name}")
    elif _is_literal(value):
        source.constants.append(f"{name} = {value!r}")
    else:
        raise Unrecoverable(f"{name} is a {type(value).__name__} built at run time, not source")


def _add_globals(source: _Source, code: types.CodeType, scope: dict[str, Any]) -> None:
    for used in sorted(_global_names(code)):
        if used in scope:
            _add(source, used, scope[used])
        # a builtin, or a name that is not defined: the same NameError either way


def recover_source(namespace: Any) -> str:
    """Python source defining the namespace's contract functions and what they use.

    Raises :class:`Unrecoverable` (saying what could not be recovered) when some part
    cannot be written back as source."""
    source = _Source()
    found = False
    for name in checked_names():
        value = getattr(namespace, name, None)
        if value is None:
            continue
        if not isinstance(value, types.FunctionType):
            raise Unrecoverable(f"{name} is a {type(value).__name__}, not a plain function")
        found = True
        _add(source, name, value)
    if not found:
        raise Unrecoverable("no contract function was found")
    text = source.text()
    try:
        compile(text, "<recovered>", "exec", dont_inherit=True)
    except SyntaxError as exc:  # pragma: no cover - getsource gives valid statements
        raise Unrecoverable(f"the recovered source does not compile ({exc.msg})") from None
    return text


def write_recovered(text: str, label: str) -> tuple[str, str]:
    """Write recovered source to a private temporary folder; returns (folder, file path)."""
    folder = tempfile.mkdtemp(prefix="gradcheck-session-")
    stem = "".join(ch if ch.isalnum() else "_" for ch in label).strip("_") or "session"
    path = os.path.join(folder, f"{stem}.py")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
    return folder, path


__all__ = [
    "Unrecoverable",
    "as_namespace",
    "label_of",
    "module_file",
    "recover_source",
    "write_recovered",
]
