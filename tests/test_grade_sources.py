"""Finding submissions: folders, sub-folders, zips, files; odd entries listed, never a crash."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest

from gradcheck.errors import UsageError
from gradcheck.grade.sources import contract_names_in, discover

CNN = b"def conv_forward(A_prev, W, b, hparameters):\n    pass\n\ndef zero_pad(X, pad):\n    pass\n"
HELPER = b"def helper():\n    pass\n"


def by_id(found):
    return {s.id: s for s in found}


def test_folder_files_subfolders_and_odd_entries(tmp_path: Path) -> None:
    (tmp_path / "alice.py").write_bytes(CNN)
    (tmp_path / "bob.ipynb").write_bytes(b'{"cells": [{"source": ["def zero_pad(X, pad):\\n"]}]}')
    (tmp_path / "scores.csv").write_text("1,2\n")
    (tmp_path / "carol").mkdir()
    (tmp_path / "carol" / "aaa_utils.py").write_bytes(HELPER)
    (tmp_path / "carol" / "layers.py").write_bytes(CNN)
    (tmp_path / "carol" / "__pycache__").mkdir()
    (tmp_path / "carol" / "__pycache__" / "x.pyc").write_bytes(b"\0")
    (tmp_path / "nobody").mkdir()
    (tmp_path / ".hidden.py").write_bytes(CNN)
    (tmp_path / "out").mkdir()  # the --out folder inside the class folder is not a submission
    found = by_id(discover([str(tmp_path)], exclude=[tmp_path / "out"]))
    assert sorted(found) == ["alice", "bob", "carol", "nobody", "scores"]
    assert found["alice"].target == "alice.py" and found["alice"].gradable
    assert found["alice"].sha256 == hashlib.sha256(CNN).hexdigest()  # a lone file: sha256sum of it
    assert found["bob"].target == "bob.ipynb"
    assert found["carol"].target == "layers.py"  # the file defining contract functions, not the first one
    assert sorted(found["carol"].read_files()) == ["aaa_utils.py", "layers.py"]
    assert found["carol"].files == {}  # not held in memory: read again when sent
    assert found["scores"].odd == ("not a submission: a .csv file "
                                    "(expected .py, .ipynb, a folder, a .zip or a tar archive)")
    assert found["nobody"].odd == "folder without a .py or .ipynb file"


def test_zip_of_a_class_folder_is_read_like_the_folder(tmp_path: Path) -> None:
    archive = tmp_path / "class.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("class/dave.py", CNN)
        z.writestr("class/erin/cnn.py", CNN)
        z.writestr("class/erin/util.py", HELPER)
        z.writestr("class/readme.md", "hello")
        z.writestr("class/../evil.py", CNN)  # never read: it points outside
    found = by_id(discover([str(archive)]))
    assert sorted(found) == ["dave", "erin", "readme"]
    assert found["dave"].read_files() == {"dave.py": CNN}
    assert found["erin"].read_files() == {"cnn.py": CNN, "util.py": HELPER}
    assert found["erin"].target == "cnn.py" and found["erin"].label == f"{archive}:class/erin"
    assert found["readme"].odd.startswith("not a submission: a .md file")


def test_unreadable_zip_and_same_names_get_distinct_ids(tmp_path: Path) -> None:
    (tmp_path / "broken.zip").write_bytes(b"not a zip")
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "x y.py").write_bytes(CNN)
    (tmp_path / "b" / "x y.py").write_bytes(CNN)
    found = discover([str(tmp_path / "broken.zip"), str(tmp_path / "a" / "x y.py"), str(tmp_path / "b" / "x y.py")])
    assert [s.id for s in found] == ["broken", "x_y", "x_y-2"]
    assert found[0].error.startswith(f"{tmp_path / 'broken.zip'} is not a readable zip archive (BadZipFile: ")
    assert found[1].sha256 == found[2].sha256


def test_contract_names_read_without_importing() -> None:
    assert contract_names_in(CNN) == {"conv_forward", "zero_pad"}
    assert contract_names_in(b"import os\nos._exit(1)\n") == set()


def test_missing_source_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such file or folder: .*nowhere"):
        discover([str(tmp_path / "nowhere")])
    with pytest.raises(UsageError, match="give at least one SOURCE"):
        discover([])


def test_entry_file_is_the_one_no_sibling_imports(tmp_path: Path) -> None:
    layers = b"def conv_forward_naive(x, w, b, p):\n    pass\n\ndef conv_backward_naive(d, c):\n    pass\n"
    entry = b"from cs231n_layers import conv_forward_naive\n\ndef conv_backward_naive(d, c):\n    pass\n"
    (tmp_path / "frank").mkdir()
    (tmp_path / "frank" / "cs231n_layers.py").write_bytes(layers)
    (tmp_path / "frank" / "zz_mine.py").write_bytes(entry)
    (found,) = discover([str(tmp_path)])
    assert found.target == "zz_mine.py"  # defines fewer functions, but layers is the imported helper
    assert contract_names_in(layers) == {"conv_forward_naive", "conv_backward_naive"}
