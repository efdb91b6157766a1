"""Small edits of a submission's source: program transformations, not bug templates.

Each candidate changes one node of one top-level function definition (an expression or a
one-line statement) and is spliced into the unit's text in place of that node's characters,
so the rest of the line (indentation, comments, formatting) is kept. A splice is kept only
when the edited unit parses to exactly the transformed tree (else, for an expression, the
replacement is tried in parentheses), so the text shown is the edit that was made.

The transformations (:data:`KINDS`): ``=`` <-> ``+=`` and an augmented operator, an arithmetic
or comparison operator, an operand dropped (``x * stride`` -> ``x``), ``* stride`` inserted after
a loop variable, an off-by-one in an integer or a bound (``range``, a slice, an index), a name
swapped for another name of the same function (``h``/``w``, ``n_H``/``n_W``, ``i``/``0``), a
method or attribute swapped (``max``/``min``, ``sum``/``mean``), an ``axis=`` changed or dropped,
a ``dtype=`` or ``.astype`` dropped, einsum subscripts or a transpose's axes permuted, two
arguments or two tuple items swapped, a one-line statement dropped.
"""

from __future__ import annotations

import ast
import copy
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass

from gradcheck.fix.source import Definition, Source

MAX_PER_DEFINITION = 4000


@dataclass(frozen=True)
class Edit:
    """Lines ``start``..``end`` (1-based) of unit ``unit`` replaced: ``before`` by ``after``."""

    unit: int
    start: int
    end: int
    before: str
    after: str
    kind: str
    definition: str  # the name of the function the edit is in

    def lines(self, source: Source) -> list[str]:
        old = source.units[self.unit].lines
        return [*old[: self.start - 1], *self.after.split("\n"), *old[self.end :]]


_OPS: dict[type, tuple[type, ...]] = {
    ast.Add: (ast.Sub, ast.Mult),
    ast.Sub: (ast.Add,),
    ast.Mult: (ast.Div, ast.Add, ast.FloorDiv),
    ast.Div: (ast.Mult, ast.FloorDiv),
    ast.FloorDiv: (ast.Div, ast.Mult),
    ast.Mod: (ast.FloorDiv,),
    ast.Pow: (ast.Mult,),
}
_AUG: dict[type, tuple[type, ...]] = {
    ast.Add: (ast.Sub,), ast.Sub: (ast.Add,), ast.Mult: (ast.Div,), ast.Div: (ast.Mult,),
}
_COMPARE: dict[type, tuple[type, ...]] = {
    ast.Gt: (ast.GtE, ast.Lt), ast.GtE: (ast.Gt, ast.LtE), ast.Lt: (ast.LtE, ast.Gt), ast.LtE: (ast.Lt, ast.GtE),
    ast.Eq: (ast.GtE,), ast.NotEq: (ast.Eq,),
}
_ATTRIBUTES = {"max": ("min",), "min": ("max",), "argmax": ("argmin",), "argmin": ("argmax",),
               "sum": ("mean",), "mean": ("sum",), "amax": ("amin",), "amin": ("amax",)}
_AXES: tuple[object, ...] = (0, 1, 2, 3, -1, (0, 1), (1, 2), (0, 1, 2), (1, 2, 3))


def _names(function: ast.FunctionDef | ast.AsyncFunctionDef) -> tuple[list[str], set[str]]:
    """The function's own names (arguments, assigned names, loop variables) and its loop variables."""
    names: list[str] = [arg.arg for arg in (*function.args.posonlyargs, *function.args.args, *function.args.kwonlyargs)]
    loops: set[str] = set()
    for node in ast.walk(function):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store) and node.id not in names:
            names.append(node.id)
        if isinstance(node, ast.For | ast.comprehension):
            for target in ast.walk(node.target):
                if isinstance(target, ast.Name):
                    loops.add(target.id)
    return names, loops


def _similar(a: str, b: str) -> bool:
    """Two names a student mixes up: same length and at most two characters apart (``n_H``/``n_W``,
    ``vert_start``/``horiz_start`` is not, ``h``/``w`` is), or one inside the other (``A``/``A_prev``)."""
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b, strict=True)) <= 2
    short, long = sorted((a, b), key=len)
    return len(short) >= 1 and long.startswith(short + "_")


def _parents(tree: ast.AST) -> dict[int, tuple[ast.AST, str, int | None]]:
    found: dict[int, tuple[ast.AST, str, int | None]] = {}
    for parent in ast.walk(tree):
        for field, value in ast.iter_fields(parent):
            if isinstance(value, list):
                for index, item in enumerate(value):
                    if isinstance(item, ast.AST):
                        found[id(item)] = (parent, field, index)
            elif isinstance(value, ast.AST):
                found[id(value)] = (parent, field, None)
    return found


def _in_bound(node: ast.AST, parents: dict[int, tuple[ast.AST, str, int | None]]) -> bool:
    """Whether ``node`` is (inside) a bound: a ``range`` argument, a slice bound or an index."""
    current = node
    for _ in range(4):
        entry = parents.get(id(current))
        if entry is None:
            return False
        parent, field, _index = entry
        if isinstance(parent, ast.Slice) or (isinstance(parent, ast.Subscript) and field == "slice"):
            return True
        if isinstance(parent, ast.Call) and field == "args" and isinstance(parent.func, ast.Name) \
                and parent.func.id == "range":
            return True
        if isinstance(parent, ast.Tuple) and isinstance(parents.get(id(parent), (None,))[0], ast.Subscript):
            return True
        current = parent
    return False


def _mutations(node: ast.AST, parents: dict, names: list[str], loops: set[str],
               strides: list[str]) -> Iterator[tuple[str, ast.AST | None]]:
    """(kind, replacement) for ``node``; a replacement None drops a statement."""
    if isinstance(node, ast.Assign) and len(node.targets) == 1 \
            and isinstance(node.targets[0], ast.Subscript | ast.Name):
        yield "= -> +=", ast.AugAssign(target=node.targets[0], op=ast.Add(), value=node.value)
    if isinstance(node, ast.AugAssign):
        if isinstance(node.op, ast.Add | ast.Sub):
            yield "+= -> =", ast.Assign(targets=[node.target], value=node.value, lineno=0)
        for op in _AUG.get(type(node.op), ()):
            yield "augmented operator", ast.AugAssign(target=node.target, op=op(), value=node.value)
    if isinstance(node, ast.BinOp):
        for op in _OPS.get(type(node.op), ()):
            yield "operator", ast.BinOp(left=node.left, op=op(), right=node.right)
        yield "operand dropped", node.left
        yield "operand dropped", node.right
    if isinstance(node, ast.Compare) and len(node.ops) == 1:
        for op in _COMPARE.get(type(node.ops[0]), ()):
            yield "comparison", ast.Compare(left=node.left, ops=[op()], comparators=node.comparators)
    entry = parents.get(id(node))
    if isinstance(node, ast.expr) and entry is not None and isinstance(entry[0], ast.If | ast.IfExp) \
            and entry[1] == "test" and not isinstance(node, ast.Constant):
        yield "condition dropped", ast.Constant(True)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        yield "sign", node.operand
    if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
        if node.id in loops:
            for stride in strides:
                yield "* stride", ast.BinOp(left=ast.Name(node.id, ast.Load()), op=ast.Mult(),
                                            right=ast.Name(stride, ast.Load()))
        for other in names:
            if other != node.id and (_similar(node.id, other) or (node.id in loops and other in loops)):
                yield "name swap", ast.Name(other, ast.Load())
        entry = parents.get(id(node))
        if entry is not None and isinstance(entry[0], ast.BinOp) and isinstance(entry[0].op, ast.Mult | ast.Div) \
                and node.id not in loops:
            for other in names:
                if other != node.id and other not in loops and _similar(node.id, other):
                    yield "factor inserted", ast.BinOp(left=ast.Name(node.id, ast.Load()), op=ast.Mult(),
                                                       right=ast.Name(other, ast.Load()))
        if _in_bound(node, parents):
            yield "name -> 0", ast.Constant(0)
            yield "off by one", ast.BinOp(left=ast.Name(node.id, ast.Load()), op=ast.Add(), right=ast.Constant(1))
            yield "off by one", ast.BinOp(left=ast.Name(node.id, ast.Load()), op=ast.Sub(), right=ast.Constant(1))
    if isinstance(node, ast.Constant) and type(node.value) is int:
        yield "off by one", ast.Constant(node.value + 1)
        if node.value > 0:
            yield "off by one", ast.Constant(node.value - 1)
        if node.value == 0 and _in_bound(node, parents):
            for loop in sorted(loops):
                yield "0 -> name", ast.Name(loop, ast.Load())
    if isinstance(node, ast.BinOp | ast.Call | ast.Attribute | ast.Subscript) and _in_bound(node, parents):
        yield "off by one", ast.BinOp(left=node, op=ast.Add(), right=ast.Constant(1))
        yield "off by one", ast.BinOp(left=node, op=ast.Sub(), right=ast.Constant(1))
    if isinstance(node, ast.Attribute) and node.attr in _ATTRIBUTES:
        for other in _ATTRIBUTES[node.attr]:
            yield "function swap", ast.Attribute(value=node.value, attr=other, ctx=node.ctx)
    if isinstance(node, ast.Call):
        yield from _call_mutations(node)
    if isinstance(node, ast.Tuple) and 2 <= len(node.elts) <= 5:
        for i, j in itertools.combinations(range(len(node.elts)), 2):
            elts = list(node.elts)
            elts[i], elts[j] = elts[j], elts[i]
            yield "items swapped", ast.Tuple(elts=elts, ctx=node.ctx)
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and "->" in node.value:
        yield from (("einsum subscripts", ast.Constant(text)) for text in _einsum_permutations(node.value))
    if isinstance(node, ast.Assign | ast.AugAssign | ast.Expr):
        entry = parents.get(id(node))
        if entry is not None and isinstance(entry[0], ast.For | ast.While | ast.If | ast.With) \
                and len(getattr(entry[0], entry[1])) > 1:
            yield "statement dropped", None


def _call_mutations(node: ast.Call) -> Iterator[tuple[str, ast.AST]]:
    func = node.func
    if isinstance(func, ast.Attribute) and func.attr == "astype" and not node.keywords:
        yield "astype dropped", func.value
    if isinstance(func, ast.Attribute) and func.attr in ("transpose", "permute") and len(node.args) >= 2:
        for i, j in itertools.combinations(range(len(node.args)), 2):
            args = list(node.args)
            args[i], args[j] = args[j], args[i]
            yield "axes permuted", ast.Call(func=func, args=args, keywords=node.keywords)
    for index, keyword in enumerate(node.keywords):
        rest = node.keywords[:index] + node.keywords[index + 1:]
        if keyword.arg in ("dtype", "axis", "axes", "keepdims"):
            yield f"{keyword.arg}= dropped", ast.Call(func=func, args=node.args, keywords=rest)
        if keyword.arg == "axis":
            for axis in _AXES:
                value = ast.parse(repr(axis), mode="eval").body
                if ast.dump(value) != ast.dump(keyword.value):
                    yield "axis changed", ast.Call(func=func, args=node.args,
                                                   keywords=[*rest[:index], ast.keyword("axis", value), *rest[index:]])
    if 2 <= len(node.args) <= 4 and not any(isinstance(arg, ast.Starred) for arg in node.args):
        for i, j in itertools.combinations(range(len(node.args)), 2):
            args = list(node.args)
            args[i], args[j] = args[j], args[i]
            yield "arguments swapped", ast.Call(func=func, args=args, keywords=node.keywords)


def _einsum_permutations(text: str) -> Iterator[str]:
    inputs, _, output = text.partition("->")
    parts = [*inputs.split(","), output]
    seen = {text}
    for index, part in enumerate(parts):
        letters = re.findall(r"[A-Za-z]", part)
        for a, b in itertools.combinations(sorted(set(letters)), 2):
            swapped = part.translate(str.maketrans({a: b, b: a}))
            new = [*parts[:index], swapped, *parts[index + 1:]]
            candidate = ",".join(new[:-1]) + "->" + new[-1]
            if candidate not in seen:
                seen.add(candidate)
                yield candidate


def _splice(line: str, start: int, end: int, text: str) -> str:
    raw = line.encode("utf-8")
    return (raw[:start] + text.encode("utf-8") + raw[end:]).decode("utf-8")


_SYMBOLS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//", ast.Mod: "%",
            ast.Pow: "**", ast.Gt: ">", ast.GtE: ">=", ast.Lt: "<", ast.LtE: "<=", ast.Eq: "==", ast.NotEq: "!="}


def _gap(line: str, left: ast.AST, right: ast.AST, old: str, new: str) -> str | None:
    """``line`` with the operator ``old`` between ``left`` and ``right`` written ``new`` (only the
    operator changes: spacing and parentheses stay), or None when the gap is not just that."""
    raw = line.encode("utf-8")
    a, b = left.end_col_offset, right.col_offset
    if left.end_lineno != right.lineno or a is None or b is None or a > b:
        return None
    gap = raw[a:b].decode("utf-8")
    if gap.replace("(", "").replace(")", "").strip() != old:
        return None
    return _splice(line, a, b, gap.replace(old, new, 1))


def _text(line: str, node: ast.AST, replacement: ast.AST | None) -> list[str]:
    """The edited line, most faithful first (the operator alone, else the node unparsed, else in parentheses)."""
    if replacement is None:
        return [line[: len(line) - len(line.lstrip())] + "pass"]
    found: list[str] = []
    if isinstance(node, ast.Assign) and isinstance(replacement, ast.AugAssign):
        found.append(_gap(line, node.targets[0], node.value, "=", "+="))
    elif isinstance(node, ast.AugAssign) and isinstance(replacement, ast.Assign):
        found.append(_gap(line, node.target, node.value, _SYMBOLS.get(type(node.op), "?") + "=", "="))
    elif isinstance(node, ast.AugAssign) and isinstance(replacement, ast.AugAssign):
        found.append(_gap(line, node.target, node.value, _SYMBOLS.get(type(node.op), "?") + "=",
                          _SYMBOLS.get(type(replacement.op), "?") + "="))
    elif isinstance(node, ast.BinOp) and isinstance(replacement, ast.BinOp) and replacement.left is node.left \
            and replacement.right is node.right:
        found.append(_gap(line, node.left, node.right, _SYMBOLS.get(type(node.op), "?"),
                          _SYMBOLS.get(type(replacement.op), "?")))
    elif isinstance(node, ast.Compare) and isinstance(replacement, ast.Compare):
        found.append(_gap(line, node.left, node.comparators[0], _SYMBOLS.get(type(node.ops[0]), "?"),
                          _SYMBOLS.get(type(replacement.ops[0]), "?")))
    elif isinstance(replacement, ast.AST) and any(replacement is part for part in (
            getattr(node, "left", None), getattr(node, "right", None), getattr(node, "operand", None),
            getattr(getattr(node, "func", None), "value", None))):
        raw = line.encode("utf-8")
        found.append(_splice(line, node.col_offset, node.end_col_offset,
                             raw[replacement.col_offset:replacement.end_col_offset].decode("utf-8")))
    found.append(_swapped(line, node, replacement))
    found.append(_requoted(line, node, replacement))
    text = ast.unparse(ast.fix_missing_locations(copy.copy(replacement)))
    found.append(_splice(line, node.col_offset, node.end_col_offset, text))
    if isinstance(replacement, ast.expr):
        found.append(_splice(line, node.col_offset, node.end_col_offset, f"({text})"))
    return [item for item in found if item is not None]


def _requoted(line: str, node: ast.AST, replacement: ast.AST) -> str | None:
    """A string literal replaced in the line's own quotes (``"ij,jk->ik"`` stays double-quoted)."""
    if not (isinstance(node, ast.Constant) and isinstance(replacement, ast.Constant)
            and isinstance(node.value, str) and isinstance(replacement.value, str)) \
            or node.end_lineno != node.lineno:
        return None
    raw = line.encode("utf-8")
    old = raw[node.col_offset:node.end_col_offset].decode("utf-8")
    quote = old[:1]
    if quote not in ("'", '"') or old[-1:] != quote or any(c in replacement.value for c in (quote, "\\", "\n")):
        return None
    return _splice(line, node.col_offset, node.end_col_offset, quote + replacement.value + quote)


def _swapped(line: str, node: ast.AST, replacement: ast.AST) -> str | None:
    """Two items of a tuple or two arguments of a call swapped in the text (each keeps its own text)."""
    field = "elts" if isinstance(node, ast.Tuple) else "args" if isinstance(node, ast.Call) else None
    if field is None or type(replacement) is not type(node):
        return None
    old, new = getattr(node, field), getattr(replacement, field)
    if len(old) != len(new):
        return None
    moved = [k for k, (a, b) in enumerate(zip(old, new, strict=True)) if a is not b]
    if len(moved) != 2:
        return None
    first, second = old[moved[0]], old[moved[1]]
    if first.lineno != second.lineno or first.end_lineno != first.lineno or second.end_lineno != second.lineno:
        return None
    raw = line.encode("utf-8")
    a, b = raw[first.col_offset:first.end_col_offset], raw[second.col_offset:second.end_col_offset]
    edited = raw[:first.col_offset] + b + raw[first.end_col_offset:second.col_offset] + a + raw[second.end_col_offset:]
    return edited.decode("utf-8")


@dataclass
class _Pending:
    """A candidate not yet checked against its text (checking parses the definition: done only
    for the candidates the search screens)."""

    definition: Definition
    index: int
    node: ast.AST
    replacement: ast.AST | None
    kind: str
    line_number: int
    line: str

    def edit(self, source: Source) -> Edit | None:
        lines = source.units[self.definition.unit].lines
        function = self.definition.node
        expected = _replace(function, self.index, self.replacement)
        for after in _text(self.line, self.node, self.replacement):
            if after != self.line and _matches(lines, self.definition, self.line_number, after, expected):
                return Edit(self.definition.unit, self.line_number, self.line_number, self.line, after, self.kind,
                            self.definition.name)
        return None


def _replace(tree: ast.AST, index: int, replacement: ast.AST | None) -> ast.AST:
    """A copy of ``tree`` with its ``index``-th node (``ast.walk`` order) replaced (None: removed)."""
    tree = copy.deepcopy(tree)
    target = list(ast.walk(tree))[index]
    parent, field, position = _parents(tree)[id(target)]
    if position is None:
        setattr(parent, field, replacement)
    elif replacement is None:
        del getattr(parent, field)[position]
    else:
        getattr(parent, field)[position] = replacement
    return tree


def _shape(node: ast.AST) -> str:
    return ast.dump(node, annotate_fields=False)


def iter_pending(source: Source, definition: Definition) -> Iterator[_Pending]:
    """Every candidate edit of one top-level function definition, in source order, unchecked
    (:meth:`_Pending.edit` makes the text and checks it), made one at a time: the search takes
    as many as it has time and room for (at most :data:`MAX_PER_DEFINITION`)."""
    unit = source.units[definition.unit]
    function = definition.node
    names, loops = _names(function)
    strides = [name for name in names if "stride" in name.lower()]
    parents = _parents(function)
    made = 0
    for index, node in enumerate(ast.walk(function)):
        if node is function or not hasattr(node, "lineno"):
            continue
        line = unit.lines[node.lineno - 1]
        if node.lineno != node.end_lineno:
            # a statement over several lines: only its `=` / `+=` when that is on its first line
            target = node.targets[0] if isinstance(node, ast.Assign) and len(node.targets) == 1 else \
                getattr(node, "target", None) if isinstance(node, ast.AugAssign) else None
            if target is None or target.end_lineno != node.lineno or node.value.lineno != node.lineno:
                continue
            for kind, replacement in _mutations(node, parents, names, loops, strides):
                if kind in ("= -> +=", "+= -> ="):
                    made += 1
                    yield _Pending(definition, index, node, replacement, kind, node.lineno, line)
            continue
        for kind, replacement in _mutations(node, parents, names, loops, strides):
            if replacement is None and line.strip() != ast.get_source_segment(line, _at_zero(node)):
                continue  # a statement dropped only when it is alone on its line
            yield _Pending(definition, index, node, replacement, kind, node.lineno, line)
            made += 1
            if made >= MAX_PER_DEFINITION:
                return


def pending_edits(source: Source, definition: Definition) -> list[_Pending]:
    """:func:`iter_pending` as a list."""
    return list(iter_pending(source, definition))


def _at_zero(node: ast.AST) -> ast.AST:
    moved = copy.copy(node)
    moved.lineno = moved.end_lineno = 1
    return moved


def _matches(lines: list[str], definition: Definition, line_number: int, after: str, expected: ast.AST) -> bool:
    """Whether the definition with line ``line_number`` replaced by ``after`` parses to ``expected``
    (a dropped statement: its body with a ``pass`` in its place, the same otherwise)."""
    edited = [*lines[definition.start - 1: line_number - 1], after, *lines[line_number: definition.end]]
    text = "\n".join(edited)
    indent = len(edited[0]) - len(edited[0].lstrip())
    if indent:
        text = "\n".join(line[indent:] if line[:indent].isspace() else line for line in edited)
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return False
    if not tree.body or not isinstance(tree.body[0], ast.FunctionDef | ast.AsyncFunctionDef):
        return False
    got = tree.body[0]
    if _shape(got) == _shape(expected):
        return True
    # a dropped statement is shown as ``pass``: the same tree once each ``pass`` is taken out
    return _shape(_without_pass(got)) == _shape(_without_pass(expected))


def _without_pass(tree: ast.AST) -> ast.AST:
    tree = copy.deepcopy(tree)
    for node in ast.walk(tree):
        for field in ("body", "orelse"):
            body = getattr(node, field, None)
            if isinstance(body, list):
                kept = [item for item in body if not isinstance(item, ast.Pass)]
                body[:] = kept
    return tree
