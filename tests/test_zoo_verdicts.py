"""The checker's verdict on every zoo member: bugs rejected, with the right function
and the right likely cause; correct implementations accepted.

Runs ``gradcheck.check(module, isolate=False)`` once per member (cached) with a small
number of examples; ``tests/test_zoo_members.py`` proves the expectations themselves
without the engine.
"""

from __future__ import annotations

import pytest
from zoo.manifest import CORRECT, FUNCTIONS, ZOO, checked, load

import gradcheck
from gradcheck import Report
from gradcheck.verdict.compare import NORMWISE_NOTE

SEED = 0
REJECTED = {"fail", "error"}

# bug_pool_ceil averages the empty windows past the edge: numpy warns, in the member's code.
pytestmark = [
    pytest.mark.filterwarnings("ignore:Mean of empty slice:RuntimeWarning"),
    pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning"),
]


def report(name: str) -> Report:
    return checked(name)


def _summary(rep: Report) -> str:
    return "\n".join(
        f"  {c.function}: {c.quantity} {c.status}"
        + (f" ({c.diagnosis['id']})" if c.diagnosis else "")
        for c in rep.checks
    )


def _params(kind: str) -> list:
    return [
        pytest.param(name, function, id=f"{name}:{function}")
        for name, expectation in ZOO.items()
        for function in sorted(getattr(expectation, kind))
    ]


@pytest.mark.parametrize(("name", "function"), _params("failing"))
def test_bug_member_is_rejected_on_its_function(name, function):
    rep = report(name)
    assert rep.load_error is None
    statuses = {c.quantity: c.status for c in rep.checks if c.function == function}
    assert statuses, f"{name}: no check of {function}\n{_summary(rep)}"
    assert REJECTED & set(statuses.values()), f"{name}: {function} not rejected\n{_summary(rep)}"
    assert set(statuses.values()) <= REJECTED | {"pass"}, f"{name}: {function}\n{_summary(rep)}"


@pytest.mark.parametrize(("name", "function"), _params("passing"))
def test_bug_member_passes_its_other_functions(name, function):
    rep = report(name)
    checks = [c for c in rep.checks if c.function == function]
    assert checks and all(c.status == "pass" for c in checks), f"{name}\n{_summary(rep)}"


@pytest.mark.parametrize("name", list(ZOO))
def test_bug_member_fails_the_report(name):
    assert not report(name).passed


@pytest.mark.parametrize(
    "name", [name for name, expectation in ZOO.items() if expectation.diagnosis is not None]
)
def test_bug_member_gets_its_diagnosis_and_no_other(name):
    expected = ZOO[name].diagnosis
    rep = report(name)
    ids = {c.diagnosis["id"] for c in rep.checks if c.diagnosis is not None} - {"root_cause"}
    assert ids == {expected}, f"{name}: expected {expected!r}, got {ids}\n{_summary(rep)}"
    for c in rep.checks:
        if c.diagnosis is not None:
            assert c.function in ZOO[name].failing and c.status in REJECTED
            assert c.diagnosis["cause"], c


CALLERS = {"create_mask_from_window": "pool_backward", "distribute_value": "pool_backward",
           "conv_single_step": "conv_forward", "zero_pad": ("conv_forward", "conv_backward")}


@pytest.mark.parametrize("name", list(ZOO))
def test_root_cause_names_the_failing_callee_and_nothing_else(name):
    """A caller failing only because of a failing callee says "<caller> fails because of <callee>;
    fix that first"; no other check carries a root cause."""
    callee = ZOO[name].root_cause
    rep = report(name)
    for c in rep.checks:
        callers = CALLERS.get(callee or "", ())
        if callee is not None and c.function in callers and c.status in REJECTED and c.quantity != "ties[max]":
            assert c.root_cause is not None, f"{name}: {c.name} has no root cause\n{_summary(rep)}"
            assert c.root_cause["text"] == f"{c.function} fails because of {callee}; fix that first"
            assert c.diagnosis["id"] == "root_cause" and c.diagnosis["cause"] == c.root_cause["text"]
            assert c.to_dict()["root_cause"]["callee"] == callee
        elif c.root_cause is not None:
            assert c.root_cause["callee"] == callee and c.quantity == "ties[max]", (name, c.name, c.root_cause)


def test_root_cause_is_in_the_terminal_text_json_and_reports():
    from gradcheck.render.report import format_html, format_markdown
    from gradcheck.render.terminal import format_report

    rep = report("bug_mask_min")
    text = "pool_backward fails because of create_mask_from_window; fix that first"
    assert text in format_report(rep)
    assert text in format_markdown(rep) and text in format_html(rep)
    rows = [c for c in rep.to_dict()["checks"] if c["root_cause"]]
    assert rows and all(row["root_cause"]["text"] == text for row in rows)


@pytest.mark.parametrize("name", CORRECT)
def test_correct_member_passes_everything(name):
    rep = report(name)
    assert rep.load_error is None
    assert rep.passed, f"{name}\n{_summary(rep)}"
    assert all(c.status == "pass" for c in rep.checks), _summary(rep)
    assert {c.function for c in rep.checks} == set(FUNCTIONS)


# correct members whose mask is the course's x == np.max(x) (k-hot at ties: a warning)
COURSE_MASK = {"correct_course", "correct_fft", "correct_winograd", "correct_reordered"}


@pytest.mark.parametrize("name", CORRECT)
def test_correct_member_warns_only_about_ties_of_the_course_mask(name):
    warned = [(c.quantity, w) for c in report(name).checks for w in c.warnings if w != NORMWISE_NOTE]
    if name not in COURSE_MASK:
        assert warned == []
        return
    assert warned, "x == np.max(x) is k-hot at a tie: expected a warning"
    for quantity, warning in warned:
        assert "ties" in quantity and "tie" in warning, (quantity, warning)


def _messages(name: str, function: str) -> str:
    return "\n".join(c.message for c in report(name).checks if c.function == function)


def test_float_b_crash_says_how_to_fix_it():
    message = _messages("bug_float_b", "conv_single_step")
    assert "TypeError" in message and "b.item()" in message


def test_modified_input_is_reported_as_such():
    assert "modified its input dA in place" in _messages("bug_modifies_input", "pool_backward")


def test_pad_zero_crash_names_the_pad_and_the_fix():
    rep = report("bug_crop_pad_slice")
    causes = [c.diagnosis["cause"] for c in rep.checks if c.diagnosis is not None]
    assert causes and all("pad:pad + n_H_prev" in cause for cause in causes)
    assert all("pad=0" in c.message for c in rep.checks if c.status in REJECTED)


@pytest.mark.parametrize("name", ["bug_crop_pad_slice", "bug_float_b", "correct_course"])
def test_same_verdict_by_path_in_the_isolated_worker(name):
    """A zoo file checked by path in the worker process (the instructor's way)."""
    from zoo.manifest import path

    isolated = gradcheck.check(str(path(name)), examples=10, seed=SEED)
    assert isolated.load_error is None
    rejected = {c.function for c in isolated.checks if c.status in REJECTED}
    assert rejected == set(ZOO[name].failing if name in ZOO else ())
    assert all(c.status in REJECTED | {"pass"} for c in isolated.checks)
    # the root cause re-runs the caller in a second worker whose callee is the reference's
    callee = ZOO[name].root_cause if name in ZOO else None
    roots = {c.root_cause["callee"] for c in isolated.checks if c.root_cause}
    assert roots == ({callee} if callee else set())


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("name", list(ZOO) + list(CORRECT))
def test_verdicts_and_hints_hold_on_more_cases_and_seeds(name, seed):
    """The big sweep: 30 generated cases per check and other seeds give the same verdicts, the same
    likely cause and no hint on correct code."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        rep = gradcheck.check(load(name), isolate=False, examples=30, seed=seed)
    if name in CORRECT:
        assert rep.passed and not any(c.diagnosis for c in rep.checks), _summary(rep)
        return
    expectation = ZOO[name]
    rejected = {c.function for c in rep.checks if c.status in REJECTED}
    assert rejected == set(expectation.failing), _summary(rep)
    ids = {c.diagnosis["id"] for c in rep.checks if c.diagnosis} - {"root_cause"}
    assert ids == ({expectation.diagnosis} if expectation.diagnosis else set()), _summary(rep)
