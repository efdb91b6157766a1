"""``gradcheck check`` / ``gradcheck render``: exit codes, the JSON schema, terminal output, writers."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from gradcheck.cli import main
from gradcheck.plans.convolution import CONTRACT_FUNCTIONS
from gradcheck.plans.convolution.plan import PLAN

SUBMISSIONS = Path(__file__).parent / "submissions"
FAST = ["--examples", "2", "--timeout", "2"]

# The --json contract of DESIGN.md (fields may be added, never renamed or removed).
NUMBER_OR_NULL = {"type": ["number", "null"]}
REPORT_SCHEMA = {
    "type": "object",
    "required": ["target", "passed", "seed", "load_error", "checks"],
    "properties": {
        "target": {"type": "string"},
        "passed": {"type": "boolean"},
        "seed": {"type": "integer"},
        "load_error": {"type": ["string", "null"]},
        "checks": {
            "type": "array",
            "items": {
                "type": "object",
                "required": [
                    "function",
                    "quantity",
                    "status",
                    "cases",
                    "max_error",
                    "tolerance",
                    "counterexample",
                    "worst_index",
                    "message",
                    "warnings",
                ],
                "properties": {
                    "function": {"type": "string"},
                    "quantity": {"type": "string"},
                    "status": {
                        "enum": ["pass", "fail", "error", "timeout", "memory", "crashed", "missing"]
                    },
                    "cases": {"type": "integer", "minimum": 0},
                    "max_error": NUMBER_OR_NULL,
                    "tolerance": NUMBER_OR_NULL,
                    "counterexample": {"type": ["object", "null"]},
                    "worst_index": {"type": ["array", "null"], "items": {"type": "integer"}},
                    "message": {"type": "string"},
                    "warnings": {"type": "array", "items": {"type": "string"}},
                },
            },
        },
    },
}
CONTRACT_NAMES = set(CONTRACT_FUNCTIONS)


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def load_json(path: Path) -> dict:
    data = json.loads(path.read_text(), parse_constant=lambda name: pytest.fail(f"non-JSON {name}"))
    jsonschema.validate(data, REPORT_SCHEMA)
    return data


def test_reference_passes_with_exit_0_and_valid_json(capsys, tmp_path):
    code, out, err = run(
        capsys, "check", "reference.naive", *FAST, "--json", str(tmp_path / "r.json")
    )
    assert code == 0, out
    data = load_json(tmp_path / "r.json")
    assert data["passed"] is True and data["load_error"] is None and data["seed"] == 0
    assert [(c["function"], c["quantity"]) for c in data["checks"]] == list(PLAN)
    assert {c["function"] for c in data["checks"]} == CONTRACT_NAMES
    assert "function" in out and "quantity" in out and "max error" in out
    assert "PASSED (14 pass)" in out
    assert "round trips" in out
    assert "[1/14] zero_pad: X_pad" in err  # progress goes to stderr


def test_closing_note_counts_in_the_singular_and_the_plural(capsys, tmp_path):
    """One function checked reads "1 check", never "1 checks"; fourteen read "14 checks"."""
    one = tmp_path / "one_function.py"
    one.write_text(
        "import numpy as np\n\n\ndef distribute_value(dz, shape):\n    return np.full(shape, dz / np.prod(shape))\n"
    )
    code, out, _ = run(capsys, "check", str(one), *FAST, "--in-process")
    assert code == 0, out  # missing functions are not failures unless required
    assert re.search(r"^1 check in \d", out, re.MULTILINE), out
    code, out, _ = run(capsys, "check", "reference.naive", *FAST, "--in-process")
    assert re.search(r"^14 checks in \d", out, re.MULTILINE), out


def test_failing_submission_exits_1_with_counterexample(capsys, tmp_path):
    target = str(SUBMISSIONS / "wrong_shape.py")
    code, out, _ = run(
        capsys,
        "check",
        target,
        *FAST,
        "--only",
        "conv_backward",
        "--json",
        str(tmp_path / "r.json"),
    )
    assert code == 1
    data = load_json(tmp_path / "r.json")
    assert [c["function"] for c in data["checks"]] == ["conv_backward"] * 3
    dW = next(c for c in data["checks"] if c["quantity"] == "dW")
    assert dW["status"] == "fail" and dW["counterexample"]["f"] >= 1
    assert "conv_backward: dW [fail]" in out
    assert "dW has shape" in out
    assert "FAILED" in out


def test_load_error_exits_1_and_is_in_the_json(capsys, tmp_path):
    code, out, _ = run(
        capsys, "check", str(SUBMISSIONS / "syntax_error.py"), "--json", str(tmp_path / "r.json")
    )
    assert code == 1
    data = load_json(tmp_path / "r.json")
    assert data["passed"] is False and data["checks"] == []
    assert "syntax error at line 6" in data["load_error"]
    assert "could not load the target" in out


def test_error_statuses_are_valid_json(capsys, tmp_path):
    code, _, _ = run(
        capsys,
        "check",
        str(SUBMISSIONS / "nan_inf.py"),
        *FAST,
        "--only",
        "conv_backward,pool_forward",
        "--json",
        str(tmp_path / "r.json"),
    )
    assert code == 1
    load_json(tmp_path / "r.json")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["check", "no/such/file.py"], "no such file: no/such/file.py"),
        (["check", "no_such_module_xyz"], "no such file or module: 'no_such_module_xyz'"),
        (["check", "reference", "--only", "conv_fwd"], "names unknown function(s) ['conv_fwd']"),
        (["check", "reference", "--examples", "0"], "expected an integer >= 1, got '0'"),
        (
            ["check", "reference", "--timeout", "-1"],
            "expected a positive number of seconds, got '-1'",
        ),
        (["check", "reference", "--seed", "x"], "expected an integer >= 0, got 'x'"),
        (["check", "reference", "--frobnicate"], "unrecognized arguments: --frobnicate"),
        (["check"], "the following arguments are required: TARGET"),
        ([], "the following arguments are required: COMMAND"),
        (["render", "missing.json", "--report", "out"], "no such file: missing.json"),
    ],
)
def test_usage_errors_exit_2(capsys, argv, message):
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own errors
        code = exc.code
    _, err = capsys.readouterr()
    assert code == 2
    assert message in err


def test_in_process_gives_the_same_verdicts(capsys, tmp_path):
    target = str(SUBMISSIONS / "wrong_return_count.py")
    run(
        capsys,
        "check",
        target,
        *FAST,
        "--only",
        "conv_backward",
        "--json",
        str(tmp_path / "a.json"),
    )
    code, out, _ = run(
        capsys,
        "check",
        target,
        *FAST,
        "--only",
        "conv_backward",
        "--in-process",
        "--json",
        str(tmp_path / "b.json"),
    )
    assert code == 1
    assert "in process, not isolated" in out
    isolated, in_process = load_json(tmp_path / "a.json"), load_json(tmp_path / "b.json")
    assert [(c["quantity"], c["status"], c["message"]) for c in isolated["checks"]] == [
        (c["quantity"], c["status"], c["message"]) for c in in_process["checks"]
    ]


def test_quiet_has_no_progress(capsys):
    code, _, err = run(capsys, "check", "reference", "--only", "zero_pad", "--examples", "1", "-q")
    assert code == 0 and err == ""


def test_report_dir_gradescope_and_render(capsys, tmp_path):
    target = str(SUBMISSIONS / "wrong_shape.py")
    code, _, _ = run(
        capsys,
        "check",
        target,
        *FAST,
        "--only",
        "conv_backward",
        "--report",
        str(tmp_path / "rep"),
        "--gradescope",
        str(tmp_path / "gs" / "results.json"),
        "--json",
        str(tmp_path / "r.json"),
    )
    assert code == 1
    assert (tmp_path / "rep" / "report.html").is_file() and (
        tmp_path / "rep" / "report.md"
    ).is_file()
    results = json.loads((tmp_path / "gs" / "results.json").read_text())
    assert {test["status"] for test in results["tests"]} == {"passed", "failed"}
    code, out, _ = run(
        capsys, "render", str(tmp_path / "r.json"), "--report", str(tmp_path / "again")
    )
    assert code == 0 and "report written to" in out
    assert (tmp_path / "again" / "report.html").is_file()


def test_gradescope_file_is_written_when_the_submission_cannot_be_loaded(capsys, tmp_path):
    results = tmp_path / "results.json"
    code, _, _ = run(
        capsys, "check", str(SUBMISSIONS / "import_error.py"), "--gradescope", str(results)
    )
    assert code == 1
    data = json.loads(results.read_text())
    assert data["score"] == 0 and "public_tests_that_do_not_exist" in data["tests"][0]["output"]


def test_gradescope_file_is_written_when_the_submission_is_missing(capsys, tmp_path):
    results = tmp_path / "results.json"
    code, _, err = run(
        capsys, "check", str(tmp_path / "not_submitted.py"), "--gradescope", str(results)
    )
    assert code == 2 and "no such file" in err
    assert "no such file" in json.loads(results.read_text())["tests"][0]["output"]


@pytest.mark.slow  # a timeout or a long run: CI runs it, `-m "not slow"` skips it
def test_console_script_and_module_entry_point(tmp_path):
    script = shutil.which("gradcheck")
    commands = [[sys.executable, "-m", "gradcheck.cli"]] + ([[script]] if script else [])
    for command in commands:
        done = subprocess.run(
            [
                *command,
                "check",
                "reference",
                "--only",
                "zero_pad",
                "--examples",
                "1",
                "--json",
                str(tmp_path / "r.json"),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "NO_COLOR": "1"},
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert load_json(tmp_path / "r.json")["passed"] is True
        done = subprocess.run(
            [*command, "check", "--bogus"], capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 2


def test_only_accepts_cs231n_names(capsys, tmp_path):
    target = str(SUBMISSIONS / "cs231n_layers.py")
    code, out, _ = run(capsys, "check", target, *FAST, "--only", "conv_backward_naive", "-q")
    assert code == 0
    assert re.search(r"conv_backward_naive\s+dw\s+pass", out)
    assert "max_pool" not in out
