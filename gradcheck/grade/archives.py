"""Read ``.zip`` and tar archives member by member, never trusting what they say.

:func:`open_archive` opens one (from a path, or bytes already read by
:mod:`~gradcheck.grade.reading`); :func:`list_members` lists its files; :func:`read_members`
reads some of them. Every problem is a :class:`~gradcheck.grade.reading.Refused` naming the
archive and the member, with what to do, never an exception of ``zipfile``/``tarfile``:

- an archive that cannot be opened (not an archive, truncated, names flagged UTF-8 that
  are not) is refused whole; a member that cannot be read (bad CRC, encrypted, unknown
  compression, a link, a device or FIFO) refuses the submission it belongs to;
- members pointing outside (``../x``, ``/x``) and skipped names (``__MACOSX``, hidden
  files, caches) are ignored; folders are implied by paths;
- the caps of :class:`~gradcheck.grade.reading.Caps` hold for the members of a submission,
  checked on the sizes the archive declares before anything is decompressed and again on
  the bytes actually read; an archive inside an archive is a file like any other (never
  unpacked). Nothing is ever extracted to disk.
"""

from __future__ import annotations

import io
import os
import stat
import tarfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from gradcheck.grade.reading import CAPS, Caps, Refused, kind_of, skipped

ZIP_SUFFIXES = (".zip",)
TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")
_ZIP_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA)


def archive_suffix(name: str) -> str | None:
    """The archive suffix ``name`` ends with (``.zip``, ``.tar.gz``...), None if it is not an archive."""
    lower = name.lower()
    return next((suffix for suffix in (*ZIP_SUFFIXES, *TAR_SUFFIXES) if lower.endswith(suffix)), None)


def stem(name: str) -> str:
    """``name`` without its archive suffix."""
    suffix = archive_suffix(name)
    return name[: -len(suffix)] if suffix else name


@dataclass
class Member:
    """A file of an archive: its path, its declared size, and why it cannot be read (None: it can)."""

    name: str
    size: int
    problem: str | None
    key: Any


def open_archive(source: str | os.PathLike[str] | bytes, shown: str) -> zipfile.ZipFile | tarfile.TarFile:
    """The zip or tar archive ``source`` (a path, or its bytes); Refused if it cannot be opened."""
    suffix = archive_suffix(shown if isinstance(source, bytes) else os.fspath(source)) or ""
    handle: Any = io.BytesIO(source) if isinstance(source, bytes) else os.fspath(source)
    try:
        if suffix in ZIP_SUFFIXES:
            return zipfile.ZipFile(handle)
        if isinstance(handle, io.BytesIO):
            return tarfile.open(fileobj=handle, mode="r:*")
        return tarfile.open(handle, mode="r:*")
    except Exception as exc:  # noqa: BLE001 - BadZipFile, UnicodeDecodeError, TarError, zlib.error, EOFError...
        kind = "zip" if suffix in ZIP_SUFFIXES else "tar"
        raise Refused(f"{shown} is not a readable {kind} archive ({type(exc).__name__}: {_short(exc)}); "
                      f"create it again (e.g. `zip -r` or `tar czf`) and hand it in again") from None


def _zip_problem(info: zipfile.ZipInfo) -> str | None:
    mode = info.external_attr >> 16
    if stat.S_IFMT(mode) and not stat.S_ISREG(mode):
        return f"is {kind_of(mode)}"
    if info.flag_bits & 0x1:
        return "is encrypted"
    if info.compress_type not in _ZIP_METHODS:
        return f"uses compression method {info.compress_type}, which gradcheck cannot read"
    return None


def _tar_problem(info: tarfile.TarInfo) -> str | None:
    if info.issym():
        return f"is a symbolic link (to {info.linkname})"
    if info.islnk():
        return f"is a hard link (to {info.linkname})"
    if not info.isfile():
        return "is a device, FIFO or other special file"
    return None


def list_members(archive: zipfile.ZipFile | tarfile.TarFile, shown: str, *, caps: Caps = CAPS,
                 limit: int | None = None, whole: bool = False) -> list[Member]:
    """The archive's files that are read (not folders, skipped names or paths pointing outside).

    ``limit``: most members accepted (default ``caps.entries``); more is Refused. A tar is
    listed only until its declared sizes pass ``caps.total_bytes`` (what follows would be
    decompressed for nothing: the submission is refused anyway), unless ``whole`` (a class's
    archive, where each group of members is a submission of its own)."""
    limit = caps.entries if limit is None else limit
    members: list[Member] = []
    declared = 0
    if isinstance(archive, zipfile.ZipFile) and len(archive.infolist()) > limit:
        raise Refused(f"{shown} holds more than {limit} entries; hand in only the code")
    for count, member in enumerate(iter_members(archive, shown), start=1):
        if member is None:
            if count > limit:
                raise Refused(f"{shown} holds more than {limit} entries; hand in only the code")
            continue
        if count > limit:
            raise Refused(f"{shown} holds more than {limit} entries; hand in only the code")
        members.append(member)
        declared += member.size
        if isinstance(archive, tarfile.TarFile) and declared > caps.total_bytes and not whole:
            break  # never decompress past what is refused below
    return members


def iter_members(archive: zipfile.ZipFile | tarfile.TarFile, shown: str) -> Iterator[Member | None]:
    """Every entry of the archive, in order, without a limit: its :class:`Member` when it is read,
    None for an entry that is not (a folder, a skipped name, a path pointing outside), so that a
    caller can count entries. A tar is read lazily (entry by entry); Refused if it is damaged."""
    try:
        if isinstance(archive, zipfile.ZipFile):
            for info in archive.infolist():
                if not info.is_dir() and _kept(info.filename):
                    yield Member(info.filename, info.file_size, _zip_problem(info), info)
                else:
                    yield None
        else:
            while (info := archive.next()) is not None:
                if not info.isdir() and _kept(info.name):
                    yield Member(info.name, info.size, _tar_problem(info), info)
                else:
                    yield None
    except Refused:
        raise
    except Exception as exc:  # noqa: BLE001 - a damaged archive, whatever the library raises
        raise Refused(f"{shown} is damaged ({type(exc).__name__}: {_short(exc)}); create it again") from None


def _kept(name: str) -> bool:
    parts = PurePosixPath(name).parts
    return bool(parts) and not name.startswith("/") and ".." not in parts and not any(skipped(p) for p in parts)


def read_members(archive: zipfile.ZipFile | tarfile.TarFile, members: list[tuple[str, Member]], shown: str,
                 *, caps: Caps = CAPS) -> dict[str, bytes]:
    """``{path: bytes}`` of ``members`` (pairs of the path to give it and the member)."""
    if len(members) > caps.files or sum(m.size for _, m in members) > caps.total_bytes:
        raise Refused(f"{shown}: too large to grade (over {caps.files} files or {caps.total_bytes >> 20} MiB); "
                      "hand in only the code")
    files: dict[str, bytes] = {}
    for path, member in members:
        where = f"{shown}:{member.name}"
        if member.problem is not None:
            raise Refused(f"{where} {member.problem}; create the archive again from plain files "
                          "(no links, devices or encryption)")
        if member.size > caps.file_bytes:
            raise Refused(f"{where} is larger than {caps.file_bytes >> 20} MiB; hand in the code only")
        try:
            if isinstance(archive, zipfile.ZipFile):
                with archive.open(member.key) as handle:
                    data = handle.read(caps.file_bytes + 1)
            else:
                handle = archive.extractfile(member.key)
                data = b"" if handle is None else handle.read(caps.file_bytes + 1)
        except Exception as exc:  # noqa: BLE001 - bad CRC, truncated data, a decompressor's error
            raise Refused(f"{where} could not be read ({type(exc).__name__}: {_short(exc)}); "
                          "create the archive again") from None
        if len(data) > caps.file_bytes:
            raise Refused(f"{where} is larger than it says; create the archive again")
        files[path] = data
    return files


def _short(exc: BaseException) -> str:
    text = str(exc).encode("utf-8", "backslashreplace").decode("utf-8")
    return text[:200]
