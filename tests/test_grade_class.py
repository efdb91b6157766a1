"""``gradcheck grade`` on whole classes: every row agrees with ``gradcheck check`` on its file.

The class is built at test time (tests/grade_helpers.py): zoo bugs, hostile and broken
files, notebooks, sub-folders, a zip, duplicates and odd entries. Hostile members
(a worker that kills itself, one that kills the grading task, exits, floods) must
cost only their own row.
"""

from __future__ import annotations

import csv
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from grade_helpers import CONTEXT_DEPENDENT, WEAKEST, build_class, expected_row, run_env

from gradcheck.grade.store import Store
from gradcheck.plans.convolution import CONTRACT_FUNCTIONS

EXAMPLES = 10
TIMEOUT = 2.0


def run_grade(*args: str, cwd: Path, extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "gradcheck.cli", "grade", *args, "--seed", "0", "--no-fix"],  # grade vs check --no-fix
        cwd=cwd, capture_output=True, text=True, timeout=900, env=run_env(extra_env),
    )


def read_rows(path: Path) -> dict[str, dict[str, str]]:
    with open(path, newline="") as handle:
        return {row["submission"]: row for row in csv.DictReader(handle)}


def killer_contained(rows: dict[str, dict[str, str]]) -> bool:
    """Whether the isolation level stopped kills_parent from killing its grading task."""
    return rows["correct_course"]["isolation"] in ("sandbox", "unprivileged-user")


def assert_agrees_with_check(rows: dict[str, dict[str, str]], targets: dict[str, Path], workdir: Path,
                             extra_env: dict[str, str] | None = None) -> None:
    checked = {name: path for name, path in targets.items()
               if (name != "kills_parent" or killer_contained(rows)) and name not in CONTEXT_DEPENDENT}
    for name in set(targets) & CONTEXT_DEPENDENT:
        assert rows[name]["outcome"] == "graded", name
    with ThreadPoolExecutor(2) as pool:
        expected = dict(zip(checked, pool.map(
            lambda path: expected_row(path, workdir, examples=EXAMPLES, timeout=TIMEOUT, extra_env=extra_env),
            checked.values()
        ), strict=True))
    columns = [fn for fn in next(iter(rows.values())) if fn in next(iter(expected.values()))
               and fn not in ("passed", "score", "max_score", "loads")]  # every course's function columns
    assert set(CONTRACT_FUNCTIONS) <= set(columns)
    for name, want in expected.items():
        row = rows[name]
        got = {fn: row[fn] for fn in columns}
        assert got == {fn: want[fn] for fn in columns}, name
        scores = ("passed", "score", "max_score")
        assert tuple(row[key] for key in scores) == tuple(want[key] for key in scores), name
        assert (row["load_error"] == "") == (want["loads"] == "yes"), name
        assert row["outcome"] == "graded", name


def assert_hostile_rows(rows: dict[str, dict[str, str]], out: Path) -> None:
    killer = rows["kills_parent"]
    if killer_contained(rows):
        # a uid of its own: PermissionError (error); in a user namespace the signal is dropped (fail)
        assert killer["outcome"] == "graded" and killer["conv_forward"] in ("error", "fail")
    else:  # it killed its grading task, twice: its row only
        assert killer["outcome"] == "crashed" and killer["passed"] == "false" and killer["score"] == "0"
        assert killer["load_error"] == "the grading process died twice (it was retried once)"
    assert rows["signal_death"]["pool_backward"] == "crashed"  # its worker died: that function only
    assert rows["signal_death"]["conv_backward"] == "pass"
    assert rows["exit_at_import"]["load_error"] != ""
    assert rows["correct_course"]["passed"] == "true"
    assert rows["same_as_course"]["same_as"] == "correct_course"
    assert rows["only_zero_pad"]["passed"] == "false"  # check passes it; grade requires every function
    assert rows["only_zero_pad"]["zero_pad"] == "pass" and rows["only_zero_pad"]["score"] == "1"
    assert rows["grades_2023"]["outcome"] == "odd" and "not a submission" in rows["grades_2023"]["load_error"]
    assert rows["empty_student"]["outcome"] == "odd"
    counts = Store(out / "grades.sqlite").graded_counts()
    assert set(counts.values()) == {1}


@pytest.mark.slow
def test_small_class_agrees_with_check_and_rerun_grades_nothing(tmp_path: Path) -> None:
    folder, targets = build_class(tmp_path, full=False)
    out = tmp_path / "out"
    result = run_grade(str(folder), "--out", str(out), "--examples", str(EXAMPLES), "--timeout", str(TIMEOUT),
                       "--workers", "2", cwd=tmp_path)  # at the strongest isolation level available
    rows = read_rows(out / "grades.csv")
    if killer_contained(rows):
        assert result.returncode == 0, result.stderr
    else:
        assert result.returncode == 1 and "1 could not be graded: kills_parent" in result.stderr
    assert "graded, " in result.stderr and "ETA" in result.stderr  # progress
    assert set(rows) == set(targets) | {"grades_2023", "empty_student"}
    assert_hostile_rows(rows, out)
    assert_agrees_with_check(rows, targets, tmp_path)
    for name in ("correct_course", "bug_db_wrong", "alice", "carol", "dave", "erin"):
        for produced in ("report.json", "report.md", "report.html", "results.json"):
            assert (out / "submissions" / name / produced).is_file(), (name, produced)
    before = (out / "grades.csv").read_text()
    again = run_grade(str(folder), "--out", str(out), "--examples", str(EXAMPLES), "--timeout", str(TIMEOUT),
                      cwd=tmp_path)
    assert "0 graded now" in again.stdout
    assert (out / "grades.csv").read_text() == before
    assert set(Store(out / "grades.sqlite").graded_counts().values()) == {1}


@pytest.mark.slow
def test_full_class_of_sixty_agrees_with_check(tmp_path: Path) -> None:
    folder, targets = build_class(tmp_path, full=True)
    assert len(targets) >= 60
    out = tmp_path / "out"
    result = run_grade(str(folder), "--out", str(out), "--examples", str(EXAMPLES), "--timeout", str(TIMEOUT),
                       "--workers", "2", cwd=tmp_path, extra_env=WEAKEST)  # kills_parent can kill its task
    assert result.returncode == 1 and "1 could not be graded: kills_parent" in result.stderr, result.stderr
    rows = read_rows(out / "grades.csv")
    assert len(rows) >= 62
    assert rows["correct_course"]["isolation"] == "limits-only"
    assert_hostile_rows(rows, out)
    assert_agrees_with_check(rows, targets, tmp_path, extra_env=WEAKEST)
    page = (out / "class.md").read_text()
    assert "## Likely causes, most common first" in page and "correct_course, same_as_course" in page
