"""Find the submissions in ``gradcheck grade`` SOURCEs: folders, archives, single files.

A folder SOURCE (a class folder): each entry directly inside is one submission, its id the
entry's own name: a ``.py``/``.ipynb`` file (id = name without extension), a sub-folder
(id = folder name), a ``.zip`` or tar archive (id = name without the archive suffix). What a
sub-folder or archive holds never picks an id: its target is the code file in it that
defines the most contract functions (found by reading the text, never by importing it); an
archive wrapping everything in one folder is looked through. An archive given as a SOURCE
is the class itself (an export), read like the folder it was made from: each of its
top-level entries is a submission.

Every entry is read on its own (:mod:`~gradcheck.grade.reading`, :mod:`~gradcheck.grade.archives`):
whatever it holds, it becomes its own row. A gradable submission; an *odd* entry (``odd``:
not a submission, e.g. a data file or a folder without code); or an *error* (``error``: a
submission that cannot be read safely: a bad archive, a symbolic link, a FIFO, a tree too
deep, with what to do about it).

``Submission.read_files()`` gives its files as bytes (relative path -> content), read again
from disk when the task is sent and checked against ``sha256`` then (a file changed in
between is refused, not graded), so that a class of large notebooks never sits in memory.
``sha256`` is the hash of the target file's bytes for a lone file, of the sorted (path,
content) pairs otherwise. Ids are made safe for folder names and unique; ids that collide
after that are listed by :func:`collisions`.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path, PurePosixPath
from typing import Any

from gradcheck.boundary.siblings import contract_names_in, imported_names_in
from gradcheck.errors import UsageError
from gradcheck.grade import archives
from gradcheck.grade.reading import CAPS, Refused, kind_of, read_file, read_tree, skipped

CODE_SUFFIXES = (".py", ".ipynb")
MAX_FILE_BYTES = CAPS.file_bytes
_ARCHIVE_CAPS = replace(CAPS, file_bytes=CAPS.total_bytes)  # the archive file itself, read before unpacking
imported_names = imported_names_in
__all__ = ["Submission", "collisions", "contract_names_in", "discover", "folder_submission", "imported_names"]


@dataclass
class Submission:
    """One entry of the class: gradable, odd (``odd`` says why) or unreadable (``error`` says why)."""

    id: str
    label: str  # where it came from, for people: "class/alice.py", "class.zip:bob"
    target: str = ""  # relative path of the file to check, inside ``files``
    files: dict[str, bytes] = field(default_factory=dict)  # empty once ``loader`` is set
    sha256: str = ""
    odd: str | None = None
    loader: Callable[[], dict[str, bytes]] | None = field(default=None, repr=False)
    error: str | None = None
    path: str = ""  # what was graded: the file, "class/carol/cnn.py", "class/late.zip:cnn.py"
    name: str = ""  # the id before it was made unique (ids that collide share it)

    @property
    def gradable(self) -> bool:
        return self.odd is None and self.error is None

    def read_files(self) -> dict[str, bytes]:
        """The submission's files, {relative path: bytes}: read again if lazy, and refused
        (:class:`~gradcheck.grade.reading.Refused`) if they no longer hash to ``sha256``."""
        if self.loader is None:
            return dict(self.files)
        files = self.loader()
        if _hash_files(files, self.target) != self.sha256:
            raise Refused(f"{self.label} changed after it was found (its files no longer match their hash); "
                          "run gradcheck grade again once it no longer changes")
        return files

    def lazy(self, loader: Callable[[], dict[str, bytes]]) -> Submission:
        """Drop the bytes kept in memory; ``read_files`` will call ``loader``."""
        if self.gradable:
            self.files, self.loader = {}, loader
        return self


def _is_code(name: str) -> bool:
    return name.endswith(CODE_SUFFIXES)


def _hash_files(files: dict[str, bytes], target: str) -> str:
    if len(files) == 1 and target in files:
        return hashlib.sha256(files[target]).hexdigest()
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode("utf-8", "surrogateescape") + b"\0")
        digest.update(hashlib.sha256(files[name]).digest())
    return digest.hexdigest()


def _pick_target(files: dict[str, bytes]) -> str | None:
    """The entry file of a folder submission. A file provides graded functions (the contract's, in
    either course's names, and the functions students write in an assignment of
    :mod:`gradcheck.plans`) by defining them or importing them from a module beside it (by name or
    with ``*``), read from its text. First choice: a file that provides some, that no other file
    imports (a helper module is imported, the submission is not) and that is not named like a copy
    or a test (:func:`_secondary`); failing that, any file. Among them: the most functions
    provided, then one not named like a copy or a test, then one not imported, then the
    shallowest, then by name. So a student's own ``test_cnn.py`` that does ``import cnn`` is
    never graded in place of the ``cnn.py`` it tests, nor ``old_cnn.py`` in place of ``cnn.py``,
    and a file that imports two functions from a complete helper is still the one graded."""
    code = [name for name in files if _is_code(name)]
    if not code:
        return None
    imported: set[str] = set()
    for name in code:
        imported |= {module for module in imported_names(files[name]) if module != PurePosixPath(name).stem}
    provided = _provided(files, code)

    def rank(name: str) -> tuple:
        entry = PurePosixPath(name).stem not in imported
        first = bool(provided[name]) and entry and not _secondary(name)
        return (first, len(provided[name]), not _secondary(name), entry, -name.count("/"), _neg(name))

    return max(code, key=rank)


_SECONDARY = re.compile(r"(?i)(?:^|[^a-z])(?:backup|bak|old|copy|orig|original|draft|tmp|temp|test|tests)"
                        r"(?:[^a-z]|$)|\(\d+\)$|~$")


def _secondary(name: str) -> bool:
    """A file named like a copy or a test (``cnn_backup.py``, ``old_cnn.py``, ``cnn (1).py``,
    ``test_cnn.py``): it loses a tie on graded functions to one that is not."""
    return bool(_SECONDARY.search(PurePosixPath(name).stem))


def _provided(files: dict[str, bytes], code: list[str]) -> dict[str, set[str]]:
    """{code file: the graded functions it provides}: its own (:func:`graded_names_in`) and those of
    the modules beside it that it star-imports, followed through each other."""
    own, stars = {}, {}
    for name in code:
        own[name], stars[name] = graded_names_in(files[name], name, with_stars=True)
    by_stem: dict[str, str] = {}
    for name in sorted(code, key=lambda n: (n.count("/"), n)):
        by_stem.setdefault(PurePosixPath(name).stem, name)
    provided = {}
    for name in code:
        names, seen, todo = set(own[name]), {name}, list(stars[name])
        while todo:
            module = by_stem.get(todo.pop())
            if module is not None and module not in seen:
                seen.add(module)
                names |= own[module]
                todo.extend(stars[module])
        provided[name] = names
    return provided


_DEFINED = re.compile(r"(?:^|[\s\"'])(?:def|class)\s+([A-Za-z_][A-Za-z0-9_]*)\s*[(:]", re.MULTILINE)
_FROM_IMPORT = re.compile(r"(?:^|[\s\"'])from\s+([A-Za-z_][\w.]*)\s+import\s+\(?([\w ,*]+)")


def graded_names_in(text: bytes, name: str = "", *, with_stars: bool = False) -> Any:
    """The graded functions a .py or .ipynb text provides: defines (``def``, or ``class`` for an
    assignment's class-based layers) or imports by name (``from layers import conv_forward``):
    the contract's (either course's names) and the assignments' own, never those an assignment's
    course provides (``dnn_utils``' ``sigmoid``). Read, never imported. ``with_stars``: (those
    names, the top-level modules it imports ``*`` from)."""
    import ast

    source = text.decode("utf-8", errors="replace")
    known = _graded_names()
    bound: set[str] = set()
    stars: set[str] = set()
    tree = None
    if name.endswith(".py"):
        try:
            tree = ast.parse(source)
        except (SyntaxError, ValueError):
            tree = None
    if tree is not None:
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                bound.add(node.name)
            elif isinstance(node, ast.ImportFrom):
                for alias in node.names:
                    if alias.name == "*":
                        stars.add((node.module or "").split(".")[0])
                    else:
                        bound.add(alias.asname or alias.name)
        found = bound & known
    else:
        bound = set(_DEFINED.findall(source))
        for module, names in _FROM_IMPORT.findall(source):
            for part in names.split(","):
                if part.strip() == "*":
                    stars.add(module.split(".")[0])
                elif part.split():
                    bound.add(part.split()[-1])
        found = (bound & known) | contract_names_in(text)
    return (found, stars) if with_stars else found


@functools.cache
def _graded_names() -> frozenset[str]:
    from gradcheck.conventions import CONVENTIONS
    from gradcheck.plans import plans

    contract = {name for known in CONVENTIONS.values() for name in known.shown_functions}
    return frozenset(contract | {name for plan in plans().values() for name in plan.required_names})


def _neg(name: str) -> tuple[int, ...]:
    return tuple(-ord(ch) for ch in name)  # max() of this picks the alphabetically first name


def _odd_file_reason(name: str) -> str:
    suffix = PurePosixPath(name).suffix or "(none)"
    return f"not a submission: a {suffix} file (expected .py, .ipynb, a folder, a .zip or a tar archive)"


def _no_code(what: str, files: dict[str, bytes]) -> str:
    nested = sorted(name for name in files if archives.archive_suffix(name))
    if nested:
        return (f"{what} without a .py or .ipynb file (archives inside it, such as {nested[0]}, are not "
                "unpacked: hand in the code itself)")
    return f"{what} without a .py or .ipynb file"


def _from_files(ident: str, label: str, files: dict[str, bytes], sep: str, what: str,
                loader: Callable[[], dict[str, bytes]]) -> Submission:
    """A submission made of ``files`` (a folder's or an archive's)."""
    target = _pick_target(files)
    if target is None:
        return Submission(ident, label, odd=_no_code(what, files), path=label)
    sub = Submission(ident, label, target=target, files=files, sha256=_hash_files(files, target),
                     path=f"{label}{sep}{target}")
    return sub.lazy(loader)


# --------------------------------------------------------------------------- one entry each


def _read_folder(path: str, label: str) -> dict[str, bytes]:
    return read_tree(path, label)


def _read_one(path: str, label: str, name: str) -> dict[str, bytes]:
    return {name: read_file(path, label)}


def _look_through(names: list[str]) -> int:
    """1 when every name sits in one wrapping folder (the zip of a folder), else 0."""
    tops = {PurePosixPath(name).parts[0] for name in names}
    return 1 if len(tops) == 1 and all(len(PurePosixPath(name).parts) > 1 for name in names) else 0


def _read_archive(path: str | None, label: str, data: bytes | None = None) -> dict[str, bytes]:
    """The files of one submission's archive (the wrapping folder looked through)."""
    if data is None:
        data = read_file(path, label, caps=_ARCHIVE_CAPS)
    with archives.open_archive(data, label) as archive:
        members = archives.list_members(archive, label)
        strip = _look_through([m.name for m in members])
        pairs = [("/".join(PurePosixPath(m.name).parts[strip:]), m) for m in members]
        return archives.read_members(archive, pairs, label)


def _file_entry(ident: str, path: str, label: str, name: str) -> Submission:
    if archives.archive_suffix(name):
        files = _read_archive(path, label)
        return _from_files(ident, label, files, ":", "an archive", partial(_read_archive, path, label))
    if _is_code(name):
        files = _read_one(path, label, name)
        submission = Submission(ident, label, target=name, files=files, sha256=_hash_files(files, name), path=label)
        return submission.lazy(partial(_read_one, path, label, name))
    return Submission(ident, label, odd=_odd_file_reason(name), path=label)


def _ident(name: str, is_dir: bool) -> str:
    if is_dir:
        return name
    if archives.archive_suffix(name):
        return archives.stem(name)
    return PurePosixPath(name).stem or name


def _entry(entry: os.DirEntry[str], label: str) -> Submission:
    """The submission (or odd entry, or error) one entry of a class folder is; never raises."""
    try:
        is_dir = entry.is_dir(follow_symlinks=False)
    except OSError:
        is_dir = False
    ident = _ident(entry.name, is_dir)
    try:
        if entry.is_symlink():
            target = os.readlink(entry.path)
            return Submission(ident, label, path=label, error=(
                f"{label} is a symbolic link (to {target}); gradcheck reads only what is in the class folder: "
                "put the file or folder itself there, or give it as a SOURCE of its own"))
        if is_dir:
            files = _read_folder(entry.path, label)
            return _from_files(ident, label, files, "/", "folder", partial(_read_folder, entry.path, label))
        mode = entry.stat(follow_symlinks=False).st_mode
        if not entry.is_file(follow_symlinks=False):
            return Submission(ident, label, path=label,
                              error=f"{label} is {kind_of(mode)}; hand in regular files and folders only")
        return _file_entry(ident, entry.path, label, entry.name)
    except Refused as exc:
        return Submission(ident, label, path=label, error=str(exc))
    except Exception as exc:  # noqa: BLE001 - whatever an entry does, it costs only its own row
        return Submission(ident, label, path=label, error=(
            f"{label} could not be read ({type(exc).__name__}: {exc}); hand it in again as a .py, .ipynb, "
            "a folder or a .zip"))


def folder_submission(ident: str, folder: str, label: str) -> Submission:
    """The folder ``folder`` as one submission (gradable, odd, or an error saying why it cannot
    be read): the Gradescope autograder's ``/autograder/submission``."""
    try:
        files = _read_folder(folder, label)
    except Refused as exc:
        return Submission(ident, label, path=label, error=str(exc))
    return _from_files(ident, label, files, "/", "folder", partial(_read_folder, folder, label))


def _from_folder(folder: Path, exclude: set[str]) -> list[Submission]:
    found: list[Submission] = []
    with os.scandir(folder) as listing:
        entries = sorted(listing, key=lambda e: e.name)
    for entry in entries:
        if skipped(entry.name):
            continue
        if entry.is_dir(follow_symlinks=False) and os.path.realpath(entry.path) in exclude:
            continue
        found.append(_entry(entry, os.path.join(str(folder), entry.name)))
    return found


# --------------------------------------------------------------------------- a class archive


def _read_group(path: str, names: dict[str, str], label: str) -> dict[str, bytes]:
    """Members ``names`` ({path to give: member name}) of the class archive at ``path``."""
    wanted = set(names.values())
    with archives.open_archive(path, path) as archive:
        by_name: dict[str, archives.Member] = {}
        for member in archives.iter_members(archive, path):
            if member is not None and member.name in wanted:
                by_name[member.name] = member
        pairs = []
        for rel, name in names.items():
            if name not in by_name:
                raise Refused(f"{label}: {name} is no longer in {path}; run again")
            pairs.append((rel, by_name[name]))
        return archives.read_members(archive, pairs, label)


def _group(path: str, key: str, entries: list[tuple[str, archives.Member]], strip: int) -> Submission:
    first = entries[0][1].name
    label = f"{path}:{'/'.join(PurePosixPath(first).parts[:strip + 1])}"
    names = {rel: member.name for rel, member in entries}
    is_file = key == ""
    ident = _ident(PurePosixPath(entries[0][0]).name if is_file else key, not is_file)
    try:
        if is_file:
            ((rel, member),) = entries
            if archives.archive_suffix(rel):  # a student's zip inside the class's: one submission
                data = _read_group(path, names, label)[rel]
                files = _read_archive(None, label, data)
                loader = lambda: _read_archive(None, label, _read_group(path, names, label)[rel])  # noqa: E731
                return _from_files(ident, label, files, ":", "an archive", loader)
            if not _is_code(rel):
                return Submission(ident, label, odd=_odd_file_reason(rel), path=label)
            name = PurePosixPath(rel).name
            files = {name: _read_group(path, names, label)[rel]}
            loader = lambda: {name: _read_group(path, names, label)[rel]}  # noqa: E731
            submission = Submission(ident, label, target=name, files=files, sha256=_hash_files(files, name),
                                    path=label)
            return submission.lazy(loader)
        files = _read_group(path, names, label)
        return _from_files(ident, label, files, "/", "folder", partial(_read_group, path, names, label))
    except Refused as exc:
        return Submission(ident, label, path=label, error=str(exc))
    except Exception as exc:  # noqa: BLE001 - costs only this group's row
        return Submission(ident, label, path=label, error=f"{label} could not be read ({type(exc).__name__}: {exc})")


def _group_key(parts: tuple[str, ...]) -> str:
    """The group a member's path (its parts below the wrapping folder) belongs to: its top folder,
    or the file itself (a group of its own, marked by a leading NUL)."""
    return parts[0] if len(parts) > 1 else "\0" + parts[0]


def _class_members(archive: archives.zipfile.ZipFile | archives.tarfile.TarFile, path: str
                   ) -> tuple[list[archives.Member], int, dict[str, int]]:
    """(members kept, strip, entries per group) of a class archive. The entry cap of a submission
    (``CAPS.entries``) holds per group (a student's folder), never for the whole archive: the
    members of a group past it are counted, not kept, and the group becomes an error row of its
    own (a folder of 100,000 files costs its student's row, not the class's)."""
    kept: list[archives.Member] = []
    tops: set[str] = set()
    shallow = False
    fine: dict[tuple[str, str], int] = {}  # entries per group below a possible wrapping folder
    coarse: dict[str, int] = {}  # entries per group without one
    for member in archives.iter_members(archive, path):
        if member is None:
            continue
        parts = PurePosixPath(member.name).parts
        tops.add(parts[0])
        shallow = shallow or len(parts) == 1
        key0 = _group_key(parts)
        coarse[key0] = coarse.get(key0, 0) + 1
        key1 = (parts[0], _group_key(parts[1:]) if len(parts) > 1 else "")
        fine[key1] = fine.get(key1, 0) + 1
        if fine[key1] <= CAPS.entries:  # a group of either kind past the cap is refused whole
            kept.append(member)
    strip = 1 if len(tops) == 1 and not shallow else 0
    sizes = {key: n for (_, key), n in fine.items()} if strip else coarse
    return kept, strip, sizes


def _from_class_archive(path: str) -> list[Submission]:
    name = os.path.basename(path)
    try:
        with archives.open_archive(path, path) as archive:
            members, strip, sizes = _class_members(archive, path)
    except Refused as exc:
        return [Submission(archives.stem(name), path, path=path, error=str(exc))]
    groups: dict[str, list[tuple[str, archives.Member]]] = {}
    for member in members:
        parts = PurePosixPath(member.name).parts[strip:]
        key = _group_key(parts)
        groups.setdefault(key, []).append((parts[0] if key.startswith("\0") else "/".join(parts[1:]), member))
    found = [_too_many(path, key, entries, strip, sizes[key]) if sizes[key] > CAPS.entries
             else _group(path, "" if key.startswith("\0") else key, entries, strip)
             for key, entries in groups.items()]
    return sorted(found, key=lambda s: s.id)


def _too_many(path: str, key: str, entries: list[tuple[str, archives.Member]], strip: int, size: int) -> Submission:
    """The error row of a group of the class archive that holds more entries than a submission may."""
    first = entries[0][1].name
    label = f"{path}:{'/'.join(PurePosixPath(first).parts[:strip + 1])}"
    return Submission(_ident(key, True), label, path=label, error=(
        f"{label} holds {size} entries, more than the {CAPS.entries} a submission may; hand in only the code "
        "(no data sets, environments or caches)"))


# --------------------------------------------------------------------------- entry point


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_id(name: str) -> str:
    """``name`` as a folder name: accents dropped, other characters as ``_``, never starting
    with ``.``, ``_`` or ``-`` (a spreadsheet reads a leading ``-`` as a formula)."""
    plain = "".join(ch for ch in unicodedata.normalize("NFKD", name) if not unicodedata.combining(ch))
    return _UNSAFE.sub("_", plain).strip("._-") or "submission"


def _unique_ids(found: list[Submission]) -> list[Submission]:
    """Ids safe as folder names and unique, ignoring case (see :func:`collisions`). An entry whose
    name already is a safe id keeps it (the first such, in order); the others get ``-2``, ``-3``...:
    a hostile ``zoé_smith.py`` never takes ``zoe_smith`` from ``zoe_smith.py``."""
    bases = [safe_id(submission.id) for submission in found]
    exact = [base == submission.id for base, submission in zip(bases, found, strict=True)]
    seen: set[str] = set()
    ids: list[str | None] = [None] * len(found)
    for index in [i for i in range(len(found)) if exact[i]] + [i for i in range(len(found)) if not exact[i]]:
        base = bases[index]
        ident, n = base, 1
        while ident.lower() in seen:
            n += 1
            ident = f"{base}-{n}"
        seen.add(ident.lower())
        ids[index] = ident
    for submission, base, ident in zip(found, bases, ids, strict=True):
        submission.id, submission.name = ident, base.lower()
    return found


def collisions(found: list[Submission]) -> list[list[Submission]]:
    """Groups of submissions whose names gave the same id (``zoe smith``, ``Zoe_Smith``, ``zoé_smith``):
    each got an id of its own (``-2``...), and the group is listed in the summary and the class page."""
    groups: dict[str, list[Submission]] = {}
    for submission in found:
        groups.setdefault(submission.name or submission.id.lower(), []).append(submission)
    return [group for group in groups.values() if len(group) > 1]


_SYSTEM = ("/proc", "/sys", "/dev")


def discover(sources: list[str], exclude: list[str | Path] = ()) -> list[Submission]:
    """Every submission (and odd entry, and unreadable one) in ``sources``, in a stable order.

    ``exclude``: folders never taken for submissions (the ``--out`` folder inside a SOURCE).
    Raises :class:`UsageError` when a SOURCE does not exist, is under /proc, /sys or /dev,
    or no source is given. Never raises because of what an entry holds.
    """
    skip = {os.path.realpath(path) for path in exclude}
    if not sources:
        raise UsageError("give at least one SOURCE (a folder, a .zip, or .py/.ipynb files)")
    found: list[Submission] = []
    for source in sources:
        path = Path(source)
        if not path.exists():
            raise UsageError(f"no such file or folder: {source}")
        real = os.path.realpath(path)
        if any(real == system or real.startswith(system + "/") for system in _SYSTEM):
            raise UsageError(f"{source} is a system path ({real}), not a class folder; give the folder, "
                             "archive or files the submissions are in")
        if path.is_dir():
            found.extend(_from_folder(path, skip))
        elif archives.archive_suffix(path.name):
            found.extend(_from_class_archive(str(path)))
        else:
            try:  # a file named on the command line: the instructor's choice, followed if a link
                found.append(_file_entry(_ident(path.name, False), real, str(path), path.name))
            except Refused as exc:
                found.append(Submission(_ident(path.name, False), str(path), path=str(path), error=str(exc)))
    return _unique_ids(found)
