"""``gradcheck grade`` killed half-way (SIGKILL to its process group) loses no finished work.

The resumed run grades only what the store lacks, and its ``grades.csv`` equals an
uninterrupted run's (every column but ``duration_s``, the measured time of the
grading that produced the row).
"""

from __future__ import annotations

import csv
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from grade_helpers import WEAKEST, build_class, run_env

from gradcheck.grade.store import Store

ARGS = ("--examples", "10", "--timeout", "2", "--seed", "0")


def grade_command(folder: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "gradcheck.cli", "grade", str(folder), "--out", str(out), *ARGS, *extra]


def env() -> dict[str, str]:
    return run_env(WEAKEST)  # the level at which kills_parent kills its grading task: a crashed row


def committed(out: Path) -> int:
    try:
        with sqlite3.connect(f"file:{out / 'grades.sqlite'}?mode=ro", uri=True, timeout=5) as db:
            return db.execute("SELECT count(*) FROM results").fetchone()[0]
    except sqlite3.Error:
        return 0


def rows_without_duration(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        row.pop("duration_s")
    return rows


@pytest.mark.slow
def test_killed_grader_resumes_without_regrading(tmp_path: Path) -> None:
    folder, _ = build_class(tmp_path, full=False)
    whole = tmp_path / "whole"
    done = subprocess.run(grade_command(folder, whole, "--workers", "2"), env=env(), capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 1, done.stderr  # kills_parent cannot be graded
    distinct = committed(whole)

    out = tmp_path / "killed"
    process = subprocess.Popen(grade_command(folder, out, "--workers", "1"), env=env(), start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while committed(out) < 3 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(30)
    before = committed(out)
    assert 3 <= before < distinct, "the kill came too late to test anything"
    # grades.csv is rewritten as results arrive: the rows graded before the kill are there already,
    # each as the whole run writes it
    partial = {row["submission"]: row for row in rows_without_duration(out / "grades.csv")}
    final = {row["submission"]: row for row in rows_without_duration(whole / "grades.csv")}
    assert partial and set(partial) < set(final)
    for ident, row in partial.items():
        assert (row["passed"], row["score"], row["outcome"]) == (final[ident]["passed"], final[ident]["score"],
                                                                 final[ident]["outcome"])

    resumed = subprocess.run(grade_command(folder, out, "--workers", "2"), env=env(), capture_output=True,
                             text=True, timeout=600)
    assert resumed.returncode == 1, resumed.stderr
    assert f"{distinct - before} graded now, {before} from the store" in resumed.stdout
    assert rows_without_duration(out / "grades.csv") == rows_without_duration(whole / "grades.csv")
    assert set(Store(out / "grades.sqlite").graded_counts().values()) == {1}  # nothing graded twice
    for row in rows_without_duration(out / "grades.csv"):
        if row["report"]:
            assert (out / row["report"] / "report.html").is_file()
            assert (out / row["report"] / "results.json").is_file()


@pytest.mark.slow
def test_dask_local_cluster_gives_the_same_gradebook(tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    folder, _ = build_class(tmp_path, full=False)
    local = tmp_path / "local"
    dask = tmp_path / "dask"
    first = subprocess.run(grade_command(folder, local, "--workers", "2"), env=env(), capture_output=True,
                           text=True, timeout=600)
    second = subprocess.run(grade_command(folder, dask, "--executor", "dask", "--workers", "2"), env=env(),
                            capture_output=True, text=True, timeout=600)
    assert (first.returncode, second.returncode) == (1, 1), second.stderr  # kills_parent: crashed, retried once
    assert rows_without_duration(dask / "grades.csv") == rows_without_duration(local / "grades.csv")
    assert set(Store(dask / "grades.sqlite").graded_counts().values()) == {1}
