"""``gradcheck grade`` runs the fix search and the class page groups the class by fix.

Both ways: two submissions with the same ``=``-for-``+=`` bug in different lines are one group
("conv_backward: `=` -> `+=`: 2 of 2"), each with its own line and text; a correct submission is in
no group; ``--no-fix`` (and the Python API's default) gives no fix and no section; the setting is
part of the store's key, so a run with the search after one without grades again.
"""

from __future__ import annotations

import json
from pathlib import Path

from gradcheck.cli import main
from gradcheck.grade.classpage import summarize
from gradcheck.grade.gradebook import Row
from gradcheck.grade.sources import Submission

ZOO = Path(__file__).resolve().parent / "zoo"
ACCUMULATE = "                    dW[:, :, :, c] += a_slice * dZ[i, h, w, c]"


def _class(root: Path) -> Path:
    folder = root / "class"
    folder.mkdir()
    text = (ZOO / "correct_course.py").read_text()
    assert text.count(ACCUMULATE) == 1
    wrong = text.replace(ACCUMULATE, ACCUMULATE.replace("+=", "="))
    (folder / "ann.py").write_text(wrong)
    (folder / "bob.py").write_text("# bob's notebook export\n\n" + wrong)  # the same bug two lines lower
    (folder / "cat.py").write_text(text)
    return folder


def _grade(folder: Path, out: Path, *extra: str) -> None:
    assert main(["grade", str(folder), "--out", str(out), "--examples", "10", "--seed", "0", "-q", "--workers", "2",
                 *extra]) == 0


def test_grade_groups_the_class_by_confirmed_fix(tmp_path):
    folder = _class(tmp_path)
    _grade(folder, tmp_path / "out", "--fix-budget", "20")
    page = (tmp_path / "out" / "class.md").read_text()
    assert "## Confirmed fixes, most common first" in page
    assert "- **conv_backward**: `=` -> `+=`: 2 of 2" in page
    start = page.index("## Confirmed fixes")
    section = page[start : page.index("\n## ", start + 1)]
    assert "ann, line " in section and "bob, line " in section and "cat" not in section
    lines = {line.split(",")[0].strip("- "): line for line in section.splitlines() if ", line " in line}
    assert lines["ann"].split("line ")[1].split(":")[0] != lines["bob"].split("line ")[1].split(":")[0]  # own lines
    assert "`dW[:, :, :, c] = a_slice * dZ[i, h, w, c]` -> `dW[:, :, :, c] += a_slice * dZ[i, h, w, c]`" in section
    html = (tmp_path / "out" / "class.html").read_text()
    assert "<h2>Confirmed fixes, most common first</h2>" in html and "<b>2 of 2</b>" in html
    report = json.loads((tmp_path / "out" / "submissions" / "ann" / "report.json").read_text())
    fix = next(c["diagnosis"]["fix"] for c in report["checks"] if (c.get("diagnosis") or {}).get("fix"))
    assert str(tmp_path) not in json.dumps(fix)  # the grader's private folder is not in the report


def test_no_fix_gives_no_fix_section_and_the_setting_is_in_the_key(tmp_path):
    folder = _class(tmp_path)
    out = tmp_path / "out"
    _grade(folder, out, "--no-fix")
    page = (out / "class.md").read_text()
    assert "Confirmed fixes" not in page
    assert "conv_backward" in page  # the failure is still there, by cause
    report = json.loads((out / "submissions" / "ann" / "report.json").read_text())
    assert not any((c.get("diagnosis") or {}).get("fix") for c in report["checks"])
    _grade(folder, out, "--fix-budget", "20")  # another setting: graded again, with the search
    assert "- **conv_backward**: `=` -> `+=`: 2 of 2" in (out / "class.md").read_text()


def test_summary_dedupes_a_fix_shared_by_quantities_and_counts_failing_submissions():
    fix = {"path": "a.py", "line": 3, "before": "  x = 1\n", "after": "  x += 1\n", "kind": "= -> +=", "cases": 9}
    checks = [{"function": "f", "quantity": q, "status": "fail", "message": "", "diagnosis": {"fix": fix}}
              for q in ("dW", "db")]
    rows = []
    for ident, with_checks in (("a", checks), ("b", [{**checks[0], "diagnosis": None}])):
        row = Row(Submission(ident, ident, target=f"{ident}.py"), outcome="graded")
        row.report = {"checks": with_checks}
        row.statuses = {"f": "fail"}
        rows.append(row)
    summary = summarize(rows, ("f",))
    assert len(summary.fixes) == 1
    group = summary.fixes[0]
    assert (group.function, group.kind, len(group.fixes), group.of) == ("f", "= -> +=", 1, 2)
