"""The fix search (gradcheck.fix): a confirmed edit of the submission's source, or nothing.

Both ways: a ``=``-for-``+=`` bug gets the confirmed fix, and the fix passes when applied;
a correct file gets none and costs nothing; ``--no-fix`` gives none; the budget holds; every
variant runs in the submission's worker, never in the checker.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest

import gradcheck.boundary.variants as variants
from gradcheck.api import check
from gradcheck.cli import main
from gradcheck.fix.edits import pending_edits
from gradcheck.fix.search import search_fixes
from gradcheck.fix.source import read_source

ZOO = Path(__file__).resolve().parent / "zoo"
ACCUMULATE = "                    dW[:, :, :, c] += a_slice * dZ[i, h, w, c]"
EXAMPLES = 30


def _course(tmp_path: Path, name: str, old: str | None = None, new: str | None = None) -> Path:
    text = (ZOO / "correct_course.py").read_text()
    if old is not None:
        assert text.count(old) == 1
        text = text.replace(old, new)
    path = tmp_path / name
    path.write_text(text)
    return path


def _assign_bug(tmp_path: Path) -> Path:
    return _course(tmp_path, "assign_dw.py", ACCUMULATE, ACCUMULATE.replace("+=", "="))


def _fixes(report) -> dict[str, dict]:
    return {c.function: c.diagnosis["fix"] for c in report.checks if c.diagnosis and c.diagnosis.get("fix")}


@pytest.fixture
def no_exec_in_checker(monkeypatch):
    """A variant built in the checker process would be submitted code run unsandboxed: refuse it."""

    def refuse(*args, **kwargs):
        raise AssertionError("a variant of the submission was built in the checker process")

    monkeypatch.setattr(variants, "build_variant", refuse)


def test_assign_for_accumulate_gets_the_confirmed_fix_and_it_passes_when_applied(tmp_path, no_exec_in_checker):
    path = _assign_bug(tmp_path)
    report = check(str(path), only="conv_backward", examples=EXAMPLES, fix_budget=5.0)
    assert report.isolation != "in-process"
    fixes = _fixes(report)
    assert set(fixes) == {"conv_backward"}, report.checks
    fix = fixes["conv_backward"]
    lines = path.read_text().split("\n")
    assert fix["path"] == str(path)
    assert lines[fix["line"] - 1] == fix["before"] == ACCUMULATE.replace("+=", "=")
    assert fix["after"] == ACCUMULATE
    # applied, the function passes (with no fix search)
    lines[fix["line"] - 1: fix["line"]] = fix["after"].split("\n")
    fixed = tmp_path / "applied.py"
    fixed.write_text("\n".join(lines))
    again = check(str(fixed), only="conv_backward", examples=EXAMPLES)
    assert again.checks and all(c.status == "pass" for c in again.checks)
    assert not _fixes(again)


def test_the_fix_is_in_the_json_and_the_terminal(tmp_path, capsys):
    path = _assign_bug(tmp_path)
    out = tmp_path / "report.json"
    main(["check", str(path), "--only", "conv_backward", "--examples", str(EXAMPLES), "--json", str(out), "-q",
          "--fix-budget", "5"])
    text = capsys.readouterr().out
    checks = json.loads(out.read_text())["checks"]
    fixes = [c["diagnosis"]["fix"] for c in checks if (c.get("diagnosis") or {}).get("fix")]
    assert fixes and {tuple(sorted(fix)) for fix in fixes} >= {("after", "before", "cases", "kind", "line", "path")}
    assert f"line {fixes[0]['line']}: `dW[:, :, :, c] = a_slice * dZ[i, h, w, c]` -> " \
           f"`dW[:, :, :, c] += a_slice * dZ[i, h, w, c]` makes conv_backward pass" in text


def test_no_fix_gives_none(tmp_path):
    path = _assign_bug(tmp_path)
    out = tmp_path / "report.json"
    main(["check", str(path), "--only", "conv_backward", "--examples", str(EXAMPLES), "--json", str(out), "-q",
          "--no-fix"])
    checks = json.loads(out.read_text())["checks"]
    assert any(c["status"] == "fail" for c in checks)
    assert not any((c.get("diagnosis") or {}).get("fix") for c in checks)


def test_a_correct_file_gets_no_fix_and_no_search(tmp_path, monkeypatch):
    path = _course(tmp_path, "correct.py")
    searched = []
    import gradcheck.fix.search as search

    original = search.search_fixes

    def spy(*args, **kwargs):
        searched.append(original(*args, **kwargs))
        return searched[-1]

    monkeypatch.setattr(search, "search_fixes", spy)
    report = check(str(path), examples=EXAMPLES, fix_budget=5.0)
    assert report.passed and not _fixes(report)
    (outcome,) = searched
    assert outcome.fixes == {} and outcome.screened == {} and outcome.seconds < 0.05, outcome


def test_the_budget_is_respected(tmp_path):
    """A bug no single edit fixes (the stride is never read): the search stops at its budget."""
    path = ZOO / "bug_stride_ignored_conv.py"
    budget = 0.4
    from gradcheck.api import open_target
    from gradcheck.engine.runner import run_checks

    with open_target(str(path), isolate=True) as backend:
        engine: list = []
        shown = run_checks(backend, examples=EXAMPLES, only=("conv_backward",), engine_results=engine)
        assert any(not r.passed for r in shown)
        started = time.monotonic()
        outcome = search_fixes(backend, str(path), list(zip(engine, shown, strict=True)), examples=EXAMPLES, seed=0,
                               budget=budget)
        took = time.monotonic() - started
    assert outcome.fixes.get("conv_backward") is None
    assert outcome.seconds <= budget + 0.5 and took <= budget + 0.5, (outcome, took)


def test_in_process_is_never_searched(tmp_path, no_exec_in_checker):
    path = _assign_bug(tmp_path)
    report = check(str(path), only="conv_backward", examples=EXAMPLES, isolate=False, fix_budget=5.0)
    assert not report.passed and not _fixes(report)


def test_edits_are_the_text_they_say():
    """Every candidate edit of a zoo file parses, and changes only the line it names."""
    source = read_source(str(ZOO / "correct_course.py"))
    definition = source.definition("conv_backward")
    pending = pending_edits(source, definition)
    kinds = {item.kind for item in pending}
    assert {"+= -> =", "name swap", "* stride", "operator", "off by one"} <= kinds
    made = [edit for edit in (item.edit(source) for item in pending[::7]) if edit is not None]
    assert len(made) > 30
    for edit in made:
        assert source.units[0].lines[edit.start - 1] == edit.before != edit.after
        compile("\n".join(edit.lines(source)), "edited", "exec")


@pytest.mark.slow
def test_a_helper_fix_is_found_for_the_helper_and_its_caller(tmp_path, no_exec_in_checker):
    shutil.copy(ZOO / "course_loops.py", tmp_path / "course_loops.py")
    path = tmp_path / "mask_min.py"
    shutil.copy(ZOO / "bug_mask_min.py", path)
    report = check(str(path), only="create_mask_from_window,pool_backward", examples=EXAMPLES, fix_budget=10.0)
    fixes = _fixes(report)
    assert set(fixes) == {"create_mask_from_window", "pool_backward"}, report.checks
    assert fixes["create_mask_from_window"]["after"].strip() == "mask = x == np.max(x)"
