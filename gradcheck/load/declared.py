"""What a submission declares, read from its source in the checker: no submitted code runs.

The checker decides what it checks before the worker starts (``gradcheck.boundary.isolated``):
the convention (``gradcheck.conventions.detect``) and the functions to check come from the
names the submission's source binds unconditionally at its top level, with ``def`` or an
import (``from cs231n_layers import conv_forward_naive``; ``from helpers import *`` is
followed into a module beside the file). A worker can add functions the source could not
show (a name bound in a loop or by ``exec``) but never remove one: a declared function the
worker says it lacks is still checked, and fails.
"""

from __future__ import annotations

import ast
import importlib.util
import os
from dataclasses import dataclass

from gradcheck.conventions import ARTICLE_LAYERS, CS231N, convention, detect
from gradcheck.errors import LoadError
from gradcheck.load.inspection import Use, introspection, local_modules
from gradcheck.plans.convolution import CONTRACT_FUNCTIONS

MAX_STAR_DEPTH = 3  # ``from a import *`` followed through at most this many sibling modules
MAX_SOURCE_BYTES = 8 << 20  # a larger .py (or a notebook with more code than that) is refused: it cannot be read


class SourceTooLarge(LoadError):
    """A submission whose code is too large to read before it runs (what it declares and what it
    looks at are read from its source: a file that cannot be read that way is not run)."""


@dataclass(frozen=True)
class Declared:
    """The names a submission's source binds, and what the checker makes of them."""

    names: frozenset[str]
    convention: str
    uses: tuple[Use, ...] = ()  # what in the source looks at the process it runs in (gradcheck.load.inspection)

    @property
    def functions(self) -> frozenset[str]:
        """The contract functions (engine names) declared under this convention."""
        if self.convention == CS231N.name:
            return frozenset(name for name, shown in CS231N.functions.items() if shown in self.names)
        return frozenset(name for name in CONTRACT_FUNCTIONS if name in self.names)


def declared(target: str, is_path: bool, named: str | None = None) -> Declared:
    """The names ``target`` (a ``.py``/``.ipynb`` path or a module name) declares, judged by the
    convention ``named`` (None: the one its layers show, ``detect``); unreadable or unparsable
    sources declare nothing (the worker then reports the load error)."""
    names = _names_of_path(target, 0) if is_path else _names_of_module(target)
    uses: tuple[Use, ...] = ()
    if is_path:  # the target, and the modules of its own it imports: their code runs as its does
        uses = tuple(introspection(_trees(target)))
        if target.endswith(".py"):
            for module in local_modules(target):
                uses += tuple(introspection(_trees(module), os.path.basename(module)))
    return Declared(frozenset(names), convention(named or detect(names)).name, uses)


def courses(names: frozenset[str]) -> tuple[str, ...]:
    """The conventions whose layers ``names`` hold at least one of (both, for a file that defines
    the article's and CS231n's functions: each set is then checked by its own contract)."""
    found = []
    if any(name in names for name in ARTICLE_LAYERS):
        found.append("article")
    if any(name in names for name in CS231N.functions.values()):
        found.append("cs231n")
    return tuple(found)


def _names_of_module(name: str) -> set[str]:
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return set()
    if spec is None or not spec.origin or not os.path.isfile(spec.origin):
        return set()
    return _names_of_path(spec.origin, 0)


def _trees(path: str) -> list[ast.Module]:
    try:
        if not path.endswith(".ipynb") and os.path.getsize(path) > MAX_SOURCE_BYTES:
            raise SourceTooLarge(
                f"{path}: {os.path.getsize(path)} bytes of source, more than gradcheck reads before running a "
                f"submission ({MAX_SOURCE_BYTES >> 20} MiB; a layer's source is a few kilobytes): if the file "
                "holds data, load it from a file of its own")
        if path.endswith(".ipynb"):
            from gradcheck.load.loaders import notebook_source

            trees = [tree for _, tree in notebook_source(path)]
            code = sum(len(ast.unparse(tree)) for tree in trees)  # outputs (plots) do not count, code does
            if code > MAX_SOURCE_BYTES:
                raise SourceTooLarge(f"{path}: {code} characters of code, more than gradcheck reads before running "
                                     f"a submission ({MAX_SOURCE_BYTES >> 20} MiB)")
            return trees
        with open(path, "rb") as handle:
            source = handle.read()
        from gradcheck.load.loaders import exported_notebook_source, is_exported_notebook

        if is_exported_notebook(source):
            return [tree for _, tree in exported_notebook_source(path, source)]
        return [ast.parse(source, path)]
    except SourceTooLarge:
        raise
    except Exception:  # noqa: BLE001 - an unreadable source declares nothing; the worker says why
        return []


def _names_of_path(path: str, depth: int) -> set[str]:
    names: set[str] = set()
    for tree in _trees(path):
        for node in tree.body:  # the top level only: a binding inside `if` or `try` may not happen
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names.add(node.name)
            elif isinstance(node, ast.Import):
                names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                for alias in node.names:
                    if alias.name != "*":
                        names.add(alias.asname or alias.name)
                    elif node.level == 0 and node.module and depth < MAX_STAR_DEPTH:
                        sibling = os.path.join(os.path.dirname(path), *node.module.split(".")) + ".py"
                        if os.path.isfile(sibling):
                            names |= _names_of_path(sibling, depth + 1)
    return names
