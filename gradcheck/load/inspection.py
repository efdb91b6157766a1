"""What in a submission's source looks at the process it runs in, read in the checker (no code runs).

A layer has no reason to walk the call stack, read ``sys.modules``, the interpreter's flags,
its arguments or environment, scan the garbage collector, define a module-level
``__getattr__`` or load C libraries. Code that does can behave one way while it is checked
and another way afterwards, which no black-box check can rule out. :func:`introspection`
lists such uses by line, and the report shows them as a note for a human to review (they do
not change a verdict: correct code may use ``sys.argv`` in a ``__main__`` block).
"""

from __future__ import annotations

import ast
import dataclasses
import os
from dataclasses import dataclass

# (module, attribute) pairs, and bare names, whose use is flagged; what each can tell
ATTRIBUTES: dict[tuple[str, str], str] = {
    ("sys", "_getframe"): "walks the call stack",
    ("sys", "modules"): "reads the loaded modules",
    ("sys", "flags"): "reads the interpreter's flags",
    ("sys", "argv"): "reads the process's arguments",
    ("sys", "settrace"): "traces the interpreter",
    ("sys", "setprofile"): "traces the interpreter",
    ("inspect", "stack"): "walks the call stack",
    ("inspect", "currentframe"): "walks the call stack",
    ("inspect", "getouterframes"): "walks the call stack",
    ("gc", "get_objects"): "scans every object of the process",
    ("gc", "get_referrers"): "scans every object of the process",
    ("os", "environ"): "reads the environment",
    ("os", "getenv"): "reads the environment",
    ("os", "getppid"): "looks at its parent process",
    ("os", "getuid"): "looks at the user it runs as",
    ("os", "geteuid"): "looks at the user it runs as",
    ("os", "getpid"): "looks at its process",
    ("os", "getpgrp"): "looks at its process group",
    ("importlib", "import_module"): "imports a module by a name made at run time",
    ("os", "write"): "writes to raw file descriptors",
    ("os", "fdopen"): "opens raw file descriptors",
    ("builtins", "__import__"): "replaces the import statement",
    ("traceback", "extract_stack"): "walks the call stack",
    ("traceback", "format_stack"): "walks the call stack",
    ("traceback", "walk_stack"): "walks the call stack",
    ("traceback", "print_stack"): "walks the call stack",
    ("sys", "stdout"): "looks at where its output goes (the checker captures it)",
    ("sys", "stderr"): "looks at where its output goes (the checker captures it)",
    ("sys", "__stdout__"): "looks at where its output goes (the checker captures it)",
    ("sys", "__stderr__"): "looks at where its output goes (the checker captures it)",
    ("sys", "stdin"): "looks at its input stream",
    ("sys", "meta_path"): "looks at the import machinery (the checker's hooks are there)",
    ("sys", "path_hooks"): "looks at the import machinery (the checker's hooks are there)",
    ("sys", "path_importer_cache"): "looks at the import machinery",
    ("threading", "active_count"): "counts the process's threads",
    ("threading", "enumerate"): "lists the process's threads",
    ("os", "getcwd"): "looks at the folder it runs in",
    ("socket", "gethostname"): "looks at the machine it runs on",
    ("platform", "node"): "looks at the machine it runs on",
}
# attributes of frames and tracebacks, on whatever object: how code walks a stack without inspect
FRAME_ATTRIBUTES = {"tb_frame", "tb_next", "f_back", "f_globals", "f_locals", "f_code", "gi_frame", "cr_frame",
                    "__traceback__"}
MODULES = {"__main__": "looks at the program that runs it",
           "ctypes": "loads C code", "cffi": "loads C code", "threading": None,  # None: not flagged
           "resource": "reads the process's resource limits (the checker sets them)",
           "psutil": "looks at processes", "signal": "handles the process's signals",
           "base64": "decodes text at run time (code hidden from a reader?)",
           "marshal": "loads code objects", "zlib": "decompresses data at run time (code hidden from a reader?)"}
NAMES = {"__builtins__": "changes the builtins", "_getframe": "walks the call stack",
         "exec": "runs code made at run time, which no reader of the source sees",
         "eval": "runs code made at run time, which no reader of the source sees",
         "compile": "compiles code made at run time, which no reader of the source sees",
         "__import__": "imports a module by a name made at run time"}


@dataclass(frozen=True)
class Use:
    """One flagged use: where, what, and what it can tell the code."""

    line: int
    what: str
    why: str
    path: str = ""  # the file, when not the target itself (a module of the submission it imports)

    def __str__(self) -> str:
        where = f"line {self.line}" + (f" of {self.path}" if self.path else "")
        return f"{self.what} at {where} ({self.why})"


def introspection(trees: list[ast.Module], path: str = "") -> list[Use]:
    """The flagged uses in ``trees`` (a file, or a notebook's cells), in source order; ``path``:
    the file's name to show, when it is not the target itself."""
    found: list[Use] = []
    for tree in trees:
        aliases = _module_aliases(tree)
        benign = _benign_uses(tree, aliases)
        allowed = {id(side) for node in ast.walk(tree) if isinstance(node, ast.Compare) and _is_main_test(node)
                   for side in (node.left, *node.comparators)}
        for node in ast.walk(tree):
            use = None if id(node) in benign else _flag(node, aliases)
            if use is None and isinstance(node, ast.Name) and node.id == "__name__" and id(node) not in allowed:
                use = Use(node.lineno, "__name__", "tells how the module was loaded (beyond `== '__main__'`)")
            if use is not None:
                found.append(dataclasses.replace(use, path=path) if path else use)
        found += [
            Use(node.lineno, "a module-level __getattr__", "can hand each caller a different function", path)
            for node in tree.body
            if isinstance(node, ast.FunctionDef) and node.name == "__getattr__"
        ]
    unique = {(use.line, use.what): use for use in found}
    return sorted(unique.values(), key=lambda use: (use.line, use.what))


def local_modules(path: str, limit: int = 50) -> list[str]:
    """The ``.py`` files beside ``path`` that it imports by name, and those they import, in the
    order found (at most ``limit``): the submission's own modules, whose code runs as its does."""
    folder = os.path.dirname(os.path.abspath(path))
    found: list[str] = []
    queue = [path]
    while queue and len(found) < limit:
        current = queue.pop(0)
        try:
            with open(current, "rb") as handle:
                tree = ast.parse(handle.read(), current)
        except (OSError, SyntaxError, ValueError):
            continue
        for node in ast.walk(tree):
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else (
                [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
                if isinstance(node, ast.ImportFrom) and node.module and node.level <= 1 else [])
            for name in names:
                for candidate in (os.path.join(folder, *name.split(".")) + ".py",
                                  os.path.join(folder, *name.split("."), "__init__.py")):
                    if os.path.isfile(candidate) and candidate not in found and \
                            os.path.abspath(candidate) != os.path.abspath(path):
                        found.append(candidate)
                        queue.append(candidate)
                        break
    return found[:limit]


_WRITES = {"write", "flush", "writelines"}  # what printing code does with sys.stdout
_FLAGGED_MODULES = {"sys", "os", "builtins", "inspect", "gc", "importlib", "traceback", "threading"}


def _benign_uses(tree: ast.Module, aliases: dict[str, str]) -> set[int]:
    """Nodes of flagged names used the way ordinary code uses them, which tells it nothing:
    ``sys.stdout.write(...)``/``.flush()``, ``print(..., file=sys.stdout)``, and setting an
    environment variable (``os.environ["OMP_NUM_THREADS"] = "1"``)."""
    benign: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in _WRITES and _is(node.value, aliases, "sys",
                                                                            ("stdout", "stderr")):
            benign.add(id(node.value))
        elif isinstance(node, ast.keyword) and node.arg == "file" and _is(node.value, aliases, "sys",
                                                                          ("stdout", "stderr")):
            benign.add(id(node.value))
        elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store) \
                and _is(node.value, aliases, "os", ("environ",)):
            benign.add(id(node.value))
    return benign


def _is(node: ast.AST, aliases: dict[str, str], module: str, attributes: tuple[str, ...]) -> bool:
    return isinstance(node, ast.Attribute) and node.attr in attributes and isinstance(node.value, ast.Name) \
        and aliases.get(node.value.id, node.value.id) == module


def _module_aliases(tree: ast.Module) -> dict[str, str]:
    """Local name -> module, from ``import sys``, ``import inspect as i``, and names imported
    ``from sys import _getframe`` (as ``module.attribute``)."""
    aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                aliases[alias.asname or alias.name.split(".")[0]] = alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return aliases


def _flag(node: ast.AST, aliases: dict[str, str]) -> Use | None:
    line = getattr(node, "lineno", 0)
    if isinstance(node, ast.Attribute) and node.attr in FRAME_ATTRIBUTES:
        return Use(line, f".{node.attr}", "walks the call stack")
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and "/proc" in node.value:
        return Use(line, repr(node.value[:40]), "reads /proc: the process's command line, its parent, other processes")

    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        module = aliases.get(node.value.id, node.value.id)
        why = ATTRIBUTES.get((module, node.attr))
        if why is not None:
            return Use(line, f"{module}.{node.attr}", why)
    if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
        target = aliases.get(node.id)
        if target is not None and "." in target:
            module, attribute = target.split(".", 1)
            why = ATTRIBUTES.get((module, attribute))
            if why is not None:
                return Use(line, target, why)
        if node.id in NAMES:
            return Use(line, node.id, NAMES[node.id])
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("getattr", "hasattr",
                                                                                      "vars", "dir") \
            and node.args and isinstance(node.args[0], ast.Name) \
            and aliases.get(node.args[0].id, node.args[0].id) in _FLAGGED_MODULES \
            and (node.func.id in ("vars", "dir") or len(node.args) < 2 or not isinstance(node.args[1], ast.Constant)):
        module = aliases.get(node.args[0].id, node.args[0].id)
        return Use(line, f"{node.func.id}({module}, ...)", "reads the module by a name made at run time")
    if isinstance(node, ast.Import | ast.ImportFrom):
        names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else [node.module or ""]
        for name in names:
            why = MODULES.get(name.split(".")[0])
            if why is not None:
                return Use(line, f"import {name.split('.')[0]}", why)
    return None


def _is_main_test(node: ast.Compare) -> bool:
    """``__name__ == "__main__"`` (or ``!=``): the one use of the module name a layer has."""
    sides = [node.left, *node.comparators]
    names = [side for side in sides if isinstance(side, ast.Name) and side.id == "__name__"]
    others = [side for side in sides if side not in names]
    return (len(names) == 1 and all(isinstance(op, ast.Eq | ast.NotEq) for op in node.ops)
            and all(isinstance(side, ast.Constant) and side.value == "__main__" for side in others))


def introspection_note(uses: list[Use], limit: int = 8) -> str | None:
    """The report's note on ``uses`` (None when there is none)."""
    if not uses:
        return None
    shown = "; ".join(map(str, uses[:limit])) + (f"; and {len(uses) - limit} more" if len(uses) > limit else "")
    return (
        f"the submission looks at the process it runs in: {shown}. A layer has no need to; code that does can "
        "behave differently while it is checked, which no check can rule out: review it"
    )
