"""A graded report names the submission by its label, never by the grader's private folder
(red team round 3: a notebook's loader notes showed the grader's work path in report.md)."""

from __future__ import annotations

from gradcheck.grade.task import _scrub
from gradcheck.verdict.results import CheckResult, Report

FOLDER = "/srv/grader/.work/gradcheck-grade-x1y2"


def test_every_text_of_a_report_loses_the_private_folder() -> None:
    check = CheckResult("conv_forward", "Z", "fail", message=f"{FOLDER}/cnn.ipynb [code cell 2] line 3 failed",
                        warnings=[f"see {FOLDER}/cnn.ipynb"])
    check.diagnosis = {"id": "x", "evidence": [f"line 4 of {FOLDER}/cnn.ipynb"], "fix": {"path": f"{FOLDER}/cnn.ipynb"}}
    report = Report(target=f"{FOLDER}/cnn.ipynb", checks=[check],
                    warnings=[f"{FOLDER}/cnn.ipynb [code cell 1] line 2: skipped failing import (No module 'h5py')"],
                    load_error=f"{FOLDER}/cnn.ipynb: syntax error")
    _scrub(report, FOLDER, "alice")
    texts = [report.load_error, *report.warnings, check.message, *check.warnings, str(check.diagnosis)]
    assert not any(FOLDER in text for text in texts), texts
    assert report.warnings == ["cnn.ipynb [code cell 1] line 2: skipped failing import (No module 'h5py')"]
    assert check.diagnosis["fix"]["path"] == "cnn.ipynb"
