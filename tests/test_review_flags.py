"""What in a submission looks at the process it runs in reaches whoever grades (red team round 5).

A black-box check cannot tell code that behaves only while it is checked; the defence is to point
such code out to a person. Both ways: the flag is raised for code in a module of the submission's
own (not only the target), for code made at run time (``exec`` of decoded text), and for a look at
``sys.stdout``; it reaches ``report.review``, the gradebook's ``review`` column, the class page's
"To review" section and Gradescope's output; a flagged failing file gets no fix (a fix that passes
here may not hold elsewhere); correct files of every style the project has get no flag.
"""

from __future__ import annotations

import csv
import glob
import inspect
import json
from pathlib import Path

import pytest

import gradcheck
import reference.naive
from gradcheck.cli import main
from gradcheck.load.declared import declared

TESTS = Path(__file__).resolve().parent
CORRECT = inspect.getsource(reference.naive).replace("from __future__ import annotations\n", "")
WRONG_DB = CORRECT.replace("db[:, :, :, c] += dZ[i, h, w, c]", "db[:, :, :, c] = dZ[i, h, w, c]")
DETECT_IN_HELPER = "import sys\n\n\ndef checked():\n    return any('gradcheck' in name for name in sys.modules)\n"


def _submission(folder: Path, source: str, helper: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    if helper is not None:
        (folder / "cnn_util.py").write_text(helper)
        source = "from cnn_util import checked\n" + source
    path = folder / "cnn.py"
    path.write_text(source)
    return path


def test_a_look_at_the_process_in_a_module_of_the_submissions_own_is_flagged(tmp_path):
    path = _submission(tmp_path / "dora", CORRECT, DETECT_IN_HELPER)
    uses = [str(use) for use in declared(str(path), True).uses]
    assert uses == ["sys.modules at line 5 of cnn_util.py (reads the loaded modules)"]
    report = gradcheck.check(str(path), examples=5, only=["zero_pad"])
    assert report.review == uses and report.to_dict()["review"] == uses


@pytest.mark.parametrize("source, flagged", [
    ("import base64\nexec(base64.b64decode(b'eD0x'))\n", {"import base64", "exec"}),
    ("import sys\n\n\ndef quiet():\n    return sys.stdout.isatty()\n", {"sys.stdout"}),
    ("def f(text):\n    return eval(text)\n", {"eval"}),
])
def test_code_made_at_run_time_and_a_look_at_stdout_are_flagged(tmp_path, source, flagged):
    path = _submission(tmp_path, CORRECT + "\n" + source)
    assert {use.what for use in declared(str(path), True).uses} == flagged


def test_correct_files_of_every_style_get_no_flag():
    files = sorted(glob.glob(str(TESTS / "zoo" / "correct_*.py"))) + sorted(
        glob.glob(str(TESTS / "zoo_plans" / "**" / "correct*.py"), recursive=True))
    assert len(files) >= 10
    assert {path: declared(path, True).uses for path in files if declared(path, True).uses} == {}


def test_the_flag_reaches_the_gradebook_the_class_page_and_gradescope(tmp_path):
    folder = tmp_path / "class"
    _submission(folder / "dora", WRONG_DB, DETECT_IN_HELPER)
    (folder / "eli.py").write_text(WRONG_DB)
    out = tmp_path / "out"
    assert main(["grade", str(folder), "--out", str(out), "--examples", "10", "--seed", "0", "-q", "--workers", "2",
                 "--fix-budget", "20"]) == 0
    with open(out / "grades.csv", newline="") as handle:
        rows = {row["submission"]: row for row in csv.DictReader(handle)}
    assert rows["dora"]["review"] == "sys.modules at line 5 of cnn_util.py (reads the loaded modules)"
    assert rows["eli"]["review"] == ""
    page = (out / "class.md").read_text()
    assert "## To review" in page and "- dora: sys.modules at line 5 of cnn_util.py" in page
    assert "eli:" not in page.split("## To review")[1].split("\n## ")[0]
    assert "<h2>To review</h2>" in (out / "class.html").read_text()
    results = json.loads((out / "submissions" / "dora" / "results.json").read_text())
    assert results["extra_data"]["review"] == [rows["dora"]["review"]]
    assert "**To review**" in results["output"]
    # the flagged file gets no fix; the same bug in an unflagged file gets one
    dora = json.loads((out / "submissions" / "dora" / "report.json").read_text())
    eli = json.loads((out / "submissions" / "eli" / "report.json").read_text())
    assert "fix search: skipped: the submission looks at the process it runs in" in " ".join(dora["warnings"])
    assert not any((c.get("diagnosis") or {}).get("fix") for c in dora["checks"])
    assert any((c.get("diagnosis") or {}).get("fix") for c in eli["checks"])


@pytest.mark.parametrize("source, flagged", [
    ("import sys\n\n\ndef f():\n    return getattr(sys, 'mod' + 'ules')\n", {"getattr(sys, ...)"}),
    ("import sys\n\n\ndef f():\n    return [type(h).__name__ for h in sys.meta_path]\n", {"sys.meta_path"}),
    ("import __main__\n", {"import __main__"}),
])
def test_detection_by_a_built_name_the_import_hooks_or_main_is_flagged(tmp_path, source, flagged):
    path = _submission(tmp_path, CORRECT + "\n" + source)
    assert {use.what for use in declared(str(path), True).uses} == flagged


def test_a_submodule_of_a_package_of_its_own_is_read(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "util.py").write_text(DETECT_IN_HELPER)
    path = _submission(tmp_path, "from pkg import util\n" + CORRECT)
    assert [str(use) for use in declared(str(path), True).uses] == [
        "sys.modules at line 5 of util.py (reads the loaded modules)"]


def test_printing_and_setting_an_environment_variable_are_not_flagged(tmp_path):
    source = ("import os\nimport sys\n\nos.environ['OMP_NUM_THREADS'] = '1'\n\n\ndef log(text):\n"
              "    sys.stdout.write(text)\n    sys.stdout.flush()\n    print(text, file=sys.stderr)\n")
    assert declared(str(_submission(tmp_path, CORRECT + "\n" + source)), True).uses == ()
