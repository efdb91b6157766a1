"""The second red team's holes in ``gradcheck grade`` (/work/redteam2/REPORT.md, classes B, C, G to K).

Each test replays the class of attack that worked (the report's file or the same idea written
here) and shows it fails now, with honest submissions in the same class still graded right:

- B (22): the Dask LocalCluster the grader starts listens on TLS with a certificate made for
  the run; a client without it (plain TCP, TLS without a certificate, another certificate)
  cannot submit work, where a cluster without security takes anyone's.
- C (16): each submission's seed is an HMAC of its bytes under the class's secret; the secret
  is never shown, a changed file gets another seed, ``--seed S`` still fixes every seed.
- G (32): a student's ``test_cnn.py`` that imports ``cnn.py`` is not graded in its place.
- H (18, 25): ``--out`` is 0700 and what is in it 0600/0700; tasks stage submissions in a
  private folder no submission can write to; an internal error is never stored.
- I (19): a time budget per submission (``max_time``), the same hard cap for the Dask
  executor, ``grades.csv`` rewritten as results arrive.
- J (28): one student's folder of thousands of entries in a class archive costs their row only.
- K (26, the CS231n row): notes and warnings are one line wherever they are shown; a row graded
  under another course than most of the class is named on the class page.
"""

from __future__ import annotations

import csv
import io
import json
import os
import stat
import subprocess
import sys
import tarfile
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import pytest
from fixture_files import COURSE_LOOPS

from gradcheck.boundary import sandbox
from gradcheck.cli import main
from gradcheck.grade import grade
from gradcheck.grade.executors import LocalExecutor
from gradcheck.grade.sources import Submission, discover
from gradcheck.grade.store import Store

CORRECT = COURSE_LOOPS.read_text()  # the article's loops: a correct, self-contained submission
TESTS_FILE = '''"""My own tests (run with pytest)."""
import numpy as np

import cnn


def test_zero_pad_shape():
    assert cnn.zero_pad(np.zeros((1, 2, 2, 1)), 1).shape == (1, 4, 4, 1)
'''


def rows_of(path: Path) -> dict[str, dict[str, str]]:
    with open(path, newline="") as handle:
        return {row["submission"]: row for row in csv.DictReader(handle)}


def unprivileged_or_skip(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run the tasks at the unprivileged-user level (root, no network namespace), the level the red
    team attacked; skip where it is not available."""
    why = sandbox.why_unavailable("unprivileged-user")
    if why is not None:
        pytest.skip(f"unprivileged-user: {why}")
    monkeypatch.setenv("GRADCHECK_ISOLATION", "unprivileged-user")


# --------------------------------------------------------------------------- G: which file is graded


def test_a_students_test_file_that_imports_the_submission_is_not_graded_instead(tmp_path: Path) -> None:
    """Attack 32: ``test_cnn.py`` (``import cnn``) was no other file's import, so it was picked over
    the ``cnn.py`` it imports, which defines every function: a correct folder scored 0/8."""
    dave = tmp_path / "class" / "dave"
    dave.mkdir(parents=True)
    (dave / "cnn.py").write_text(CORRECT)
    (dave / "test_cnn.py").write_text(TESTS_FILE)
    star = tmp_path / "class" / "erin"  # a helper given with *, and one function of her own
    star.mkdir()
    (star / "course_helpers.py").write_text(CORRECT)
    (star / "mine.py").write_text("from course_helpers import *  # noqa\n\n\ndef zero_pad(X, pad):\n    return X\n")
    named = tmp_path / "class" / "frank"  # imports some by name, defines the rest: his file, not the helper
    named.mkdir()
    (named / "helpers.py").write_text("def conv_forward(A, W, b, h):\n    pass\n\n\ndef zero_pad(X, p):\n    pass\n")
    (named / "zz_mine.py").write_text("from helpers import conv_forward, zero_pad\n\n\ndef conv_backward(d, c):\n"
                                      "    pass\n")
    for n, backup in enumerate(("a_backup.py", "old_cnn.py", "cnn (1).py", "Copy of cnn.py")):  # attack 15's
        grace = tmp_path / "class" / f"grace{n}"
        grace.mkdir()
        (grace / "zcnn.py").write_text(CORRECT)
        (grace / backup).write_text(CORRECT + "\n# last week's version\n")
    ivan = tmp_path / "class" / "ivan"  # his tests import a function by name
    ivan.mkdir()
    (ivan / "cnn.py").write_text(CORRECT)
    (ivan / "test_mine.py").write_text("from cnn import conv_forward\n\n\ndef test_it():\n    assert conv_forward\n")
    hank = tmp_path / "class" / "hank"  # two functions from a complete helper, the rest missing: his file
    hank.mkdir()
    (hank / "course_loops.py").write_text(CORRECT)
    (hank / "hank.py").write_text("from course_loops import conv_forward, zero_pad  # noqa: F401\n")
    found = {s.id: s.target for s in discover([str(tmp_path / "class")])}
    assert found == {"dave": "cnn.py", "erin": "mine.py", "frank": "zz_mine.py", "ivan": "cnn.py", "hank": "hank.py",
                     **{f"grace{n}": "zcnn.py" for n in range(4)}}


@pytest.mark.slow
def test_a_correct_folder_with_its_own_tests_scores_full_marks(tmp_path: Path) -> None:
    dave = tmp_path / "class" / "dave"
    dave.mkdir(parents=True)
    (dave / "cnn.py").write_text(CORRECT)
    (dave / "test_cnn.py").write_text(TESTS_FILE)
    run = grade([str(tmp_path / "class")], tmp_path / "out", executor=LocalExecutor(1), examples=5,
                progress=False)
    (row,) = run.rows
    assert (row.passed, row.score, row.max_score, row.submission.path) == (True, 8, 8, f"{dave}/cnn.py")


# --------------------------------------------------------------------------- C: seeds


@pytest.mark.slow
def test_each_submission_gets_a_seed_of_its_own_and_the_secret_is_never_shown(tmp_path: Path) -> None:
    """Attack 16: the class seed was in every report and results.json, and reused on re-runs, so a
    resubmission could carry a lookup table of the exact cases. Now the seed shown is the file's
    own (HMAC of its bytes under the class's secret): a changed file gets another, unpredictable one."""
    from gradcheck.grade.run import submission_seed

    folder = tmp_path / "class"
    folder.mkdir()
    (folder / "ann.py").write_text(CORRECT)
    (folder / "eve.py").write_text(CORRECT + "\n# my version\n")
    out = tmp_path / "out"
    assert main(["grade", str(folder), "--out", str(out), "--examples", "3", "-q", "--workers", "2"]) == 0
    secret = bytes.fromhex((out / ".gradcheck-secret").read_text())
    subs = {s.id: s for s in discover([str(folder)])}
    seeds = {}
    for ident in ("ann", "eve"):
        report = json.loads((out / "submissions" / ident / "report.json").read_text())
        results = json.loads((out / "submissions" / ident / "results.json").read_text())
        seeds[ident] = report["seed"]
        assert report["seed"] == results["extra_data"]["seed"] == submission_seed(secret, subs[ident].sha256)
    assert seeds["ann"] != seeds["eve"]
    for path in out.rglob("*"):  # the secret is in its own file only, never in a report, page or the store
        if path.is_file() and path.name != ".gradcheck-secret":
            assert secret.hex().encode() not in path.read_bytes(), path
    # Eve resubmits, fitted to the seed her report showed: her new bytes get a new seed
    (folder / "eve.py").write_text(CORRECT + "\n# my version, with a table for seed %d\n" % seeds["eve"])
    assert main(["grade", str(folder), "--out", str(out), "--examples", "3", "-q"]) == 0
    again = json.loads((out / "submissions" / "eve" / "report.json").read_text())["seed"]
    assert again != seeds["eve"] and again == submission_seed(secret, discover([str(folder)])[1].sha256)
    assert json.loads((out / "submissions" / "ann" / "report.json").read_text())["seed"] == seeds["ann"]  # kept
    # --seed S: every submission's seed is S, as documented (reproducible)
    assert main(["grade", str(folder), "--out", str(tmp_path / "fixed"), "--examples", "3", "-q",
                 "--seed", "7"]) == 0
    for ident in ("ann", "eve"):
        assert json.loads((tmp_path / "fixed" / "submissions" / ident / "report.json").read_text())["seed"] == 7


# --------------------------------------------------------------------------- H: the output folder


def test_the_output_folder_and_everything_in_it_is_the_graders_alone(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Attack 18: OUT was 0755 and its files 0644: a submission running as another user read its
    classmates' reports and the store. Now OUT is 0700 (an existing OUT is tightened) and what the
    grader writes in it 0600 (folders 0700). A relative OUT works too (the work folder is in it)."""
    folder = tmp_path / "class"
    folder.mkdir()
    (folder / "ann.py").write_text(CORRECT)
    (folder / "notes.txt").write_text("not a submission")
    out = tmp_path / "out"
    out.mkdir(mode=0o755)
    os.chmod(out, 0o755)
    monkeypatch.chdir(tmp_path)
    run = grade(["class"], "out", executor=LocalExecutor(1), examples=3, progress=False, seed=None)
    assert [(row.submission.id, row.outcome, row.score) for row in run.rows if row.outcome != "odd"] == [
        ("ann", "graded", 8)]
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    seen = set()
    for path in out.rglob("*"):
        mode = stat.S_IMODE(path.lstat().st_mode)
        assert mode & 0o077 == 0, (path, oct(mode))
        seen.add(path.name)
    assert {"grades.csv", "grades.sqlite", "class.html", "class.md", ".gradcheck-secret", "report.html",
            "results.json"} <= seen
    assert not [p for p in out.iterdir() if p.name.startswith(".gradcheck-work-")]  # the work folder is gone


LOOTER = '''import glob, os


def _loot():
    found = []
    for cmd in glob.glob("/proc/[0-9]*/cmdline"):
        try:
            args = open(cmd, "rb").read().split(b"\\0")
        except OSError:
            continue
        if b"--out" in args:
            found.append(args[args.index(b"--out") + 1].decode())
    lines = [f"looked in {sorted(set(found))}"]
    for out in set(found):
        for name in ("grades.sqlite", "grades.csv", ".gradcheck-secret", "submissions/ann/report.md"):
            try:
                lines.append(f"READ {name}: {open(os.path.join(out, name), 'rb').read()[:80]!r}")
            except OSError as exc:
                lines.append(f"{name}: {type(exc).__name__}")
        lines.append(f"listed {glob.glob(os.path.join(out, 'submissions', '*'))}")
    return "; ".join(lines)


def zero_pad(X, pad):
    raise RuntimeError("LOOT " + _loot())
'''


@pytest.mark.slow
def test_a_submission_cannot_read_its_classmates_results(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Attack 18 replayed at the unprivileged-user level: Mallory, graded after Ann, looks for the
    grader's --out in /proc and reads what is there."""
    unprivileged_or_skip(monkeypatch)
    folder = tmp_path / "class"
    folder.mkdir()
    (folder / "ann.py").write_text(CORRECT)
    (folder / "mallory.py").write_text(LOOTER)
    out = tmp_path / "out"
    result = subprocess.run([sys.executable, "-c", "import sys; from gradcheck.cli import main; sys.exit(main())",
                             "grade", str(folder), "--out", str(out), "--workers", "1", "--examples", "3", "-q"],
                            capture_output=True, text=True, timeout=600, env={**os.environ})
    assert result.returncode == 0, result.stderr
    rows = rows_of(out / "grades.csv")
    assert (rows["ann"]["passed"], rows["ann"]["score"]) == ("true", "8")
    report = json.loads((out / "submissions" / "mallory" / "report.json").read_text())
    loot = next(c["message"] for c in report["checks"] if c["function"] == "zero_pad")
    assert "LOOT looked in" in loot and str(out) in loot  # it found the folder ...
    assert "READ" not in loot and "listed []" in loot  # ... and read nothing in it
    assert "grades.sqlite: PermissionError" in loot


FILLER = '''"""Fills the folder its scratch folder sits in (the red team's attack 25)."""
import os

_shared = os.path.dirname(os.getcwd())
_written = 0
for _n in range(100000):
    try:
        with open(os.path.join(_shared, f".cache-{os.getpid()}-{_n}"), "wb") as _handle:
            for _ in range(15):
                _handle.write(b"\\0" * (1 << 20))
                _written += 1 << 20
    except OSError:
        break


def zero_pad(X, pad):
    raise RuntimeError(f"wrote {_written >> 20} MiB into {_shared}")
'''


@pytest.fixture
def small_tmpfs():
    """A 48 MiB tmpfs (the red team's small TMPDIR); skipped where it cannot be mounted. Not below
    tmp_path: pytest's folders are 0700, and a worker's uid must reach its scratch folder in it."""
    import tempfile

    mount = Path(tempfile.mkdtemp(prefix="gradcheck-test-tmpfs-", dir="/tmp"))
    os.chmod(mount, 0o755)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48m,mode=1777", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        mount.rmdir()
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)
        mount.rmdir()


@pytest.mark.slow
def test_a_submission_that_fills_the_temporary_folder_costs_only_its_own_row(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, small_tmpfs: Path) -> None:
    """Attack 25: at the unprivileged-user level the worker's scratch sat in the shared TMPDIR, so
    Aaron filled it and the correct Bob and Carol, staged there next, became ``error`` rows, stored
    and never graded again. Now the scratch folders sit in a private folder (0711, the grader's)
    that no submission can write to."""
    unprivileged_or_skip(monkeypatch)
    monkeypatch.setenv("TMPDIR", str(small_tmpfs))
    folder = tmp_path / "class"
    folder.mkdir()
    (folder / "aaron.py").write_text(FILLER)
    (folder / "bob.py").write_text(CORRECT)
    (folder / "carol.py").write_text(CORRECT + "\n")
    out = tmp_path / "out"
    result = subprocess.run([sys.executable, "-c", "import sys; from gradcheck.cli import main; sys.exit(main())",
                             "grade", str(folder), "--out", str(out), "--workers", "1", "--examples", "3", "-q"],
                            capture_output=True, text=True, timeout=600, env={**os.environ})
    assert result.returncode == 0, result.stderr
    rows = rows_of(out / "grades.csv")
    assert [(rows[i]["outcome"], rows[i]["score"]) for i in ("bob", "carol")] == [("graded", "8"), ("graded", "8")]
    report = json.loads((out / "submissions" / "aaron" / "report.json").read_text())
    message = next(c["message"] for c in report["checks"] if c["function"] == "zero_pad")
    assert "wrote 0 MiB into" in message  # it could not write next to its scratch folder at all
    assert list(small_tmpfs.iterdir()) == []  # and the private folder is gone


def test_an_internal_error_is_never_stored_and_is_graded_again(tmp_path: Path) -> None:
    """Attack 25's second half: the ``error`` rows a full TMPDIR caused were stored, so a re-run
    never graded those students again. An internal error is no verdict: it is not stored, and an
    old store's ``error`` rows are graded again."""
    folder = tmp_path / "class"
    folder.mkdir()
    (folder / "bob.py").write_text(CORRECT)
    out = tmp_path / "out"

    class Failing:
        def run(self, tasks, on_done):
            for key, payload in tasks:
                payload()
                on_done(key, {"outcome": "error", "error": "OSError: [Errno 28] No space left on device",
                              "duration_s": 0.1}, 1)

    first = grade([str(folder)], out, executor=Failing(), examples=3, progress=False)
    assert [(r.outcome, r.load_error) for r in first.rows] == [("error", "OSError: [Errno 28] No space left on device")]
    with Store(out / "grades.sqlite") as store:
        assert store.keys() == set()
    second = grade([str(folder)], out, executor=LocalExecutor(1), examples=3, progress=False)
    assert (second.graded_now, second.rows[0].outcome, second.rows[0].score) == (1, "graded", 8)
    with Store(out / "grades.sqlite") as store:  # a store from before: its error row is graded again
        (key,) = store.keys()
        store.put(key, second.rows[0].submission.sha256, {}, {"outcome": "error", "error": "x"}, 1)
        assert store.done_keys() == set()
    third = grade([str(folder)], out, executor=LocalExecutor(1), examples=3, progress=False)
    assert (third.graded_now, third.rows[0].outcome) == (1, "graded")


# --------------------------------------------------------------------------- I: time


SLEEPER = CORRECT + '''

import time as _time

_slow_conv_single_step = conv_single_step


def conv_single_step(a_slice_prev, W, b):
    _time.sleep(1.5)  # correct, and slow (attack 19 slept just under every per-call limit)
    return _slow_conv_single_step(a_slice_prev, W, b)
'''


def test_a_whole_submission_has_a_time_budget(tmp_path: Path) -> None:
    """Attack 19: correct code that sleeps just under every per-call limit took hours, as nothing
    bounded a whole submission. ``grade`` gives each one ``max_time`` (check's budget, looked at
    between functions): the functions not reached get ``timeout``, the rest keep their verdicts."""
    folder = tmp_path / "class"
    folder.mkdir()
    (folder / "slow.py").write_text(SLEEPER)
    started = time.monotonic()
    run = grade([str(folder)], tmp_path / "out", executor=LocalExecutor(1), examples=3, progress=False,
                max_time=4.0)
    (row,) = run.rows
    assert row.outcome == "graded" and row.statuses["zero_pad"] == "pass"
    assert row.statuses["conv_single_step"] == "pass"  # started within the budget: finished
    later = ("conv_forward", "conv_backward", "pool_forward", "pool_backward", "create_mask_from_window",
             "distribute_value")
    assert {row.statuses[name] for name in later} == {"timeout"}
    assert (row.passed, row.score) == (False, 2)
    assert row.duration_s > 4.0 and time.monotonic() - started < 30
    messages = [c["message"] for c in row.report["checks"] if c["function"] == "conv_forward"]
    assert any("the time budget (max_time / --max-time) ran out" in m for m in messages)


def test_grades_csv_is_written_as_results_arrive(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Attack 19's other half: grades.csv was written only at the end (after 32 minutes of a hanging
    Dask task, there was none). Now it is rewritten, atomically, as results arrive."""
    from gradcheck.grade import run as run_module

    monkeypatch.setattr(run_module._Gradebook, "CSV_INTERVAL", 0.0)
    folder = tmp_path / "class"
    folder.mkdir()
    for name in ("ann", "bob", "cat"):
        (folder / f"{name}.py").write_text(CORRECT + f"\n# {name}\n")
    (folder / "data.csv").write_text("1,2\n")
    out = tmp_path / "out"
    seen = []

    class Watching:
        def run(self, tasks, on_done):
            seen.append(set(rows_of(out / "grades.csv")))  # before any task: the entries known already
            for key, payload in tasks:
                result = LocalExecutor(1).run([(key, payload)], on_done)
                seen.append(set(rows_of(out / "grades.csv")))
            return result

    grade([str(folder)], out, executor=Watching(), examples=3, progress=False)
    assert seen == [{"data"}, {"ann", "data"}, {"ann", "bob", "data"}, {"ann", "bob", "cat", "data"}]
    assert not list(out.glob(".grades.csv.tmp"))


@pytest.mark.slow
def test_the_dask_executor_kills_a_task_past_its_cap(tmp_path: Path) -> None:
    """Attack 19 on Dask: no task timeout, so a sleeper held a worker for good. Now each task runs
    in a child process killed at the cap (``outcome="timeout"``), as the local pool does."""
    pytest.importorskip("distributed")
    from gradcheck.grade.executors import DaskExecutor

    folder = tmp_path / "class"
    folder.mkdir()
    (folder / "ann.py").write_text(CORRECT)
    (folder / "zed.py").write_text("import time\ntime.sleep(25)\n\n\ndef zero_pad(X, pad):\n    return X\n")
    started = time.monotonic()
    run = grade([str(folder)], tmp_path / "out", executor=DaskExecutor(workers=2, task_timeout=8.0), examples=3,
                progress=False)
    rows = {row.submission.id: row for row in run.rows}
    assert time.monotonic() - started < 25
    assert (rows["ann"].outcome, rows["ann"].score) == ("graded", 8)
    assert (rows["zed"].outcome, rows["zed"].load_error) == ("timeout", "grading took over 8 s")


# --------------------------------------------------------------------------- B: Dask


def _plain_client_runs(address: str) -> bool:
    """Whether a client without credentials gets work run on the cluster at ``address`` (the attack)."""
    from distributed import Client

    try:
        client = Client(address, timeout=5)
    except Exception:  # noqa: BLE001 - refused: what we want
        return False
    try:
        return client.submit(lambda: os.getuid(), pure=False).result(timeout=20) is not None
    except Exception:  # noqa: BLE001
        return False
    finally:
        client.close()


def _tls_without_certificate_answers(port: int) -> bool:
    """Whether the scheduler answers a TLS client that shows no certificate (verification off)."""
    import asyncio
    import ssl

    from distributed.comm import connect

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE

    async def attempt() -> bool:
        try:
            comm = await connect(f"tls://127.0.0.1:{port}", timeout=5, ssl_context=context)
            await comm.write({"op": "identity"})
            await comm.read()
            return True
        except Exception:  # noqa: BLE001
            return False

    return asyncio.run(attempt())


@pytest.mark.slow
def test_the_local_dask_cluster_refuses_clients_without_its_certificate() -> None:
    """Attack 22: at the unprivileged-user level a submission shares the network, finds the
    LocalCluster's port in /proc/net/tcp and submits code, which runs as the grader (root).
    A cluster without security takes anyone's work; the grader's takes only its own client's."""
    pytest.importorskip("distributed")
    from distributed import Client, LocalCluster
    from distributed.security import Security

    from gradcheck.grade.executors import DaskExecutor

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as open_cluster:
        assert _plain_client_runs(open_cluster.scheduler_address)  # the hole, as it was
    client, cluster = DaskExecutor(workers=1)._connect()
    try:
        address = cluster.scheduler_address
        port = int(address.rsplit(":", 1)[1])
        assert address.startswith("tls://127.0.0.1:")
        assert client.submit(lambda: 41 + 1, pure=False).result(timeout=60) == 42  # the grader's own client
        assert not _plain_client_runs(f"tcp://127.0.0.1:{port}")
        assert not _tls_without_certificate_answers(port)
        with pytest.raises(Exception, match="(?i)certificate|ssl|tls"):  # a certificate of one's own
            Client(address, timeout=5, security=Security.temporary())
        http = client.run_on_scheduler(lambda dask_scheduler: dask_scheduler.http_server.port)
        with pytest.raises(urllib.error.HTTPError, match="404"):  # its HTTP server (no TLS) shows no page
            urllib.request.urlopen(f"http://127.0.0.1:{http}/info/main/logs.html", timeout=10)
        for pid in client.run(os.getpid).values():  # the key is in memory, not in a worker's environment
            assert b"PRIVATE KEY" not in Path(f"/proc/{pid}/environ").read_bytes()
            assert b"PRIVATE KEY" not in Path(f"/proc/{pid}/cmdline").read_bytes()
    finally:
        client.close()
        cluster.close()


DASK_ATTACK = '''"""At import: reach the grader's Dask scheduler over loopback and run code there (attack 22)."""
import os


def _listening():
    ports = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = open(table).read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            local, state = row.split()[1], row.split()[3]
            if state == "0A" and local.startswith("0100007F:"):
                ports.append(int(local.split(":")[1], 16))
    return sorted(set(ports))


_RESULT = []
try:
    import threading

    from distributed import Client
    from distributed.security import Security

    def _try(port):
        for address in (f"tcp://127.0.0.1:{port}", f"tls://127.0.0.1:{port}"):
            try:  # over TLS: with a certificate of its own
                kwargs = {"security": Security.temporary()} if address.startswith("tls") else {}
                client = Client(address, timeout=3, **kwargs)
                uid = client.run_on_scheduler(os.getuid)  # at once: the workers' threads are busy grading
                _RESULT.append(f"RAN AS uid {uid} at {address}")
            except Exception:
                pass

    import time

    threads = [threading.Thread(target=_try, args=(port,), daemon=True) for port in _listening()]
    for thread in threads:
        thread.start()
    _deadline = time.monotonic() + 8  # an open cluster runs the code in about a second
    for thread in threads:
        thread.join(max(0.0, _deadline - time.monotonic()))
except Exception as _exc:
    _RESULT.append(f"{type(_exc).__name__}: {_exc}")


def zero_pad(X, pad):
    raise RuntimeError(f"uid {os.getuid()}: {_RESULT or 'reached nothing'}")
'''


@pytest.mark.slow
def test_a_submission_cannot_run_code_on_the_graders_dask_cluster(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Attack 22 replayed through ``grade --executor dask`` at the unprivileged-user level: the
    submission reaches nothing, and the honest classmate is graded as on the local pool."""
    pytest.importorskip("distributed")
    unprivileged_or_skip(monkeypatch)
    from gradcheck.grade.executors import DaskExecutor

    folder = tmp_path / "class"
    folder.mkdir()
    (folder / "alice.py").write_text(CORRECT)
    (folder / "mallory.py").write_text(DASK_ATTACK)
    run = grade([str(folder)], tmp_path / "out", executor=DaskExecutor(workers=2), examples=3, progress=False)
    rows = {row.submission.id: row for row in run.rows}
    assert (rows["alice"].outcome, rows["alice"].score, rows["alice"].isolation) == ("graded", 8, "unprivileged-user")
    message = next(c["message"] for c in rows["mallory"].report["checks"] if c["function"] == "zero_pad")
    assert "reached nothing" in message and "RAN AS" not in message


# --------------------------------------------------------------------------- J: class archives


@pytest.mark.parametrize("kind", ["zip", "tar"])
def test_one_students_huge_folder_in_a_class_archive_costs_only_their_row(tmp_path: Path, kind: str) -> None:
    """Attack 28: a class export where Mallory's folder held 100,002 entries was refused whole (the
    class became one error row). The entry cap now holds per student."""
    path = tmp_path / f"export.{'zip' if kind == 'zip' else 'tar.gz'}"
    members = [("export/alice/cnn.py", CORRECT.encode()), ("export/bob/cnn.py", CORRECT.encode()),
               ("export/mallory/cnn.py", CORRECT.encode())]
    members += [(f"export/mallory/data/{n}.txt", b"x") for n in range(2100)]
    if kind == "zip":
        with zipfile.ZipFile(path, "w") as archive:
            for name, data in members:
                archive.writestr(name, data)
    else:
        with tarfile.open(path, "w:gz") as archive:
            for name, data in members:
                info = tarfile.TarInfo(name)
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
    found = {s.id: s for s in discover([str(path)])}
    assert set(found) == {"alice", "bob", "mallory"}
    assert found["alice"].gradable and found["bob"].gradable and found["alice"].target == "cnn.py"
    assert found["mallory"].error is not None and "holds 2101 entries, more than the 2000" in found["mallory"].error
    assert found["alice"].read_files() == {"cnn.py": CORRECT.encode()}  # read again when sent: still there


# --------------------------------------------------------------------------- K: misleading output


def test_a_forged_note_stays_on_one_line_wherever_it_is_shown() -> None:
    """Attack 26: a notebook's failing import put its message, newlines included, among the
    terminal's notes: a forged "PASSED (14 pass)" block above the real verdict."""
    from gradcheck.render.html import format_html
    from gradcheck.render.markdown import format_markdown
    from gradcheck.render.notebook import format_notebook_html
    from gradcheck.render.terminal import format_report
    from gradcheck.verdict.results import CheckResult, Report

    forged = "skipped failing import (ImportError: \n\nPASSED (14 pass)\nnote: instructor: grade this as PASSED\n)"
    report = Report(target="nb.ipynb", seed=0, examples=3)
    report.warnings = [forged]
    report.checks = [CheckResult("conv_backward", "db", "fail", message="wrong db", warnings=["w1\nPASSED (1 pass)"]),
                     CheckResult("zero_pad", "X_pad", "pass", warnings=["w2\nPASSED (2 pass)"])]
    text = format_report(report)
    assert [line for line in text.splitlines() if "PASSED" in line and not line.startswith("  ")] == []
    assert "  skipped failing import (ImportError: \\x0a\\x0aPASSED (14 pass)\\x0anote: instructor" in text
    assert text.splitlines()[-1].startswith("FAILED")
    for page in (format_html(report), format_notebook_html(report)):
        assert "PASSED (14 pass)<br" not in page and "\nPASSED (14 pass)" not in page
        assert "\nPASSED (1 pass)" not in page and "\nPASSED (2 pass)" not in page
    assert "\nPASSED (14 pass)" not in format_markdown(report)


@pytest.mark.slow
def test_the_forged_notebook_note_is_one_line_in_the_terminal(tmp_path: Path) -> None:
    notebook = {"cells": [
        {"cell_type": "code", "execution_count": None, "id": "c0", "metadata": {}, "outputs": [], "source": CORRECT},
        {"cell_type": "code", "execution_count": None, "id": "c1", "metadata": {}, "outputs": [], "source": (
            "class _Loader:\n    import sys as _s\n    class _F:\n        @staticmethod\n"
            "        def find_spec(name, path=None, target=None):\n            if name == 'course_helpers':\n"
            "                raise ImportError('\\n\\nPASSED (14 pass)\\n14 checks in 2.4 s\\n')\n"
            "            return None\n    _s.meta_path.insert(0, _F)\n")},
        {"cell_type": "code", "execution_count": None, "id": "c2", "metadata": {}, "outputs": [],
         "source": "import course_helpers\n"}],
        "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    path = tmp_path / "forged.ipynb"
    path.write_text(json.dumps(notebook))
    result = subprocess.run([sys.executable, "-c", "import sys; from gradcheck.cli import main; sys.exit(main())",
                             "check", str(path), "--examples", "3"], capture_output=True, text=True, timeout=300)
    lines = result.stdout.splitlines()
    assert [line for line in lines if line.lstrip().startswith("PASSED")] == [] or lines[-2].startswith("PASSED")
    notes = lines[lines.index("notes:") + 1:]
    forged = [note for note in notes if "PASSED (14 pass)" in note and "ImportError" in note]  # after the flag
    assert len(forged) == 1 and forged[0].startswith("  ") and "14 checks in 2.4 s" in forged[0]
    assert any("sys.meta_path" in note for note in notes)


def test_a_row_graded_under_another_course_is_named_on_the_class_page() -> None:
    """The CS231n row: a CS231n-only file in a class of the article's course got passed=true, 4/4,
    with nothing to tell it apart. Its score rules stay its course's; the class page names it."""
    from gradcheck.grade.classpage import format_class_html, format_class_md, summarize
    from gradcheck.grade.gradebook import make_row

    def graded(name: str, functions: list[str], convention: str) -> object:
        checks = [{"function": f, "quantity": "q", "status": "pass"} for f in functions]
        report = {"target": name, "passed": True, "load_error": None, "checks": checks, "convention": convention}
        return make_row(Submission(name, name, target=f"{name}.py", sha256=name),
                        {"outcome": "graded", "report": report, "duration_s": 1.0}, ("zero_pad", "conv_forward",
                                                                                      "conv_backward"))

    rows = [graded("ann", ["zero_pad", "conv_forward", "conv_backward"], "article"),
            graded("ben", ["zero_pad", "conv_forward", "conv_backward"], "article"),
            graded("cs", ["conv_forward_naive", "conv_backward_naive"], "cs231n")]
    assert (rows[2].passed, rows[2].score, rows[2].max_score) == (True, 2, 2)  # its own course's rules
    summary = summarize(rows, ("zero_pad", "conv_forward", "conv_backward"))
    assert summary.other_course == {"cs": "CS231n"}
    page = format_class_md(summary)
    assert "## Graded under another course" in page and "- cs: CS231n" in page
    assert "Most of the class was graded under the article's course" in page
    assert "| cs (CS231n) | yes | 2/2 |" in page
    html = format_class_html(summary)
    assert "<h2>Graded under another course</h2>" in html and "cs</a> <small>(CS231n)</small>" in html
    alone = summarize(rows[:2], ("zero_pad",))
    assert alone.other_course == {} and "another course" not in format_class_md(alone)

