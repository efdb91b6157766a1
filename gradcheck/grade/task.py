"""Grade one submission: a pure function of (files, settings) returning JSON-able data.

:func:`grade_task` rebuilds the submission's files in a fresh folder (0700) of the
grader's private work folder and runs :func:`gradcheck.api.check` on its target exactly as
``gradcheck check --report`` does (isolated worker process, same examples, seed, timeout;
the step sweep the report draws), within the run's time budget (``max_time``: functions not
reached get ``timeout``). It runs in a task process (local pool, or a child process of a Dask
worker: :func:`grade_task_capped`, killed at the hard cap), never in the coordinator, and
never raises: an internal error comes back as ``outcome="error"``.

Scoring (:func:`score`): a function's status is the worst status of its checks
(``crashed`` > ``memory`` > ``timeout`` > ``error`` > ``fail`` > ``pass``); a
function absent from the report, all of whose checks are ``missing``, or of a
submission that could not be loaded, is ``missing``. Functions are named as the
submission's convention names them (``gradcheck.conventions``: the article's
``conv_forward``, CS231n's ``conv_forward_naive``), and a course is asked only for its
own functions. One point per required function whose status is ``pass``;
``max_score`` = number of required functions. A submission passes when it loads,
every function it defines passes (as ``gradcheck check``) and every required function
is present.
"""

from __future__ import annotations

import base64
import functools
import importlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import asdict, dataclass
from typing import Any

from gradcheck.conventions import Convention, convention
from gradcheck.grade.courses import Course, course, course_of

SEVERITY = ("pass", "fail", "error", "timeout", "memory", "crashed")  # worst last
DEFAULT_MAX_TIME = 600.0  # seconds: a submission's time budget in ``grade`` (check's max_time)


@dataclass(frozen=True)
class Settings:
    """What a verdict depends on (with the submission's bytes): the store's key."""

    examples: int
    seed: int
    timeout: float
    convention: str = "auto"  # the course judging every submission, or each its own
    assignment: str = "auto"  # the assignment (gradcheck.plans) of every submission, or each its own
    max_time: float | None = DEFAULT_MAX_TIME  # the budget of a whole submission (None: none)
    fix_budget: float = 0.0  # seconds of fix search per submission (gradcheck.fix; 0: none)

    def key_fields(self) -> dict[str, Any]:
        from gradcheck import __version__

        fields = {**asdict(self), "gradcheck": __version__}
        for name, default in (("convention", "auto"), ("assignment", "auto"), ("max_time", DEFAULT_MAX_TIME),
                              ("fix_budget", 0.0)):
            if fields[name] == default:
                del fields[name]  # the key of a run before the setting existed
        return fields


def convention_of(report: dict[str, Any] | None, expected: Course | str | None = None) -> Course:
    """The course (convention and assignment, ``gradcheck.grade.courses``) of a
    ``Report.to_dict()``; ``expected`` for a report that names no check (a submission that
    could not be graded): a Course, or a convention's name."""
    if isinstance(expected, str):
        expected = course(expected, None)
    return course_of(report, expected)


def function_statuses(report: dict[str, Any] | None, named: Course | Convention | None = None) -> dict[str, str]:
    """Worst status per function of a ``Report.to_dict()``, by the names of its convention (or
    ``named``'s); None: every one crashed."""
    named = named or convention_of(report)
    if report is None:
        return {name: "crashed" for name in named.shown_functions}
    statuses: dict[str, str] = {}
    for name in named.shown_functions:
        seen = [c["status"] for c in report.get("checks", []) if c.get("function") == name]
        present = [s for s in seen if s != "missing"]
        statuses[name] = max(present, key=SEVERITY.index) if present else "missing"
    return statuses


def score(
    statuses: dict[str, str], required: tuple[str, ...], report_passed: bool,
    named: Course | Convention | None = None,
) -> tuple[bool, int, int]:
    """(passed, score, max_score) of a submission, as documented in the module docstring;
    ``required`` in contract (engine) names, asked of ``named``'s functions only."""
    asked = (named or convention("article")).required(required)
    points = sum(1 for name in asked if statuses.get(name) == "pass")
    present = all(statuses.get(name, "missing") != "missing" for name in asked)
    return report_passed and present, points, len(asked)


def _scrub(report: Any, folder: str, label: str) -> None:
    """Replace the temporary folder in the report's texts by the submission's label."""
    def fix(text: str | None) -> str | None:
        return None if text is None else text.replace(os.path.join(folder, ""), "").replace(folder, label)

    def fix_all(value: Any) -> Any:  # every string of a nested diagnosis
        if isinstance(value, str):
            return fix(value)
        if isinstance(value, dict):
            return {key: fix_all(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return type(value)(fix_all(item) for item in value)
        return value

    report.load_error = fix(report.load_error)
    report.bound = [fix(path) or "" for path in report.bound]
    report.warnings = [fix(w) or "" for w in report.warnings]  # a notebook's notes name its cells by path
    for check in report.checks:
        check.message = fix(check.message) or ""
        check.warnings = [fix(w) or "" for w in check.warnings]
        if check.diagnosis is not None:
            check.diagnosis = fix_all(check.diagnosis)


@functools.cache
def preload() -> None:
    """Import every module of gradcheck now, before any submission runs: a module imported only
    after a check (the renderers) would otherwise be read from disk after a submission ran, and
    a submission that could write there (at the limits-only level, as the checker's user) could
    change what judges it."""
    import pkgutil

    import gradcheck

    for info in pkgutil.walk_packages(gradcheck.__path__, "gradcheck."):
        if info.name.endswith("__main__"):
            continue
        try:
            importlib.import_module(info.name)
        except ImportError:  # an optional extra (dask, torch) that is not installed
            continue


def grade_task(payload: dict[str, Any]) -> dict[str, Any]:
    """Check one submission. ``payload``: ``{"label", "target", "files": {rel: bytes}, "settings"}``,
    and optionally ``"workdir"``: the grader's private folder to stage the submission in (used when
    it exists here; else a private folder of this machine's temporary folder).

    Returns ``{"outcome": "graded", "report": Report.to_dict(), "files", "isolation", "duration_s"}``
    (``files``: the ``check --report`` folder as {relative path: bytes}, rendered here so the
    coordinator only writes them)
    or ``{"outcome": "error", "error": traceback text, "duration_s"}``.
    """
    started = time.perf_counter()
    preload()
    saved_tempdir = tempfile.tempdir
    try:
        from gradcheck.api import check
        from gradcheck.verdict.results import json_safe

        settings = payload["settings"]
        workdir = payload.get("workdir")
        if isinstance(workdir, str) and os.path.isdir(workdir):
            # the grader's private folder, not the shared /tmp: what the check makes (the worker's
            # scratch folder at the unprivileged-user level, copies for the sandbox) goes there too
            tempfile.tempdir = workdir
        max_time = settings.get("max_time", DEFAULT_MAX_TIME)
        with tempfile.TemporaryDirectory(prefix="gradcheck-grade-") as folder:  # 0700, in the private folder
            for rel, data in payload["files"].items():
                path = os.path.join(folder, *map(_utf8, rel.split("/")))
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "wb") as handle:
                    handle.write(data)
            previous = os.getcwd()
            target = os.path.join(folder, *map(_utf8, payload["target"].split("/")))
            os.chdir(folder)  # files the submission writes land in its own folder
            try:
                report = check(
                    target,
                    visible=_beside(target),  # the submission's own files beside its target
                    examples=int(settings["examples"]),
                    seed=int(settings["seed"]),
                    timeout=float(settings["timeout"]),
                    isolate=True,
                    sweep=True,  # as `gradcheck check --report`: the report's error-vs-step figure
                    convention=settings.get("convention", "auto"),
                    assignment=settings.get("assignment", "auto"),
                    max_time=None if max_time is None else float(max_time),  # functions not reached: timeout
                    fix_budget=float(settings.get("fix_budget", 0.0)) or None,  # the class page groups by fix
                )
            finally:
                os.chdir(previous)
            report.target = payload["label"]
            _scrub(report, folder, payload["label"])
            files = _render(report, os.path.join(folder, ".gradcheck-report"))
        return {
            "outcome": "graded",
            "report": json_safe(report.to_dict()),
            "files": files,
            "isolation": _text_or_none(getattr(report, "isolation", None)),
            "duration_s": time.perf_counter() - started,
        }
    except Exception:  # an internal error: recorded, never raised into the executor
        elapsed = time.perf_counter() - started
        return {"outcome": "error", "error": traceback.format_exc()[-5000:], "duration_s": elapsed}
    finally:
        tempfile.tempdir = saved_tempdir  # the work folder is removed at the end of the run


class TaskDied(RuntimeError):
    """The process grading a submission died without a result (the executor retries it once)."""


def grade_task_capped(payload: dict[str, Any], seconds: float) -> dict[str, Any]:
    """:func:`grade_task` in a child process that is killed after ``seconds``: the hard cap of a
    whole submission where the task's own process is not the grader's to replace (a Dask worker).
    Past the cap: ``{"outcome": "timeout", ...}``, as the local pool reports it. A child that dies
    raises :class:`TaskDied` (the executor's retry, then ``crashed``). The payload and the result
    cross as JSON (bytes as base64): nothing is unpickled."""
    from gradcheck.boundary.process import module_command

    started = time.perf_counter()
    process = subprocess.Popen(module_command("gradcheck.grade.task", "--child"), stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        out, err = process.communicate(json.dumps(_to_json(payload)).encode(), timeout=seconds)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(process.pid, signal.SIGKILL)  # its check's worker dies with it (parent-death signal)
        except (ProcessLookupError, PermissionError):
            pass
        process.kill()
        process.communicate()
        elapsed = time.perf_counter() - started
        return {"outcome": "timeout", "error": f"grading took over {seconds:g} s", "duration_s": elapsed}
    if process.returncode != 0 or not out:
        tail = err.decode("utf-8", "replace")[-2000:]
        raise TaskDied(f"the grading process exited with status {process.returncode}: {tail}")
    return _from_json(json.loads(out))


def _to_json(value: Any) -> Any:
    if isinstance(value, bytes):
        return {"__bytes__": base64.b64encode(value).decode("ascii")}
    if isinstance(value, dict):
        return {key: _to_json(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_to_json(item) for item in value]
    return value


def _from_json(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"__bytes__"}:
            return base64.b64decode(value["__bytes__"])
        return {key: _from_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_from_json(item) for item in value]
    return value


def _child() -> int:
    """``python -m gradcheck.grade.task --child``: a payload (JSON) on stdin, its result on stdout."""
    payload = _from_json(json.loads(sys.stdin.buffer.read()))
    result = grade_task(payload)
    sys.stdout.buffer.write(json.dumps(_to_json(result), allow_nan=False).encode())
    sys.stdout.buffer.flush()
    return 0


def _utf8(name: str) -> str:
    """``name`` as a file name that is valid UTF-8 (bytes that were not become U+FFFD): the
    loader and every writer handle it. The row keeps the original name in its label."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _beside(target: str) -> list[str]:
    """The files and folders beside ``target`` in its staged folder: all the submission's own."""
    here = os.path.dirname(target)
    return sorted(os.path.join(here, name) for name in os.listdir(here)
                  if os.path.join(here, name) != target and not name.startswith("."))


def _text_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def _render(report: Any, folder: str) -> dict[str, bytes]:
    """The files ``gradcheck check --report`` writes for ``report``, as {relative path: bytes}."""
    from gradcheck.render.report import write_report_dir

    written = write_report_dir(report, folder)
    return {os.path.relpath(path, folder).replace(os.sep, "/"): open(path, "rb").read() for path in written.values()}


if __name__ == "__main__" and sys.argv[1:] == ["--child"]:
    sys.exit(_child())
