"""The coordinator of ``gradcheck grade``: discover, grade what the store lacks, write ``--out``.

Order of work: find the submissions (:mod:`~gradcheck.grade.sources`); open
``OUT/grades.sqlite`` (:mod:`~gradcheck.grade.store`); send each distinct
(bytes, settings) key the store lacks to the executor, once; commit each result
as it arrives, then write that submission's report folder; finally rewrite
``grades.csv``, ``class.md`` and ``class.html`` from the store. The coordinator never
imports submitted code, and it alone writes ``OUT``.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, TextIO

from gradcheck.api import DEFAULT_EXAMPLES, DEFAULT_TIMEOUT
from gradcheck.contract import CONTRACT_FUNCTIONS
from gradcheck.conventions import CS231N, contract_name
from gradcheck.errors import UsageError
from gradcheck.grade.gradebook import Row, grades_csv, make_row, mark_duplicates, write_atomic, write_submission_outputs
from gradcheck.grade.sources import Submission, collisions, discover
from gradcheck.grade.store import Store, result_key
from gradcheck.grade.task import Settings

STORE_NAME = "grades.sqlite"


@dataclass
class GradeRun:
    """What one ``grade`` call did: the rows, and how many keys it graded now."""

    rows: list[Row]
    graded_now: int
    reused: int
    out: Path
    collisions: list[list[Submission]] = field(default_factory=list)  # entries whose names gave one id

    @property
    def ungraded(self) -> list[Row]:
        """Rows that could not be graded (crashed, timeout, internal error): exit status 1."""
        return [row for row in self.rows if row.outcome not in ("graded", "odd")]


class Progress:
    """``done/total, failures, rate, ETA`` on one stderr line (rewritten in place on a terminal)."""

    def __init__(self, total: int, stream: TextIO | None = None, enabled: bool = True):
        self.total, self.done, self.failures = total, 0, 0
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.started = time.monotonic()
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.last = float("-inf")

    def line(self) -> str:
        elapsed = max(time.monotonic() - self.started, 1e-9)
        rate = self.done / elapsed
        eta = (self.total - self.done) / rate if rate > 0 else float("nan")
        eta_text = "?" if eta != eta else f"{eta:.0f} s"
        return (f"gradcheck grade: {self.done}/{self.total} graded, {self.failures} not passing, "
                f"{rate * 60:.1f}/min, ETA {eta_text}")

    def step(self, passed: bool) -> None:
        self.done += 1
        self.failures += 0 if passed else 1
        now = time.monotonic()
        if self.enabled and (self.tty or self.done == self.total or now - self.last >= 2.0):
            end = "\r" if self.tty and self.done < self.total else "\n"
            print(self.line(), end=end, file=self.stream, flush=True)  # a log gets a line per 2 s
            self.last = now


SEED_FILE = ".gradcheck-seed"


def class_seed(out: Path) -> int:
    """The class's secret seed: drawn from the system's randomness the first time, kept in
    ``out/.gradcheck-seed`` (readable by the grader alone) so that a re-run grades the same cases.
    The cases of a run are a function of the seed, so a public seed would let a submission be
    fitted to them."""
    import secrets

    path = out / SEED_FILE
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        seed = secrets.randbelow(2**31)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(f"{seed}\n")
        return seed


def parse_require(text: str | Sequence[str] | None) -> tuple[str, ...]:
    """``None``/``"all"``: every function of every course (each submission is asked for its own
    course's: CS231n's four layers, the article's eight, its assignment's); else the named ones,
    in either course's names (``conv_forward`` or ``conv_forward_naive``), as contract names in
    contract order, then the assignments' names."""
    from gradcheck.api import _known_names

    known = _known_names()
    if text is None or text == "all":
        return known
    names = [contract_name(n.strip()) for n in (text.split(",") if isinstance(text, str) else text) if n.strip()]
    unknown = [n for n in names if n not in known]
    if unknown or not names:
        raise UsageError(f"--require {text!r}: unknown function(s) {unknown}; "
                         f"choose from all, {', '.join(CONTRACT_FUNCTIONS)} "
                         f"(or CS231n's {', '.join(CS231N.shown_functions)}), or an assignment's functions "
                         "(gradcheck check --help lists the assignments)")
    return tuple(n for n in known if n in names)


def _marker(key: str, required: tuple[str, ...]) -> str:
    return f"{key} {','.join(required)}\n"


def _slim(row: Row) -> Row:
    """Drop the report's arrays once its folder is written (the class page needs verdicts only):
    a class of thousands stays small in memory."""
    if row.report is not None:
        heavy = ("detail", "step_sweep")
        checks = [{k: v for k, v in check.items() if k not in heavy} for check in row.report.get("checks", [])]
        row.report = {**row.report, "checks": checks}
    return row


def _write_outputs(out: Path, row: Row, key: str, required: tuple[str, ...],
                   files: dict[str, bytes] | None = None) -> None:
    """The submission's report folder, unless already written for this key and requirement."""
    if row.report is None:
        return
    marker = out / row.report_dir / ".grade-key"
    if files is None and marker.is_file() and marker.read_text() == _marker(key, required):
        return
    write_submission_outputs(out, row, required, files)
    write_atomic(marker, _marker(key, required))


def grade(
    sources: Sequence[str],
    out: str | Path,
    *,
    executor: Any = None,
    examples: int = DEFAULT_EXAMPLES,
    seed: int | None = 0,
    timeout: float = DEFAULT_TIMEOUT,
    require: str | Sequence[str] | None = None,
    progress: bool = True,
    stream: TextIO | None = None,
    convention: str = "auto",
    assignment: str = "auto",
) -> GradeRun:
    """Grade every submission in ``sources`` into ``out``; return the rows.

    ``executor``: a :class:`~gradcheck.grade.executors.LocalExecutor` (default: one
    process per core) or :class:`~gradcheck.grade.executors.DaskExecutor`.
    """
    from gradcheck.grade.classpage import write_class_pages

    required = parse_require(require)
    if isinstance(examples, bool) or not isinstance(examples, int) or examples < 1:
        raise UsageError(f"examples must be an integer >= 1, got {examples!r}")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise UsageError(f"seed must be an integer >= 0 or None (a secret seed for the class), got {seed!r}")
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 < timeout < float("inf"):
        raise UsageError(f"timeout must be a positive number of seconds, got {timeout!r}")
    if executor is None:
        from gradcheck.grade.executors import LocalExecutor

        executor = LocalExecutor()
    out = Path(out)
    submissions = discover(list(sources), exclude=[out])
    out.mkdir(parents=True, exist_ok=True)
    seed = class_seed(out) if seed is None else seed
    settings = Settings(examples=examples, seed=seed, timeout=timeout, convention=convention,
                        assignment=assignment).key_fields()
    keys = {s.id: result_key(s.sha256, settings) for s in submissions if s.gradable}
    by_key: dict[str, Submission] = {}
    for submission in submissions:
        if submission.gradable:
            by_key.setdefault(keys[submission.id], submission)  # identical bytes: graded once
    rows: dict[str, Row] = {}
    with Store(out / STORE_NAME) as store:
        done = store.keys()
        todo = [(key, s) for key, s in by_key.items() if key not in done]
        meter = Progress(len(todo), stream=stream, enabled=progress)
        sharing: dict[str, list[Submission]] = {}
        for submission in submissions:
            if submission.gradable:
                sharing.setdefault(keys[submission.id], []).append(submission)

        def on_done(key: str, result: dict[str, Any], attempts: int) -> None:
            first = by_key[key]
            store.put(key, first.sha256, settings, result, attempts)  # committed before anything else
            for submission in sharing[key]:
                row = make_row(submission, result, required, assignment)
                rows[submission.id] = row
                _write_outputs(out, row, key, required, result.get("files", {}))
                _slim(row)
            meter.step(rows[first.id].passed)

        tasks = [(key, partial(_payload, s, settings)) for key, s in todo]  # files read when sent
        if tasks:
            executor.run(tasks, on_done)
        for submission in submissions:
            if submission.id in rows:
                continue
            stored = store.get(keys[submission.id]) if submission.gradable else None
            row = make_row(submission, None if stored is None else stored["result"], required, assignment)
            if stored is not None:
                _write_outputs(out, row, keys[submission.id], required)
            rows[submission.id] = _slim(row)
    ordered = [rows[s.id] for s in submissions]
    mark_duplicates(ordered)
    write_atomic(out / "grades.csv", grades_csv(ordered))
    clashes = collisions(submissions)
    write_class_pages(out, ordered, required, clashes)
    return GradeRun(ordered, graded_now=len(todo), reused=len(by_key) - len(todo), out=out, collisions=clashes)


def _payload(submission: Submission, settings: dict[str, Any]) -> dict[str, Any]:
    return {"label": submission.label, "target": submission.target, "files": submission.read_files(),
            "settings": settings}
