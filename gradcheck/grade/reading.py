"""Read a submission's files from disk without ever leaving it, blocking, or reading too much.

:func:`read_tree` reads a submission folder and :func:`read_file` one file; both raise
:class:`Refused` (an ``OSError``: the executors record it as that submission's error) with a
sentence saying what was wrong and how to fix it. Guarantees:

- Only regular files are read. Every file and folder is opened relative to its parent's
  descriptor with ``O_NOFOLLOW`` (a path cannot be swapped for a link halfway), files with
  ``O_NONBLOCK`` and checked with ``fstat`` before a byte is read: a FIFO, socket or device
  is refused by name and never blocks the reader.
- A symbolic link is never followed out of the submission. One inside it, to a regular
  file inside it, is read as that file (under the link's name); any other link (outside,
  absolute, into ``/proc``, to a folder, to another link) is refused.
- Caps (see :class:`Caps`, documented in docs/grading.md): bytes per file and per
  submission, files, folder entries looked at, folder depth; a file that grows while it
  is read is cut at its cap and refused, never read whole. A deadline covers the whole
  reading of one submission (``Caps.seconds``).
- Names are kept as the file system gives them (``surrogateescape`` for bytes that are not
  UTF-8); writers escape them (:mod:`gradcheck.render.escape`).
"""

from __future__ import annotations

import os
import posixpath
import stat
import time
from dataclasses import dataclass

SKIPPED_NAMES = ("__pycache__", ".ipynb_checkpoints", "__MACOSX", ".git")
CHUNK = 1 << 20


class Refused(OSError):  # noqa: N818 - an OSError: executors record it as the submission's error
    """A submission that cannot be read safely; ``str()`` says what was wrong and how to fix it."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class Caps:
    """What one submission may hold. Defaults: 16 MiB a file, 64 MiB and 200 files in all,
    2000 folder entries looked at, folders 16 deep, 30 s to read it all."""

    file_bytes: int = 16 << 20
    total_bytes: int = 64 << 20
    files: int = 200
    entries: int = 2000
    depth: int = 16
    seconds: float = 30.0


CAPS = Caps()


def skipped(name: str) -> bool:
    """Names never read: caches, version control, macOS resource forks, hidden files."""
    return name in SKIPPED_NAMES or name.startswith(".")


def kind_of(mode: int) -> str:
    """What a non-regular file is, in words."""
    for test, word in ((stat.S_ISDIR, "a folder"), (stat.S_ISLNK, "a symbolic link"), (stat.S_ISFIFO, "a FIFO"),
                       (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device")):
        if test(mode):
            return word
    return "not a regular file"


class _Budget:
    """Bytes, files, entries and time left for one submission."""

    def __init__(self, caps: Caps, shown: str):
        self.caps, self.shown = caps, shown
        self.deadline = time.monotonic() + caps.seconds
        self.bytes = self.files = self.entries = 0

    def tick(self) -> None:
        if time.monotonic() > self.deadline:
            raise Refused(f"{self.shown}: reading it took over {self.caps.seconds:g} s; "
                          "hand in fewer or smaller files")

    def entry(self) -> None:
        self.entries += 1
        if self.entries > self.caps.entries:
            raise Refused(f"{self.shown}: more than {self.caps.entries} files and folders; "
                          "hand in only the code (no data sets, environments or caches)")

    def add_file(self, size: int) -> None:
        self.files += 1
        self.bytes += size
        if self.files > self.caps.files or self.bytes > self.caps.total_bytes:
            raise Refused(f"{self.shown}: too large to grade (over {self.caps.files} files or "
                          f"{self.caps.total_bytes >> 20} MiB); hand in only the code")


def _read_fd(fd: int, shown: str, limit: int, budget: _Budget | None) -> bytes:
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        raise Refused(f"{shown} is {kind_of(info.st_mode)}; hand in regular files only")
    if info.st_size > limit:
        raise Refused(f"{shown} is larger than {limit >> 20} MiB; hand in the code only")
    chunks, size = [], 0
    while True:
        if budget is not None:
            budget.tick()
        chunk = os.read(fd, min(CHUNK, limit + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            raise Refused(f"{shown} grew past {limit >> 20} MiB while it was read; hand in a file that "
                          "does not change")
    return b"".join(chunks)


_OPEN_FILE = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
_OPEN_DIR = os.O_RDONLY | os.O_NOFOLLOW | os.O_DIRECTORY | os.O_CLOEXEC


def _open_regular(name: str, dir_fd: int | None, shown: str) -> int:
    """A descriptor of the regular file ``name`` (never a link, FIFO or device: checked before opening)."""
    try:
        info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        raise Refused(f"{shown} vanished while it was read; run again") from None
    if not stat.S_ISREG(info.st_mode):
        raise Refused(f"{shown} is {kind_of(info.st_mode)}; hand in regular files only")
    try:
        return os.open(name, _OPEN_FILE, dir_fd=dir_fd)
    except OSError as exc:
        raise Refused(f"{shown} could not be opened ({exc.strerror}); hand in a readable regular file") from None


def read_file(path: str | os.PathLike[str], shown: str | None = None, *, caps: Caps = CAPS) -> bytes:
    """The bytes of the regular file ``path`` itself (a link is refused, not followed)."""
    shown = shown or os.fspath(path)
    budget = _Budget(caps, shown)
    fd = _open_regular(os.fspath(path), None, shown)
    try:
        return _read_fd(fd, shown, caps.file_bytes, budget)
    finally:
        os.close(fd)


def read_tree(root: str | os.PathLike[str], shown: str | None = None, *, caps: Caps = CAPS) -> dict[str, bytes]:
    """Every file of the folder ``root`` that is not skipped: {relative posix path: bytes}.

    Walks without recursion, each folder opened below its parent's descriptor; raises
    :class:`Refused` on anything listed in the module docstring."""
    shown = shown or os.fspath(root)
    budget = _Budget(caps, shown)
    try:
        root_fd = os.open(os.fspath(root), _OPEN_DIR)
    except OSError as exc:
        raise Refused(f"{shown} could not be opened as a folder ({exc.strerror})") from None
    files: dict[str, bytes] = {}
    links: list[tuple[str, str]] = []
    stack: list[tuple[int, str, int]] = [(os.dup(root_fd), "", 0)]
    try:
        while stack:
            fd, rel, depth = stack.pop()
            try:
                with os.scandir(fd) as listing:
                    entries = sorted(listing, key=lambda e: e.name)
                for entry in entries:
                    budget.entry()
                    budget.tick()
                    if skipped(entry.name):
                        continue
                    path = f"{rel}{entry.name}"
                    if entry.is_symlink():
                        links.append((path, os.readlink(entry.name, dir_fd=fd)))
                    elif entry.is_dir(follow_symlinks=False):
                        if depth + 1 >= caps.depth:
                            raise Refused(f"{shown}: folders nested deeper than {caps.depth} levels "
                                          f"({_printable(path)}/...); hand in a flatter folder")
                        child = os.open(entry.name, _OPEN_DIR, dir_fd=fd)
                        stack.append((child, path + "/", depth + 1))
                    else:
                        where = f"{shown}/{_printable(path)}"
                        file_fd = _open_regular(entry.name, fd, where)
                        try:
                            data = _read_fd(file_fd, where, caps.file_bytes, budget)
                        finally:
                            os.close(file_fd)
                        budget.add_file(len(data))
                        files[path] = data
            finally:
                os.close(fd)
        for path, target in links:
            files[path] = _read_link(root_fd, path, target, shown, caps, budget)
    except BaseException:
        for fd, _, _ in stack:
            os.close(fd)
        raise
    finally:
        os.close(root_fd)
    return files


def _read_link(root_fd: int, path: str, target: str, shown: str, caps: Caps, budget: _Budget) -> bytes:
    """The file a link inside the submission points to, if that is a regular file inside it."""
    where = f"{shown}/{_printable(path)}"
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(path), target))
    outside = (f"{where} is a symbolic link to {_printable(target)}, outside the submission; gradcheck "
               "reads only the submission's own files: put the file itself in its place")
    if posixpath.isabs(target) or resolved == ".." or resolved.startswith("../"):
        raise Refused(outside)
    parts = resolved.split("/")
    fd = root_fd
    opened: list[int] = []
    try:
        for part in parts[:-1]:
            try:
                fd = os.open(part, _OPEN_DIR, dir_fd=fd)
            except OSError:
                raise Refused(f"{where} is a symbolic link to {_printable(target)}, which is not a file of the "
                              "submission; put the file itself in its place") from None
            opened.append(fd)
        if any(skipped(part) for part in parts):
            raise Refused(f"{where} points to a skipped file ({_printable(target)}); put the file itself in its place")
        file_fd = _open_regular(parts[-1], fd, where)
        try:
            data = _read_fd(file_fd, where, caps.file_bytes, budget)
        finally:
            os.close(file_fd)
    finally:
        for descriptor in opened:
            os.close(descriptor)
    budget.add_file(len(data))
    return data


def _printable(name: str) -> str:
    return name.encode("utf-8", "backslashreplace").decode("utf-8")
