"""The submission's source as the fix search edits it: units (the file, or a notebook's code
cells), their top-level function definitions, and edits applied to their text.

Read in the checker without running anything: a ``.py`` file's text, or a notebook's code
cells as the loader runs them (``gradcheck.load.loaders``: IPython magics blanked, line numbers
kept; a cell is numbered as the loader names it, ``[code cell N]``). An edit replaces a range
of whole lines of one unit; the variant sent to the worker is every top-level function
definition of the edited source (``gradcheck.boundary.variants``).
"""

from __future__ import annotations

import ast
import os
from dataclasses import dataclass, field

from gradcheck.load.declared import MAX_SOURCE_BYTES


@dataclass
class Unit:
    """One piece of source that compiles on its own: a ``.py`` file (``cell`` None) or a
    notebook's code cell (``cell``: its number among the code cells, from 1)."""

    cell: int | None
    lines: list[str]
    tree: ast.Module
    _spans: list[tuple[int, int]] | None = field(default=None, repr=False, compare=False)

    def spans(self) -> list[tuple[int, int]]:
        """(first line, last line) of each top-level function definition, in order (computed once)."""
        if self._spans is None:
            self._spans = _spans(self.tree)
        return self._spans

    def text(self, start: int, end: int) -> str:
        """Lines ``start`` to ``end`` (1-based, inclusive) as they are in the unit."""
        return "\n".join(self.lines[start - 1 : end])


@dataclass(frozen=True)
class Definition:
    """A top-level function definition: in unit ``unit`` (index), lines ``start`` (its first
    decorator, else ``def``) to ``end``."""

    unit: int
    name: str
    start: int
    end: int
    node: ast.FunctionDef | ast.AsyncFunctionDef = field(compare=False, hash=False, repr=False)


@dataclass
class Source:
    path: str
    units: list[Unit]
    notebook: bool
    future: tuple[str, ...] = ()

    def definitions(self) -> list[Definition]:
        """Every top-level function definition, in the order the loader runs them."""
        found = []
        for index, unit in enumerate(self.units):
            for node in unit.tree.body:
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                    found.append(Definition(index, node.name, start, node.end_lineno or node.lineno, node))
        return found

    def definition(self, name: str) -> Definition | None:
        """The definition that binds ``name`` last (a notebook may define a function twice), or,
        when ``name`` is bound by ``name = other`` to another function, that one's."""
        named = [d for d in self.definitions() if d.name == name]
        alias = self._alias(name)
        if alias is not None and alias != name:
            target = [d for d in self.definitions() if d.name == alias]
            if target:
                return target[-1]
        return named[-1] if named else None

    def _alias(self, name: str) -> str | None:
        found = None
        for unit in self.units:
            for node in unit.tree.body:
                if (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
                        and node.targets[0].id == name and isinstance(node.value, ast.Name)):
                    found = node.value.id
                elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == name:
                    found = None
        return found

    def payload(self, edited: dict[int, list[str]] | None = None) -> list[list]:
        """The variant's definitions for the worker: ``[cell, first line, text]`` for every
        top-level function definition, from the units' lines or their ``edited`` lines. An edit
        that keeps a unit's number of lines (every edit of :mod:`gradcheck.fix.edits`: one line
        for one line, inside one definition) keeps every definition's lines, so the unit is not
        parsed again: the text of each definition is cut from the edited lines at its old place."""
        edited = edited or {}
        items: list[list] = []
        for index, unit in enumerate(self.units):
            lines = edited.get(index)
            if lines is None:
                lines, spans = unit.lines, unit.spans()
            elif len(lines) == len(unit.lines):
                spans = unit.spans()
            else:
                spans = _spans(ast.parse("\n".join(lines) + "\n"))
            for start, end in spans:
                items.append([unit.cell, start, "\n".join(lines[start - 1 : end]) + "\n"])
        return items


def _spans(tree: ast.Module) -> list[tuple[int, int]]:
    """(first line, last line) of each top-level function definition (its first decorator on)."""
    spans = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            spans.append((start, node.end_lineno or node.lineno))
    return spans


def read_source(path: str) -> Source | None:
    """The source of a ``.py`` or ``.ipynb`` submission, or None when it cannot be read or parsed
    (nothing to edit)."""
    try:
        if path.endswith(".ipynb"):
            return _read_notebook(path)
        if not path.endswith(".py") or os.path.getsize(path) > MAX_SOURCE_BYTES:
            return None
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
        tree = ast.parse(text, path)
    except (OSError, SyntaxError, ValueError, UnicodeDecodeError):
        return None
    return Source(path, [Unit(None, text.split("\n"), tree)], False, _future(tree))


def _read_notebook(path: str) -> Source | None:
    import nbformat

    from gradcheck.load.loaders import _clean_cell

    try:
        notebook = nbformat.read(path, as_version=4)
    except Exception:  # noqa: BLE001 - an unreadable notebook has nothing to edit
        return None
    units = []
    size = 0
    code_cells = [cell for cell in notebook.cells if cell.get("cell_type") == "code"]
    for number, cell in enumerate(code_cells, start=1):
        text = _clean_cell(cell.get("source", ""))
        if text is None:
            continue
        size += len(text)
        if size > MAX_SOURCE_BYTES:
            return None
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError):
            return None
        units.append(Unit(number, text.split("\n"), tree))
    future = tuple(name for unit in units for name in _future(unit.tree))
    return Source(path, units, True, future)


def _future(tree: ast.Module) -> tuple[str, ...]:
    return tuple(alias.name for node in tree.body if isinstance(node, ast.ImportFrom)
                 and node.module == "__future__" for alias in node.names)
