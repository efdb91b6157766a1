"""The fix search (gradcheck.fix): a confirmed edit of the submission's source, or nothing.

Both ways: a ``=``-for-``+=`` bug gets the confirmed fix, and the fix passes when applied;
a correct file gets none and costs nothing; ``--no-fix`` gives none; the budget holds; every
variant runs in the submission's worker, never in the checker. A fix is shown only when the
whole edited file passes in a fresh worker: a bug that hides in the used worker (a first-call
flag, a registry of the original functions) gets none; a large file stays within the budget.
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


def _searched(monkeypatch) -> list:
    """The outcome of each fix search ``check`` runs."""
    import gradcheck.fix.search as search

    searched: list = []
    original = search.search_fixes

    def spy(*args, **kwargs):
        searched.append(original(*args, **kwargs))
        return searched[-1]

    monkeypatch.setattr(search, "search_fixes", spy)
    return searched


def test_the_fix_is_confirmed_in_a_fresh_worker_with_the_modules_beside_it(tmp_path, monkeypatch):
    """The submission imports a helper from its folder: the fresh run of the edited copy sees it too."""
    text = (ZOO / "correct_course.py").read_text()
    start, end = text.index("def zero_pad("), text.index("def conv_single_step(")
    (tmp_path / "padding.py").write_text("import numpy as np\n\n\n" + text[start:end])
    text = text[:start] + "from padding import zero_pad\n\n\n" + text[end:]
    assert text.count(ACCUMULATE) == 1
    path = tmp_path / "split.py"
    path.write_text(text.replace(ACCUMULATE, ACCUMULATE.replace("+=", "=")))
    searched = _searched(monkeypatch)
    report = check(str(path), only="conv_backward", examples=EXAMPLES, fix_budget=5.0)
    fixes = _fixes(report)
    assert set(fixes) == {"conv_backward"}, report.checks
    assert fixes["conv_backward"]["after"] == ACCUMULATE
    (outcome,) = searched
    assert not outcome.refused, outcome


WARM = (  # wrong on its first call in a process only: a fix "confirmed" in the used worker is no fix
    "def conv_backward(dZ, cache):\n",
    "_warm = False\n\n\ndef conv_backward(dZ, cache):\n    global _warm\n",
    "    return dA_prev, dW, db\n",
    "    if not _warm:\n        _warm = True\n        dW = 2 * dW\n    return dA_prev, dW, db\n",
)
REGISTRY = (  # wrong while a module-level tuple holds this very function: a variant is another function
    "    return dA_prev, dW, db\n",
    "    if _registry[0] is conv_backward:\n        db = db * 0.5\n    return dA_prev, dW, db\n",
    "def create_mask_from_window(",
    "_registry = (conv_backward,)\n\n\ndef create_mask_from_window(",
)


@pytest.mark.parametrize("edits", [WARM, REGISTRY], ids=["warm_state", "registry_identity"])
def test_a_fix_that_only_passes_in_the_used_worker_is_not_shown(tmp_path, monkeypatch, edits):
    text = (ZOO / "correct_course.py").read_text()
    for old, new in zip(edits[::2], edits[1::2], strict=True):
        assert text.count(old) == 1
        text = text.replace(old, new)
    path = tmp_path / "hidden.py"
    path.write_text(text)
    searched = _searched(monkeypatch)
    report = check(str(path), only="conv_backward", examples=EXAMPLES, fix_budget=4.0)
    assert not report.passed
    assert not _fixes(report), report.checks
    (outcome,) = searched
    # a candidate did pass in the used worker: the fresh run of the edited file is what refused it
    assert outcome.refused.get("conv_backward", 0) >= 1, outcome
    notes = [w for c in report.checks for w in c.warnings if w.startswith("fix search:")]
    assert len(notes) == 1 and "fresh run" in notes[0], notes


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
    searched = _searched(monkeypatch)
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


def _many_helpers(tmp_path: Path, helpers: int) -> Path:
    """A failing conv_backward (dA_prev halved) that calls ``helpers`` one-line helpers of 40
    arguments each: thousands of candidate edits on the lines the failing case runs."""
    names = [a + b for a in "abcdefg" for b in "abcdefg"][:40]
    defs = "\n".join(f"def h{k}({', '.join(names)}): return " + "*".join(names + names[:12])
                     for k in range(helpers))
    calls = "".join(f"    t = h{k}(*_ARGS)\n" for k in range(helpers))
    text = (ZOO / "correct_course.py").read_text()
    old = "def conv_backward(dZ, cache):\n"
    text = text.replace(old, defs + "\n\n_ARGS = (1.0,) * 40\n\n\n" + old + "    t = 0.0\n" + calls)
    crop = "        dA_prev[i, :, :, :] = da_prev_pad"
    assert text.count(crop) == 1
    path = tmp_path / f"helpers_{helpers}.py"
    path.write_text(text.replace(crop, "        dA_prev[i, :, :, :] = 0.5 * da_prev_pad"))
    return path


@pytest.mark.parametrize("helpers", [100, 400], ids=["under_the_size_limit", "over_it"])
def test_a_large_file_with_many_helpers_stays_within_the_budget(tmp_path, helpers):
    """The checker's own work (making, ranking and sending candidates) counts against the budget;
    a source over the size limit is not searched, and says so in one line."""
    from gradcheck.api import open_target
    from gradcheck.engine.runner import run_checks
    from gradcheck.fix.search import MAX_SEARCH_BYTES

    path = _many_helpers(tmp_path, helpers)
    assert (path.stat().st_size > MAX_SEARCH_BYTES) == (helpers == 400)
    budget = 1.0
    with open_target(str(path), isolate=True) as backend:
        engine: list = []
        shown = run_checks(backend, examples=EXAMPLES, only=("conv_backward",), engine_results=engine)
        assert any(not r.passed for r in shown)
        started = time.monotonic()
        outcome = search_fixes(backend, str(path), list(zip(engine, shown, strict=True)), examples=EXAMPLES, seed=0,
                               budget=budget)
        took = time.monotonic() - started
    assert took <= budget + 2.0, (outcome, took)  # generous: the machine is shared
    notes = [w for r in shown for w in r.warnings if w.startswith("fix search:")]
    if helpers == 400:
        assert outcome.skipped and took < 0.5 and notes == [f"fix search: skipped, the source is over "
                                                           f"{MAX_SEARCH_BYTES // 1024} KB"], (outcome, notes)
    else:
        assert not outcome.skipped and outcome.screened.get("conv_backward", 0) >= 1, outcome


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


SHARED = (  # conv_backward's db is m times too big through a helper that distribute_value uses rightly
    "def conv_single_step(",
    "def _times(x, n):\n    return x * n\n\n\ndef conv_single_step(",
    "db[:, :, :, c] += dZ[i, h, w, c]",
    "db[:, :, :, c] += _times(dZ[i, h, w, c], m)",
    "average = dz / (n_H * n_W)",
    "average = _times(dz, 1 / (n_H * n_W))",
)


def _shared_helper(tmp_path: Path, shared: bool = True) -> Path:
    text = (ZOO / "correct_course.py").read_text()
    edits = SHARED if shared else SHARED[:4]
    for old, new in zip(edits[::2], edits[1::2], strict=True):
        assert text.count(old) == 1
        text = text.replace(old, new)
    path = tmp_path / "shared.py"
    path.write_text(text)
    return path


def test_a_fix_of_a_shared_helper_that_breaks_another_function_is_not_shown(tmp_path, monkeypatch):
    """``return x * n`` -> ``return x`` fixes conv_backward but breaks distribute_value, which
    passed: the fresh run checks it too, and no fix is shown (one note names it)."""
    path = _shared_helper(tmp_path)
    searched = _searched(monkeypatch)
    report = check(str(path), only="conv_backward,distribute_value", examples=EXAMPLES, fix_budget=5.0)
    assert {c.function for c in report.checks if c.status == "fail"} == {"conv_backward"}, report.checks
    assert not _fixes(report), report.checks
    (outcome,) = searched
    assert outcome.regressed.get("conv_backward") == {"distribute_value"}, outcome
    notes = [w for c in report.checks for w in c.warnings if w.startswith("fix search:")]
    assert len(notes) == 1 and "distribute_value" in notes[0] and "passed before" in notes[0], notes


def test_which_functions_can_reach_an_edited_definition():
    from gradcheck.fix.search import reaching

    def source(text):
        import ast

        from gradcheck.fix.source import Source, Unit
        return Source("x.py", [Unit(None, text.split("\n"), ast.parse(text))], False)

    functions = {"a": "a", "b": "b", "c": "c", "d": "d"}
    chain = "def h(x): return x\ndef g(x): return h(x)\ndef a(x): return g(x)\ndef b(x): return x\n" \
            "def c(x):\n    def inner(): return h\n    return inner\n"
    assert sorted(reaching(source(chain), "h", functions)) == ["a", "c", "d"]  # d: not defined here, so unsure
    assert reaching(source(chain), "b", {"a": "a", "b": "b"}) == ["b"]
    # a module-level reference (a registry) or a dynamic lookup: every function may reach it
    assert sorted(reaching(source(chain + "REG = [h]\n"), "h", {"a": "a", "b": "b"})) == ["a", "b"]
    assert sorted(reaching(source(chain + "def e(): return globals()['h']\n"), "h", {"b": "b"})) == ["b"]
    # a __main__ block does not run on import
    assert reaching(source(chain + "if __name__ == '__main__':\n    print(h(1))\n"), "h", {"b": "b"}) == []


def test_a_fix_of_a_helper_only_the_failing_function_uses_is_shown(tmp_path):
    path = _shared_helper(tmp_path, shared=False)
    report = check(str(path), only="conv_backward,distribute_value", examples=EXAMPLES, fix_budget=5.0)
    fixes = _fixes(report)
    assert set(fixes) == {"conv_backward"}, report.checks


def _junk_beside(tmp_path: Path, files: int) -> Path:
    """The ``=``/``+=`` bug, importing a package beside it of ``files`` empty files."""
    package = tmp_path / "junkpkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    for k in range(files):
        (package / f"c{k:05d}.part").touch()
    path = _assign_bug(tmp_path)
    path.write_text("import junkpkg\n" + path.read_text())
    return path


def test_many_files_beside_the_submission_cost_no_more_than_the_budget(tmp_path):
    """Copying the modules beside it for the fresh run is capped in files too, not only bytes: a
    package of 5,000 empty files gets no fix, one note, and the search stays within its budget."""
    from gradcheck.api import open_target
    from gradcheck.engine.runner import run_checks
    from gradcheck.fix.confirm import MAX_COPIED_FILES

    path = _junk_beside(tmp_path, 5000)
    budget = 2.0
    with open_target(str(path), isolate=True) as backend:
        assert any(p.endswith("junkpkg") for p in backend.bound), backend.bound
        engine: list = []
        shown = run_checks(backend, examples=EXAMPLES, only=("conv_backward",), engine_results=engine)
        assert any(not r.passed for r in shown)
        started = time.monotonic()
        outcome = search_fixes(backend, str(path), list(zip(engine, shown, strict=True)), examples=EXAMPLES, seed=0,
                               budget=budget)
        took = time.monotonic() - started
    assert took <= budget + 1.0, (outcome, took)
    assert not any(outcome.fixes.values()), outcome
    notes = [w for r in shown for w in r.warnings if w.startswith("fix search:")]
    assert notes == [f"fix search: skipped, the modules beside the submission are over {MAX_COPIED_FILES} files"]


def test_the_copy_for_the_fresh_run_stops_at_the_file_cap_and_at_the_deadline(tmp_path):
    from types import SimpleNamespace

    from gradcheck.fix.confirm import MAX_COPIED_FILES, Beside, _copy_beside

    package = tmp_path / "home" / "pkg"
    package.mkdir(parents=True)
    for k in range(10):
        (package / f"m{k}.py").write_text("x = 1\n")
    backend = SimpleNamespace(bound=[str(package)])
    target = str(tmp_path / "home" / "sub.py")
    out = tmp_path / "out"
    out.mkdir()
    assert _copy_beside(backend, target, str(out), time.monotonic() + 10) == []
    assert sorted(p.name for p in (out / "pkg").iterdir()) == [f"m{k}.py" for k in range(10)]
    with pytest.raises(Beside) as late:
        _copy_beside(backend, target, str(tmp_path / "late"), time.monotonic() - 1)
    assert late.value.out_of_time and late.value.reason is None
    for k in range(MAX_COPIED_FILES):
        (package / f"e{k}").touch()
    with pytest.raises(Beside) as many:
        _copy_beside(backend, target, str(tmp_path / "many"), time.monotonic() + 10)
    assert not many.value.out_of_time and str(MAX_COPIED_FILES) in many.value.reason
    assert not (tmp_path / "many").exists()  # refused before anything was copied
