"""A class is graded in the functions of the course it submits: a CS231n class gets CS231n's
columns, a mixed class one set per course, a file of neither course says so in its row; the
Gradescope autograder grades the assignment's course (``--convention`` or ``--solution``)."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from fixture_files import place
from grade_helpers import SUBMISSIONS, TESTS, ZOO

from gradcheck.api import check
from gradcheck.cli import main
from gradcheck.conventions import ARTICLE, CS231N
from gradcheck.grade.executors import LocalExecutor
from gradcheck.grade.run import grade

EXAMPLES = 8
CS231N_COLUMNS = ["conv_forward_naive", "conv_backward_naive", "max_pool_forward_naive", "max_pool_backward_naive"]
PARTIAL = (SUBMISSIONS / "cs231n_layers.py").read_text().split("def max_pool_forward_naive")[0]


def cs231n_class(root: Path) -> Path:
    """A correct CS231n file, a one-bug one in two files (a folder), one with the conv layers only."""
    folder = root / "class"
    folder.mkdir(parents=True)
    shutil.copy(SUBMISSIONS / "cs231n_layers.py", folder / "ada.py")
    (folder / "bob").mkdir()
    for name in ("cs231n_buggy.py", "cs231n_layers.py"):
        shutil.copy(SUBMISSIONS / name, folder / "bob" / name)
    (folder / "cy.py").write_text(PARTIAL)
    return folder


def table(out: Path) -> list[dict[str, str]]:
    with open(out / "grades.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def expected_cells(path: Path) -> dict[str, str]:
    """Each function's worst status, from `gradcheck check` of the same file."""
    report = check(str(path), examples=EXAMPLES, seed=0)
    order = ("pass", "fail", "error", "timeout", "memory", "crashed")
    cells: dict[str, str] = {}
    for c in report.checks:
        if c.status != "missing":
            cells[c.function] = max(cells.get(c.function, "pass"), c.status, key=order.index)
    return cells


def test_a_cs231n_class_gets_cs231n_columns_and_the_verdicts_of_check(tmp_path):
    folder = cs231n_class(tmp_path)
    grade([str(folder)], tmp_path / "out", executor=LocalExecutor(2), examples=EXAMPLES, progress=False)
    rows = {row["submission"]: row for row in table(tmp_path / "out")}
    header = list(next(iter(rows.values())))
    assert header[4:8] == CS231N_COLUMNS and "zero_pad" not in header  # no article column in a CS231n class
    targets = {"ada": folder / "ada.py", "bob": folder / "bob" / "cs231n_buggy.py", "cy": folder / "cy.py"}
    for ident, path in targets.items():
        expected = expected_cells(path)
        for name in CS231N_COLUMNS:
            assert rows[ident][name] == expected.get(name, "missing"), (ident, name)
        assert rows[ident]["convention"] == "cs231n"
    assert (rows["ada"]["passed"], rows["ada"]["score"], rows["ada"]["max_score"]) == ("true", "4", "4")
    assert rows["bob"]["conv_backward_naive"] == "fail" and rows["bob"]["score"] == "3"
    assert rows["cy"]["max_pool_forward_naive"] == "missing" and rows["cy"]["passed"] == "false"
    assert all(any(row[name] != "missing" for name in CS231N_COLUMNS) for row in rows.values())
    page = (tmp_path / "out" / "class.md").read_text()
    assert "| conv_forward_naive | conv_backward_naive |" in page and "| zero_pad |" not in page


def test_a_mixed_class_gets_one_set_of_columns_per_course(tmp_path):
    folder = cs231n_class(tmp_path)
    shutil.copy(ZOO / "correct_course.py", folder / "dee.py")
    place(folder / "eve", "cnn.py", source=ZOO / "bug_flipped_kernel.py")
    grade([str(folder)], tmp_path / "out", executor=LocalExecutor(2), examples=EXAMPLES, progress=False)
    rows = {row["submission"]: row for row in table(tmp_path / "out")}
    header = list(rows["ada"])
    assert header[4:16] == [*ARTICLE.shown_functions, *CS231N.shown_functions]
    assert rows["dee"]["convention"] == "article" and rows["dee"]["score"] == rows["dee"]["max_score"] == "8"
    assert all(rows["dee"][name] == "" for name in CS231N_COLUMNS)  # the other course's cells: empty
    assert all(rows["ada"][name] == "" for name in ARTICLE.shown_functions)
    assert rows["ada"]["max_score"] == "4" and rows["eve"]["conv_backward"] == "fail"


def test_a_file_of_neither_course_says_so_in_its_row(tmp_path):
    folder = tmp_path / "class"
    folder.mkdir()
    (folder / "zed.py").write_text("import numpy as np\n\n\ndef convolve(x, w):\n    return x\n")
    shutil.copy(SUBMISSIONS / "cs231n_layers.py", folder / "ada.py")
    grade([str(folder)], tmp_path / "out", executor=LocalExecutor(1), examples=EXAMPLES, progress=False)
    rows = {row["submission"]: row for row in table(tmp_path / "out")}
    assert rows["zed"]["passed"] == "false" and rows["zed"]["score"] == "0"
    assert rows["zed"]["load_error"].startswith("defines none of the functions of an assignment gradcheck checks")
    assert "conv_forward_naive" in rows["zed"]["load_error"] and "zero_pad" in rows["zed"]["load_error"]
    assert all(rows["zed"][name] == "" for name in CS231N_COLUMNS + list(ARTICLE.shown_functions))


def test_require_takes_either_courses_names(tmp_path):
    folder = cs231n_class(tmp_path)
    run = grade([str(folder)], tmp_path / "out", executor=LocalExecutor(2), examples=EXAMPLES, progress=False,
                require="conv_forward_naive,conv_backward_naive")
    rows = {row.submission.id: row for row in run.rows}
    assert (rows["cy"].score, rows["cy"].max_score, rows["cy"].passed) == (2, 2, True)  # pooling not required
    assert (rows["bob"].score, rows["bob"].max_score) == (1, 2)


def run_autograder(bundle: Path, root: Path, python: str = sys.executable) -> dict:
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "GRADCHECK_PYTHON": python, "PYTHONPATH": str(TESTS.parent)}
    done = subprocess.run(["bash", str(bundle / "run_autograder")], env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr
    return json.loads((root / "results" / "results.json").read_text())


def submit(root: Path, source: Path, name: str) -> None:
    shutil.rmtree(root / "submission", ignore_errors=True)
    (root / "submission").mkdir(parents=True)
    shutil.copy(source, root / "submission" / name)


def test_a_cs231n_autograder_grades_cs231n_functions(tmp_path):
    bundle = tmp_path / "bundle"
    assert main(["gradescope-autograder", str(bundle), "--examples", "5", "--convention", "cs231n"]) == 0
    assert "--convention cs231n" in (bundle / "run_autograder").read_text()
    root = tmp_path / "autograder"
    submit(root, SUBMISSIONS / "cs231n_layers.py", "layers.py")
    results = run_autograder(bundle, root)
    assert [t["name"] for t in results["tests"]] == CS231N_COLUMNS
    assert results["score"] == 4.0 and all(t["status"] == "passed" for t in results["tests"])
    submit(root, ZOO / "correct_course.py", "layers.py")  # the other course's assignment
    other = run_autograder(bundle, root)
    assert other["score"] == 0.0 and [t["name"] for t in other["tests"]] == CS231N_COLUMNS
    assert "defines the functions of the article's course" in other["tests"][0]["output"]


def test_the_autograder_reads_the_course_from_a_sample_solution(tmp_path, capsys):
    bundle = tmp_path / "bundle"
    assert main(["gradescope-autograder", str(bundle), "--solution", str(SUBMISSIONS / "cs231n_layers.py")]) == 0
    assert "--convention cs231n" in (bundle / "run_autograder").read_text()
    empty = tmp_path / "empty.py"
    empty.write_text("x = 1\n")
    assert main(["gradescope-autograder", str(tmp_path / "b2"), "--solution", str(empty)]) == 2
    error = capsys.readouterr().err
    assert "it defines none of the functions of the article's course, CS231n's or an assignment's" in error


GRADESCOPE_TEST_KEYS = {"name", "score", "max_score", "status", "output"}


@pytest.mark.slow  # setup.sh builds a virtual environment and installs the bundle
@pytest.mark.parametrize("course", ["article", "cs231n"])
def test_gradescope_layout_end_to_end(tmp_path, course):
    """setup.sh, then run_autograder, in Gradescope's folders under AUTOGRADER_ROOT; results.json
    has the documented schema."""
    bundle = tmp_path / "bundle"
    assert main(["gradescope-autograder", str(bundle), "--examples", "5", "--convention", course]) == 0
    root = tmp_path / "autograder"
    source = root / "source"
    shutil.copytree(bundle, source)
    env = {**os.environ, "AUTOGRADER_ROOT": str(root)}
    done = subprocess.run(["bash", str(source / "setup.sh")], env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    solution = SUBMISSIONS / "cs231n_layers.py" if course == "cs231n" else ZOO / "correct_course.py"
    submit(root, solution, "solution.py")
    env.pop("PYTHONPATH", None)
    done = subprocess.run(["bash", str(source / "run_autograder")], env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads((root / "results" / "results.json").read_text())
    assert {"score", "execution_time", "visibility", "tests"} <= set(results)
    assert all(GRADESCOPE_TEST_KEYS <= set(test) for test in results["tests"])
    functions = CS231N.shown_functions if course == "cs231n" else ARTICLE.shown_functions
    assert [t["name"] for t in results["tests"]] == list(functions)
    assert results["score"] == float(len(functions))
    mode = "import os, reference; print(oct(os.stat(os.path.dirname(reference.__file__)).st_mode))"
    reference = subprocess.run([str(root / "venv" / "bin" / "python"), "-I", "-c", mode],
                               capture_output=True, text=True, check=True).stdout.strip()
    assert reference.endswith("700")  # the answer key: root's alone


@pytest.mark.slow  # setup.sh builds a virtual environment and installs the bundle
def test_an_autograder_without_bubblewrap_never_runs_a_submission_as_root(tmp_path):
    """Red team round 2 (A): in an image where bubblewrap cannot run, the autograder fell back to
    the limits-only level (the answer key, locked by setup.sh, made the unprivileged-user probe
    fail), and a submission ran as root: it read the answer key and rewrote a grader module it
    imported later (8/8 for wrong code). Now the probe leaves the answer key alone, the grader
    reads all its modules before any submission runs, and auto never picks limits-only as root."""
    if os.geteuid() != 0:
        pytest.skip("the unprivileged-user level needs root")
    bundle = tmp_path / "bundle"
    assert main(["gradescope-autograder", str(bundle), "--examples", "5"]) == 0
    root = tmp_path / "autograder"
    source = root / "source"
    shutil.copytree(bundle, source)
    env = {**os.environ, "AUTOGRADER_ROOT": str(root)}
    env.pop("PYTHONPATH", None)
    done = subprocess.run(["bash", str(source / "setup.sh")], env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    assert not (source / "gradcheck_src" / "build").exists()  # no world-readable copy of the answer key
    spy = Path(tempfile.mkdtemp(prefix="gradcheck-spy-", dir="/tmp"))  # a folder any uid reaches
    spy.chmod(0o777)
    probe = (f"\nimport os as _os\nwith open({str(spy / 'uid')!r}, 'a') as _f:\n"
             "    _f.write(str(_os.geteuid()) + '\\n')\n"
             f"try:\n    import reference as _key\n    open({str(spy / 'key')!r}, 'w').write('imported')\n"
             "except BaseException:\n    pass\n")
    (tmp_path / "solution.py").write_text((ZOO / "correct_course.py").read_text() + probe)
    submit(root, tmp_path / "solution.py", "solution.py")
    no_bwrap = tmp_path / "bin"  # PATH without bwrap: the sandbox is not available
    no_bwrap.mkdir()
    env["PATH"] = str(no_bwrap)
    done = subprocess.run(["/bin/bash", str(source / "run_autograder")], env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads((root / "results" / "results.json").read_text())
    assert results["score"] == float(len(ARTICLE.shown_functions)), [t["output"][:500] for t in results["tests"]]
    uids = {int(line) for line in (spy / "uid").read_text().split()}
    assert uids and 0 not in uids  # the submission ran under a uid of its own, never root
    assert not (spy / "key").exists()  # and could not import the answer key
    shutil.rmtree(spy, ignore_errors=True)
