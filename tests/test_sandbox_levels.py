"""Isolation levels: choosing one, refusing below the sandbox, what the worker sees at each, and the record.

The probe submission ``hostile_looks_around.py`` reports the files it can see, its user, groups,
environment and working folder; each level's promise (docs/sandbox.md) is checked against it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from fixture_files import place

from gradcheck.boundary import sandbox, strays
from gradcheck.boundary.isolated import WorkerBackend
from gradcheck.cli import main
from gradcheck.errors import UsageError
from gradcheck.render.report import format_html, format_markdown
from gradcheck.verdict.results import Report

SUBMISSIONS = Path(__file__).parent / "submissions"
PROJECT = Path(__file__).parent.parent


def level_param(level: str):
    reason = sandbox.why_unavailable(level)
    return pytest.param(
        level, id=level, marks=pytest.mark.skipif(reason is not None, reason=f"{level} not available: {reason}")
    )


ALL_LEVELS = [level_param(level) for level in sandbox.LEVELS]


@pytest.fixture
def no_bwrap(tmp_path, monkeypatch):
    """A PATH without bwrap, as on a machine without bubblewrap (probes re-run, then restored)."""
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    for cached in (sandbox.why_unavailable, sandbox.bwrap_flags):
        cached.cache_clear()
    yield str(empty)
    monkeypatch.undo()
    for cached in (sandbox.why_unavailable, sandbox.bwrap_flags):
        cached.cache_clear()


# --- choosing a level --------------------------------------------------------------------


def test_auto_is_the_strongest_available_level(monkeypatch):
    monkeypatch.delenv(sandbox.ENV_VAR, raising=False)
    expected = next(level for level in sandbox.LEVELS if sandbox.why_unavailable(level) is None)
    assert sandbox.resolve() == sandbox.resolve("auto") == expected


def test_the_environment_variable_sets_the_default(monkeypatch):
    monkeypatch.setenv(sandbox.ENV_VAR, "limits-only")
    assert sandbox.resolve() == "limits-only"
    assert sandbox.resolve("auto") != "limits-only" or sandbox.unavailable().keys() >= {"sandbox", "unprivileged-user"}
    monkeypatch.setenv(sandbox.ENV_VAR, "bogus")
    with pytest.raises(UsageError, match=re.escape("$GRADCHECK_ISOLATION=bogus is not an isolation level; choose from "
                                                   "auto, strict, sandbox, unprivileged-user, limits-only")):
        sandbox.resolve()


def test_an_unknown_level_is_a_usage_error():
    with pytest.raises(UsageError, match="isolation=jail is not an isolation level"):
        sandbox.resolve("jail")


@pytest.mark.skipif(sandbox.why_unavailable("sandbox") is not None, reason="bubblewrap cannot run here")
def test_strict_is_the_sandbox_when_bubblewrap_runs():
    assert sandbox.resolve("strict") == "sandbox"


def test_strict_refuses_without_bubblewrap_in_the_api(no_bwrap):
    from gradcheck.api import check

    with pytest.raises(UsageError, match=re.escape(
        "isolation=strict: the sandbox isolation level is not available here (bwrap is not installed); "
        "install bubblewrap (Debian/Ubuntu: `apt-get install bubblewrap`"
    )):
        check("reference.naive", examples=1, isolation="strict")


def test_strict_refuses_without_bubblewrap_on_the_command_line(no_bwrap, tmp_path):
    report = tmp_path / "report.json"
    done = subprocess.run(
        [sys.executable, "-m", "gradcheck.cli", "check", "reference.naive", "--isolation", "strict",
         "--json", str(report)],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert done.returncode == 2
    assert done.stderr.startswith(
        "gradcheck: error: --isolation=strict: the sandbox isolation level is not available here "
        "(bwrap is not installed); install bubblewrap (Debian/Ubuntu: `apt-get install bubblewrap`"
    )
    assert not report.exists()


def test_auto_without_bubblewrap_falls_back_and_says_so(no_bwrap):
    level = sandbox.resolve("auto")
    assert level == ("unprivileged-user" if os.geteuid() == 0 else "limits-only")
    assert "install bubblewrap for the sandbox level" in sandbox.level_note(level)
    assert sandbox.level_note("sandbox") is None
    reason = sandbox.level_reason("auto", level)
    assert reason.startswith("chosen by auto: sandbox is not available here (bwrap is not installed)")
    if os.geteuid() != 0:
        assert reason == ("chosen by auto: sandbox is not available here (bwrap is not installed); unprivileged-user "
                          "is not available here (the checker does not run as root, so it cannot switch users)")
    assert sandbox.level_note(level, reason).endswith(f"(docs/sandbox.md)\n  {reason}")


def test_the_reason_of_a_requested_level_names_the_request(monkeypatch):
    monkeypatch.delenv(sandbox.ENV_VAR, raising=False)
    assert sandbox.level_reason("limits-only", "limits-only") == "requested: isolation=limits-only"
    monkeypatch.setenv(sandbox.ENV_VAR, "limits-only")
    assert sandbox.level_reason(None, "limits-only") == "requested: $GRADCHECK_ISOLATION=limits-only"
    if sandbox.why_unavailable("sandbox") is None:
        assert sandbox.level_reason("auto", "sandbox") == "chosen by auto: bubblewrap runs here"


# --- what the worker sees -------------------------------------------------------------------


def look_around(tmp_path: Path, level: str, probes: list[str]) -> tuple[dict, WorkerBackend]:
    text = (SUBMISSIONS / "hostile_looks_around.py").read_text()
    text = text.replace("PROBES = []  # set by the tests", f"PROBES = {probes!r}")
    folder = tmp_path / "class"
    folder.mkdir()
    (folder / "classmate.py").write_text("x = 1\n")
    path = place(folder, "looks_around.py", text=text)
    backend = WorkerBackend(str(path), timeout=5, isolation=level)
    outcome = backend.call("zero_pad", (np.zeros((1, 1, 1, 1)), 0))
    assert outcome.status == "ok", outcome.message
    return outcome.value, backend


@pytest.mark.parametrize("level", ALL_LEVELS)
def test_what_the_worker_sees(tmp_path, level, monkeypatch):
    monkeypatch.setenv("GRADER_SECRET_TOKEN", "do-not-pass-on")
    grader = tmp_path / "grader"  # the grader's working folder, with its gradebook
    grader.mkdir()
    (grader / "grades.csv").write_text("submission,score\n")
    monkeypatch.chdir(grader)
    probes = [str(tmp_path / "class" / "classmate.py"), str(PROJECT / "tests"), str(PROJECT / "gradcheck"),
              str(Path(np.__file__).parent), str(grader / "grades.csv"), "/home", "/root/.bashrc"]
    seen, backend = look_around(tmp_path, level, probes)
    visible = seen["visible"]
    with backend:
        scratch = backend._worker._scratch
        if level == "sandbox":
            assert visible[str(PROJECT / "gradcheck")] and visible[str(Path(np.__file__).parent)]
            assert not any(visible[p] for p in probes[:2] + probes[4:])
            assert seen["cwd"] == seen["home"] == "/tmp" and seen["cwd_writable"] and not seen["root_writable"]
            assert seen["pid"] == 2  # its own PID namespace, below the sandbox's init
        elif level == "unprivileged-user":
            assert seen["uid"] == sandbox.UID_BASE + backend._worker.process.pid and seen["groups"] == []
            assert seen["cwd"] == seen["home"] == scratch and seen["cwd_writable"] and not seen["root_writable"]
            assert stat.S_IMODE(os.stat(scratch).st_mode) == 0o700 and os.stat(scratch).st_uid == seen["uid"]
            assert os.listdir(scratch) == ["looks_around.py"]  # the private copy, read-only
            assert stat.S_IMODE(os.stat(Path(scratch) / "looks_around.py").st_mode) == 0o400
        else:
            assert seen["uid"] == os.getuid() and visible[probes[0]] and "GRADER_SECRET_TOKEN" in seen["env"]
        if level != "limits-only":
            assert "GRADER_SECRET_TOKEN" not in seen["env"]
            assert set(seen["env"]) <= set(sandbox.SCRUBBED_ENV) | {"HOME", "TMPDIR", "LC_CTYPE", "PWD"}  # PWD: bwrap
    assert scratch is None or not os.path.exists(scratch)  # removed with the worker


def test_the_sandbox_command_shows_only_what_it_must(tmp_path):
    submission = tmp_path / "class" / "one.py"
    command = sandbox.bwrap_command(["python"], flags=("--unshare-user",), visible=[str(submission)])
    binds = [command[i + 1] for i, word in enumerate(command) if word == "--ro-bind"]
    assert str(submission) in binds and str(submission.parent) not in binds
    assert not any(path in ("/", "/home", "/root", os.getcwd(), str(PROJECT)) for path in binds)
    for flag in ("--unshare-pid", "--unshare-net", "--unshare-ipc", "--die-with-parent", "--new-session",
                 "--clearenv", "--cap-drop"):
        assert flag in command
    assert command.index("--tmpfs") < command.index(str(submission))  # the submission sits on the scratch
    assert command[command.index("--chdir") + 1] == "/tmp"


# --- processes ------------------------------------------------------------------------------


def test_strays_finds_a_workers_descendants_and_its_group():
    tree = subprocess.Popen(["sh", "-c", "sleep 301 & sleep 302 & wait"], start_new_session=True)
    try:
        deadline = time.monotonic() + 5
        while len(strays.strays(tree.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(strays.strays(tree.pid)) == 2
        strays.kill_strays(tree.pid)
        assert tree.wait(timeout=5) == 0  # the shell's `wait` returns once both are killed
        assert strays.strays(tree.pid) == []
    finally:
        tree.kill()
        tree.wait()


# --- the record ---------------------------------------------------------------------------------


def test_the_level_is_in_the_json_and_survives_a_round_trip():
    report = Report(target="x.py", isolation="unprivileged-user", isolation_reason="requested: isolation=x")
    assert report.to_dict()["isolation"] == "unprivileged-user"
    assert report.to_dict()["isolation_reason"] == "requested: isolation=x"
    again = Report.from_dict(json.loads(json.dumps(report.to_dict())))
    assert (again.isolation, again.isolation_reason) == ("unprivileged-user", "requested: isolation=x")
    old = Report.from_dict({"target": "old.py"})  # reports written before the fields
    assert old.isolation is None and old.isolation_reason is None
    assert "isolation: unprivileged-user" in format_markdown(report)
    assert "isolation: unprivileged-user" in format_html(report)


@pytest.mark.parametrize("level", ALL_LEVELS)
def test_the_command_line_records_and_shows_the_level(tmp_path, capsys, level):
    report = tmp_path / "report.json"
    code = main(["check", "reference.naive", "--only", "zero_pad", "--examples", "2", "--isolation", level,
                 "--json", str(report), "-q"])
    out = capsys.readouterr().out
    data = json.loads(report.read_text())
    assert code == 0 and data["isolation"] == level
    assert data["isolation_reason"].startswith(f"requested: isolation={level}")
    assert f"(isolated worker, {level}: " in out
    assert ("note: isolation " in out) is (level != "sandbox")
    assert (f"(docs/sandbox.md)\n  requested: isolation={level}" in out) is (level != "sandbox")
    broken = tmp_path / "broken.json"
    assert main(["check", str(SUBMISSIONS / "syntax_error.py"), "--isolation", level, "--json", str(broken)]) == 1
    data = json.loads(broken.read_text())  # recorded even when loading fails
    assert data["isolation"] == level and data["isolation_reason"].startswith(f"requested: isolation={level}")


def test_a_run_in_process_says_why():
    from gradcheck.api import IN_PROCESS_REASONS, check

    report = check("reference.naive", examples=1, only=["zero_pad"], isolate=False)
    assert (report.isolation, report.isolation_reason) == ("in-process", IN_PROCESS_REASONS[False])


# --- a submission split over several files ------------------------------------------------------


def test_the_modules_a_submission_imports_beside_it_are_visible_and_nothing_else(tmp_path):
    folder = tmp_path / "class"
    (folder / "pkg").mkdir(parents=True)
    (folder / "pkg" / "__init__.py").write_text("")
    (folder / "helpers.py").write_text("import im2col\n")
    (folder / "im2col.py").write_text("X = 1\n")
    (folder / "classmate.py").write_text("SECRET = 1\n")
    mine = folder / "mine.py"
    mine.write_text("import numpy\nfrom helpers import *\nimport pkg.sub\n")
    expected = [str(folder / "helpers.py"), str(folder / "pkg"), str(folder / "im2col.py")]
    assert sandbox.imported_siblings(str(mine)) == expected
    assert sandbox.visible_paths(str(mine), True) == [str(mine), *expected]
    assert sandbox.visible_paths(str(mine), True, siblings=False) == [str(mine)]  # grade, shared folder
    assert sandbox.imported_siblings(str(folder / "classmate.py")) == []


@pytest.mark.parametrize("level", ALL_LEVELS)
def test_a_submission_importing_its_sibling_module_keeps_its_verdicts(level, tmp_path):
    from gradcheck.api import check

    for name in ("cs231n_buggy.py", "cs231n_layers.py"):  # one submission in two files, in a folder of its own
        shutil.copy(SUBMISSIONS / name, tmp_path / name)
    report = check(str(tmp_path / "cs231n_buggy.py"), examples=5, isolation=level,
                   only=["conv_forward", "conv_backward"])
    assert report.load_error is None and report.isolation == level
    statuses = {(c.function, c.quantity): c.status for c in report.checks}
    assert statuses.pop(("conv_backward_naive", "dx")) == "fail"  # its own names, CS231n style
    assert set(statuses.values()) == {"pass"}


@pytest.mark.skipif(sandbox.why_unavailable("sandbox") is not None, reason="needs a user namespace from bwrap")
def test_uids_missing_from_the_user_namespace_are_detected():
    code = f"import sys; sys.path.insert(0, {str(PROJECT)!r}); from gradcheck.boundary import sandbox as s; " \
        "print(s._uids_mapped(s.UID_BASE, s.UID_BASE + s.PID_MAX))"  # this tree's gradcheck, wherever it is installed
    command = sandbox.bwrap_command([sys.executable, "-I", "-c", code], flags=sandbox.bwrap_flags())
    inside = subprocess.run(command, capture_output=True, text=True, timeout=60, check=True).stdout.strip()
    assert inside == ("False" if "--unshare-user" in sandbox.bwrap_flags() else "True")
    assert sandbox._uids_mapped(0, 0)  # this process: uid 0 exists


def test_auto_never_falls_back_to_running_a_submission_as_root(monkeypatch):
    """Red team round 2 (A): with neither the sandbox nor the unprivileged-user level available,
    auto picked limits-only, and as root that ran the submission as root. Now auto refuses and says
    what to do; limits-only asked for explicitly still runs (trusted code)."""
    from gradcheck.boundary import sandbox
    from gradcheck.errors import UsageError

    reasons = {"sandbox": "bwrap is not installed", "unprivileged-user": "a worker could not import numpy"}
    monkeypatch.setattr(sandbox, "why_unavailable", lambda level: reasons.get(level))
    monkeypatch.setattr(sandbox.os, "geteuid", lambda: 0)
    with pytest.raises(UsageError, match="as root, the only level available here is limits-only, which would run "
                                         "the submission as root"):
        sandbox.resolve("auto")
    assert sandbox.resolve("limits-only") == "limits-only"
    monkeypatch.setattr(sandbox.os, "geteuid", lambda: 1000)  # not root: limits-only runs as that user
    assert sandbox.resolve("auto") == "limits-only"
