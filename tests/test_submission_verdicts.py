"""Every bad-submission class gets its status and a message that says what happened.

Runs ``gradcheck.check(path)`` (isolated worker) on the real files under
``tests/submissions/`` with few examples and a 1 s per-call timeout. None of
them may pass on the function it breaks.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest

import gradcheck
from gradcheck import Report

SUBMISSIONS = Path(__file__).parent / "submissions"
EXAMPLES = 3
TIMEOUT = 1.0


@cache
def report(name: str, isolate: bool = True) -> Report:
    return gradcheck.check(
        str(SUBMISSIONS / name), examples=EXAMPLES, seed=0, timeout=TIMEOUT, isolate=isolate
    )


LOAD_ERRORS = {
    "syntax_error.py": r"syntax_error\.py: syntax error at line 6: expected ':'\n    def zero_pad\(X, pad\)",
    "import_error.py": r"import failed: ModuleNotFoundError: No module named 'public_tests_that_do_not_exist'",
    "exception_at_import.py": r"exception while importing: AssertionError: shape check left over from a notebook"
    r"\nTraceback \(submission frames only\):\n  File \".*exception_at_import\.py\", line 12",
    "exit_at_import.py": r"the worker process exited with status 3 while importing it",
}


@pytest.mark.parametrize("name", sorted(LOAD_ERRORS))
def test_load_failures(name):
    rep = report(name)
    assert not rep.passed
    assert rep.checks == []
    assert re.search(LOAD_ERRORS[name], rep.load_error), rep.load_error


# (submission, function, quantity or None for all its quantities) -> (status, message pattern)
VERDICTS = {
    ("exception_in_function.py", "conv_backward", None): (
        "error",
        r"conv_backward raised IndexError: index 1 is out of bounds for axis 0 with size 1\n"
        r"Traceback \(submission frames only\):\n  File \".*exception_in_function\.py\", line 11",
    ),
    ("float_b.py", "conv_single_step", "Z"): (
        "error",
        r"TypeError: only 0-dimensional arrays can be converted to Python scalars(.|\n)*"
        r"numpy 2 refuses float\(\)(.|\n)*b\.item\(\)",
    ),
    ("wrong_return_count.py", "conv_backward", None): (
        "fail",
        r"conv_backward returned tuple of 2; expected a tuple \(dA_prev, dW, db\)",
    ),
    ("wrong_return_type.py", "zero_pad", "X_pad"): (
        "fail",
        r"zero_pad's result is str, not a numpy\.ndarray",
    ),
    ("wrong_return_type.py", "conv_forward", "Z"): (
        "fail",
        r"Z is list of 1, not a numpy\.ndarray",
    ),
    ("wrong_shape.py", "conv_backward", "dW"): (
        "fail",
        r"dW has shape \(2, 1, 1, 1\), expected \(1, 1, 1, 2\) \(the same sizes in another order",
    ),
    ("wrong_dtype.py", "conv_forward", "Z"): (
        "fail",
        r"Z has dtype float32; finite differences need float64",
    ),
    ("nan_inf.py", "conv_backward", "db"): ("fail", r"db contains 1 NaN/inf value\(s\)"),
    ("nan_inf.py", "pool_forward", None): ("fail", r"A contains 1 NaN/inf value\(s\)"),
    ("infinite_loop.py", "conv_forward", "Z"): (
        "timeout",
        r"conv_forward did not return within 1 s \(the worker process was killed\)",
    ),
    ("sleep.py", "pool_forward", None): ("timeout", r"pool_forward did not return within 1 s"),
    ("memory_exhaustion.py", "conv_forward", "Z"): ("memory", r"conv_forward ran out of memory"),
    ("huge_array.py", "pool_forward", None): ("memory", r"pool_forward ran out of memory"),
    ("sys_exit.py", "conv_forward", "Z"): (
        "crashed",
        r"conv_forward tried to exit the process \(SystemExit: 3\)",
    ),
    ("os_exit.py", "conv_backward", None): (
        "crashed",
        r"conv_backward brought the worker process down: it exited with status 7",
    ),
    ("signal_death.py", "pool_backward", None): (
        "crashed",
        r"pool_backward brought the worker process down: it was killed by signal SIGKILL",
    ),
    ("tampers_with_protocol.py", "conv_forward", "Z"): ("crashed", r"malformed reply"),
    ("modifies_inputs.py", "conv_forward", "Z"): (
        "fail",
        r"conv_forward modified its input A_prev in place",
    ),
    ("modifies_inputs.py", "pool_backward", "dA_prev[max]"): (
        "fail",
        r"pool_backward modified its input cache in place",
    ),
    ("nondeterministic.py", "conv_forward", "Z"): ("fail", r"Z does not match the reference"),
    ("nondeterministic_backward.py", "conv_backward", None): (
        "fail",
        r"conv_backward is not deterministic: two calls with the same inputs returned different results",
    ),
    ("monkeypatch.py", "conv_backward", "dA_prev"): (
        "fail",
        r"dA_prev does not match the central finite difference of conv_forward(.|\n)*Mismatched elements",
    ),
    ("ndarray_subclass.py", "conv_forward", "Z"): (
        "fail",
        r"Z is .*\.AlwaysClose, not a numpy\.ndarray",
    ),
    ("ndarray_subclass.py", "pool_forward", None): (
        "fail",
        r"A is numpy\.matrix, not a numpy\.ndarray",
    ),
    ("lying_eq.py", "conv_forward", "Z"): ("fail", r"Z is .*\.Liar, not a numpy\.ndarray"),
    ("lying_eq.py", "conv_single_step", "Z"): (
        "fail",
        r"conv_single_step returned <.*\.Liar>; expected a float",
    ),
    ("lying_eq.py", "distribute_value", "distributed"): (
        "fail",
        r"result is .*\.Liar, not a numpy\.ndarray",
    ),
    ("cs231n_buggy.py", "conv_backward_naive", "dx"): (
        "fail",
        r"conv_backward_naive: dx does not match the central finite difference",
    ),
}


SLOW_SUBMISSIONS = ("infinite_loop.py", "sleep.py", "signal_death.py")  # seconds of timeouts each


@pytest.mark.parametrize(
    ("name", "function", "quantity"),
    [
        pytest.param(n, f, q, marks=[pytest.mark.slow] if n in SLOW_SUBMISSIONS else [])
        for n, f, q in VERDICTS
    ],
    ids=[f"{n}:{f}:{q or '*'}" for n, f, q in VERDICTS],
)
def test_bad_submission_status_and_message(name, function, quantity):
    status, pattern = VERDICTS[(name, function, quantity)]
    rep = report(name)
    assert rep.load_error is None, rep.load_error
    assert not rep.passed
    checks = [c for c in rep.checks if c.function == function and quantity in (None, c.quantity)]
    assert checks, [(c.function, c.quantity) for c in rep.checks]
    for check in checks:
        assert check.status == status, (check.quantity, check.status, check.message)
        assert re.search(pattern, check.message), check.message


def test_missing_functions_are_missing_not_failures():
    rep = report("missing_functions.py")
    statuses = {c.function: c.status for c in rep.checks}
    assert statuses["zero_pad"] == statuses["conv_forward"] == "pass"
    assert {statuses[f] for f in ("conv_backward", "pool_forward", "pool_backward")} == {"missing"}
    missing = next(c for c in rep.checks if c.function == "pool_forward")
    assert missing.message == "pool_forward is not defined"
    assert rep.passed  # every function present passes


def test_output_flood_does_not_break_the_check():
    rep = report("output_flood.py")
    assert rep.load_error is None
    assert rep.passed


def test_notebook_submission_passes():
    rep = report("notebook_cnn.ipynb")
    assert rep.load_error is None
    assert len([c for c in rep.checks if c.status == "pass"]) == 14


def test_cs231n_submission_is_checked_under_its_own_names():
    rep = report("cs231n_layers.py")
    assert rep.passed
    checked = {(c.function, c.quantity) for c in rep.checks if c.status == "pass"}
    assert checked == {
        ("conv_forward_naive", "out"),
        ("conv_backward_naive", "dx"),
        ("conv_backward_naive", "dw"),
        ("conv_backward_naive", "db"),
        ("max_pool_forward_naive", "out"),
        ("max_pool_backward_naive", "dx"),
        ("max_pool_backward_naive", "ties"),
    }


def test_cs231n_buggy_fails_only_its_bug():
    rep = report("cs231n_buggy.py")
    failing = {(c.function, c.quantity) for c in rep.checks if c.status not in ("pass", "missing")}
    assert failing == {("conv_backward_naive", "dx")}


@pytest.mark.parametrize(
    "name",
    [
        "wrong_shape.py",
        "nan_inf.py",
        "float_b.py",
        "cs231n_buggy.py",
        "notebook_cnn.ipynb",
        "sys_exit.py",
    ],
)
def test_in_process_gives_the_same_verdicts(name):
    isolated, in_process = report(name), report(name, isolate=False)
    assert [(c.function, c.quantity, c.status) for c in isolated.checks] == [
        (c.function, c.quantity, c.status) for c in in_process.checks
    ]
