"""``gradcheck gradescope-autograder``: the bundle, and its run_autograder on real submissions."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

from grade_helpers import ONLY_ZERO_PAD, TESTS, ZOO

from gradcheck.cli import main


def make_bundle(tmp_path: Path, *extra: str) -> Path:
    bundle = tmp_path / "bundle"
    assert main(["gradescope-autograder", str(bundle), "--examples", "5", *extra]) == 0
    return bundle


def run_autograder(bundle: Path, root: Path) -> dict:
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "GRADCHECK_PYTHON": sys.executable,
           "PYTHONPATH": str(TESTS.parent)}
    done = subprocess.run(["bash", str(bundle / "run_autograder")], env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads((root / "results" / "results.json").read_text())


def test_bundle_has_scripts_source_and_zip(tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path, "--require", "zero_pad,conv_backward", "--seed", "3")
    for script in ("setup.sh", "run_autograder"):
        assert (bundle / script).stat().st_mode & stat.S_IXUSR
    run = (bundle / "run_autograder").read_text()
    assert "--examples 5 --seed 3 --timeout 10.0 --require zero_pad,conv_backward" in run
    assert 'pip install --quiet "$ROOT/source/gradcheck_src"' in (bundle / "setup.sh").read_text()
    with zipfile.ZipFile(bundle / "autograder.zip") as archive:
        names = set(archive.namelist())
        assert {"setup.sh", "run_autograder", "gradcheck_src/pyproject.toml",
                "gradcheck_src/gradcheck/grade/autograder.py", "gradcheck_src/reference/naive.py"} <= names
        assert (archive.getinfo("run_autograder").external_attr >> 16) & stat.S_IXUSR
    assert '"numpy>=1.26"' in (bundle / "gradcheck_src" / "pyproject.toml").read_text()


def test_run_autograder_scores_required_functions(tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path, "--require", "zero_pad,conv_forward,conv_backward")
    root = tmp_path / "autograder"
    (root / "submission").mkdir(parents=True)
    (root / "submission" / "cnn.py").write_text(ONLY_ZERO_PAD)
    results = run_autograder(bundle, root)
    tests = {t["name"]: t for t in results["tests"]}
    assert set(tests) == {"zero_pad", "conv_forward", "conv_backward"}
    assert tests["zero_pad"]["status"] == "passed"
    for name in ("conv_forward", "conv_backward"):  # missing: failed, worth their point
        assert (tests[name]["status"], tests[name]["score"], tests[name]["max_score"]) == ("failed", 0.0, 1.0)
    assert results["score"] == 1.0 and results["extra_data"]["passed"] is False


def test_run_autograder_on_correct_and_on_empty_submission(tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path)
    root = tmp_path / "autograder"
    (root / "submission").mkdir(parents=True)
    shutil.copy(ZOO / "correct_course.py", root / "submission" / "Convolution_model.py")
    results = run_autograder(bundle, root)
    assert results["score"] == 8.0 and all(t["status"] == "passed" for t in results["tests"])
    shutil.rmtree(root / "submission")
    (root / "submission").mkdir()
    (root / "submission" / "answers.txt").write_text("I did it on paper")
    empty = run_autograder(bundle, root)
    assert empty["score"] == 0.0 and len(empty["tests"]) == 8
    assert "folder without a .py or .ipynb file" in empty["tests"][0]["output"]
