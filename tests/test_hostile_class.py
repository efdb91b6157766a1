"""Issue 21: hostile entries in a class folder cost only their own row, and read nothing that is not theirs.

One class (three honest submissions and the 20 hostile entries of ``tests/hostile_entries.py``) is
graded once by the command line, with a secret planted in the grader's environment; each test
reads what that run wrote. The slow test grades 80 honest submissions with and without the
hostile entries and compares the 80 rows.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from fixture_files import place, uses_course_loops
from grade_helpers import ZOO, expected_row, run_env
from hostile_entries import CORRECT, SECRET, add_hostile_entries, remove_deep

from gradcheck.plans.convolution import CONTRACT_FUNCTIONS

EXAMPLES = 3


def add_honest(folder: Path, ident: str, source: Path) -> Path:
    """``source`` as the submission ``ident``: a file, or a folder when it builds on course_loops.py
    (a student's file with a helper module of their own); returns the file to check it by."""
    if uses_course_loops(source.read_text()):
        return place(folder / ident, source.name, source=source)
    return place(folder, f"{ident}.py", source=source)


def grade_cli(folder: Path, out: Path, *extra: str, secret: str = SECRET) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "gradcheck.cli", "grade", folder.name, "--out", str(out), "--examples",
         str(EXAMPLES), "--timeout", "2", "--workers", "2", "--seed", "0", "-q", "--no-fix", *extra],  # one seed
        capture_output=True, text=True, timeout=900, env=run_env({"GRADCHECK_TEST_SECRET": secret}),
        cwd=folder.parent,
    )


def rows_of(out: Path) -> dict[str, dict[str, str]]:
    """The rows of ``out/grades.csv`` by id (none when the run lost its gradebook)."""
    if not (out / "grades.csv").is_file():
        return {}
    with open(out / "grades.csv", newline="", encoding="utf-8") as handle:
        return {row["submission"]: row for row in csv.DictReader(handle)}


def snapshot(folder: Path) -> dict[bytes, str]:
    """Every path under ``folder`` (links not followed; no recursion: one entry is 1100 folders deep)."""
    seen, stack = {}, [os.fsencode(folder)]
    while stack:
        for entry in os.scandir(stack.pop()):
            if entry.is_symlink():
                seen[entry.path] = "link " + os.fsdecode(os.readlink(entry.path))
            elif entry.is_dir(follow_symlinks=False):
                seen[entry.path] = "folder"
                stack.append(entry.path)
            elif entry.is_file(follow_symlinks=False):
                with open(entry.path, "rb") as handle:
                    seen[entry.path] = hashlib.sha256(handle.read()).hexdigest()
            else:
                seen[entry.path] = "other"
    return seen


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    root = tmp_path_factory.mktemp("hostile")
    folder = root / "class"
    folder.mkdir()
    honest = {ident: add_honest(folder, ident, ZOO / name)
              for ident, name in (("h00", "correct_course.py"), ("h01", "bug_db_wrong.py"))}
    (folder / "zoe_smith.py").write_text(CORRECT + "\n# zoe\n")
    out = root / "out"
    expect = add_hostile_entries(folder, classmate="h00.py", gradebook=out / "grades.csv")
    try:  # the 1100-folder tree is removed whatever happens: pytest's own clean-up cannot (it recurses)
        before = snapshot(folder)
        started = time.monotonic()
        done = grade_cli(folder, out)
        seconds = time.monotonic() - started
        outputs = {path: path.read_bytes() for path in out.rglob("*") if path.is_file()
                   and path.suffix != ".sqlite" and not path.name.endswith(("-wal", "-shm"))} if out.is_dir() else {}
        yield SimpleNamespace(root=root, folder=folder, out=out, expect=expect, done=done, seconds=seconds,
                              honest=honest, before=before, after=snapshot(folder), rows=rows_of(out),
                              outputs=outputs)
    finally:
        remove_deep(folder)


def test_every_entry_gets_its_row_and_the_gradebook_is_written(run: SimpleNamespace) -> None:
    assert run.done.returncode == 1, run.done.stderr  # documented: some entries could not be graded
    assert set(run.rows) == {"h00", "h01", "zoe_smith", *run.expect}
    for ident, (outcome, fragment) in run.expect.items():
        row = run.rows[ident]
        assert row["outcome"] == outcome, (ident, row)
        if fragment is not None:
            assert fragment in row["load_error"], (ident, row["load_error"])
    errors = sorted(ident for ident, (outcome, _) in run.expect.items() if outcome == "error")
    assert f"{len(errors)} could not be graded: {', '.join(errors)}" in run.done.stderr
    assert run.seconds < 300  # /proc/kmsg, a FIFO and 1100 folders never blocked the run


def test_honest_classmates_are_graded_as_check_grades_them(run: SimpleNamespace, tmp_path: Path) -> None:
    for ident, path in run.honest.items():
        want = expected_row(path, tmp_path, examples=EXAMPLES, timeout=2.0)
        row = run.rows[ident]
        assert {fn: row[fn] for fn in CONTRACT_FUNCTIONS} == {fn: want[fn] for fn in CONTRACT_FUNCTIONS}, ident
        assert (row["passed"], row["score"], row["outcome"]) == (want["passed"], want["score"], "graded")
        assert row["path"] == path.relative_to(run.folder.parent).as_posix()
    assert run.rows["h01"]["conv_backward"] == "fail" and run.rows["h00"]["passed"] == "true"


def test_an_archive_never_takes_a_classmates_id(run: SimpleNamespace) -> None:
    assert "h00-2" not in run.rows  # eve.zip holds a file named h00.py: it is eve's
    assert run.rows["eve"]["path"] == "class/eve.zip:h00.py"
    assert run.rows["h00"]["path"] == "class/h00.py"


def test_colliding_ids_are_listed_never_merged(run: SimpleNamespace) -> None:
    assert run.rows["zoe_smith"]["path"] == "class/zoe_smith.py"  # the exact name keeps its id
    assert {run.rows[i]["path"] for i in ("zoe_smith-2", "zoe_smith-3")} == {"class/zoe smith.py",
                                                                            "class/zoé_smith.py"}
    listed = ("give the same id, each graded under its own: zoe_smith-2 (class/zoe smith.py), "
              "zoe_smith (class/zoe_smith.py), zoe_smith-3 (class/zoé_smith.py)")
    assert listed in run.done.stdout
    page = (run.out / "class.md").read_text(encoding="utf-8")
    assert "## Names that give the same id" in page and "zoe\\_smith-2 (class/zoe smith.py)" not in page
    assert "- zoe_smith-2 (class/zoe smith.py), zoe_smith (class/zoe_smith.py), zoe_smith-3" in page


def test_nothing_outside_a_submission_reaches_an_output(run: SimpleNamespace) -> None:
    shadow = Path("/etc/shadow").read_bytes().split(b"\n")[0] if os.access("/etc/shadow", os.R_OK) else b""
    for path, data in run.outputs.items():
        assert SECRET.encode() not in data, path  # the grader's environment
        assert not shadow or shadow not in data, path
    mallory = run.rows["mallory"]
    assert mallory["outcome"] == "error" and mallory["report"] == ""  # refused before anything was read
    assert not (run.out / "submissions" / "mallory").exists()


def test_nothing_is_written_outside_the_output_folder(run: SimpleNamespace) -> None:
    assert run.after == run.before
    assert sorted(p.name for p in run.root.iterdir()) == ["class", "out"]


def test_gradebook_cells_are_one_line_and_never_formulas(run: SimpleNamespace) -> None:
    text = (run.out / "grades.csv").read_text(encoding="utf-8")
    with open(run.out / "grades.csv", newline="", encoding="utf-8") as handle:
        table = list(csv.reader(handle))
    assert len(table) == 1 + len(run.rows) == len(text.splitlines())
    for line in table[1:]:
        for cell in line:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell
            assert not re.search(r"[\x00-\x1f\x7f-\x9f]", cell), cell
    formula = run.rows["HYPERLINK_evil.example_click"]
    assert formula["load_error"].startswith("'=HYPERLINK(\"evil.example\",\"click\").py: syntax error")
    assert run.rows["latin"]["path"] == "class/latin\\udce9.py" and run.rows["latin"]["passed"] == "true"


def test_no_output_holds_a_raw_control_character(run: SimpleNamespace) -> None:
    for path, data in run.outputs.items():
        if path.suffix in (".csv", ".md", ".html", ".json"):
            assert not re.search(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", data), path
            data.decode("utf-8")  # strict: no lone surrogate was written raw
    assert "\\x1b[2J\\x1b]0;pwned" in run.rows["escapes"]["load_error"]


def _outside_fences(markdown: str) -> list[str]:
    lines, fence = [], None
    for line in markdown.splitlines():
        opening = re.match(r"^(`{3,}|~{3,})", line)
        if fence is None and opening:
            fence = opening.group(1)
        elif fence is not None and line.startswith(fence) and not line.strip("`~"):
            fence = None
        elif fence is None:
            lines.append(line)
    return lines


def test_markdown_and_gradescope_outputs_cannot_be_forged(run: SimpleNamespace) -> None:
    forged = run.out / "submissions" / "forged"
    texts = [(forged / "report.md").read_text(encoding="utf-8"), (run.out / "class.md").read_text(encoding="utf-8")]
    results = json.loads((forged / "results.json").read_text(encoding="utf-8"))
    texts += [results["output"], *(test["output"] for test in results["tests"])]
    assert any("## Score: 8/8 passed" in text for text in texts)  # the text is there, as data
    for text in texts:
        for line in _outside_fences(text):
            assert "Score: 8/8" not in line or not line.lstrip().startswith("#"), line
            assert "<script" not in line and "<img" not in line, line
    try:  # rendered by a CommonMark renderer, when one is installed
        import markdown_it
    except ImportError:
        return
    for text in texts:
        page = markdown_it.MarkdownIt("commonmark").render(text)
        assert "<script" not in page and "<img" not in page and "<h2>Score" not in page


def test_a_lone_surrogate_or_nul_costs_no_report(run: SimpleNamespace) -> None:
    row = run.rows["surrogate"]
    assert (row["outcome"], row["passed"]) == ("graded", "true")
    report = (run.out / row["report"] / "report.md").read_text(encoding="utf-8")
    assert "odd \\\\udcff \\\\x00 text" in report  # shown as escapes (backslashes escaped for Markdown)


@pytest.mark.slow
def test_eighty_honest_and_twenty_hostile_entries_write_a_hundred_rows(tmp_path: Path) -> None:
    folder = tmp_path / "class"
    folder.mkdir()
    zoo = sorted(p for p in ZOO.glob("*.py") if p.name not in ("__init__.py", "manifest.py", "course_loops.py"))
    zoo = [p for p in zoo if p.name.startswith("correct_")] + zoo[:8]  # every correct implementation, 8 bugs
    for index in range(79):  # about 15 distinct submissions, each five times: the store grades each once
        add_honest(folder, f"h{index:02d}", zoo[index % len(zoo)])
    (folder / "zoe_smith.py").write_text(CORRECT + "\n# zoe\n")
    honest = grade_cli(folder, tmp_path / "honest")
    assert honest.returncode == 0, honest.stderr
    expect = add_hostile_entries(folder, classmate="h00.py", gradebook=tmp_path / "mixed" / "grades.csv")
    try:
        mixed = grade_cli(folder, tmp_path / "mixed")
    finally:
        remove_deep(folder)
    assert mixed.returncode == 1, mixed.stderr
    before, after = rows_of(tmp_path / "honest"), rows_of(tmp_path / "mixed")
    assert len(before) == 80 and len(after) == 100
    for ident, row in before.items():
        assert {k: v for k, v in after[ident].items() if k != "duration_s"} == {
            k: v for k, v in row.items() if k != "duration_s"}, ident
    assert {ident: after[ident]["outcome"] for ident in expect} == {i: o for i, (o, _) in expect.items()}
