"""Find the submissions in ``gradcheck grade`` SOURCEs: folders, ``.zip`` files, single files.

A folder: each ``.py``/``.ipynb`` directly inside is one submission (id = file name
without extension); each sub-folder is one submission (id = folder name) whose
target is the code file in it that defines the most contract functions (found by
reading the text, never by importing it). A ``.zip`` is read like the folder it
was made from (a single top-level folder wrapping everything is looked through).
Anything else (data files, folders without code) becomes an *odd* entry: listed,
never graded, never a crash.

``Submission.read_files()`` gives its files as bytes (relative path -> content), so
a task can rebuild it anywhere (another process, another machine); they are read
when the submission is hashed and again when it is sent, never all held at once
(a class of large notebooks does not fill the coordinator's memory). ``sha256`` is
the hash of the target file's bytes for a lone file, of the sorted (path, content)
pairs for a folder.
"""

from __future__ import annotations

import hashlib
import os
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path, PurePosixPath

from gradcheck.contract import CONTRACT_FUNCTIONS
from gradcheck.errors import UsageError
from gradcheck.load.cs231n import DISPLAY_NAMES

CODE_SUFFIXES = (".py", ".ipynb")
MAX_FILE_BYTES = 16 << 20  # a code file larger than this is not read (odd entry)
MAX_FOLDER_BYTES = 64 << 20  # all files of one sub-folder submission
MAX_FOLDER_FILES = 200
SKIPPED_NAMES = ("__pycache__", ".ipynb_checkpoints", "__MACOSX", ".git")
_NAMES = (*CONTRACT_FUNCTIONS, *DISPLAY_NAMES.values())  # the contract's names and CS231n's
_DEFINES = re.compile(r"(?:^|[\s\"'])def\s+(" + "|".join(_NAMES) + r")\s*\(", re.MULTILINE)
_IMPORTS = re.compile(r"(?:^|[\s\"'])(?:from|import)\s+([A-Za-z_][A-Za-z0-9_]*)", re.MULTILINE)


@dataclass
class Submission:
    """One entry of the class: a gradable submission, or an odd entry (``odd`` says why)."""

    id: str
    label: str  # where it came from, for people: "class/alice.py", "class.zip:bob/cnn.ipynb"
    target: str = ""  # relative path of the file to check, inside ``files``
    files: dict[str, bytes] = field(default_factory=dict)  # empty once ``loader`` is set
    sha256: str = ""
    odd: str | None = None
    loader: Callable[[], dict[str, bytes]] | None = field(default=None, repr=False)

    @property
    def gradable(self) -> bool:
        return self.odd is None

    def read_files(self) -> dict[str, bytes]:
        """The submission's files, {relative path: bytes} (read again from disk or zip if lazy)."""
        return self.loader() if self.loader is not None else dict(self.files)

    def lazy(self, loader: Callable[[], dict[str, bytes]]) -> Submission:
        """Drop the bytes kept in memory; ``read_files`` will call ``loader``."""
        if self.gradable:
            self.files, self.loader = {}, loader
        return self


def contract_names_in(text: bytes) -> set[str]:
    """The contract functions (or their CS231n names) a .py or .ipynb text defines with ``def``.

    Read, not imported: no submitted code runs in the coordinator."""
    return set(_DEFINES.findall(text.decode("utf-8", errors="replace")))


def imported_names(text: bytes) -> set[str]:
    """Top-level module names a .py or .ipynb text imports (``import x``, ``from x import y``)."""
    return set(_IMPORTS.findall(text.decode("utf-8", errors="replace")))


def _is_code(name: str) -> bool:
    return name.endswith(CODE_SUFFIXES)


def _skipped(part: str) -> bool:
    return part in SKIPPED_NAMES or part.startswith(".")


def _hash_files(files: dict[str, bytes], target: str) -> str:
    if len(files) == 1:
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


def _file_submission(ident: str, label: str, name: str, data: bytes) -> Submission:
    files = {name: data}
    return Submission(ident, label, target=name, files=files, sha256=_hash_files(files, name))


def _folder_submission(ident: str, label: str, files: dict[str, bytes], problem: str | None) -> Submission:
    if problem is not None:
        return Submission(ident, label, odd=problem)
    target = _pick_target(files)
    if target is None:
        return Submission(ident, label, odd="folder without a .py or .ipynb file")
    return Submission(ident, label, target=target, files=files, sha256=_hash_files(files, target))


# --------------------------------------------------------------------------- folders on disk


def _read_tree(root: Path) -> tuple[dict[str, bytes], str | None]:
    files: dict[str, bytes] = {}
    total = 0
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not _skipped(d))
        for filename in sorted(filenames):
            if _skipped(filename):
                continue
            path = Path(dirpath) / filename
            if not path.is_file():
                continue
            size = path.stat().st_size
            total += size
            if len(files) >= MAX_FOLDER_FILES or total > MAX_FOLDER_BYTES:
                return {}, f"folder too large to grade (over {MAX_FOLDER_FILES} files or {MAX_FOLDER_BYTES >> 20} MiB)"
            files[path.relative_to(root).as_posix()] = path.read_bytes()
    return files, None


def _tree_files(root: Path) -> dict[str, bytes]:
    return _read_tree(root)[0]


def _named_files(paths: dict[str, Path]) -> dict[str, bytes]:
    return {rel: path.read_bytes() for rel, path in paths.items()}


def _zip_files(archive_path: Path, names: dict[str, str]) -> dict[str, bytes]:
    with zipfile.ZipFile(archive_path) as archive:
        return {rel: archive.read(name) for rel, name in names.items()}


def _from_folder(folder: Path, exclude: set[Path]) -> list[Submission]:
    found: list[Submission] = []
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        if _skipped(entry.name) or entry.resolve() in exclude:
            continue
        label = str(entry)
        if entry.is_dir():
            files, problem = _read_tree(entry)
            found.append(_folder_submission(entry.name, label, files, problem).lazy(partial(_tree_files, entry)))
        elif entry.suffix == ".zip":
            found.extend(_from_zip(entry))
        elif _is_code(entry.name) and entry.is_file():
            found.append(_from_file(entry))
        else:
            found.append(Submission(entry.stem or entry.name, label, odd=_odd_file_reason(entry.name)))
    return found


def _odd_file_reason(name: str) -> str:
    suffix = PurePosixPath(name).suffix or "(none)"
    return f"not a submission: a {suffix} file (expected .py, .ipynb, a folder or a .zip)"


def _from_file(path: Path) -> Submission:
    if path.stat().st_size > MAX_FILE_BYTES:
        return Submission(path.stem, str(path), odd=f"file larger than {MAX_FILE_BYTES >> 20} MiB")
    submission = _file_submission(path.stem, str(path), path.name, path.read_bytes())
    return submission.lazy(partial(_named_files, {path.name: path}))


# --------------------------------------------------------------------------- zip files


def _zip_members(archive: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    members = []
    for info in archive.infolist():
        parts = PurePosixPath(info.filename).parts
        if info.is_dir() or not parts or info.filename.startswith("/") or ".." in parts:
            continue
        if any(_skipped(part) for part in parts):
            continue
        members.append(info)
    return members


def _from_zip(path: Path) -> list[Submission]:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        return [Submission(path.stem, str(path), odd=f"not a readable zip file ({exc})")]
    with archive:
        members = _zip_members(archive)
        tops = {PurePosixPath(m.filename).parts[0] for m in members}
        strip = 0
        if len(tops) == 1 and all(len(PurePosixPath(m.filename).parts) > 1 for m in members):
            strip = 1  # the zip of a folder: look through the wrapping folder
        groups: dict[str, list[tuple[str, zipfile.ZipInfo]]] = {}
        for info in members:
            parts = PurePosixPath(info.filename).parts[strip:]
            key = parts[0] if len(parts) > 1 else ""
            rel = "/".join(parts[1:]) if len(parts) > 1 else parts[0]
            groups.setdefault(key, []).append((rel, info))
        found: list[Submission] = []
        for rel, info in sorted(groups.pop("", []), key=lambda item: item[0]):
            name = PurePosixPath(rel)
            label = f"{path}:{info.filename}"
            if not _is_code(rel):
                found.append(Submission(name.stem or rel, label, odd=_odd_file_reason(rel)))
            elif info.file_size > MAX_FILE_BYTES:
                found.append(Submission(name.stem, label, odd=f"file larger than {MAX_FILE_BYTES >> 20} MiB"))
            else:
                submission = _file_submission(name.stem, label, name.name, archive.read(info))
                found.append(submission.lazy(partial(_zip_files, path, {name.name: info.filename})))
        for folder in sorted(groups):
            entries = groups[folder]
            label = f"{path}:{'/'.join(PurePosixPath(entries[0][1].filename).parts[:strip + 1])}"
            total = sum(info.file_size for _, info in entries)
            if len(entries) > MAX_FOLDER_FILES or total > MAX_FOLDER_BYTES:
                found.append(_folder_submission(folder, label, {}, "folder too large to grade"))
                continue
            files = {rel: archive.read(info) for rel, info in entries}
            loader = partial(_zip_files, path, {rel: info.filename for rel, info in entries})
            found.append(_folder_submission(folder, label, files, None).lazy(loader))
    return sorted(found, key=lambda s: s.id)


# --------------------------------------------------------------------------- entry point


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _unique_ids(found: list[Submission]) -> list[Submission]:
    """Ids safe as folder names and unique (a repeated id gets ``-2``, ``-3``...)."""
    seen: set[str] = set()
    for submission in found:
        base = _UNSAFE.sub("_", submission.id).strip("._") or "submission"
        ident, n = base, 1
        while ident.lower() in seen:
            n += 1
            ident = f"{base}-{n}"
        seen.add(ident.lower())
        submission.id = ident
    return found


def discover(sources: list[str], exclude: list[str | Path] = ()) -> list[Submission]:
    """Every submission (and odd entry) in ``sources``, in a stable order.

    ``exclude``: folders never taken for submissions (the ``--out`` folder inside a SOURCE).
    Raises :class:`UsageError` when a SOURCE does not exist or no source is given.
    """
    skip = {Path(path).resolve() for path in exclude}
    if not sources:
        raise UsageError("give at least one SOURCE (a folder, a .zip, or .py/.ipynb files)")
    found: list[Submission] = []
    for source in sources:
        path = Path(source)
        if not path.exists():
            raise UsageError(f"no such file or folder: {source}")
        if path.is_dir():
            found.extend(_from_folder(path, skip))
        elif path.suffix == ".zip":
            found.extend(_from_zip(path))
        elif _is_code(path.name):
            found.append(_from_file(path))
        else:
            found.append(Submission(path.stem or path.name, str(path), odd=_odd_file_reason(path.name)))
    return _unique_ids(found)
