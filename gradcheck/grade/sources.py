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

import hashlib
import os
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path, PurePosixPath

from gradcheck.boundary.siblings import contract_names_in, imported_names_in
from gradcheck.errors import UsageError
from gradcheck.grade import archives
from gradcheck.grade.reading import CAPS, Refused, kind_of, read_file, read_tree, skipped

CODE_SUFFIXES = (".py", ".ipynb")
MAX_FILE_BYTES = CAPS.file_bytes
MAX_CLASS_ENTRIES = 100_000  # members of an archive given as a SOURCE (a whole class)
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
    """The entry file of a folder submission: among code files no other file imports (a
    helper module is imported, the submission is not), the one defining the most contract
    functions; ties: the shallowest, then by name."""
    code = [name for name in files if _is_code(name)]
    if not code:
        return None
    imported: set[str] = set()
    for name in code:
        imported |= {module for module in imported_names(files[name]) if module != PurePosixPath(name).stem}
    entries = [name for name in code if PurePosixPath(name).stem not in imported] or code
    return max(entries, key=lambda name: (len(contract_names_in(files[name])), -name.count("/"), _neg(name)))


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
    with archives.open_archive(path, path) as archive:
        by_name = {m.name: m for m in archives.list_members(archive, path, limit=MAX_CLASS_ENTRIES, whole=True)}
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


def _from_class_archive(path: str) -> list[Submission]:
    name = os.path.basename(path)
    try:
        with archives.open_archive(path, path) as archive:
            members = archives.list_members(archive, path, limit=MAX_CLASS_ENTRIES, whole=True)
    except Refused as exc:
        return [Submission(archives.stem(name), path, path=path, error=str(exc))]
    strip = _look_through([m.name for m in members])
    groups: dict[str, list[tuple[str, archives.Member]]] = {}
    for member in members:
        parts = PurePosixPath(member.name).parts[strip:]
        if len(parts) > 1:
            groups.setdefault(parts[0], []).append(("/".join(parts[1:]), member))
        else:
            groups.setdefault("\0" + parts[0], []).append((parts[0], member))  # a file: a group of its own
    found = [_group(path, "" if key.startswith("\0") else key, entries, strip) for key, entries in groups.items()]
    return sorted(found, key=lambda s: s.id)


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
