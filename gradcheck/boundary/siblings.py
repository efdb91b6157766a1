"""Which modules beside a file target the worker may see: the submission's own, never a classmate's.

A submission split over several files (``layers.py`` importing ``im2col.py``) needs the modules
it imports from its folder. In a class folder, though, ``import alice`` would hand a classmate's
code to the submission. :func:`find` follows the target's imports (directly or through each
other, at most :data:`MAX_SIBLINGS`) and shows a module unless:

- it is a symbolic link, or reached through one (it may point anywhere); or
- it defines contract functions while the folder holds another submission, i.e. a code file
  that defines contract functions, is not the target, and that no file of the folder imports
  (the folder is then a class folder, and that module is taken for a classmate's submission),
  unless two or more other files of the folder import it too (a helper the folder shares,
  such as a course's ``layers.py`` beside every student's file). A folder holding one
  submission (a CS231n ``layers.py`` imported by the student's file) shows it.

What was refused is returned with the reason, for the report and the load error.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field

from gradcheck.load.cs231n import DISPLAY_NAMES
from gradcheck.plans.convolution import CONTRACT_FUNCTIONS

MAX_SIBLINGS = 50
MAX_FOLDER_FILES = 500  # code files of a folder read to tell a class folder from one submission's
MAX_READ = 1 << 20  # bytes of each of them looked at
_NAMES = (*CONTRACT_FUNCTIONS, *DISPLAY_NAMES.values())  # the contract's names and CS231n's
_DEFINES = re.compile(r"(?:^|[\s\"'])def\s+(" + "|".join(_NAMES) + r")\s*\(", re.MULTILINE)
_IMPORTS = re.compile(r"(?:^|[\s\"'])(?:from|import)\s+([A-Za-z_][A-Za-z0-9_]*)", re.MULTILINE)
CODE_SUFFIXES = (".py", ".ipynb")


def contract_names_in(text: bytes) -> set[str]:
    """The contract functions (or their CS231n names) a .py or .ipynb text defines with ``def``.

    Read, not imported: no submitted code runs in the checker."""
    return set(_DEFINES.findall(text.decode("utf-8", errors="replace")))


def imported_names_in(text: bytes) -> set[str]:
    """Top-level module names a .py or .ipynb text imports (``import x``, ``from x import y``)."""
    return set(_IMPORTS.findall(text.decode("utf-8", errors="replace")))


@dataclass
class Siblings:
    """``shown``: paths the worker sees beside the target; ``refused``: {path: why not}."""

    shown: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)


def _imported_names(path: str) -> set[str]:
    """Top-level names of the modules a ``.py`` file or notebook imports (absolute imports)."""
    import ast

    try:
        if path.endswith(".ipynb"):
            from gradcheck.load.loaders import notebook_source

            trees = [tree for _, tree in notebook_source(path)]
        else:
            with open(path, "rb") as handle:
                trees = [ast.parse(handle.read(), path)]
    except Exception:  # noqa: BLE001 - unreadable or invalid: the worker reports it
        return set()
    names = set()
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
            elif _is_run_magic(node):  # `%run helper.py` (the loader's call of its shell): helper is needed
                words = [word for word in node.args[1].value.split() if not word.startswith("-")]
                if words and words[0].endswith(".py") and "/" not in words[0]:
                    names.add(words[0][:-3])
    return names


def _is_run_magic(node: object) -> bool:
    import ast

    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "run_line_magic"
            and len(node.args) >= 2 and all(isinstance(arg, ast.Constant) and isinstance(arg.value, str)
                                            for arg in node.args[:2]) and node.args[0].value == "run")


def _head(path: str) -> bytes:
    """The first MAX_READ bytes of the regular file ``path`` (a link, FIFO or device: nothing)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return b""
    try:
        return os.read(fd, MAX_READ) if stat.S_ISREG(os.fstat(fd).st_mode) else b""
    except OSError:
        return b""
    finally:
        os.close(fd)


@dataclass
class Folder:
    """The code files of a folder: which define contract functions, and who imports whom."""

    defines: set[str] = field(default_factory=set)  # module names
    importers: dict[str, set[str]] = field(default_factory=dict)  # module name -> modules importing it
    files: dict[str, str] = field(default_factory=dict)  # module name -> file name


def read_folder(folder: str) -> Folder:
    """The first MAX_READ bytes of each of the first MAX_FOLDER_FILES code files of ``folder``, read as text."""
    found = Folder()
    try:
        names = sorted(name for name in os.listdir(folder) if name.endswith(CODE_SUFFIXES))[:MAX_FOLDER_FILES]
    except OSError:
        return found
    for name in names:
        path, module = os.path.join(folder, name), os.path.splitext(name)[0]
        if os.path.islink(path) or not os.path.isfile(path):
            continue
        text = _head(path)
        found.files[module] = name
        if contract_names_in(text):
            found.defines.add(module)
        for imported in imported_names_in(text) - {module}:
            found.importers.setdefault(imported, set()).add(module)
    return found


def other_submissions(folder: Folder, target: str) -> list[str]:
    """Modules of ``folder`` (not the target) that define contract functions and that no file of
    the folder imports: other submissions, so the folder is a class folder."""
    return sorted(module for module in folder.defines if module != target and not folder.importers.get(module))


def _taken_for_a_submission(name: str, folder: Folder, target: str) -> str | None:
    """Why the module ``name`` (which defines contract functions) is not shown, or None."""
    others = other_submissions(folder, target)
    if not others or len(folder.importers.get(name, set()) - {target}) >= 2:
        return None  # one submission's folder, or a helper the folder's files share
    return (f"it defines contract functions and {folder.files[others[0]]} beside it does too: it is taken for "
            "another submission")


def find(path: str) -> Siblings:
    """The modules beside the file ``path`` that it imports, shown or refused (module docstring)."""
    folder, found = os.path.dirname(path), Siblings()
    queue, index = [path], None
    while queue and len(found.shown) < MAX_SIBLINGS:
        for name in sorted(_imported_names(queue.pop())):
            module, package = os.path.join(folder, name + ".py"), os.path.join(folder, name)
            if module == path or module in found.shown or package in found.shown or module in found.refused:
                continue
            is_module = os.path.isfile(module)
            if not is_module and not os.path.isfile(os.path.join(package, "__init__.py")):
                continue  # not beside it: an installed package, or missing
            candidate = module if is_module else package
            if os.path.islink(candidate) or (is_module and os.path.realpath(module) != os.path.join(
                    os.path.realpath(folder), name + ".py")):
                found.refused[candidate] = "a symbolic link (it may point anywhere)"
                continue
            text = _head(module if is_module else os.path.join(package, "__init__.py"))
            if contract_names_in(text):
                index = read_folder(folder) if index is None else index
                why = _taken_for_a_submission(name, index, os.path.splitext(os.path.basename(path))[0])
                if why is not None:
                    found.refused[candidate] = why
                    continue
            found.shown.append(candidate)
            if is_module:
                queue.append(module)
    return found


def shown_to_worker(target: str, is_path: bool, siblings: bool,
                    extra: Sequence[str] = ()) -> tuple[list[str], dict[str, str]]:
    """(what the worker sees: the target, the modules beside it it may see (with ``siblings``),
    then ``extra``; {module: why it was not shown}). ``extra`` (the rest of one submission) is
    always shown: a module in it is never refused."""
    from gradcheck.boundary.sandbox import visible_paths

    extra = [os.path.abspath(path) for path in extra]
    if not (is_path and siblings):
        return [*visible_paths(target, is_path, siblings=False), *extra], {}
    found = find(target)
    return [target, *found.shown, *extra], {path: why for path, why in found.refused.items() if path not in extra}


def refusal_note(refused: dict[str, str]) -> str:
    """One sentence for the report: which modules beside the target were not shown, and why."""
    parts = [f"{os.path.basename(path)} ({why})" for path, why in refused.items()]
    return ("not shown to the submission, though it imports them: " + "; ".join(parts)
            + ". If they are part of the submission, put its files in a folder of their own")
