"""The gradebook: one row per submission (``grades.csv``) and its per-submission outputs.

A row (:class:`Row`) is built from a :class:`~gradcheck.grade.sources.Submission`
and its stored task result. Columns (DESIGN.md, grading contract): ``submission``,
``passed``, ``score``, ``max_score``, one column per function (its worst status) of
each convention the class submits (``gradcheck.conventions``: the article's eight, in
the contract's order, then CS231n's four ``*_naive`` layers when a submission is
CS231n's; a row's cells of another convention's functions are empty), ``load_error``,
``duration_s``, ``sha256``; then ``outcome`` (``graded``,
``crashed``, ``timeout``, ``error`` for an internal error or a submission that could not be
read safely, ``odd`` for an entry that is not a submission), ``same_as`` (the first
submission with identical bytes), ``isolation``, ``report`` (the report folder, relative to
``--out``), ``isolation_reason`` (why that level: the request, or what ``auto`` passed over),
``convention`` (whose contract judged the row: ``article`` or ``cs231n``, from the functions its
source defines), ``path`` (what was graded: the file, or the folder or archive and the file
in it) and ``assignment`` (the assignment whose layers were graded, ``gradcheck.plans``:
``cs231n-a2``, ``dls-c1w4``, ...; empty for the convolution notebook alone; each assignment's
functions get their columns after the conventions', ``gradcheck.grade.courses``) and ``review``
(what in the submission's source looks at the process it runs in, ``report.review``: no verdict
depends on it, a person should read that code; empty for most). Every text
cell goes through :func:`gradcheck.render.escape.csv_cell` (one line, never a formula).

Per submission, ``submissions/<id>/`` holds what ``gradcheck check --report``
writes (``report.json``, ``report.md``, ``report.html``, ``images/``) and the
Gradescope ``results.json``: one test per required function worth one point
(missing ones failed, with their point), one test of no points per other function.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gradcheck.conventions import ARTICLE, CONVENTIONS, CS231N, Convention, convention, detect
from gradcheck.grade.courses import Course, course
from gradcheck.grade.sources import Submission
from gradcheck.grade.task import convention_of, function_statuses, score
from gradcheck.plans.convolution import CONTRACT_FUNCTIONS
from gradcheck.render.escape import csv_cell, file_text, md_block

LEADING = ("submission", "passed", "score", "max_score")
TRAILING = (
    "load_error", "duration_s", "sha256", "outcome", "same_as", "isolation", "report", "isolation_reason",
    "convention", "path", "assignment", "review",
)
COLUMNS = (*LEADING, *CONTRACT_FUNCTIONS, *TRAILING)  # a class of the article's course

NO_FUNCTIONS = (
    "defines none of the functions of an assignment gradcheck checks: the article's ({article}), CS231n's "
    "({cs231n}) or an assignment's (gradcheck check --help lists them); name the functions as the "
    "assignment's template does"
)


def courses_of(rows: list[Row]) -> list[Course]:
    """The courses the class submits, in a fixed order (the article's first); the article's
    for a class of none."""
    present = {(row.convention, row.assignment or "") for row in rows if row.convention}
    found = sorted({course(name, assignment) for name, assignment in present}, key=lambda known: known.order)
    return found or [course("article", None)]


def conventions_of(rows: list[Row]) -> list[Convention]:
    """The conventions whose convolution layers the class submits (the article's first)."""
    present = {known.name for known in courses_of(rows) if known.convolution}
    return [known for known in CONVENTIONS.values() if known.name in present]


def columns(rows: list[Row]) -> tuple[str, ...]:
    """The gradebook's columns for ``rows``: one set of function columns per course present."""
    functions = [name for known in courses_of(rows) for name in known.shown_functions]
    return (*LEADING, *dict.fromkeys(functions), *TRAILING)


@dataclass
class Row:
    """One submission's line in the gradebook (and what the class page needs)."""

    submission: Submission
    outcome: str  # graded | crashed | timeout | error | odd
    passed: bool = False
    score: int = 0
    max_score: int = 0
    statuses: dict[str, str] = field(default_factory=dict)
    load_error: str | None = None
    duration_s: float | None = None
    isolation: str | None = None
    isolation_reason: str | None = None
    same_as: str = ""
    report: dict[str, Any] | None = None  # Report.to_dict(), when graded
    convention: str | None = None  # whose functions (gradcheck.conventions); None for an entry that is no submission
    assignment: str | None = None  # the assignment whose layers were graded (gradcheck.plans), None for none
    review: list[str] = field(default_factory=list)  # what in the source looks at the process (report.review)

    @property
    def report_dir(self) -> str:
        return f"submissions/{self.submission.id}" if self.report is not None else ""

    def csv_values(self, functions: tuple[str, ...] = CONTRACT_FUNCTIONS) -> list[str]:
        """The row's cells; ``functions``: the gradebook's function columns."""
        sub = self.submission
        values = [sub.id, "true" if self.passed else "false", str(self.score), str(self.max_score)]
        values += [self.statuses.get(name, "") for name in functions]
        load_error = self.load_error or ""
        values += [
            " ".join(load_error.split())[:500],
            "" if self.duration_s is None else f"{self.duration_s:.2f}",
            sub.sha256, self.outcome, self.same_as, self.isolation or "", self.report_dir,
            " ".join((self.isolation_reason or "").split()),
            self.convention or "", sub.path or sub.label, self.assignment or "",
            " ".join("; ".join(self.review).split())[:500],
        ]
        return [csv_cell(value) for value in values]


_DEFINED = re.compile(r"(?:^|[\s\"'])def\s+([A-Za-z_][A-Za-z0-9_]*)\s*\(", re.MULTILINE)


def declared_course(submission: Submission, assignment: str = "auto") -> Course:
    """The course of a submission's entry file, read from its source (no code runs): its
    convention, and its assignment (``assignment``, or the one its functions show)."""
    from gradcheck.plans import plan_for

    try:
        text = submission.read_files().get(submission.target or "", b"")
    except Exception:  # noqa: BLE001 - unreadable: the article's, as for a file defining nothing
        text = b""
    names = set(_DEFINED.findall(text.decode("utf-8", errors="replace")))
    plan = plan_for(assignment, names)
    named = plan.convention if plan is not None and plan.convention else detect(names)
    return Course(convention(named), plan)


def declared_convention(submission: Submission) -> Convention:
    """The convention of a submission's entry file, read from its source (no code runs)."""
    return declared_course(submission).convention


def make_row(submission: Submission, result: dict[str, Any] | None, required: tuple[str, ...],
             assignment: str = "auto") -> Row:
    """The row of ``submission`` given its task ``result`` (None for an odd entry); ``required``
    in contract (or assignment) names, asked of the submission's course only; ``assignment``:
    the grading run's setting (what a submission that was not graded is taken for)."""
    if submission.error is not None:  # a submission that could not be read safely
        return Row(submission, "error", max_score=len(required), load_error=submission.error)
    if submission.odd is not None or result is None:
        return Row(submission, "odd", max_score=len(required), load_error=submission.odd)
    outcome = result["outcome"]
    if outcome != "graded":
        named = declared_course(submission, assignment)
        statuses = function_statuses(None, named)
        if outcome == "timeout":
            statuses = {name: "timeout" for name in named.shown_functions}
        return Row(submission, outcome, max_score=len(named.required(required)), statuses=statuses,
                   load_error=result.get("error", "").strip().splitlines()[-1:][0] if result.get("error") else None,
                   duration_s=result.get("duration_s"), convention=named.name, assignment=named.assignment or None)
    report = result["report"]
    named = convention_of(report)
    statuses = function_statuses(report, named)
    passed, points, max_score = score(statuses, required, bool(report.get("passed")), named)
    load_error = report.get("load_error")
    if load_error is None and all(status == "missing" for status in statuses.values()):
        load_error = NO_FUNCTIONS.format(article=", ".join(ARTICLE.shown_functions),
                                         cs231n=", ".join(CS231N.shown_functions))
        passed, statuses = False, {}  # said once, in load_error: not a column of missing cells
    return Row(submission, "graded", passed=passed, score=points, max_score=max_score, statuses=statuses,
               load_error=load_error, duration_s=result.get("duration_s"),
               isolation=result.get("isolation"), isolation_reason=report.get("isolation_reason"), report=report,
               convention=named.name, assignment=named.assignment or None,
               review=[str(item) for item in report.get("review") or []])


def mark_duplicates(rows: list[Row]) -> None:
    """Set ``same_as`` to the first submission (in row order) with identical bytes."""
    first: dict[str, str] = {}
    for row in rows:
        sha = row.submission.sha256
        if not sha:
            continue
        if sha in first:
            row.same_as = first[sha]
        else:
            first[sha] = row.submission.id


def grades_csv(rows: list[Row]) -> str:
    """The text of ``grades.csv`` (header, then one line per row, in row order)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    header = columns(rows)
    writer.writerow(header)
    functions = header[len(LEADING) : len(header) - len(TRAILING)]
    for row in rows:
        writer.writerow(row.csv_values(functions))
    return buffer.getvalue()


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename (readers never see half)."""
    temporary = path.with_name(f".{path.name}.tmp")
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write(file_text(text))
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def gradescope_for_grade(
    report_dict: dict[str, Any], required: tuple[str, ...], expected: Course | str | None = None
) -> dict[str, Any]:
    """Gradescope ``results.json`` where every required function is a test worth one point,
    named as the submission's convention names it (``expected``: the convention of a
    submission that could not be graded, whose report names no function).

    A required function passes (1 point) when every check of it passes; a missing
    one is a failed test with its point. Other functions the submission defines are
    tests worth 0 points. The top-level ``score`` is the gradebook's score.
    """
    from gradcheck.render.report import gradescope_results
    from gradcheck.verdict.results import Report

    report = Report.from_dict(report_dict)
    base = gradescope_results(report)
    named = convention_of(report_dict, expected)
    functions = named.shown_functions
    by_function: dict[str, list[dict[str, Any]]] = {}
    for test in base["tests"]:
        function = test["name"].split(":", 1)[0]
        if function in functions:
            by_function.setdefault(function, []).append(test)
    statuses = function_statuses(report_dict, named)
    passed, points, max_score = score(statuses, required, report.passed, named)
    asked = named.required(required)
    tests = []
    for name in functions:
        status = statuses[name]
        worth = 1.0 if name in asked else 0.0
        if status == "missing" and name not in asked:
            continue
        if status == "missing":
            why = (f"The submission could not be loaded:\n\n{md_block(report.load_error)}"
                   if report.load_error else f"`{name}` is required but the submission does not define it.")
            output = f"**missing** (required)\n\n{why}"
        else:
            parts = [f"**{status}**"] + [f"#### {t['name']}\n\n{t['output']}" for t in by_function.get(name, [])]
            output = "\n\n".join(parts)
        ok = status == "pass"
        tests.append({
            "name": name + ("" if name in asked else " (not required)"),
            "status": "passed" if ok else "failed",
            "score": worth if ok else 0.0,
            "max_score": worth,
            "output": output,
            "output_format": "md",
            "visibility": "visible",
        })
    results = dict(base)
    results["tests"] = tests
    results["score"] = float(points)
    results["extra_data"] = {**base.get("extra_data", {}), "passed": passed, "max_score": max_score,
                             "required": list(asked), "convention": named.name,
                             "assignment": named.assignment or None}
    return results


def write_submission_outputs(out: Path, row: Row, required: tuple[str, ...],
                             files: dict[str, bytes] | None = None) -> None:
    """``out/submissions/<id>/``: the ``check --report`` folder and Gradescope ``results.json``.

    ``files``: that folder as rendered by the task; without them it is rendered here
    from the stored report (a run resumed after the folder was lost)."""
    if row.report is None:
        return
    folder = out / row.report_dir
    if files is None:
        from gradcheck.render.report import write_report_dir
        from gradcheck.verdict.results import Report

        write_report_dir(Report.from_dict(row.report), folder)
    else:
        for rel, data in files.items():
            path = folder.joinpath(*rel.split("/"))
            if ".." in rel.split("/") or rel.startswith("/"):
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
    text = json.dumps(gradescope_for_grade(row.report, required), indent=2, allow_nan=False) + "\n"
    write_atomic(folder / "results.json", text)
