"""The pieces of ``gradcheck grade``: scoring, the store, Gradescope results, options, executors."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import pytest
from fixture_files import place
from grade_helpers import KILLS_PARENT, ONLY_ZERO_PAD, SUBMISSIONS, ZOO

from gradcheck.cli import main
from gradcheck.errors import UsageError
from gradcheck.grade import grade, parse_require
from gradcheck.grade.executors import LocalExecutor
from gradcheck.grade.gradebook import gradescope_for_grade
from gradcheck.grade.store import Store, result_key
from gradcheck.grade.task import function_statuses, score
from gradcheck.plans.convolution import CONTRACT_FUNCTIONS


def check(function: str, status: str, quantity: str = "q") -> dict:
    return {"function": function, "quantity": quantity, "status": status}


def test_worst_status_per_function_and_missing() -> None:
    report = {"checks": [check("conv_backward", "pass", "dW"), check("conv_backward", "timeout", "db"),
                         check("conv_backward", "fail", "dA_prev"), check("zero_pad", "missing"),
                         check("pool_backward", "crashed"), check("pool_backward", "memory")]}
    statuses = function_statuses(report)
    assert statuses["conv_backward"] == "timeout"
    assert statuses["pool_backward"] == "crashed"
    assert statuses["zero_pad"] == "missing" and statuses["conv_forward"] == "missing"
    assert function_statuses(None) == {name: "crashed" for name in CONTRACT_FUNCTIONS}


def test_score_one_point_per_required_passing_function() -> None:
    statuses = {name: "pass" for name in CONTRACT_FUNCTIONS}
    assert score(statuses, CONTRACT_FUNCTIONS, True) == (True, 8, 8)
    statuses["distribute_value"] = "missing"
    assert score(statuses, CONTRACT_FUNCTIONS, True) == (False, 7, 8)  # missing required: not passed
    assert score(statuses, ("zero_pad", "conv_forward"), True) == (True, 2, 2)  # --require narrows
    statuses["zero_pad"] = "fail"
    assert score(statuses, ("zero_pad", "conv_forward"), False) == (False, 1, 2)


def test_parse_require() -> None:
    # "all": every course's functions; each submission is asked for its own course's
    assert parse_require("all")[: len(CONTRACT_FUNCTIONS)] == CONTRACT_FUNCTIONS
    assert {"affine_backward", "softmax_loss_naive"} <= set(parse_require("all"))
    assert parse_require("batchnorm_backward,zero_pad") == ("zero_pad", "batchnorm_backward")
    assert parse_require("pool_backward, zero_pad") == ("zero_pad", "pool_backward")  # contract order
    with pytest.raises(UsageError, match=r"--require 'conv,zero_pad': unknown function\(s\) \['conv'\]"):
        parse_require("conv,zero_pad")


def test_store_commits_and_counts_gradings(tmp_path: Path) -> None:
    settings = {"examples": 10, "seed": 0, "timeout": 2.0}
    key = result_key("abc", settings)
    assert key != result_key("abc", {**settings, "seed": 1}) and key != result_key("abd", settings)
    with Store(tmp_path / "s.sqlite") as store:
        assert store.get(key) is None
        store.put(key, "abc", settings, {"outcome": "graded", "report": {}, "files": {"x": b"png"}}, 1)
    with Store(tmp_path / "s.sqlite") as store:  # a new connection sees it: committed
        stored = store.get(key)
        assert stored["result"] == {"outcome": "graded", "report": {}}  # rendered files are not stored
        assert store.graded_counts() == {key: 1}
        store.put(key, "abc", settings, {"outcome": "graded", "report": {}}, 1)
        assert store.graded_counts() == {key: 2}
        assert store._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_gradescope_lists_every_required_function() -> None:
    report = {"target": "t.py", "seed": 0, "load_error": None,
              "checks": [check("zero_pad", "pass", "X_pad"), check("conv_forward", "fail", "Z")]}
    results = gradescope_for_grade(report, ("zero_pad", "conv_forward", "conv_backward"))
    tests = {t["name"]: t for t in results["tests"]}
    assert set(tests) == {"zero_pad", "conv_forward", "conv_backward"}
    assert (tests["zero_pad"]["score"], tests["zero_pad"]["max_score"]) == (1.0, 1.0)
    assert (tests["conv_forward"]["status"], tests["conv_forward"]["score"]) == ("failed", 0.0)
    missing = tests["conv_backward"]
    assert (missing["status"], missing["score"], missing["max_score"]) == ("failed", 0.0, 1.0)
    assert "`conv_backward` is required but the submission does not define it" in missing["output"]
    assert results["score"] == 1.0 and results["extra_data"]["max_score"] == 3
    unloadable = gradescope_for_grade({**report, "checks": [], "load_error": "boom"}, ("zero_pad",))
    assert unloadable["tests"][0]["status"] == "failed" and "boom" in unloadable["tests"][0]["output"]


def test_grade_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["grade", str(tmp_path / "nowhere"), "--out", str(tmp_path / "o")]) == 2
    assert "no such file or folder" in capsys.readouterr().err
    assert main(["grade", str(tmp_path), "--out", str(tmp_path / "o"), "--require", "nope"]) == 2
    assert "unknown function(s) ['nope']" in capsys.readouterr().err
    assert main(["grade", str(tmp_path), "--out", str(tmp_path / "o"), "--scheduler", "tcp://x:1"]) == 2
    assert "--scheduler needs --executor dask" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exited:
        main(["grade", str(tmp_path)])  # --out is required
    assert exited.value.code == 2
    with pytest.raises(UsageError, match="workers must be an integer >= 1, got 0"):
        LocalExecutor(0)


def test_tiny_class_end_to_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A correct file, a copy, one defining only zero_pad, one killing its grading task, a data file."""
    monkeypatch.setenv("GRADCHECK_ISOLATION", "limits-only")  # the level at which dan can kill its task
    folder = tmp_path / "class"
    folder.mkdir()
    shutil.copy(ZOO / "correct_course.py", folder / "ann.py")
    shutil.copy(ZOO / "correct_course.py", folder / "ben.py")
    (folder / "cat.py").write_text(ONLY_ZERO_PAD)
    (folder / "dan.py").write_text(KILLS_PARENT)
    (folder / "eve.txt").write_text("hello")
    err = io.StringIO()
    run = grade([str(folder)], tmp_path / "out", executor=LocalExecutor(2), examples=5, timeout=2.0,
                stream=err, require="zero_pad,conv_forward")
    rows = {row.submission.id: row for row in run.rows}
    assert run.graded_now == 3 and run.reused == 0  # ann and ben share their bytes: graded once
    assert (rows["ann"].passed, rows["ann"].score, rows["ann"].max_score) == (True, 2, 2)
    assert rows["ben"].same_as == "ann" and rows["ben"].passed
    assert (rows["cat"].passed, rows["cat"].score) == (False, 1)  # conv_forward required, missing
    assert rows["dan"].outcome == "crashed" and [r.submission.id for r in run.ungraded] == ["dan"]
    assert rows["ann"].isolation == "limits-only"
    assert rows["ann"].isolation_reason == "requested: $GRADCHECK_ISOLATION=limits-only"
    assert rows["eve"].outcome == "odd"
    assert "3/3 graded" in err.getvalue() and "ETA" in err.getvalue()
    with open(tmp_path / "out" / "grades.csv", newline="") as handle:
        table = list(csv.DictReader(handle))
    assert [r["submission"] for r in table] == ["ann", "ben", "cat", "dan", "eve"]
    assert table[2]["conv_forward"] == "missing" and table[2]["zero_pad"] == "pass"
    assert list(table[0])[-7:] == ["isolation", "report", "isolation_reason", "convention", "path", "assignment",
                                   "review"]
    assert [r["convention"] for r in table] == ["article", "article", "article", "article", ""]
    assert table[0]["path"] == f"{tmp_path / 'class' / 'ann.py'}"
    assert table[0]["isolation_reason"] == "requested: $GRADCHECK_ISOLATION=limits-only"
    assert table[4]["isolation_reason"] == ""  # eve.txt: not graded
    results = json.loads((tmp_path / "out" / "submissions" / "cat" / "results.json").read_text())
    assert {t["name"]: t["status"] for t in results["tests"]} == {"zero_pad": "passed", "conv_forward": "failed"}
    page = (tmp_path / "out" / "class.html").read_text()
    assert "<a href='submissions/ann/report.html'>ann</a>" in page and "ann, ben" in page
    shutil.rmtree(tmp_path / "out" / "submissions" / "cat")  # lost (say, killed before it was written)
    again = grade([str(folder)], tmp_path / "out", executor=LocalExecutor(2), examples=5, timeout=2.0,
                  progress=False, require="zero_pad,conv_forward")
    assert (again.graded_now, again.reused) == (0, 3)
    assert (tmp_path / "out" / "submissions" / "cat" / "report.html").is_file()  # re-rendered from the store
    assert json.loads((tmp_path / "out" / "submissions" / "cat" / "results.json").read_text()) == results


def test_task_timeout_costs_only_that_row(tmp_path: Path) -> None:
    folder = tmp_path / "class"
    place(folder / "loops", "loops.py", source=SUBMISSIONS / "infinite_loop.py")  # with its course_loops.py
    run = grade([str(folder)], tmp_path / "out", executor=LocalExecutor(1, task_timeout=1.0), examples=5,
                timeout=30.0, progress=False)
    (row,) = run.rows
    assert row.outcome == "timeout" and row.statuses["conv_forward"] == "timeout"
    assert row.load_error == "grading took over 1 s"


def test_class_page_ranks_causes_by_submissions_hit() -> None:
    from gradcheck.grade.classpage import format_class_md, summarize
    from gradcheck.grade.gradebook import make_row
    from gradcheck.grade.sources import Submission

    flipped = {"id": "kernel_flipped", "cause": "the kernel is rotated by 180 degrees", "evidence": "e"}

    def graded(name: str, checks: list[dict]) -> object:
        report = {"target": name, "passed": False, "load_error": None, "checks": checks}
        return make_row(Submission(name, name, target=f"{name}.py", sha256=name), {"outcome": "graded",
                        "report": report, "duration_s": 1.0}, CONTRACT_FUNCTIONS)

    rows = [
        graded("a", [{**check("conv_backward", "fail", "dW"), "diagnosis": flipped}]),
        graded("b", [{**check("conv_backward", "fail", "dW"), "diagnosis": flipped},
                     {**check("conv_backward", "fail", "dA_prev"), "diagnosis": flipped}]),
        graded("c", [{**check("zero_pad", "error", "X_pad"), "message": "zero_pad: X_pad fails on (m=1):\n"
                      "zero_pad raised ValueError: bad pad 3"}]),
        graded("d", [{**check("zero_pad", "error", "X_pad"), "message": "zero_pad: X_pad fails on (m=2):\n"
                      "zero_pad raised ValueError: bad pad 7"}, check("conv_backward", "pass", "dW")]),
    ]
    summary = summarize(rows, CONTRACT_FUNCTIONS)
    assert [(c.function, len(c.submissions), c.of) for c in summary.causes] == [
        ("conv_backward", 2, 2), ("zero_pad", 2, 2)]  # counted once per submission, not per check
    page = format_class_md(summary)
    assert "- **conv_backward**: the kernel is rotated by 180 degrees: 2 of 2 (a, b)" in page
    assert "- **zero_pad**: error: zero_pad raised ValueError: bad pad #: 2 of 2 (c, d)" in page
    assert "| conv_backward | 1 of 3 |" in page and "| zero_pad | 0 of 2 |" in page  # of those defining it


def test_unreadable_submission_is_recorded_not_raised(tmp_path: Path) -> None:
    def vanished() -> dict:
        raise FileNotFoundError(2, "No such file or directory", str(tmp_path / "gone.py"))

    seen = []
    LocalExecutor(1).run([("k1", vanished)], lambda key, result, attempts: seen.append((key, result)))
    assert seen == [("k1", {"outcome": "error", "duration_s": 0.0, "error": "could not read the submission: "
                            f"[Errno 2] No such file or directory: '{tmp_path / 'gone.py'}'"})]


def test_grade_validates_settings(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="examples must be an integer >= 1, got 0"):
        grade([str(tmp_path)], tmp_path / "out", examples=0)
    with pytest.raises(UsageError, match="timeout must be a positive number of seconds, got -1"):
        grade([str(tmp_path)], tmp_path / "out", timeout=-1)
    with pytest.raises(UsageError, match=r"seed must be an integer >= 0 or None \(a secret seed .*\), got 1.5"):
        grade([str(tmp_path)], tmp_path / "out", seed=1.5)
