"""The coordinator of ``gradcheck grade``: discover, grade what the store lacks, write ``--out``.

Order of work: find the submissions (:mod:`~gradcheck.grade.sources`); make ``OUT``
private (0700, files 0600) and open ``OUT/grades.sqlite`` (:mod:`~gradcheck.grade.store`);
send each distinct (bytes, settings) key the store lacks to the executor, once, with its
own seed (an HMAC of its bytes under the class's secret, unless ``--seed``) and the run's
private work folder; commit each result as it arrives (never an internal error: the next run
grades it again), write that submission's report folder and rewrite ``grades.csv`` (at
most every 2 s); finally write ``grades.csv``, ``class.md`` and ``class.html`` whole. The
coordinator never imports submitted code, and it alone writes ``OUT``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, TextIO

from gradcheck.api import DEFAULT_EXAMPLES, DEFAULT_TIMEOUT
from gradcheck.conventions import CS231N, contract_name
from gradcheck.errors import UsageError
from gradcheck.grade.gradebook import Row, grades_csv, make_row, mark_duplicates, write_atomic, write_submission_outputs
from gradcheck.grade.sources import Submission, collisions, discover
from gradcheck.grade.store import Store, result_key
from gradcheck.grade.task import DEFAULT_MAX_TIME, Settings
from gradcheck.plans.convolution import CONTRACT_FUNCTIONS

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


SECRET_FILE = ".gradcheck-secret"


def class_secret(out: Path) -> bytes:
    """The class's secret (32 random bytes): drawn from the system's randomness the first time,
    kept in ``out/.gradcheck-secret`` (0600, in the 0700 ``out``), never shown. Each submission's
    seed is derived from it and the submission's bytes (:func:`submission_seed`)."""
    import secrets

    path = out / SECRET_FILE
    try:
        secret = bytes.fromhex(path.read_text().strip())
        if len(secret) >= 16:
            return secret
    except (OSError, ValueError):
        pass
    secret = secrets.token_bytes(32)
    temporary = path.with_name(f".{path.name}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(secret.hex() + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    return secret


def submission_seed(secret: bytes, sha256: str) -> int:
    """The seed of the submission whose bytes hash to ``sha256``: HMAC-SHA256 of it under the class
    secret, below 2**31. The cases of a check are a function of its seed, so a student who reads
    the seed in a report knows the cases of that file only: any changed file gets a seed no one
    can predict without the secret (256 bits: not to be found from seeds shown)."""
    import hashlib
    import hmac

    digest = hmac.new(secret, b"gradcheck submission seed\0" + sha256.encode(), hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big") % (2**31)


def _secret_id(secret: bytes) -> str:
    """What the store's key says of the secret: a hash that changes with it and reveals nothing."""
    import hashlib

    return hashlib.sha256(b"gradcheck secret id\0" + secret).hexdigest()[:16]


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
    max_time: float | None = DEFAULT_MAX_TIME,
    fix_budget: float = 0.0,
) -> GradeRun:
    """Grade every submission in ``sources`` into ``out``; return the rows.

    ``executor``: a :class:`~gradcheck.grade.executors.LocalExecutor` (default: one
    process per core) or :class:`~gradcheck.grade.executors.DaskExecutor`. ``seed``: every
    submission's seed, or None: a seed per submission derived from the class's secret and
    its bytes (:func:`submission_seed`). ``max_time``: each submission's time budget
    (``gradcheck.check``'s ``max_time``: functions not reached get ``timeout``; None: none).
    ``fix_budget``: seconds of fix search for each failing submission (``gradcheck.check``'s; 0:
    none), so that the class page can group the class by the fix each submission needs.
    """
    from gradcheck.grade.classpage import write_class_pages

    required = parse_require(require)
    if isinstance(examples, bool) or not isinstance(examples, int) or examples < 1:
        raise UsageError(f"examples must be an integer >= 1, got {examples!r}")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise UsageError(f"seed must be an integer >= 0 or None (a secret seed per submission), got {seed!r}")
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 < timeout < float("inf"):
        raise UsageError(f"timeout must be a positive number of seconds, got {timeout!r}")
    if max_time is not None and (isinstance(max_time, bool) or not isinstance(max_time, int | float)
                                 or not 0 < max_time < float("inf")):
        raise UsageError(f"max_time must be a positive number of seconds or None, got {max_time!r}")
    if isinstance(fix_budget, bool) or not isinstance(fix_budget, int | float) or not 0 <= fix_budget < float("inf"):
        raise UsageError(f"fix_budget must be a number of seconds >= 0, got {fix_budget!r}")
    if executor is None:
        from gradcheck.grade.executors import LocalExecutor

        executor = LocalExecutor()
    out = Path(out)
    submissions = discover(list(sources), exclude=[out])
    umask = os.umask(0o077)  # what the grader writes is its own: no classmate (no worker's uid) reads it
    try:
        private_folder(out)
        secret = class_secret(out) if seed is None else None
        settings = Settings(examples=examples, seed=0 if seed is None else seed, timeout=timeout,
                            convention=convention, assignment=assignment, max_time=max_time,
                            fix_budget=float(fix_budget)).key_fields()
        if secret is not None:
            settings["seed"] = f"per submission, secret {_secret_id(secret)}"
        book = _Gradebook(out, submissions, required, assignment)
        with work_folder(out) as work, Store(out / STORE_NAME) as store:
            graded_now, reused = book.run(store, executor, settings, secret, work,
                                          lambda total: Progress(total, stream=stream, enabled=progress))
        ordered = [book.rows[s.id] for s in submissions]
        book.write_csv(final=True)
        clashes = collisions(submissions)
        write_class_pages(out, ordered, required, clashes)
    finally:
        os.umask(umask)
    return GradeRun(ordered, graded_now=graded_now, reused=reused, out=out, collisions=clashes)


class _Gradebook:
    """The rows of one ``grade`` call, as they come: reused from the store, graded now, or entries
    that are no submission; ``grades.csv`` rewritten (atomically) as results arrive."""

    CSV_INTERVAL = 2.0  # seconds between two rewrites of grades.csv while grading

    def __init__(self, out: Path, submissions: list[Submission], required: tuple[str, ...], assignment: str):
        self.out, self.submissions, self.required, self.assignment = out, submissions, required, assignment
        self.rows: dict[str, Row] = {}
        self.written = float("-inf")

    def write_csv(self, final: bool = False) -> None:
        """``grades.csv`` with every row known so far, in discovery order (all of them at the end)."""
        now = time.monotonic()
        if not final and now - self.written < self.CSV_INTERVAL:
            return
        ordered = [self.rows[s.id] for s in self.submissions if s.id in self.rows]
        mark_duplicates(ordered)
        write_atomic(self.out / "grades.csv", grades_csv(ordered))
        self.written = now

    def run(self, store: Store, executor: Any, settings: dict[str, Any], secret: bytes | None, work: str,
            progress: Callable[[int], Progress]) -> tuple[int, int]:
        """Grade what the store lacks; (keys graded now, keys reused from the store)."""
        out, required, assignment = self.out, self.required, self.assignment
        submissions = self.submissions
        keys = {s.id: result_key(s.sha256, settings) for s in submissions if s.gradable}
        by_key: dict[str, Submission] = {}
        for submission in submissions:
            if submission.gradable:
                by_key.setdefault(keys[submission.id], submission)  # identical bytes: graded once
        done = store.done_keys()  # an internal error is never a result: graded again
        todo = [(key, s) for key, s in by_key.items() if key not in done]
        sharing: dict[str, list[Submission]] = {}
        for submission in submissions:
            if submission.gradable:
                sharing.setdefault(keys[submission.id], []).append(submission)
        for submission in submissions:  # what is known before anything runs
            key = keys.get(submission.id)
            if submission.gradable and key not in done:
                continue
            stored = store.get(key) if key is not None else None
            row = make_row(submission, None if stored is None else stored["result"], required, assignment)
            if stored is not None:
                _write_outputs(out, row, key, required)
            self.rows[submission.id] = _slim(row)
        self.write_csv()
        meter = progress(len(todo))

        def on_done(key: str, result: dict[str, Any], attempts: int) -> None:
            first = by_key[key]
            if seeds[key] is not None:
                result = {**result, "seed": seeds[key]}  # this key's own seed, kept with its result
            if result.get("outcome") != "error":  # an internal error (a full disk...) is retried next run
                store.put(key, first.sha256, settings, result, attempts)  # committed before anything else
            for submission in sharing[key]:
                row = make_row(submission, result, required, assignment)
                self.rows[submission.id] = row
                _write_outputs(out, row, key, required, result.get("files", {}))
                _slim(row)
            meter.step(self.rows[first.id].passed)
            self.write_csv()

        seeds = {key: None if secret is None else submission_seed(secret, s.sha256) for key, s in todo}
        tasks = [(key, partial(_payload, s, settings, seeds[key], work)) for key, s in todo]  # files read when sent
        if tasks:
            executor.run(tasks, on_done)
        for submission in submissions:
            if submission.id not in self.rows:  # an executor that did not report it: as an entry without result
                self.rows[submission.id] = make_row(submission, None, required, assignment)
        return len(todo), len(by_key) - len(todo)


def private_folder(out: Path) -> None:
    """``out``, made if needed, readable by the grader alone (0700): reports, the store and the
    class's secret are nobody else's (a submission running as a user of its own cannot read them)."""
    out.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(out, 0o700)


WORKDIR_VARIABLE = "GRADCHECK_WORKDIR"


@contextlib.contextmanager
def work_folder(out: Path) -> Iterator[str]:
    """A private folder the tasks stage submissions in (and the check makes its scratch folders
    in), removed at the end: made in ``$GRADCHECK_WORKDIR`` when set; else inside ``out`` (0700),
    except at the unprivileged-user level, whose workers (each a uid of its own) must reach their
    scratch folder by its path: then in the system's temporary folder. Mode 0711: no other user
    can list it or create anything in it, so a submission cannot fill it or see a classmate's."""
    base = os.environ.get(WORKDIR_VARIABLE)
    if not base:
        base = str(out)
        try:
            from gradcheck.boundary.sandbox import resolve

            if resolve(None) == "unprivileged-user":
                base = tempfile.gettempdir()
        except UsageError:
            pass  # each task says why (strict without the sandbox, say)
    folder = os.path.abspath(tempfile.mkdtemp(prefix=".gradcheck-work-", dir=base))  # tasks chdir
    os.chmod(folder, 0o711)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _payload(submission: Submission, settings: dict[str, Any], seed: int | None, work: str) -> dict[str, Any]:
    task_settings = dict(settings) if seed is None else {**settings, "seed": seed}
    return {"label": submission.label, "target": submission.target, "files": submission.read_files(),
            "settings": task_settings, "workdir": work}
