"""The Gradescope autograder bundle: ``gradcheck gradescope-autograder DIR``.

Writes into DIR:

- ``setup.sh``: run once by Gradescope when the image is built; installs Python >= 3.11
  if the image lacks it, makes ``/autograder/venv`` and installs the bundled toolkit;
- ``run_autograder``: run per submission; checks ``/autograder/submission`` exactly as
  ``gradcheck grade`` checks one submission (same settings, isolated) and writes
  ``/autograder/results/results.json`` (every required function a test worth one
  point, missing ones failed with their point);
- ``gradcheck_src/``: this toolkit's source (``gradcheck/``, ``reference/``, a pyproject);
- ``autograder.zip``: all of the above, ready to upload.

``python -m gradcheck.grade.autograder run SUBMISSION_DIR RESULTS_JSON [options]`` is what
``run_autograder`` calls; ``AUTOGRADER_ROOT`` and ``GRADCHECK_PYTHON`` override
``/autograder`` and the venv's python (the tests run the script that way).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import shutil
import stat
import sys
import zipfile
from pathlib import Path

from gradcheck.grade.gradebook import gradescope_for_grade, make_row
from gradcheck.grade.sources import folder_submission
from gradcheck.grade.task import Settings, grade_task

SETUP_SH = """#!/usr/bin/env bash
# Gradescope image setup: Python >= 3.11, a venv, and the bundled gradcheck.
set -euo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
PY=""
for candidate in python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
        PY="$candidate"; break
    fi
done
if [ -z "$PY" ]; then
    apt-get update -q && apt-get install -y -q python3.11 python3.11-venv
    PY=python3.11
fi
"$PY" -m venv "$ROOT/venv"
"$ROOT/venv/bin/python" -m pip install --quiet --upgrade pip
"$ROOT/venv/bin/python" -m pip install --quiet "$ROOT/source/gradcheck_src"
rm -rf "$ROOT/source/gradcheck_src/build"  # pip's in-tree build: a world-readable copy of the answer key
# bubblewrap, the sandbox, where the image can install it (it may still be unable to create namespaces)
if ! command -v bwrap >/dev/null && command -v apt-get >/dev/null; then
    apt-get install -y -q bubblewrap >/dev/null 2>&1 || echo "bubblewrap could not be installed" >&2
fi
# the reference layers are the answer key: no user but root may read them (a submission runs as
# another user where bubblewrap cannot run, as in most autograder containers; never as root:
# gradcheck refuses to fall back to that)
REF="$("$ROOT/venv/bin/python" -I -c 'import os, reference; print(os.path.dirname(reference.__file__))')"
case "$REF" in "$ROOT"/*) ;; *) echo "the reference was not installed under $ROOT: $REF" >&2; exit 1;; esac
chmod -R go-rwx "$REF" "$ROOT/source/gradcheck_src/reference"
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope: check the submission with gradcheck, write results/results.json.
set -uo pipefail
ROOT="${{AUTOGRADER_ROOT:-/autograder}}"
PY="${{GRADCHECK_PYTHON:-$ROOT/venv/bin/python}}"
mkdir -p "$ROOT/results"
cd "$ROOT/results"
exec "$PY" -m gradcheck.grade.autograder run "$ROOT/submission" "$ROOT/results/results.json" \\
    --examples {examples} --seed {seed} --timeout {timeout} --require {require} --convention {convention} \\
    --assignment {assignment}
"""

PYPROJECT = """[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "gradcheck"
version = "{version}"
requires-python = ">=3.11"
dependencies = {dependencies}

[tool.setuptools.packages.find]
include = ["gradcheck*", "reference*"]
"""


def _runtime_dependencies() -> list[str]:
    try:
        requires = importlib.metadata.requires("gradcheck") or []
    except importlib.metadata.PackageNotFoundError:
        requires = ["numpy>=1.26", "scipy>=1.11", "hypothesis>=6.100", "nbformat>=5.9", "matplotlib>=3.8"]
    return [r for r in requires if "extra ==" not in r]


def _copy_source(destination: Path) -> None:
    import gradcheck
    import reference

    if destination.exists():
        shutil.rmtree(destination)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for module in (gradcheck, reference):
        package = Path(module.__file__).resolve().parent
        shutil.copytree(package, destination / package.name, ignore=ignore)
    (destination / "pyproject.toml").write_text(PYPROJECT.format(
        version=gradcheck.__version__, dependencies=json.dumps(_runtime_dependencies())))


def write_autograder(directory: str | Path, *, examples: int, seed: int | None, timeout: float,
                     require: tuple[str, ...], convention: str = "article",
                     assignment: str | None = None) -> list[Path]:
    """Write setup.sh, run_autograder, gradcheck_src/ and autograder.zip into ``directory``;
    ``convention`` and ``assignment`` (``gradcheck.plans``, None: the convolution notebook
    alone): the course whose functions are the tests."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    setup = directory / "setup.sh"
    run = directory / "run_autograder"
    setup.write_text(SETUP_SH)
    run.write_text(RUN_AUTOGRADER.format(examples=examples, seed="random" if seed is None else seed, timeout=timeout,
                                         require=",".join(require), convention=convention,
                                         assignment=assignment or "none"))
    for script in (setup, run):
        script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    source = directory / "gradcheck_src"
    _copy_source(source)
    bundle = directory / "autograder.zip"
    with zipfile.ZipFile(bundle, "w", zipfile.ZIP_DEFLATED) as archive:
        for script in (setup, run):
            info = zipfile.ZipInfo(script.name)
            info.external_attr = (0o755 | stat.S_IFREG) << 16
            archive.writestr(info, script.read_bytes())
        for path in sorted(source.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(directory).as_posix())
    return [setup, run, source, bundle]


def grade_one(
    submission_dir: str | Path, settings: Settings, require: tuple[str, ...], convention: str = "article",
    assignment: str | None = None,
) -> dict:
    """Gradescope results for the submission folder ``submission_dir`` (as ``grade`` rows it), its
    tests the functions of the assignment's course (``convention``, ``assignment``)."""
    from gradcheck.grade.courses import course

    expected = course(convention, assignment)
    folder = Path(submission_dir)
    if not folder.is_dir():
        report = {"target": str(folder), "seed": settings.seed, "checks": [],
                  "load_error": f"no submission folder at {folder}"}
        return gradescope_for_grade(report, require, expected)
    submission = folder_submission("submission", str(folder), str(folder))
    if not submission.gradable:
        report = {"target": str(folder), "seed": settings.seed, "load_error": submission.error or submission.odd,
                  "checks": []}
        return gradescope_for_grade(report, require, expected)
    payload = {"label": f"{folder.name}/{submission.target}", "target": submission.target,
               "files": submission.read_files(), "settings": settings.key_fields()}
    result = grade_task(payload)
    row = make_row(submission, result, require, settings.assignment)
    if row.report is None:  # an internal error of the grader
        report = {"target": payload["label"], "seed": settings.seed, "checks": [],
                  "load_error": f"gradcheck could not grade this submission: {row.load_error}"}
        return gradescope_for_grade(report, require, expected)
    if (row.convention, row.assignment or None) != (expected.name, expected.assignment or None):
        # another course's functions: none of this assignment's is there
        other, asked = course(row.convention, row.assignment), expected
        report = {"target": payload["label"], "seed": settings.seed, "checks": [], "load_error": (
            f"this submission defines the functions of {other.title} ({', '.join(other.shown_functions)}), not those "
            f"of this assignment, {asked.title} ({', '.join(asked.shown_functions)}): name your functions as the "
            "assignment's template does")}
        return gradescope_for_grade(report, require, expected)
    return gradescope_for_grade(row.report, require, expected)


AUTOGRADER_MAX_TIME = 420.0  # seconds: Gradescope stops a container at 600 s by default (setup and copy included)


def main(argv: list[str] | None = None) -> int:
    """``python -m gradcheck.grade.autograder run SUBMISSION_DIR RESULTS_JSON [options]``."""
    from gradcheck.api import DEFAULT_EXAMPLES, DEFAULT_TIMEOUT
    from gradcheck.cli import _positive_int, _seconds, _seed
    from gradcheck.grade.run import parse_require
    from gradcheck.grade.task import preload

    preload()  # every module the grader uses is read before the submission runs
    parser = argparse.ArgumentParser(prog="python -m gradcheck.grade.autograder")
    parser.add_argument("action", choices=("run",))
    parser.add_argument("submission_dir")
    parser.add_argument("results_json")
    parser.add_argument("--examples", type=_positive_int, default=DEFAULT_EXAMPLES)
    parser.add_argument("--seed", type=lambda text: None if text == "random" else _seed(text), default=None,
                        help="an integer, or random (default): a fresh secret seed for this submission")
    parser.add_argument("--timeout", type=_seconds, default=DEFAULT_TIMEOUT)
    parser.add_argument("--require", default="all")
    parser.add_argument("--convention", choices=("article", "cs231n"), default="article")
    parser.add_argument("--assignment", default="none", help="the assignment's name (gradcheck.plans) or none")
    parser.add_argument("--max-time", type=_seconds, default=AUTOGRADER_MAX_TIME,
                        help=f"the submission's time budget (default {AUTOGRADER_MAX_TIME:g} s: below Gradescope's "
                        "default 600 s container limit, so that a slow submission gets timeout rows, not "
                        "'autograder failed')")
    args = parser.parse_args(argv)
    if args.seed is None:
        import secrets

        args.seed = secrets.randbelow(2**31)
    assignment = None if args.assignment == "none" else args.assignment
    settings = Settings(examples=args.examples, seed=args.seed, timeout=args.timeout,  # each its own: told below
                        max_time=args.max_time)
    results = gradescope_for_grade_safe(args.submission_dir, settings, parse_require(args.require), args.convention,
                                        assignment)
    path = Path(args.results_json)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    print(f"gradcheck: score {results['score']:g} of {results['extra_data']['max_score']}; wrote {path}")
    return 0


def gradescope_for_grade_safe(
    submission_dir: str, settings: Settings, require: tuple[str, ...], convention: str = "article",
    assignment: str | None = None,
) -> dict:
    """:func:`grade_one`, or a results file that says the grader failed (Gradescope always gets one)."""
    try:
        return grade_one(submission_dir, settings, require, convention, assignment)
    except Exception as exc:  # the student still gets a readable result
        report = {"target": submission_dir, "seed": settings.seed, "checks": [],
                  "load_error": f"gradcheck failed: {type(exc).__name__}: {exc}"}
        from gradcheck.grade.courses import course

        return gradescope_for_grade(report, require, course(convention, assignment))


if __name__ == "__main__":
    sys.exit(main())
