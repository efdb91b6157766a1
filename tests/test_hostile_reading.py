"""Issue 21: discovery and reading of one entry never follow a link out, block, or read too much.

Variants of the class attacks, each built here: a file that grows while it is read, a file over
the cap, a file changed between discovery and grading, hard links, links inside a submission,
names with newlines, archives given as the class itself, zip slip names. ``discover`` never
raises for what an entry holds.
"""

from __future__ import annotations

import io
import os
import tarfile
import zipfile
from pathlib import Path

import pytest

from gradcheck.grade.sources import discover

CNN = b"def conv_forward(A_prev, W, b, hparameters):\n    pass\n\ndef zero_pad(X, pad):\n    pass\n"


def by_id(found):
    return {s.id: s for s in found}


def test_a_file_that_grows_while_it_is_read_is_cut_at_its_cap(tmp_path: Path, monkeypatch) -> None:
    from gradcheck.grade import reading

    path = tmp_path / "grows.py"
    path.write_bytes(CNN)
    real_read = os.read

    def read_and_grow(fd: int, size: int) -> bytes:  # another process appends while we read
        with open(path, "ab") as handle:
            handle.write(b"#" * (1 << 20))
        return real_read(fd, size)

    monkeypatch.setattr(reading.os, "read", read_and_grow)
    with pytest.raises(reading.Refused, match=r"grows.py grew past 4 MiB while it was read; hand in a file that"):
        reading.read_file(path, caps=reading.Caps(file_bytes=4 << 20))
    assert path.stat().st_size < 8 << 20  # read stopped at the cap, not at the end


def test_a_file_over_sixteen_mib_is_refused_without_being_read(tmp_path: Path) -> None:
    folder = tmp_path / "class"
    folder.mkdir()
    with open(folder / "huge.py", "wb") as handle:
        handle.truncate(17 << 20)  # sparse: nothing to read, the size alone refuses it
    (found,) = discover([str(folder)])
    assert found.error == f"{folder / 'huge.py'} is larger than 16 MiB; hand in the code only"


def test_a_submission_changed_after_discovery_is_refused_not_graded(tmp_path: Path) -> None:
    from gradcheck.grade.reading import Refused

    folder = tmp_path / "class"
    (folder / "bob").mkdir(parents=True)
    (folder / "bob" / "cnn.py").write_bytes(CNN)
    (found,) = discover([str(folder)])
    (folder / "bob" / "cnn.py").write_bytes(CNN + b"\n# swapped after its hash was taken\n")
    with pytest.raises(Refused, match=r"bob changed after it was found .*run gradcheck grade again"):
        found.read_files()


def test_links_inside_a_submission_are_read_only_when_they_stay_inside(tmp_path: Path) -> None:
    folder = tmp_path / "class"
    (folder / "ann" / "lib").mkdir(parents=True)
    (folder / "ann" / "lib" / "im2col.py").write_bytes(b"X = 1\n")
    (folder / "ann" / "cnn.py").write_bytes(CNN)
    os.symlink("lib/im2col.py", folder / "ann" / "im2col.py")  # inside, to a regular file: kept
    (folder / "ben").mkdir()
    (folder / "ben" / "cnn.py").write_bytes(CNN)
    os.symlink("..", folder / "ben" / "up")  # to a folder: refused
    (folder / "cat").mkdir()
    (folder / "cat" / "cnn.py").write_bytes(CNN)
    os.symlink("cnn.py", folder / "cat" / "a.py")
    os.symlink("a.py", folder / "cat" / "b.py")  # a link to a link: refused
    found = by_id(discover([str(folder)]))
    assert found["ann"].read_files() == {"cnn.py": CNN, "im2col.py": b"X = 1\n", "lib/im2col.py": b"X = 1\n"}
    assert found["ben"].error == (f"{folder / 'ben'}/up is a symbolic link to .., outside the submission; "
                                  "gradcheck reads only the submission's own files: put the file itself in its place")
    assert found["cat"].error == f"{folder / 'cat'}/b.py is a symbolic link; hand in regular files only"


def test_a_link_in_the_class_folder_is_not_followed(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "cnn.py").write_bytes(CNN)
    folder = tmp_path / "class"
    folder.mkdir()
    os.symlink(elsewhere, folder / "dave")
    os.symlink(elsewhere / "cnn.py", folder / "erin.py")
    found = by_id(discover([str(folder)]))
    assert found["dave"].error.startswith(f"{folder / 'dave'} is a symbolic link (to {elsewhere}); gradcheck reads")
    assert found["erin"].error.endswith("put the file or folder itself there, or give it as a SOURCE of its own")
    assert by_id(discover([str(folder / "erin.py")]))["erin"].gradable  # named on the command line: followed


def test_a_hard_link_is_read_as_the_file_it_is(tmp_path: Path) -> None:
    folder = tmp_path / "class"
    (folder / "fay").mkdir(parents=True)
    outside = tmp_path / "outside.py"
    outside.write_bytes(CNN)
    os.link(outside, folder / "fay" / "cnn.py")  # a second name of the same file, inside the submission
    (found,) = discover([str(folder)])
    assert found.read_files() == {"cnn.py": CNN}


def test_names_with_newlines_and_bytes_that_are_not_utf8_keep_their_row(tmp_path: Path) -> None:
    folder = tmp_path / "class"
    folder.mkdir()
    (folder / "new\nline.py").write_bytes(CNN)
    with open(os.path.join(os.fsencode(folder), b"caf\xe9.py"), "wb") as handle:
        handle.write(CNN + b"#\n")
    (folder / "gus").mkdir()
    (folder / "gus" / "cnn.py").write_bytes(CNN)
    with open(os.path.join(os.fsencode(folder / "gus"), b"notes\xff\n.txt"), "wb") as handle:
        handle.write(b"notes")
    found = by_id(discover([str(folder)]))
    assert sorted(found) == ["caf", "gus", "new_line"]
    assert all(s.gradable for s in found.values())
    assert found["new_line"].path == f"{folder}/new\nline.py"  # kept as it is; writers escape it


def test_tar_archives_are_read_member_by_member(tmp_path: Path) -> None:
    folder = tmp_path / "class"
    folder.mkdir()
    with tarfile.open(folder / "hal.tgz", "w:gz") as archive:  # a folder's tar: looked through
        info = tarfile.TarInfo("hal/cnn.py")
        info.size = len(CNN)
        archive.addfile(info, io.BytesIO(CNN))
    with tarfile.open(folder / "ida.tar", "w") as archive:
        device = tarfile.TarInfo("cnn.py")
        device.type = tarfile.CHRTYPE
        archive.addfile(device)
    (folder / "jon.tar.gz").write_bytes(b"\x1f\x8b" + b"\0" * 40)  # a gzip header and nothing right after
    found = by_id(discover([str(folder)]))
    assert found["hal"].read_files() == {"cnn.py": CNN} and found["hal"].path == f"{folder}/hal.tgz:cnn.py"
    assert found["ida"].error.startswith(f"{folder}/ida.tar:cnn.py is a device, FIFO or other special file")
    assert found["jon"].error.startswith(f"{folder}/jon.tar.gz is not a readable tar archive (")


def test_a_class_archive_names_one_submission_per_top_level_entry(tmp_path: Path) -> None:
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as archive:
        archive.writestr("kim/cnn.py", CNN)
    source = tmp_path / "export.zip"
    with zipfile.ZipFile(source, "w") as archive:
        archive.writestr("export/kim.zip", inner.getvalue())  # a student's zip inside the class's
        archive.writestr("export/lou/cnn.py", CNN)
        archive.writestr("export/lou/../../evil.py", CNN)  # pointing outside: ignored
        archive.writestr("/abs.py", CNN)
    found = by_id(discover([str(source)]))
    assert sorted(found) == ["kim", "lou"]
    assert found["kim"].read_files() == {"cnn.py": CNN}
    assert found["lou"].read_files() == {"cnn.py": CNN}


def test_a_zip_bomb_is_refused_on_its_declared_size(tmp_path: Path) -> None:
    folder = tmp_path / "class"
    folder.mkdir()
    with zipfile.ZipFile(folder / "bomb.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("cnn.py", CNN)
        archive.writestr("zeros.bin", b"\0" * (17 << 20))  # 17 MiB of zeros: a few KB compressed
    (found,) = discover([str(folder)])
    assert found.error == f"{folder}/bomb.zip:zeros.bin is larger than 16 MiB; hand in the code only"


def test_discover_refuses_system_folders_as_a_source() -> None:
    from gradcheck.errors import UsageError

    with pytest.raises(UsageError, match=r"/proc/self is a system path \(/proc/\d+\), not a class folder"):
        discover(["/proc/self"])
