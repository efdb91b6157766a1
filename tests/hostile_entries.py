"""Hostile entries of a class folder, built at test time (issue 21: the security review's attacks).

``add_hostile_entries(folder)`` adds 20 entries to a class folder and returns what each row of
``grades.csv`` must say: its outcome and a fragment of its ``load_error`` (None: none). Every
entry attacks the grader from the class folder: archives that break ``zipfile``/``tarfile``,
names that are not UTF-8, links out of a submission (to a classmate, ``/etc/shadow``, the
grader's environment, the gradebook), ``/proc`` files that block or fail, a tree 1100 folders
deep, an archive claiming a classmate's id, a formula as a file name, forged Markdown and
terminal escapes in exception messages, lone surrogates in a report, ids that collide, a FIFO.
"""

from __future__ import annotations

import io
import os
import tarfile
import zipfile
from pathlib import Path

TESTS = Path(__file__).resolve().parent
CORRECT = (TESTS / "zoo" / "correct_course.py").read_text()
SYNTAX_ERROR = "def zero_pad(X, pad)\n    return X\n"
FORGED = "\n```\n## Score: 8/8 passed\n<script>alert(1)</script><img src=x onerror=alert(1)>\n"
ESCAPES = "\x1b[2J\x1b]0;pwned\x07\x1b]52;c;ZXZpbA==\x07\x1b[8m"
FORMULA = '=HYPERLINK("evil.example","click")'
SECRET = "gradcheck-secret-4f1d9"  # a variable the tests plant in the grader's environment
# an exported notebook (``jupyter nbconvert --to script``): a failing import is skipped with a note
# quoting its error, here a lone surrogate and a NUL raised by the helper beside it
ODD_NOTEBOOK = "#!/usr/bin/env python\n# coding: utf-8\n\n# In[1]:\n\n\nimport helper\n\n\n# In[2]:\n\n\n" + CORRECT
ODD_HELPER = 'raise ImportError("odd \\udcff \\x00 text")\n'


def raising(text: str) -> str:
    """A correct implementation whose zero_pad raises ValueError with ``text`` as its message."""
    return CORRECT + f"\n\ndef zero_pad(X, pad):\n    raise ValueError({text!r})\n"


def _zip(path: Path, members: dict[str, bytes], method: int = zipfile.ZIP_STORED) -> None:
    with zipfile.ZipFile(path, "w", method) as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def _patch(path: Path, old: bytes, new: bytes) -> None:
    data = path.read_bytes()
    assert old in data and len(old) == len(new)
    path.write_bytes(data.replace(old, new))


def _zip_method_99(path: Path) -> None:
    """A zip whose only entry says it uses compression method 99 (no such method)."""
    _zip(path, {"cnn.py": CORRECT.encode()})
    data = bytearray(path.read_bytes())
    data[8:10] = (99).to_bytes(2, "little")  # the local header's method
    central = data.index(b"PK\x01\x02")
    data[central + 10:central + 12] = (99).to_bytes(2, "little")  # the central directory's
    path.write_bytes(bytes(data))


def _encrypted(path: Path) -> None:
    """A zip whose entry is flagged encrypted (bit 0 of its flags, in both headers)."""
    _zip(path, {"cnn.py": CORRECT.encode()})
    data = bytearray(path.read_bytes())
    data[6] |= 1
    central = data.index(b"PK\x01\x02")
    data[central + 8] |= 1
    path.write_bytes(bytes(data))


def _tar(path: Path, mode: str, link: tarfile.TarInfo) -> None:
    with tarfile.open(path, mode) as archive:
        code = CORRECT.encode()
        info = tarfile.TarInfo("helper.py")
        info.size = len(code)
        archive.addfile(info, io.BytesIO(code))
        archive.addfile(link)


def remove_deep(folder: Path) -> None:
    """Remove the 1100-folder tree without recursion (shutil.rmtree, and pytest's clean-up, recurse)."""
    path = os.fsencode(folder / "deep")
    chain = []
    while os.path.isdir(path):
        chain.append(path)
        path += b"/d"
    for link in reversed(chain):
        os.rmdir(link)


def add_hostile_entries(folder: Path, *, classmate: str, gradebook: Path) -> dict[str, tuple[str, str | None]]:
    """Add 20 hostile entries to ``folder``; {row id: (outcome, load_error fragment or None)}.

    ``classmate``: the file name of an honest submission in ``folder`` (links point at it, an
    archive claims its id). ``gradebook``: the grades.csv the run writes (a link points at it)."""
    expect: dict[str, tuple[str, str | None]] = {}
    # archives that break zipfile: a name flagged UTF-8 that is not, a bad CRC, encryption, method 99
    _zip(folder / "bad_name.zip", {"café.py": CORRECT.encode()})
    _patch(folder / "bad_name.zip", "café".encode(), b"caf\xe9\xe9")
    expect["bad_name"] = ("error", "is not a readable zip archive (UnicodeDecodeError")
    _zip(folder / "bad_crc.zip", {"cnn.py": CORRECT.encode()})
    _patch(folder / "bad_crc.zip", b"def conv_forward", b"def conv_forwarx")
    expect["bad_crc"] = ("error", "bad_crc.zip:cnn.py could not be read (BadZipFile: Bad CRC-32")
    _encrypted(folder / "encrypted.zip")
    expect["encrypted"] = ("error", "encrypted.zip:cnn.py is encrypted")
    _zip_method_99(folder / "method.zip")
    expect["method"] = ("error", "method.zip:cnn.py uses compression method 99")
    # a Latin-1 file name next to the submissions: graded like any other file
    with open(os.path.join(os.fsencode(folder), b"latin\xe9.py"), "w") as handle:
        handle.write(CORRECT + "\n# latin\n")
    expect["latin"] = ("graded", None)
    # sub-folders whose code file is a link into /proc: one fails reading, one blocks
    for name, target in (("procmem", "/proc/self/mem"), ("kmsg", "/proc/kmsg")):
        (folder / name).mkdir()
        os.symlink(target, folder / name / "cnn.py")
        expect[name] = ("error", f"cnn.py is a symbolic link to {target}, outside the submission")
    # 1100 nested folders
    deep = folder / "deep"
    path = os.fsencode(deep)
    os.mkdir(path)
    for _ in range(1100):
        os.mkdir(path := path + b"/d")
    expect["deep"] = ("error", "folders nested deeper than 16 levels")
    # links out of a submission: a classmate's code, the password file, the environment, the gradebook
    mallory = folder / "mallory"
    mallory.mkdir()
    (mallory / "cnn.py").write_text("from helper import *\n")
    os.symlink(f"../{classmate}", mallory / "helper.py")
    os.symlink("/etc/shadow", mallory / "shadow.txt")
    os.symlink("/proc/self/environ", mallory / "environ.txt")
    os.symlink(os.path.relpath(gradebook, mallory), mallory / "grades.csv")
    expect["mallory"] = ("error", "outside the submission")
    # an archive that holds a classmate's file name: it is one submission, id eve
    _zip(folder / "eve.zip", {"eve.py": SYNTAX_ERROR.encode(), classmate: CORRECT.encode()})
    expect["eve"] = ("graded", None)  # graded from its own h00.py (the path column says so)
    # a formula as a file name, with a syntax error: its load error starts with the name
    (folder / f"{FORMULA}.py").write_text(SYNTAX_ERROR)
    expect["HYPERLINK_evil.example_click"] = ("graded", "'=HYPERLINK")
    # forged Markdown, raw HTML and terminal escapes in an exception message
    (folder / "forged.py").write_text(raising(FORGED))
    expect["forged"] = ("graded", None)
    (folder / "escapes.py").write_text(raising(ESCAPES) + "\nraise RuntimeError(" + repr(ESCAPES) + ")\n")
    expect["escapes"] = ("graded", "\\x1b[2J\\x1b]0;pwned\\x07")
    # a lone surrogate and a NUL in the report's notes: an exported notebook whose import fails with them
    (folder / "surrogate").mkdir()
    (folder / "surrogate" / "cnn.py").write_text(ODD_NOTEBOOK)
    (folder / "surrogate" / "helper.py").write_text(ODD_HELPER)
    expect["surrogate"] = ("graded", None)
    # names that give a classmate's id after normalisation (zoe_smith.py is honest)
    (folder / "zoe smith.py").write_text(CORRECT + "\n# one\n")
    (folder / "zoé_smith.py").write_text(CORRECT + "\n# two\n")
    expect["zoe_smith-2"] = expect["zoe_smith-3"] = ("graded", None)
    # tar archives holding a symbolic link and a hard link out of them
    link = tarfile.TarInfo("cnn.py")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
    _tar(folder / "tarlink.tar.gz", "w:gz", link)
    expect["tarlink"] = ("error", "tarlink.tar.gz:cnn.py is a symbolic link (to /etc/passwd)")
    hard = tarfile.TarInfo("cnn.py")
    hard.type, hard.linkname = tarfile.LNKTYPE, "/etc/shadow"
    _tar(folder / "tarhard.tar", "w", hard)
    expect["tarhard"] = ("error", "tarhard.tar:cnn.py is a hard link (to /etc/shadow)")
    # a zip inside a zip: never unpacked
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as archive:
        archive.writestr("cnn.py", CORRECT)
    _zip(folder / "nested.zip", {"inner.zip": inner.getvalue()})
    expect["nested"] = ("odd", "archives inside it, such as inner.zip, are not unpacked")
    # a FIFO named like a submission
    os.mkfifo(folder / "fifo.py")
    expect["fifo"] = ("error", "is a FIFO; hand in regular files and folders only")
    assert len(expect) == 20
    return expect
