"""Build class folders for the ``gradcheck grade`` tests and grade files independently.

``build_class(root, ...)`` lays out, at test time, a class made of the bug zoo,
the hostile/broken submissions of ``tests/submissions``, notebooks, sub-folders
(with a helper module beside the target), a zip and a tar.gz, duplicates and odd entries.
``expected_row(path, ...)`` runs ``gradcheck check --json`` on one file in place (the
CLI, in its own process) and derives, with code of its own, what its gradebook row must
say. Top-level files of the class are self-contained (the grader checks each alone);
a submission made of several files is a sub-folder.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

from fixture_files import COURSE_LOOPS, place, uses_course_loops

from gradcheck.conventions import CONVENTIONS, convention

TESTS = Path(__file__).resolve().parent
ZOO = TESTS / "zoo"
SUBMISSIONS = TESTS / "submissions"
WORST_FIRST = ("crashed", "memory", "timeout", "error", "fail", "pass")

KILLS_PARENT = '''"""Hostile: conv_forward kills the process that started its worker (the grading task).

It succeeds at the limits-only isolation level; the sandbox (PID namespace) and the
unprivileged-user level stop it."""
import os
import signal

import numpy as np


def zero_pad(X, pad):
    return np.pad(X, ((0, 0), (pad, pad), (pad, pad), (0, 0)))


def conv_forward(A_prev, W, b, hparameters):
    os.kill(os.getppid(), signal.SIGKILL)
'''

ONLY_ZERO_PAD = '''import numpy as np


def zero_pad(X, pad):
    return np.pad(X, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
'''


def zoo_files() -> list[Path]:
    return sorted(p for p in ZOO.glob("*.py") if p.name not in ("__init__.py", "manifest.py", "course_loops.py"))


def submission_files(skip: tuple[str, ...] = ()) -> list[Path]:
    return sorted(p for p in SUBMISSIONS.iterdir()
                  if p.suffix in (".py", ".ipynb") and p.stem not in (*skip, "course_loops"))


def build_class(root: Path, *, full: bool = True) -> tuple[Path, dict[str, Path]]:
    """A class folder under ``root``; returns (folder, {submission id: file to check it by}).

    ``full``: every zoo member and every submission file (>= 60 entries); otherwise a
    small class with a correct file, three bugs and the hostile kinds that matter.
    """
    folder = root / "class"
    folder.mkdir(parents=True)
    targets: dict[str, Path] = {}
    if full:
        files = zoo_files() + submission_files(skip=("cs231n_buggy",))
    else:
        names = ["correct_course", "bug_db_wrong", "bug_flipped_kernel", "bug_float_b"]
        files = [ZOO / f"{n}.py" for n in names] + [
            SUBMISSIONS / f"{n}.py" for n in ("signal_death", "exit_at_import", "output_flood", "syntax_error")
        ]
    for path in files:
        # a file built on course_loops.py is a folder submission holding both, as a student's
        # file with a helper module of their own would be; the others are files in the class folder
        beside = uses_course_loops(path.read_text(errors="replace"))
        targets[path.stem] = place(folder / path.stem if beside else folder, path.name, source=path)
    (folder / "kills_parent.py").write_text(KILLS_PARENT)
    targets["kills_parent"] = folder / "kills_parent.py"
    (folder / "only_zero_pad.py").write_text(ONLY_ZERO_PAD)
    targets["only_zero_pad"] = folder / "only_zero_pad.py"
    shutil.copy(ZOO / "correct_course.py", folder / "same_as_course.py")  # identical bytes: graded once
    targets["same_as_course"] = folder / "same_as_course.py"
    # a sub-folder: the target is the file defining contract functions, beside a helper and data
    alice = folder / "alice"
    place(alice, "my_cnn.py", source=ZOO / "bug_stride_ignored_pool.py")
    (alice / "helpers.py").write_text("SCALE = 1.0\n")
    (alice / "notes.txt").write_text("my notes\n")
    targets["alice"] = alice / "my_cnn.py"
    # a CS231n-style submission in two files: the entry file imports the other
    frank = folder / "frank"
    frank.mkdir()
    shutil.copy(SUBMISSIONS / "cs231n_buggy.py", frank / "cs231n_buggy.py")
    shutil.copy(SUBMISSIONS / "cs231n_layers.py", frank / "cs231n_layers.py")
    targets["frank"] = frank / "cs231n_buggy.py"
    # a sub-folder holding a notebook
    carol = folder / "carol"
    carol.mkdir()
    shutil.copy(SUBMISSIONS / "notebook_cnn.ipynb", carol / "Convolution_model_Step_by_Step.ipynb")
    targets["carol"] = carol / "Convolution_model_Step_by_Step.ipynb"
    # odd entries: a data file and a folder without code
    (folder / "grades_2023.csv").write_text("a,b\n1,2\n")
    (folder / "empty_student").mkdir()
    (folder / "empty_student" / "README.txt").write_text("nothing here\n")
    # archives: a zip made from a folder (one wrapping folder, looked through), a tar.gz of files
    with zipfile.ZipFile(folder / "dave.zip", "w") as archive:
        archive.write(ZOO / "correct_einsum.py", "dave/cnn.py")
    with tarfile.open(folder / "erin.tar.gz", "w:gz") as archive:
        archive.add(ZOO / "bug_mask_min.py", "cnn.py")
        archive.add(COURSE_LOOPS, "course_loops.py")
        data = tarfile.TarInfo("data.npy")
        data.size = 6
        archive.addfile(data, io.BytesIO(b"\x93NUMPY"))
    targets["dave"] = ZOO / "correct_einsum.py"
    targets["erin"] = ZOO / "bug_mask_min.py"
    return folder, targets


def worst(statuses: list[str]) -> str:
    present = [s for s in statuses if s != "missing"]
    return min(present, key=WORST_FIRST.index) if present else "missing"


# Submissions whose answers depend on what they can see around them (other processes' command
# lines, classmates' files, the working folder): graded in a folder of their own, they see something
# else than `gradcheck check` run in place does. They are in the class (they must cost only their
# row) but not in the function-by-function comparison.
CONTEXT_DEPENDENT = frozenset({"hostile_proc_cmdline", "hostile_read_sibling", "hostile_looks_around"})

WEAKEST = {"GRADCHECK_ISOLATION": "limits-only"}  # the level at which a submission can kill its grading task


def run_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of the grader and checker subprocesses (``extra``: e.g. :data:`WEAKEST`)."""
    return {**os.environ, "PYTHONPATH": str(TESTS.parent), **(extra or {})}


def expected_row(path: Path, workdir: Path, *, examples: int, timeout: float,
                 extra_env: dict[str, str] | None = None) -> dict[str, str]:
    """What the gradebook row of ``path`` must say, from ``gradcheck check --json`` on it."""
    out = workdir / f"{path.stem}-{abs(hash(str(path)))}.json"
    subprocess.run(
        [sys.executable, "-m", "gradcheck.cli", "check", str(path), "--examples", str(examples), "--seed", "0",
         "--no-fix",  # the verdicts alone: grade runs no fix search either
         "--timeout", str(timeout), "--json", str(out), "-q"],
        cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=600, env=run_env(extra_env),
    )
    report = json.loads(out.read_text())
    own = convention(report.get("convention")).shown_functions  # the row's course: its columns, its score
    row = {name: "" for known in CONVENTIONS.values() for name in known.shown_functions}
    row.update({name: worst([c["status"] for c in report["checks"] if c["function"] == name]) for name in own})
    all_present = all(row[name] != "missing" for name in own)
    neither = not report["load_error"] and all(row[name] == "missing" for name in own)
    if neither:
        row.update(dict.fromkeys(own, ""))  # a file of neither course: said in load_error, no missing cells
    row["passed"] = "true" if report["passed"] and all_present else "false"
    row["score"] = str(sum(1 for name in own if row[name] == "pass"))
    row["max_score"] = str(len(own))
    row["loads"] = "no" if report["load_error"] or neither else "yes"  # neither: the row's load_error says so
    return row
