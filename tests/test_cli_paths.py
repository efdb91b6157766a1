"""Every path a user takes ends in a clear answer (issue 11): targets, output paths,
``render`` on the wrong file, bounded work, ``--require``, ``--help``. Usage errors exit 2
with one sentence and no traceback, before anything runs."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from gradcheck.cli import main
from gradcheck.plans.convolution import CONTRACT_FUNCTIONS

SUBMISSIONS = Path(__file__).parent / "submissions"
FAST = ["--examples", "2", "--timeout", "5", "-q"]
ONLY_ZERO_PAD = (
    "import numpy as np\n\ndef zero_pad(X, pad):\n    return np.pad(X, ((0, 0), (pad, pad), (pad, pad), (0, 0)))\n"
)


def run(capsys, *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse's own errors and --help
        code = exc.code
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


@pytest.mark.parametrize("name", ["notes.txt", "code.txt"])  # `code` is also a stdlib module
def test_an_existing_file_that_is_not_py_or_ipynb_is_refused_as_a_file(capsys, tmp_path, monkeypatch, name):
    monkeypatch.chdir(tmp_path)
    Path(name).write_text(ONLY_ZERO_PAD)
    code, out, err = run(capsys, "check", name)
    assert code == 2
    assert f"gradcheck: error: {name} is not a .py or .ipynb file" in err
    assert "no such file or module" not in err and out == ""


def test_a_directory_is_a_usage_error_that_points_to_grade(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "adir").mkdir()
    (tmp_path / "adir" / "alice.py").write_text(ONLY_ZERO_PAD)
    code, out, err = run(capsys, "check", "adir")
    assert code == 2 and out == ""
    assert "adir is a directory" in err
    assert "gradcheck grade adir --out DIR" in err


def test_a_package_folder_is_still_checked_by_its_module_name(capsys):
    code, out, _ = run(capsys, "check", "reference", *FAST, "--only", "zero_pad")
    assert code == 0 and "PASSED" in out


def _file(folder: Path, *below: str) -> Path:
    (folder / "f").write_text("x")
    return folder.joinpath("f", *below)


@pytest.mark.parametrize(
    ("option", "make", "message"),
    [
        ("--report", lambda d: _file(d), "is an existing file; give a folder"),
        ("--json", lambda d: _file(d, "r.json"), "is a file, not a folder"),
        ("--gradescope", lambda d: _file(d, "sub", "results.json"), "is a file, not a folder"),
        ("--json", lambda d: d, "is a folder; give a file name"),
    ],
    ids=["report-on-a-file", "json-under-a-file", "gradescope-under-a-file", "json-on-a-folder"],
)
def test_output_paths_are_validated_before_the_run(capsys, tmp_path, option, make, message):
    path = make(tmp_path)
    started = time.perf_counter()
    code, out, err = run(capsys, "check", "reference", "--examples", "500", option, str(path))
    assert code == 2
    assert f"gradcheck: error: {option} {path}" in err and message in err
    assert out == ""  # nothing ran: no verdict table
    assert time.perf_counter() - started < 5


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_an_output_folder_without_write_permission_is_a_usage_error(capsys, tmp_path):  # pragma: no cover
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    code, _, err = run(capsys, "check", "reference", "--json", str(locked / "r.json"))
    assert code == 2 and "no write permission" in err


def test_render_refuses_a_gradescope_file(capsys, tmp_path):
    results = tmp_path / "results.json"
    results.write_text(json.dumps({"score": 1.0, "tests": []}))
    code, _, err = run(capsys, "render", str(results), "--report", str(tmp_path / "out"))
    assert code == 2
    assert f"{results} is a Gradescope results.json, not a saved report" in err


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("layers.py", ONLY_ZERO_PAD, "is not a saved report (not JSON)"),
        ("other.json", json.dumps({"hello": 1}), "is JSON but not a saved report"),
        ("list.json", "[1, 2]", "is JSON but not a saved report"),
    ],
)
def test_render_refuses_what_is_not_a_saved_report(capsys, tmp_path, name, text, message):
    path = tmp_path / name
    path.write_text(text)
    code, _, err = run(capsys, "render", str(path), "--report", str(tmp_path / "out"))
    assert code == 2 and message in err
    assert "check --json FILE" in err  # says what to give instead
    assert not (tmp_path / "out" / "report.html").exists()


def test_examples_are_bounded_with_a_clear_message(capsys):
    code, out, err = run(capsys, "check", "reference", "--examples", "1000000000")
    assert code == 2 and out == ""
    assert "1000000000 is more than the limit of 100000 cases per check" in err


def test_without_require_a_partial_file_passes_as_before(capsys, tmp_path):
    path = tmp_path / "partial.py"
    path.write_text(ONLY_ZERO_PAD)
    code, out, _ = run(capsys, "check", str(path), *FAST)
    assert code == 0 and "PASSED" in out


def test_require_all_fails_a_partial_file_and_lists_every_function(capsys, tmp_path):
    path = tmp_path / "partial.py"
    path.write_text(ONLY_ZERO_PAD)
    gradescope, report_json = tmp_path / "results.json", tmp_path / "r.json"
    code, out, _ = run(capsys, "check", str(path), *FAST, "--require", "all", "--gradescope", str(gradescope),
                       "--json", str(report_json))
    assert code == 1
    assert "7 required function(s) missing" in out
    assert ("required but not defined: conv_single_step, conv_forward, conv_backward, pool_forward, "
            "pool_backward, create_mask_from_window, distribute_value") in out
    data = json.loads(report_json.read_text())
    backward = next(c for c in data["checks"] if c["function"] == "conv_backward")
    assert backward["status"] == "missing" and backward["message"] == "conv_backward is not defined, and it is required"
    assert data["passed"] is False and data["required"] == list(CONTRACT_FUNCTIONS)
    tests = json.loads(gradescope.read_text())["tests"]
    named = {test["name"].split(":")[0] for test in tests}
    assert named == set(CONTRACT_FUNCTIONS)
    assert all(t["status"] == "failed" for t in tests if not t["name"].startswith("zero_pad"))


def test_require_names_only_what_must_be_there(capsys, tmp_path):
    path = tmp_path / "partial.py"
    path.write_text(ONLY_ZERO_PAD)
    code, out, _ = run(capsys, "check", str(path), *FAST, "--require", "zero_pad")
    assert code == 0 and "PASSED" in out
    code, _, err = run(capsys, "check", str(path), *FAST, "--require", "zero_pad,conv_fwd")
    assert code == 2 and "names unknown function(s) ['conv_fwd']" in err


def test_require_on_a_file_that_cannot_be_loaded_lists_every_required_function(capsys, tmp_path):
    gradescope = tmp_path / "results.json"
    code, _, _ = run(capsys, "check", str(SUBMISSIONS / "syntax_error.py"), *FAST, "--require", "all",
                     "--gradescope", str(gradescope))
    assert code == 1
    names = [test["name"] for test in json.loads(gradescope.read_text())["tests"]]
    assert names[0] == "load the submission"
    assert [name.split(":")[0] for name in names[1:]] == list(CONTRACT_FUNCTIONS)


def test_help_lists_exit_codes_functions_and_an_example(capsys):
    code, out, _ = run(capsys, "check", "--help")
    assert code == 0
    assert "exit status:" in out
    for line in ("0  every function present passes", "1  a check did not pass", "2  usage error"):
        assert line in out
    for name in CONTRACT_FUNCTIONS:
        assert name in out
    assert "example:\n  gradcheck check my_cnn.py --require all --report report/" in out
    assert "--require NAME[,NAME...]|all" in out


def test_report_says_where_it_was_written(capsys, tmp_path):
    folder = tmp_path / "rep"
    code, out, _ = run(capsys, "check", "reference", *FAST, "--only", "zero_pad", "--report", str(folder))
    assert code == 0
    assert f"gradcheck: report written to {folder} (open {folder / 'report.html'})" in out
    assert (folder / "report.html").is_file()


def test_max_time_cuts_the_run_with_a_clear_verdict(capsys, tmp_path):
    report_json = tmp_path / "r.json"
    code, out, _ = run(capsys, "check", "reference", *FAST, "--max-time", "0.001", "--json", str(report_json))
    assert code == 1
    data = json.loads(report_json.read_text())
    assert {c["status"] for c in data["checks"]} == {"timeout"}
    assert [c["function"] for c in data["checks"]] == list(CONTRACT_FUNCTIONS)
    assert data["checks"][0]["message"] == (
        "zero_pad was not checked: the time budget (max_time / --max-time) ran out before it; "
        "give a larger budget or fewer examples"
    )
    assert "the time budget ran out: zero_pad, conv_single_step" in out
    assert "FAILED (8 timeout)" in out


def test_max_time_keeps_missing_functions_missing(capsys, tmp_path):
    path = tmp_path / "partial.py"
    path.write_text(ONLY_ZERO_PAD)
    code, out, _ = run(capsys, "check", str(path), *FAST, "--max-time", "0.001")
    assert code == 1 and "FAILED (1 timeout, 7 missing)" in out


def test_a_generous_max_time_changes_nothing(capsys):
    code, out, _ = run(capsys, "check", "reference", *FAST, "--max-time", "600", "--only", "conv_forward,conv_backward")
    assert code == 0 and "PASSED (4 pass)" in out
    code, _, err = run(capsys, "check", "reference", "--max-time", "0")
    assert code == 2 and "--max-time: expected a positive number of seconds, got '0'" in err


def test_render_validates_its_output_folder_first(capsys, tmp_path):
    saved = tmp_path / "r.json"
    code, _, _ = run(capsys, "check", "reference", *FAST, "--only", "zero_pad", "--json", str(saved))
    assert code == 0
    taken = tmp_path / "taken"
    taken.write_text("x")
    code, _, err = run(capsys, "render", str(saved), "--report", str(taken))
    assert code == 2 and f"--report {taken} is an existing file; give a folder" in err
    code, out, _ = run(capsys, "render", str(saved), "--report", str(tmp_path / "out"))
    assert code == 0 and f"gradcheck: report written to {tmp_path / 'out'} (from {saved})" in out


def test_python_m_render_refuses_a_gradescope_file(capsys, tmp_path):
    from gradcheck.render.report import main as render_main

    results = tmp_path / "results.json"
    results.write_text(json.dumps({"score": 0.0, "tests": []}))
    assert render_main([str(results)]) == 2
    assert "is a Gradescope results.json, not a saved report" in capsys.readouterr().err
