"""Search, screen and confirm a fix for each failing function (see ``gradcheck.fix``).

The steps, for one failing function, all within one deadline (``budget`` seconds for the run):

1. its smallest failing cases run once more in the worker with a line tracer: the lines of the
   submission they executed;
2. every candidate edit (:mod:`gradcheck.fix.edits`) of every top-level definition is ranked:
   executed lines first, then lines that name the failing quantity (``dW`` for dW), then by how
   common the kind of mistake is, then by line;
3. in that order, batches of candidates are loaded into the worker as variants of the module and
   screened together, in one lockstep run, on the failing cases;
4. a candidate that passes them is confirmed by the function's whole check plan (the engine's own
   :func:`~gradcheck.engine.runner.run_checks`, every quantity, ``examples`` cases each, the same
   seed), and by the plan of the function it edits when that is another contract function;
5. then, as a user applies it, by a fresh check of the whole edited file in a new worker
   (:mod:`gradcheck.fix.confirm`), with every function that passed before and can reach the
   edited definition (:func:`reaching`): none of them may now fail. The first candidate both
   confirm is the fix; nothing unconfirmed is ever reported.

The checker's own work is bounded too: candidates are made lazily (the deadline is looked at
between them), at most :data:`MAX_PENDING` made and :data:`MAX_CANDIDATES` screened per
function, and a source over :data:`MAX_SEARCH_BYTES`, or with modules beside it over the copy
limits of :mod:`gradcheck.fix.confirm`, is not searched.

Every call of a variant runs in the submission's worker (``WorkerBackend.call_batch`` with the
call's ``variant``), at the run's isolation level, under its limits, with a shorter limit per call
while screening; nothing is sent after the deadline.
"""

from __future__ import annotations

import ast
import bisect
import dataclasses
import itertools
import os
import re
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from gradcheck.boundary.backend import Backend
from gradcheck.engine.checks.case import CaseVerdict, Context, Steps
from gradcheck.engine.driver import CaseFactory, run_cases
from gradcheck.engine.screening import factory
from gradcheck.fix import DEFAULT_FIX_BUDGET
from gradcheck.fix.confirm import Beside, beside, confirm_fresh
from gradcheck.fix.edits import Edit, _Pending, iter_pending
from gradcheck.fix.source import Source, read_source
from gradcheck.plans.convolution import FORWARDS
from gradcheck.render.common import fix_text
from gradcheck.verdict.results import CheckResult

MAX_SEARCH_BYTES = 64 * 1024  # a larger source is not searched (the checker's own work grows with it)
MAX_CANDIDATES = 3000  # edits screened per function, at most
MAX_PENDING = 6000  # candidates generated (before ranking) per function, at most, over all its definitions
MAX_REFUSED = 2  # candidates a fresh run refused, per function, before its search stops (the worker misleads)
SCREEN_TIMEOUT = 0.5  # seconds per call of a candidate while screening (a loop bound edit may never end)
BATCH = 12  # candidates screened together in one lockstep run
REJECTED = ("fail", "error")

_KEYS = itertools.count(1)  # variant keys: unique in the process, so never reused within a worker

_KIND_RANK = {
    "= -> +=": 0, "+= -> =": 0, "dtype= dropped": 0, "astype dropped": 0,
    "* stride": 1, "name swap": 1, "operator": 1, "off by one": 1, "operand dropped": 1, "name -> 0": 1,
    "0 -> name": 1, "function swap": 1, "axis changed": 1, "axis= dropped": 1, "axes= dropped": 1,
    "einsum subscripts": 1, "axes permuted": 1, "comparison": 1, "keepdims= dropped": 2,
    "augmented operator": 2, "items swapped": 2, "arguments swapped": 2, "sign": 2, "statement dropped": 2,
    "condition dropped": 1, "factor inserted": 1,
}


@dataclasses.dataclass
class FixFound:
    function: str
    edit: Edit
    cases: int
    path: str

    def as_dict(self, source: Source) -> dict[str, Any]:
        unit = source.units[self.edit.unit]
        data: dict[str, Any] = {"path": self.path, "line": int(self.edit.start), "before": self.edit.before,
                                "after": self.edit.after, "kind": self.edit.kind, "cases": int(self.cases)}
        if unit.cell is not None:
            data["cell"] = unit.cell
        return data


@dataclasses.dataclass
class FixSearch:
    """What one search did (for benchmarks and tests): per function, the candidates screened and
    confirmed, the fix (None when none was confirmed) and the seconds it took."""

    screened: dict[str, int] = dataclasses.field(default_factory=dict)
    confirmations: dict[str, int] = dataclasses.field(default_factory=dict)
    fixes: dict[str, FixFound | None] = dataclasses.field(default_factory=dict)
    seconds: float = 0.0
    skipped: str | None = None  # why nothing was searched (no source, in process, ...)
    # per function, candidates that passed in the submission's worker but not in a fresh run of the edited file
    refused: dict[str, int] = dataclasses.field(default_factory=dict)
    out_of_time: set[str] = dataclasses.field(default_factory=set)  # a candidate was left unconfirmed at the deadline
    # per function, the functions that passed before and failed in the fresh run of a candidate that fixed it
    regressed: dict[str, set[str]] = dataclasses.field(default_factory=dict)


def _tagged(make: CaseFactory, key: int) -> CaseFactory:
    """The case ``make`` builds, with every call sent to variant ``key``."""

    def run(ctx: Context) -> Steps[CaseVerdict]:
        steps = make(ctx)
        reply = None
        while True:
            try:
                calls = steps.send(reply)
            except StopIteration as stop:
                return stop.value
            reply = yield [dataclasses.replace(call, variant=key) for call in calls]

    return run


def _quantity_pattern(quantity: str) -> re.Pattern[str]:
    name = re.sub(r"\[.*\]$", "", quantity)
    return re.compile(rf"\b{re.escape(name)}\w*", re.IGNORECASE)


def search_fixes(
    backend: Backend,
    path: str,
    results: Sequence[tuple[CheckResult, CheckResult]],
    *,
    examples: int,
    seed: int,
    budget: float = DEFAULT_FIX_BUDGET,
    progress: Callable[[str], None] | None = None,
) -> FixSearch:
    """Search a fix for each failing contract function of ``results`` (``(engine result, result as
    shown)`` pairs, as :func:`~gradcheck.engine.runner.run_checks` made them); a confirmed fix is
    added to the shown results' ``diagnosis["fix"]`` (a diagnosis ``verified_fix`` when there was
    none). ``backend``: the submission's worker (``WorkerBackend``); anything else (in process, a
    notebook) is not searched."""
    started = time.monotonic()
    outcome = FixSearch()
    if not hasattr(backend, "add_variants"):
        outcome.skipped = "the submission does not run in a worker"
        return outcome
    if not isinstance(path, str) or not path.endswith(".py"):
        outcome.skipped = "only a .py file's source is searched"
        return outcome
    try:
        too_big = os.path.getsize(path) > MAX_SEARCH_BYTES
    except OSError:
        too_big = False
    if too_big:
        outcome.skipped = f"the source is over {MAX_SEARCH_BYTES // 1024} KB"
        _note(results, f"fix search: skipped, the source is over {MAX_SEARCH_BYTES // 1024} KB")
        return outcome
    source = read_source(path)
    if source is None:
        outcome.skipped = "the source could not be read"
        return outcome
    deadline = started + budget
    failing: dict[str, list[tuple[CheckResult, CheckResult]]] = {}
    for engine, shown in results:
        if engine.status in REJECTED and getattr(engine, "case", None) is not None:
            failing.setdefault(engine.function, []).append((engine, shown))
    if failing:
        try:  # a fix is confirmed on a copy of the modules beside the submission: none when they are too many
            beside(backend, path, deadline)
        except Beside as refused:
            if refused.reason:
                outcome.skipped = refused.reason
                _note(results, f"fix search: skipped, {refused.reason}")
                outcome.seconds = time.monotonic() - started
                return outcome
    passed: dict[str, bool] = {}
    for engine, _ in results:
        passed[engine.function] = passed.get(engine.function, True) and engine.passed
    trusted = {name for name in FORWARDS if passed.get(name)}
    # a caller that fails because of a callee comes after it: the callee's fix may be the caller's
    order = sorted(failing, key=lambda name: any(shown.root_cause for _, shown in failing[name]))
    confirmed: list[Edit] = []
    for function in order:
        if time.monotonic() >= deadline:
            break
        if progress:
            progress(f"fix search: {function}")
        found = _search_one(backend, source, function, failing[function], confirmed, trusted, outcome,
                            examples=examples, seed=seed, deadline=deadline,
                            passed={name for name, ok in passed.items() if ok})
        outcome.fixes[function] = found
        if found is None:
            if outcome.skipped:
                _note(results, f"fix search: no fix shown: {outcome.skipped}")
                break
            if outcome.refused.get(function):
                _note(failing[function], "fix search: no fix shown: the edits that passed in the checked worker "
                      "failed in a fresh run of the edited file (the function depends on module state)")
            elif outcome.regressed.get(function):
                _note(failing[function], "fix search: no fix shown: the edits that made it pass in a fresh run of the "
                      f"edited file made {', '.join(sorted(outcome.regressed[function]))} fail, which passed before")
            elif function in outcome.out_of_time:
                _note(failing[function], "fix search: ran out of time before confirming a candidate in a fresh run "
                      "of the edited file (--fix-budget to give it more)")
            continue
        confirmed.append(found.edit)
        fix = found.as_dict(source)
        for _, shown in failing[function]:
            diagnosis = dict(shown.diagnosis) if shown.diagnosis else {
                "id": "verified_fix",
                "cause": f"{os.path.basename(path)}, {fix_text(fix, shown.function)}",
                "evidence": "the whole edited file passed the function's whole check plan in a fresh worker",
            }
            diagnosis["fix"] = fix
            shown.diagnosis = diagnosis
    outcome.seconds = time.monotonic() - started
    return outcome


def _note(results: Sequence[tuple[CheckResult, CheckResult]], text: str) -> None:
    """``text`` once under the first failing check of each function of ``results``."""
    done: set[str] = set()
    for engine, shown in results:
        if engine.status in REJECTED and engine.function not in done:
            done.add(engine.function)
            if text not in shown.warnings:
                shown.warnings.append(text)


def _search_one(backend: Any, source: Source, function: str, failing: list[tuple[CheckResult, CheckResult]],
                earlier: list[Edit], trusted: set[str], outcome: FixSearch, *, examples: int, seed: int,
                deadline: float, passed: set[str] = frozenset()) -> FixFound | None:
    from gradcheck.boundary.isolated import VariantView
    from gradcheck.engine.runner import _specs

    specs = _specs(backend)
    cases = [(specs[(engine.function, engine.quantity)], *engine.case) for engine, _ in failing]
    display = dict(getattr(backend, "display_names", {}) or {})
    contract_of = {shown: name for name, shown in display.items()}
    outcome.screened[function] = outcome.confirmations[function] = 0

    def confirm(edit: Edit, key: int) -> FixFound | None:
        outcome.confirmations[function] += 1
        edited = contract_of.get(edit.definition, edit.definition)
        names = (function,) if edited == function or edited not in specs_functions else (function, edited)
        total = _confirm(backend, key, names, trusted - {edited}, examples=examples, seed=seed, deadline=deadline)
        if total is None:
            if time.monotonic() >= deadline:
                outcome.out_of_time.add(function)
            return None
        # as the user applies it: the whole edited file, a fresh worker, the same seed and examples
        # ... and every function that passed before and may run the edited definition must still pass
        exposed = reaching(source, edit.definition, {name: display.get(name, name) for name in passed})
        names += tuple(sorted(set(exposed) - set(names)))
        fresh = confirm_fresh(backend, source, edit.lines(source), names, examples=examples, seed=seed,
                              deadline=deadline)
        if fresh.cases is None:
            if fresh.out_of_time:
                outcome.out_of_time.add(function)
            elif fresh.beside:
                outcome.skipped = fresh.beside
            elif fresh.regressed:
                outcome.regressed.setdefault(function, set()).update(fresh.regressed)
            else:
                outcome.refused[function] = outcome.refused.get(function, 0) + 1
            return None
        return FixFound(function, edit, fresh.cases, source.path)

    specs_functions = {name for name, _ in specs}
    keys = _KEYS

    def screen(edits: list[Edit]) -> list[tuple[Edit, int]]:
        if not edits or time.monotonic() >= deadline:
            return []
        batch = {next(keys): edit for edit in edits}
        backend.add_variants({key: source.payload({edit.unit: edit.lines(source)}) for key, edit in batch.items()},
                             source.future)
        factories = [_tagged(factory(spec, geometry, array_seed), key)
                     for key in batch for spec, geometry, array_seed in cases]
        view = VariantView(backend, None, timeout=SCREEN_TIMEOUT, deadline=deadline)
        verdicts = run_cases(view, factories, set(trusted), stop_at_fatal=False)
        outcome.screened[function] += len(batch)
        survivors = []
        for position, (key, edit) in enumerate(batch.items()):
            mine = verdicts[position * len(cases): (position + 1) * len(cases)]
            if len(mine) == len(cases) and all(verdict.passed for verdict in mine):
                survivors.append((edit, key))
        backend.drop_variants([key for key in batch if key not in {k for _, k in survivors}])
        return survivors

    def try_batch(edits: list[Edit]) -> FixFound | None:
        for edit, key in screen(edits):
            if time.monotonic() >= deadline:
                outcome.out_of_time.add(function)
            stop = time.monotonic() >= deadline or outcome.refused.get(function, 0) >= MAX_REFUSED \
                or outcome.skipped is not None
            found = None if stop else confirm(edit, key)
            backend.drop_variants([key])
            if found is not None:
                return found
        return None

    # a fix already confirmed for another function (a helper's, for its caller) first
    found = try_batch(list(earlier))
    if found is not None:
        return found
    lines: set[tuple[str, int]] = set()
    traced = VariantView(backend, None, timeout=SCREEN_TIMEOUT, deadline=deadline, trace=lines)
    run_cases(traced, [factory(spec, geometry, array_seed) for spec, geometry, array_seed in cases], set(trusted),
              stop_at_fatal=False)
    if time.monotonic() >= deadline:
        return None
    here = os.path.realpath(source.path)
    executed = sorted({line for filename, line in lines if os.path.realpath(filename) == here})
    patterns = [_quantity_pattern(engine.quantity) for engine, _ in failing]
    ran = set(executed)

    def rank(item: _Pending) -> tuple[int, int]:
        named = any(pattern.search(item.line) for pattern in patterns)
        return (4 * (item.line_number not in ran) + 2 * (not named) + _KIND_RANK.get(item.kind, 2), item.line_number)

    pending = list(_generate(source, function, display, executed, deadline))
    if time.monotonic() >= deadline:
        return None
    pending.sort(key=rank)
    seen: set[tuple[int, int, str]] = {(edit.unit, edit.start, edit.after) for edit in earlier}
    edits: list[Edit] = []
    tried = 0
    for item in pending:
        if time.monotonic() >= deadline or tried >= MAX_CANDIDATES or outcome.refused.get(function, 0) >= MAX_REFUSED \
                or outcome.skipped is not None:
            break
        edit = item.edit(source)
        if edit is None or (edit.unit, edit.start, edit.after) in seen:
            continue
        seen.add((edit.unit, edit.start, edit.after))
        edits.append(edit)
        tried += 1
        if len(edits) >= BATCH:
            found = try_batch(edits)
            if found is not None:
                return found
            edits = []
    done = time.monotonic() >= deadline or outcome.refused.get(function, 0) >= MAX_REFUSED \
        or outcome.skipped is not None
    return None if done else try_batch(edits)


def _generate(source: Source, function: str, display: dict[str, str], executed: list[int],
              deadline: float) -> Iterator[_Pending]:
    """The unchecked candidates of the definitions the failing cases ran (``executed``: sorted
    line numbers), the function's own definition first, at most :data:`MAX_PENDING` in all,
    made one at a time and none after ``deadline``."""
    own = source.definition(display.get(function, function))
    ran = [definition for definition in source.definitions()
           if _ran(executed, definition.start, definition.end)]
    ran.sort(key=lambda definition: (own is None or definition.name != own.name or definition.start != own.start,
                                     definition.unit, definition.start))
    made = 0
    for definition in ran:
        for item in iter_pending(source, definition):
            yield item
            made += 1
            if made >= MAX_PENDING or (made % 64 == 0 and time.monotonic() >= deadline):
                return
        if time.monotonic() >= deadline:
            return


_DYNAMIC = frozenset({"globals", "locals", "vars", "eval", "exec", "getattr", "__import__", "import_module",
                      "modules", "__dict__"})  # a function that may reach a definition without naming it


def reaching(source: Source, edited: str, functions: dict[str, str]) -> list[str]:
    """The names of ``functions`` (contract name -> name in the source) whose code can run the
    top-level definition ``edited``: its own, and every one whose definition references it by
    name, transitively through the other top-level definitions. When that is not sure (the
    function is not a top-level definition here, a name is defined twice, the edited definition
    is referred to by module-level code or a class, or code looks names up dynamically), every
    one of ``functions``."""
    definitions = source.definitions()
    names = [definition.name for definition in definitions]
    mentions: dict[str, set[str]] = {}
    for definition in definitions:
        mentions[definition.name] = {node.id for node in ast.walk(definition.node) if isinstance(node, ast.Name)} | \
            {node.attr for node in ast.walk(definition.node) if isinstance(node, ast.Attribute)}
    loose: set[str] = set()  # names module-level code (not a function definition) refers to
    for unit in source.units:
        for node in unit.tree.body:
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Import | ast.ImportFrom) \
                    and not _main_guard(node):  # a __main__ block does not run on import
                loose |= {sub.id for sub in ast.walk(node) if isinstance(sub, ast.Name)}
    reach = {edited}
    while True:
        more = {name for name in names if name not in reach and mentions[name] & reach}
        if not more:
            break
        reach |= more
    unsure = (len(set(names)) != len(names) or bool(loose & reach)
              or any(mentions[name] & _DYNAMIC for name in names))
    out = []
    for contract, shown in functions.items():
        own = source.definition(shown)
        if unsure or own is None or own.name in reach:
            out.append(contract)
    return out


def _main_guard(node: ast.stmt) -> bool:
    return isinstance(node, ast.If) and isinstance(node.test, ast.Compare) \
        and isinstance(node.test.left, ast.Name) and node.test.left.id == "__name__"


def _ran(executed: list[int], start: int, end: int) -> bool:
    """Whether a line in ``start``..``end`` is in the sorted list ``executed``."""
    at = bisect.bisect_left(executed, start)
    return at < len(executed) and executed[at] <= end


def _confirm(backend: Any, key: int, names: tuple[str, ...], trusted: set[str], *, examples: int, seed: int,
             deadline: float) -> int | None:
    """The cases of the whole check plan of ``names`` that variant ``key`` passed, or None when it
    failed any (or the deadline cut it)."""
    from gradcheck.boundary.isolated import VariantView
    from gradcheck.engine.runner import run_checks

    view = VariantView(backend, key, deadline=deadline)
    results = run_checks(view, examples=examples, seed=seed, only=names, diagnose=False, trusted=trusted)
    if not results or time.monotonic() >= deadline or not all(result.passed for result in results):
        return None
    return sum(int(result.cases) for result in results if result.function == names[0])
