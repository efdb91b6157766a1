"""The committed sample reports in ``reports/`` are what the current renderer makes of
their own report.json (``scripts/make_sample_reports.py`` regenerates them), their
HTML is self-contained and their Gradescope files are complete."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gradcheck.render.report import render_saved

REPORTS = Path(__file__).resolve().parent.parent / "reports"
SAMPLES = ["reference", "bug_border_windows"]


@pytest.mark.parametrize("name", SAMPLES)
def test_sample_is_the_rendering_of_its_json(name, tmp_path):
    sample = REPORTS / name
    again = render_saved(sample / "report.json", tmp_path)
    for key, file in (("markdown", "report.md"), ("html", "report.html")):
        assert again[key].read_text(encoding="utf-8") == (sample / file).read_text(encoding="utf-8"), (
            f"reports/{name}/{file} is stale: run python scripts/make_sample_reports.py"
        )
    images = sorted(p.relative_to(sample).as_posix() for p in (sample / "images").glob("*.png"))
    assert images == sorted(key for key in again if key.startswith("images/"))


@pytest.mark.parametrize("name", SAMPLES)
def test_sample_html_references_nothing_outside(name):
    page = (REPORTS / name / "report.html").read_text(encoding="utf-8")
    for needle in ("http://", "https://", "<script", "<link", 'src="images/'):
        assert needle not in page


def test_samples_show_a_pass_and_a_diagnosed_failure():
    reference = json.loads((REPORTS / "reference" / "report.json").read_text(encoding="utf-8"))
    buggy = json.loads((REPORTS / "bug_border_windows" / "report.json").read_text(encoding="utf-8"))
    assert reference["passed"] and not buggy["passed"]
    assert [c["diagnosis"]["id"] for c in buggy["checks"] if c["diagnosis"]] == ["border_only"]
    for name, report in (("reference", reference), ("bug_border_windows", buggy)):
        results = json.loads((REPORTS / name / "results.json").read_text(encoding="utf-8"))
        assert [t["name"] for t in results["tests"]] == [f"{c['function']}: {c['quantity']}" for c in report["checks"]]
        assert [t["status"] == "passed" for t in results["tests"]] == [c["status"] == "pass" for c in report["checks"]]
