"""``gradcheck check`` and ``gradcheck grade`` on the assignments' files, isolated: the
assignment is found by the names a file defines (or ``--assignment``), said, checked, and
written into the JSON report and the gradebook."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from gradcheck.cli import main

ZOO = Path(__file__).parent / "zoo_plans"
DLS_CORRECT = ZOO / "dls_c1w4" / "correct_course.py"
A2_BUG = ZOO / "cs231n_a2" / "bug_bn_dgamma_from_x.py"
FAST = ["--examples", "10", "--timeout", "10"]


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_check_finds_the_assignment_and_says_so(capsys, tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    code, out, err = run(capsys, "check", str(DLS_CORRECT), *FAST, "--json", str(report))
    assert code == 0, out
    assert "assignment: Deep Learning Specialization, course 1 week 4" in err  # progress names what it took
    data = json.loads(report.read_text())
    assert data["plan"] == "dls-c1w4" and data["passed"] is True
    functions = {check["function"] for check in data["checks"]}
    assert {"linear_backward", "linear_activation_backward", "compute_cost"} <= functions
    assert not functions & {"conv_forward", "zero_pad"}  # no convolution layers asked of this assignment


def test_check_fails_a_bug_of_an_assignment_on_its_quantity(capsys) -> None:
    code, out, _ = run(capsys, "check", str(A2_BUG), *FAST, "-q", "--only", "batchnorm_backward")
    assert code == 1
    assert "batchnorm_backward: dgamma does not match central differences of the reference batchnorm_forward" in out


def test_require_all_asks_for_the_assignments_functions(capsys, tmp_path: Path) -> None:
    partial = tmp_path / "partial.py"
    partial.write_text("import numpy as np\n\ndef linear_forward(A, W, b):\n    return W @ A + b, (A, W, b)\n")
    code, out, _ = run(capsys, "check", str(partial), *FAST, "-q", "--require", "all")
    assert code == 1
    missing = next(line for line in out.splitlines() if line.startswith("required but not defined:"))
    assert "linear_backward" in missing and "compute_cost" in missing
    assert "sigmoid" not in missing  # the course's dnn_utils provides it: checked when there, never required
    assert "conv_forward" not in out  # the convolution contract is not this assignment's


def test_an_unknown_assignment_exits_2_with_the_choices(capsys) -> None:
    code, _, err = run(capsys, "check", str(DLS_CORRECT), "--assignment", "dls-c9", "-q")
    assert code == 2
    choices = "cs231n-a2, cs231n-a1, cs231n-a3, dls-c1w4, dls-c5w1"
    assert f"assignment must be auto, none or one of {choices}, got 'dls-c9'" in err


def test_grade_writes_each_assignments_columns(capsys, tmp_path: Path) -> None:
    folder = tmp_path / "class"
    folder.mkdir()
    (folder / "ann.py").write_bytes(DLS_CORRECT.read_bytes())
    (folder / "ben.py").write_bytes((ZOO / "dls_c1w4" / "bug_linear_backward_dW_no_1_over_m.py").read_bytes())
    out = tmp_path / "out"
    code, _, _ = run(capsys, "grade", str(folder), "--out", str(out), "--examples", "10", "--seed", "0", "-q",
                     "--workers", "1")
    assert code == 0
    with open(out / "grades.csv", newline="") as handle:
        rows = {row["submission"]: row for row in csv.DictReader(handle)}
    assert rows["ann"]["assignment"] == "dls-c1w4" and rows["ann"]["passed"] == "true"
    assert rows["ben"]["linear_backward"] == "fail" and rows["ben"]["linear_forward"] == "pass"
    assert "conv_forward" not in rows["ann"]  # a class of this assignment alone: its columns only
    assert rows["ann"]["max_score"] == "7"  # the seven functions students write (not dnn_utils' four)
    assert rows["ann"]["sigmoid"] == "pass"  # defined in the file: checked all the same
    results = json.loads((out / "submissions" / "ben" / "results.json").read_text())
    assert results["extra_data"]["assignment"] == "dls-c1w4"
    assert any(test["name"] == "linear_backward" and test["status"] == "failed" for test in results["tests"])
