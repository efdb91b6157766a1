"""Hostile submissions at each isolation level: what each level stops, and that the checker outlives them.

Each hostile file in ``tests/submissions/hostile_*.py`` is a correct implementation whose
``zero_pad`` attacks (read a classmate's file, write into the grader's output folder, connect to a
listener, start a process that outlives the check, read the grader's command line, kill its
parent). Blocked, the attack raises inside the call and the verdict is ``error`` naming the
exception; a level that does not stop an attack lets it succeed (docs/sandbox.md has the table,
these tests pin it). Levels this machine cannot offer are skipped with the reason.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import numpy as np
import pytest
from fixture_files import place

from gradcheck.boundary import confine, sandbox
from gradcheck.boundary.isolated import WorkerBackend

SUBMISSIONS = Path(__file__).parent / "submissions"
ZERO_PAD_ARGS = (np.arange(4.0).reshape(1, 2, 2, 1), 1)


@pytest.fixture(autouse=True)
def grader_folder(tmp_path, monkeypatch):
    """The checker runs from a folder of its own (limits-only workers write into it)."""
    folder = tmp_path / "grader"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


def level_param(level: str):
    reason = sandbox.unavailable().get(level)
    return pytest.param(
        level, id=level, marks=pytest.mark.skipif(reason is not None, reason=f"{level} not available: {reason}")
    )


ALL_LEVELS = [level_param(level) for level in sandbox.LEVELS]
# limits-only cannot stop a kill of the checker: those tests would kill pytest itself
GUARDED_LEVELS = [level_param(level) for level in ("sandbox", "unprivileged-user")]


def armed(tmp_path: Path, name: str, **constants) -> Path:
    """A copy of a hostile submission in ``tmp_path/class`` (beside a classmate's file) with constants set."""
    text = (SUBMISSIONS / name).read_text()
    for key, value in constants.items():
        text, count = re.subn(rf"^{key} = .*  # set by the tests$", f"{key} = {value!r}", text, flags=re.M)
        assert count == 1, f"{name} has no line '{key} = ...  # set by the tests'"
    folder = tmp_path / "class"
    folder.mkdir(exist_ok=True)
    (folder / "classmate.py").write_text("SECRET_ANSWER_KEY = 42\n")
    return place(folder, name, text=text)


def processes_with(token: str) -> list[str]:
    """``ps`` lines (pid and command) whose command line holds ``token``."""
    listing = subprocess.run(["ps", "-eo", "pid=,args="], capture_output=True, text=True, check=True).stdout
    return [line.strip() for line in listing.splitlines() if token in line and "ps -eo" not in line]


def wait_until_gone(token: str, seconds: float = 5.0) -> list[str]:
    deadline = time.monotonic() + seconds
    while processes_with(token) and time.monotonic() < deadline:
        time.sleep(0.05)
    return processes_with(token)


def forks_refused(level: str) -> bool:
    """Whether a fork is refused at ``level`` here: by the seccomp filter at every level where it
    installs (``gradcheck.boundary.noforks``), else by RLIMIT_NPROC = 0 for a uid that is not
    root (the sandbox's own uid when the checker is root, or the checker's when it is not)."""
    from gradcheck.boundary import noforks

    if noforks.works():
        return True
    if level == "sandbox":
        return confine.probe()["fork_refused"] is True
    return level == "unprivileged-user" or os.geteuid() != 0


def attack(path: Path, level: str):
    with WorkerBackend(str(path), timeout=5, isolation=level) as backend:
        assert backend.isolation == level
        return backend.call("zero_pad", ZERO_PAD_ARGS)


# --- each attack, each level ---------------------------------------------------------------


@pytest.mark.parametrize("level", ALL_LEVELS)
def test_reading_a_classmates_file(tmp_path, level):
    path = armed(tmp_path, "hostile_read_sibling.py", SIBLING=str(tmp_path / "class" / "classmate.py"))
    outcome = attack(path, level)
    if level == "limits-only":
        assert outcome.status == "ok" and "SECRET_ANSWER_KEY" in outcome.value
    else:  # not in the sandbox's file system; unprivileged: the folder is not readable by the worker's uid
        assert outcome.status == "error"
        expected = "FileNotFoundError" if level == "sandbox" else "PermissionError"
        assert expected in outcome.message and "SECRET_ANSWER_KEY" not in outcome.message


@pytest.mark.parametrize("level", ALL_LEVELS)
def test_writing_into_the_graders_output_folder(tmp_path, level):
    out = tmp_path / "out"
    out.mkdir()
    (out / "report.json").write_text('{"passed": true}\n')
    target = out / "report.json"
    path = armed(tmp_path, "hostile_write_outside.py", OUTSIDE=str(target))
    outcome = attack(path, level)
    if level == "limits-only":
        assert outcome.status == "ok" and target.read_text() == "overwritten by a submission"
    else:
        assert outcome.status == "error"
        assert ("FileNotFoundError" if level == "sandbox" else "PermissionError") in outcome.message
        assert target.read_text() == '{"passed": true}\n'
    assert not (path.parent / "scratch_note.txt").exists()  # its working directory is never its own folder
    assert (Path.cwd() / "scratch_note.txt").exists() is (level == "limits-only")  # nor, isolated, the checker's
    assert sorted(p.name for p in path.parent.iterdir()) == ["classmate.py", "course_loops.py", path.name]


@pytest.mark.parametrize("level", ALL_LEVELS)
def test_connecting_to_a_listener_on_localhost(tmp_path, level):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        port = listener.getsockname()[1]
        outcome = attack(armed(tmp_path, "hostile_connect.py", PORT=port), level)
    if level == "sandbox":  # its own network namespace: only its own loopback, where nobody listens
        assert outcome.status == "error" and "ConnectionRefusedError" in outcome.message
    else:  # documented: no network isolation without namespaces
        assert outcome.status == "ok" and outcome.value == f"connected to 127.0.0.1:{port}"


@pytest.mark.parametrize("level", ALL_LEVELS)
def test_a_process_started_by_the_submission_does_not_outlive_the_check(tmp_path, level):
    seconds = f"300.{uuid.uuid4().int % 10**9:09d}"  # a command line no other process has
    path = armed(tmp_path, "hostile_spawn.py", SECONDS=seconds)
    with WorkerBackend(str(path), timeout=5, isolation=level) as backend:
        outcome = backend.call("zero_pad", ZERO_PAD_ARGS)
        if not forks_refused(level):  # it starts (root, or root in a user namespace), then dies with the worker
            assert outcome.status == "ok" and processes_with(f"sleep {seconds}")
        else:  # RLIMIT_NPROC = 0 holds for a non-root uid
            assert outcome.status == "error"
            assert "BlockingIOError: [Errno 11] Resource temporarily unavailable" in outcome.message
    assert wait_until_gone(f"sleep {seconds}") == []


@pytest.mark.parametrize("level", GUARDED_LEVELS)  # limits-only: the orphan escapes (docs/sandbox.md)
def test_a_process_orphaned_by_a_dying_worker_does_not_outlive_it(tmp_path, level):
    seconds = f"300.{uuid.uuid4().int % 10**9:09d}"
    outcome = attack(armed(tmp_path, "hostile_spawn_and_exit.py", SECONDS=seconds), level)
    if not forks_refused(level):  # it starts, the worker exits: the PID namespace ends with everything in it
        assert outcome.status == "crashed" and "exited with status 3" in outcome.message
    else:
        assert outcome.status == "error" and "BlockingIOError" in outcome.message
    assert wait_until_gone(f"sleep {seconds}") == []


@pytest.mark.parametrize("level", ALL_LEVELS)
def test_the_honest_functions_keep_their_verdicts_next_to_an_attack(tmp_path, level):
    path = armed(tmp_path, "hostile_read_sibling.py", SIBLING=str(tmp_path / "class" / "classmate.py"))
    from gradcheck.api import check

    report = check(str(path), examples=3, only=["conv_forward", "pool_forward", "zero_pad"], isolation=level)
    assert report.isolation == level
    verdicts = {check.function: check.status for check in report.checks}
    assert verdicts["conv_forward"] == verdicts["pool_forward"] == "pass"
    assert verdicts["zero_pad"] != "pass"


# --- the whole command: the checker survives and writes its JSON ------------------------------------


def gradcheck_check(path: Path, out: Path, level: str, *extra: str) -> tuple[subprocess.CompletedProcess, dict]:
    report = out / f"report-{path.stem}.json"
    done = subprocess.run(
        [sys.executable, "-m", "gradcheck.cli", "check", str(path), "--only", "zero_pad,conv_forward",
         "--examples", "3", "--isolation", level, "--json", str(report), "-q", *extra],
        capture_output=True, text=True, timeout=120, cwd=out, check=False,
    )
    assert done.returncode in (0, 1), done.stderr
    return done, json.loads(report.read_text())


def zero_pad_verdict(data: dict) -> dict:
    return next(check for check in data["checks"] if check["function"] == "zero_pad")


@pytest.mark.parametrize("level", GUARDED_LEVELS)
@pytest.mark.parametrize("name", ["hostile_kill_parent_at_import.py", "hostile_kill_parent.py"])
def test_killing_the_parent_does_not_kill_the_checker(tmp_path, level, name):
    out = tmp_path / "out"
    out.mkdir()
    path = armed(tmp_path, name, ARMED=True)
    done, data = gradcheck_check(path, out, level)
    assert data["isolation"] == level
    statuses = {check["function"]: check["status"] for check in data["checks"]}
    if level == "sandbox" and confine.mode() == "user-namespace":  # its parent is the sandbox's init:
        assert data["load_error"] is None and statuses == {"conv_forward": "pass", "zero_pad": "pass"}  # dropped
    elif name.endswith("at_import.py"):
        assert "PermissionError: [Errno 1] Operation not permitted" in data["load_error"]
    else:
        assert statuses["conv_forward"] == "pass"
        assert zero_pad_verdict(data)["status"] == "error"
        assert "PermissionError: [Errno 1] Operation not permitted" in zero_pad_verdict(data)["message"]
    assert wait_until_gone(str(path)) == []


@pytest.mark.slow  # a gradcheck process per level
@pytest.mark.parametrize("level", GUARDED_LEVELS)
def test_killing_every_process_it_may_signal_reaches_nothing_outside(tmp_path, level):
    out = tmp_path / "out"
    out.mkdir()
    path = armed(tmp_path, "hostile_kill_everything.py", ARMED=True)
    done, data = gradcheck_check(path, out, level)
    assert data["isolation"] == level
    assert [check["status"] for check in data["checks"] if check["function"] == "conv_forward"] == ["pass"]
    verdict = zero_pad_verdict(data)
    if level == "sandbox":  # kill(-1) sees no process but the sandbox's init, which it may not signal
        assert verdict["status"] == "error" and "ProcessLookupError: [Errno 3] No such process" in verdict["message"]
    else:  # the kernel refuses every process of another uid; kill(-1) still returns 0
        assert done.returncode == 0 and verdict["status"] == "pass"
    assert wait_until_gone(str(path)) == []


@pytest.mark.slow  # a gradcheck process per level
@pytest.mark.parametrize("level", ALL_LEVELS)
def test_the_graders_command_line(tmp_path, level):
    token = f"--grader-marker-{uuid.uuid4().hex}"
    out = tmp_path / "out" / token  # the grader's output path holds the marker
    out.mkdir(parents=True)
    _, data = gradcheck_check(armed(tmp_path, "hostile_proc_cmdline.py", MARKER=token), out, level)
    verdict = zero_pad_verdict(data)
    if level == "sandbox":  # only the sandbox's own processes are visible
        assert verdict["status"] == "error" and "LookupError: no visible process has" in verdict["message"]
    else:  # documented: /proc of the machine is visible without a PID namespace (zero_pad returns the text)
        assert verdict["status"] == "fail" and "LookupError" not in verdict["message"]


@pytest.mark.slow  # a gradcheck process per level
@pytest.mark.parametrize("level", GUARDED_LEVELS)
def test_a_hostile_run_leaves_a_classmates_report_intact(tmp_path, level):
    out = tmp_path / "out"
    out.mkdir()
    honest = place(tmp_path / "class", "honest.py", text="from course_loops import *  # noqa: F403\n")
    _, honest_data = gradcheck_check(honest, out, level)
    assert honest_data["passed"] is True
    report = out / "report-honest.json"
    before = hashlib.sha256(report.read_bytes()).hexdigest()
    _, data = gradcheck_check(armed(tmp_path, "hostile_write_outside.py", OUTSIDE=str(report)), out, level)
    assert zero_pad_verdict(data)["status"] == "error"
    assert hashlib.sha256(report.read_bytes()).hexdigest() == before
    written = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))  # .hypothesis: the checker's
    assert written == ["report-honest.json", "report-hostile_write_outside.json"]


def test_the_hostile_files_are_disarmed_as_committed():
    for name in ("hostile_kill_parent_at_import.py", "hostile_kill_parent.py", "hostile_kill_everything.py"):
        assert "\nARMED = False  # set by the tests\n" in (SUBMISSIONS / name).read_text()
    assert os.path.exists(SUBMISSIONS / "hostile_spawn.py")
