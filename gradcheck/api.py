"""``gradcheck.check``: the library entry point the CLI and the pytest plugin stand on."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Sequence
from types import ModuleType
from typing import Any

from gradcheck.boundary.backend import Backend, InProcessBackend
from gradcheck.conventions import contract_name
from gradcheck.conventions import convention as convention_named
from gradcheck.errors import LoadError, UsageError
from gradcheck.plans.convolution import CONTRACT_FUNCTIONS, GROUPS
from gradcheck.verdict.results import CheckResult, Report

DEFAULT_EXAMPLES = 200  # reference.naive: ~2.5 s isolated on 2 cores (benchmarks/bench_engine.py)
DEFAULT_TIMEOUT = 10.0
MAX_EXAMPLES = 100_000  # a bound on the work one run may ask for (hundreds of times the default)

Progress = Callable[[str], None]


def _known_names() -> tuple[str, ...]:
    """The contract's functions, then every assignment's (``gradcheck.plans``)."""
    from gradcheck.plans import plans

    return tuple(dict.fromkeys((*CONTRACT_FUNCTIONS, *(n for plan in plans().values() for n in plan.names))))


def _validate_names(names: Iterable[str] | str | None, argument: str) -> tuple[str, ...] | None:
    if names is None:
        return None
    parts = names.split(",") if isinstance(names, str) else list(names)
    if not all(isinstance(part, str) for part in parts):
        raise UsageError(f"{argument}={names!r} must be function names (strings)")
    picked = tuple(contract_name(part.strip()) for part in parts)
    known = _known_names()
    unknown = [name for name in picked if name not in known]
    if unknown or not picked:
        raise UsageError(
            f"{argument}={list(picked)!r} names unknown function(s) {unknown}; "
            f"choose from {', '.join(known)}"
        )
    return picked


def _validate_only(only: Iterable[str] | str | None) -> tuple[str, ...] | None:
    return _validate_names(only, "only")


def validate_require(require: Iterable[str] | str | None) -> tuple[str, ...]:
    """``None`` -> (); ``"all"`` -> every function of every course (a run keeps those of the
    assignment it checks); else the named functions."""
    if require is None or (isinstance(require, tuple | list) and not require):
        return ()
    if isinstance(require, str) and require.strip() == "all":
        return _known_names()
    named = _validate_names(require, "require") or ()
    return tuple(name for name in _known_names() if name in named)


def _named_plan(assignment: Any) -> Any:
    """The plan an assignment setting names (None for auto or none)."""
    from gradcheck.plans import plans
    from gradcheck.specs.spec import Plan

    return assignment if isinstance(assignment, Plan) else plans().get(assignment or "")


def _assignment_of(names: tuple[str, ...]) -> str | None:
    """The one assignment that holds every named function of an assignment (None: none, or several)."""
    from gradcheck.plans import plans

    named = [name for name in names if name not in CONTRACT_FUNCTIONS]
    holding = [plan.name for plan in plans().values() if named and set(named) <= set(plan.names)]
    return holding[0] if len(holding) == 1 else None


def validate_assignment(assignment: str | None) -> str | None:
    """None for ``None``/``"auto"``; ``"none"`` or an assignment's name (``gradcheck.plans``);
    a UsageError naming the choices otherwise."""
    from gradcheck.plans import plans
    from gradcheck.specs.spec import Plan

    if isinstance(assignment, Plan):  # a plan of one's own layers (gradcheck.specs)
        return assignment
    if assignment in (None, "auto"):
        return None
    if assignment == "none" or assignment in plans():
        return assignment
    raise UsageError(f"assignment must be auto, none or one of {', '.join(plans())}, got {assignment!r}")


def validate_examples(examples: Any) -> int:
    """``examples`` as an int in [1, MAX_EXAMPLES], or a UsageError saying what to do."""
    if isinstance(examples, bool) or not isinstance(examples, int) or examples < 1:
        raise UsageError(f"examples must be an integer >= 1, got {examples!r}")
    if examples > MAX_EXAMPLES:
        raise UsageError(
            f"examples={examples} is more than the limit of {MAX_EXAMPLES} cases per check "
            f"(the default, {DEFAULT_EXAMPLES}, already catches every bug of the test zoo); "
            "to spend more on one function, combine a smaller number with only=/--only"
        )
    return examples


IN_PROCESS_REASONS = {  # Report.isolation_reason of a run in the checker's own process
    False: "isolate=False (--in-process): trusted code, run in the checker's own process",
    True: "the functions could not be run in a worker (see the warnings), so they ran in the checker's own process",
}


def check(
    target: str | ModuleType | Any,
    *,
    examples: int = DEFAULT_EXAMPLES,
    seed: int = 0,
    only: Iterable[str] | str | None = None,
    require: Iterable[str] | str | None = None,
    isolate: bool = True,
    timeout: float = DEFAULT_TIMEOUT,
    progress: Progress | None = None,
    sweep: bool = False,
    max_time: float | None = None,
    isolation: str | None = None,
    visible: Sequence[str] = (),
    convention: str | None = None,
    assignment: str | None = None,
    fix_budget: float | None = None,
) -> Report:
    """Check every contract function ``target`` defines; return a :class:`Report`.

    ``target``: a ``.py`` path, an ``.ipynb`` path, an importable module name, a
    module object, or a namespace: a notebook's ``globals()``, a dict or any object
    with the contract's functions as attributes. ``examples``: generated cases per
    (function, quantity), at most ``MAX_EXAMPLES``. ``seed`` makes the run reproducible.
    ``require``: ``"all"`` or function names that must be defined (a missing one fails
    the report); without it a missing function is reported but does not fail.
    With ``isolate=True`` the submission runs in a limited worker process and
    nothing it returns is unpickled; the functions of a live session are sent there
    as their recovered source (``inspect.getsource``), and when that source cannot
    be recovered they run in this process, with a warning in ``report.warnings``.
    ``sweep`` also records, for one case per gradient, the error against the
    finite-difference step (shown in reports). ``max_time``: a budget in seconds for
    the whole run, looked at between functions (a forward and its backward count as
    one); functions not reached get status ``timeout`` and a message that says so.
    ``isolation`` (with ``isolate=True``): ``"auto"`` (default: ``$GRADCHECK_ISOLATION`` or the
    strongest level available), ``"strict"`` (the bubblewrap sandbox or a UsageError), or a level
    name; the level used is ``Report.isolation``, why ``Report.isolation_reason`` (docs/sandbox.md).
    ``visible`` (a path target, isolated): more files or folders the worker sees, read-only,
    beside the target: the rest of one submission (``gradcheck grade`` passes them). Without it
    the worker sees the modules beside the target that it imports, unless they look like other
    submissions; the report's ``bound`` lists every extra file shown.
    ``convention``: the course whose contract judges the target (``"article"`` or ``"cs231n"``);
    None or ``"auto"``: the one its functions show, and a file that defines both courses'
    functions has each set checked by its own contract (``Report.convention`` names the first).
    ``assignment``: the course assignment whose layers are checked besides the convolution
    contract (``gradcheck.plans``: ``"cs231n-a2"``, ``"cs231n-a1"``, ``"dls-c1w4"``, ...), or a
    :class:`gradcheck.specs.Plan` of one's own layers; None or ``"auto"``: the one the functions
    the target defines show (``Report.plan``); ``"none"``: none.
    ``fix_budget``: seconds for the fix search (``gradcheck.fix``; a ``.py`` path run isolated): a
    failing contract function gets ``diagnosis["fix"]`` when an edit of its source is confirmed
    by its whole check plan; None (the default here; the command's default is on) or 0: no search.
    """
    examples = validate_examples(examples)
    convention = validate_convention(convention)
    assignment = validate_assignment(assignment)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise UsageError(f"seed must be an integer >= 0, got {seed!r}")
    if fix_budget is not None and not (isinstance(fix_budget, int | float) and 0 <= fix_budget < float("inf")):
        raise UsageError(f"fix_budget must be a number of seconds >= 0, got {fix_budget!r}")
    if not (isinstance(timeout, int | float) and timeout > 0):
        raise UsageError(f"timeout must be a positive number of seconds, got {timeout!r}")
    if max_time is not None and not (isinstance(max_time, int | float) and 0 < max_time < float("inf")):
        raise UsageError(f"max_time must be a positive number of seconds, got {max_time!r}")
    names = _validate_only(only)
    required = validate_require(require)
    if names is not None and required:  # a required function is always looked at
        names = tuple(name for name in _known_names() if name in names or name in required)
    if assignment is None and names is not None:  # --only an assignment's functions: that assignment
        assignment = _assignment_of(names)
    if isinstance(target, str):
        label = target
    elif isinstance(target, Backend):
        label = target.label
    else:
        from gradcheck.load.session import label_of

        label = label_of(target)
    started = time.perf_counter()
    report = Report(target=str(label), seed=seed, examples=examples, required=required)
    opened = _Opened()
    if isolate and not isinstance(target, Backend):
        from gradcheck.boundary.sandbox import level_reason, resolve

        requested, isolation = isolation, resolve(isolation)  # "strict" below the sandbox: UsageError
        report.isolation, report.isolation_reason = isolation, level_reason(requested, isolation)
    try:
        backend = open_target(target, isolate=isolate, timeout=timeout, isolation=isolation, opened=opened,
                              visible=visible, convention=convention, assignment=assignment)
    except LoadError as exc:
        report.load_error = str(exc)
        # what is required of a file that did not load: its course's (as asked, else the article's)
        plan = _named_plan(assignment)
        report.plan = None if plan is None else plan.name
        convolution = plan is None or plan.convention is not None
        course = convention or (plan.convention if plan is not None and plan.convention else "article")
        asked = (convention_named(course).contract if convolution else ()) + (plan.required_names if plan else ())
        report.required = tuple(name for name in report.required if name in asked)
        report.duration_s = time.perf_counter() - started
        opened.cleanup()
        return report
    from gradcheck.engine.runner import run_checks

    report.isolation = getattr(backend, "isolation", None) or "in-process"
    report.convention = getattr(backend, "convention", None) or "article"
    plan = getattr(backend, "plan", None)
    report.plan = None if plan is None else plan.name
    convolution = plan is None or plan.convention is not None  # the conv engine has functions to look at
    # "all" (or a name of another course) asks of a course only the functions it has
    asked = (convention_named(report.convention).contract if convolution else ()) + (
        plan.required_names if plan else ())
    report.required = tuple(name for name in report.required if name in asked)
    if report.isolation == "in-process":
        report.isolation_reason = IN_PROCESS_REASONS[isolate]
    elif isinstance(target, Backend):
        report.isolation_reason = getattr(backend, "isolation_reason", None)
    if progress is not None and not isinstance(target, Backend):
        progress(f"loaded {label} ({'isolated worker' if isolate else 'in process'})")
    try:
        with backend:
            report.warnings = [*opened.warnings, *getattr(backend, "warnings", [])]
            report.review = list(getattr(backend, "review", []))
            if plan is not None and progress is not None:
                progress(f"assignment: {plan.title} ({plan.name}; --assignment to choose another)")
            pairs: list[tuple[CheckResult, CheckResult]] = []
            if max_time is None:
                report.checks = _run_all(backend, plan, convolution, examples=examples, seed=seed, only=names,
                                         progress=progress, sweep=sweep, pairs=pairs)
            else:
                report.checks = _run_within(backend, plan, convolution, max_time, started, examples=examples,
                                            seed=seed, only=names, progress=progress, sweep=sweep,
                                            warnings=report.warnings, pairs=pairs)
            if fix_budget and isinstance(target, str) and report.review:
                if any(not check.passed for check in report.checks):
                    report.warnings.append("fix search: skipped: the submission looks at the process it runs in "
                                           "(see review): a fix that passes here may not make it right elsewhere")
            elif fix_budget and isinstance(target, str):
                from gradcheck.fix.search import search_fixes

                try:
                    search_fixes(backend, target, pairs, examples=examples, seed=seed, budget=fix_budget,
                                 progress=progress)
                except Exception as exc:  # noqa: BLE001 - the search only adds; its failure leaves the verdicts
                    report.warnings.append(f"the fix search stopped: {type(exc).__name__}: {exc}")
            if getattr(backend, "round_trips", None) is not None:
                report.worker = {"round_trips": backend.round_trips, "restarts": getattr(backend, "restarts", 0)}
            report.limits = getattr(backend, "limits", None)
            report.bound = list(getattr(backend, "bound", []))
        for other in _other_courses(target, report.convention, convention):
            report.warnings.append(
                f"{label} defines functions of both the article's course and CS231n's: each set is checked by "
                f"its own contract ({report.convention}'s first, then {other}'s)"
            )
            with open_target(target, isolate=isolate, timeout=timeout, isolation=isolation,
                             convention=other, visible=visible) as again:
                report.checks += run_checks(again, examples=examples, seed=seed, only=names, progress=progress,
                                            sweep=sweep)
    finally:
        opened.cleanup()
    _mark_required(report)
    if names is not None and not report.checks:
        report.warnings.append(f"only={','.join(names)}: none of these is a function of what was checked "
                               f"({report.plan or report.convention}); name its functions, or give the assignment")
    report.duration_s = time.perf_counter() - started
    return report


def _run_all(backend: Backend, plan: Any, convolution: bool, *, examples: int, seed: int,
             only: tuple[str, ...] | None, progress: Progress | None, sweep: bool,
             pairs: list[tuple[CheckResult, CheckResult]] | None = None) -> list[CheckResult]:
    """The convolution contract's checks (when the run has them), then the plan's layers
    (``pairs``: receives each contract result as the engine made it, beside it as shown)."""
    from gradcheck.engine.runner import run_checks
    from gradcheck.specs.run import run_plan

    results: list[CheckResult] = []
    contract_only = None if only is None else tuple(name for name in only if name in CONTRACT_FUNCTIONS)
    if convolution and (contract_only is None or contract_only):
        engine_results: list[CheckResult] = []
        contract = run_checks(backend, examples=examples, seed=seed, only=contract_only, progress=progress,
                              sweep=sweep, engine_results=engine_results)
        if pairs is not None and len(engine_results) == len(contract):
            pairs += zip(engine_results, contract, strict=True)
        results += contract
    if plan is not None:
        plan_only = None if only is None else tuple(name for name in only if name in plan.names)
        if plan_only is None or plan_only:
            results += run_plan(backend, plan, examples=examples, seed=seed, only=plan_only, progress=progress)
    return results


def _groups(plan: Any, convolution: bool) -> list[tuple[str, ...]]:
    """The budget's groups: the contract's, then each plan layer with the backwards of it."""
    groups = list(GROUPS) if convolution else []
    if plan is not None:
        grouped: dict[str, list[str]] = {}
        for layer in plan.layers:
            grouped.setdefault(layer.forward or layer.name, []).append(layer.name)
        groups += [tuple(names) for names in grouped.values()]
    return groups


def _run_within(backend: Backend, plan: Any, convolution: bool, max_time: float, started: float, *,
                only: tuple[str, ...] | None, warnings: list[str], progress: Progress | None,
                **options: Any) -> list[CheckResult]:
    """``_run_all`` group by group while the budget lasts; the rest become ``timeout``."""
    present = backend.functions()
    display = dict(getattr(backend, "display_names", {}) or {})
    results: list[CheckResult] = []
    skipped: list[str] = []
    for group in _groups(plan, convolution):
        wanted = tuple(name for name in group if only is None or name in only)
        if not wanted:
            continue
        elapsed = time.perf_counter() - started
        if elapsed < max_time:
            results += _run_all(backend, plan, convolution, only=wanted, progress=progress, **options)
            continue
        absent = tuple(name for name in wanted if name not in present)
        if absent:  # a missing function is still reported as missing (no work)
            results += _run_all(backend, plan, convolution, only=absent, progress=progress, **options)
        for name in wanted:
            if name in present:
                shown = display.get(name, name)
                skipped.append(shown)
                results.append(CheckResult(
                    shown, "*", "timeout",
                    message=f"{shown} was not checked: the time budget (max_time / --max-time) ran out "
                    "before it; give a larger budget or fewer examples",
                ))
    if skipped:
        warnings.append(f"the time budget ran out: {', '.join(skipped)} not checked")
    return results


def _mark_required(report: Report) -> None:
    """Say which missing functions are required; list required functions no check names."""
    named = {contract_name(check.function) for check in report.checks}
    for check in report.required_missing():
        check.message = f"{check.function} is not defined, and it is required"
    for name in report.required:
        if name not in named:
            report.checks.append(
                CheckResult(name, "*", "missing", message=f"{name} is not defined, and it is required")
            )


class _Opened:
    """What opening a live session left to clean up, and what to tell the user."""

    def __init__(self) -> None:
        self.warnings: list[str] = []
        self.folder: str | None = None

    def cleanup(self) -> None:
        if self.folder is not None:
            import shutil

            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None


CONVENTION_CHOICES = ("auto", "article", "cs231n")


def validate_convention(convention: str | None) -> str | None:
    """None for ``None``/``"auto"``; the course's name otherwise (a UsageError for anything else)."""
    if convention in (None, "auto"):
        return None
    if convention not in CONVENTION_CHOICES:
        raise UsageError(f"convention must be one of {', '.join(CONVENTION_CHOICES)}, got {convention!r}")
    return convention


def _other_courses(target: Any, first: str, forced: str | None) -> tuple[str, ...]:
    """The other course whose layers a file or module target also defines (none when the
    course was given, or for objects of a live session)."""
    if forced is not None or not isinstance(target, str):
        return ()
    from gradcheck.load.declared import courses, declared
    from gradcheck.load.loaders import is_path_like

    path = is_path_like(target)
    found = declared(os.path.abspath(target) if path else target, path)
    return tuple(course for course in courses(found.names) if course != first)


def open_target(
    target: Any,
    *,
    isolate: bool = True,
    timeout: float = DEFAULT_TIMEOUT,
    isolation: str | None = None,
    opened: _Opened | None = None,
    visible: Sequence[str] = (),
    convention: str | None = None,
    assignment: str | None = None,
) -> Backend:
    """The backend that calls ``target``'s functions: the one way a target is opened (used by
    :func:`check` and the pytest plugin). Raises :class:`~gradcheck.errors.LoadError` when the
    target cannot be loaded. Close it (``with`` or ``.close()``) to stop its worker."""
    opened = opened if opened is not None else _Opened()
    if isinstance(target, Backend):
        return target
    from gradcheck.load.loaders import load_submission, load_warnings

    if isinstance(target, str):
        if isolate:
            from gradcheck.boundary.isolated import WorkerBackend

            return WorkerBackend(target, timeout=timeout, isolation=isolation, visible=visible,
                                 convention=convention, plan=assignment)
        module = load_submission(target)
        opened.warnings.extend(load_warnings(module))
        return _in_process(module, convention, assignment, timeout)
    from gradcheck.load import session

    label = session.label_of(target)
    if isolate:
        from gradcheck.boundary.isolated import WorkerBackend

        path = session.module_file(target)
        if path is None:
            try:
                text = session.recover_source(session.as_namespace(target))
            except session.Unrecoverable as exc:
                opened.warnings.append(
                    f"ran in this process, not isolated: {exc}. "
                    "Put the functions in a .py file (or pass isolate=False to silence this)"
                )
                return _labelled(_in_process(session.as_namespace(target), convention, assignment, timeout), label)
            opened.folder, path = session.write_recovered(text, label)
            try:
                return _labelled(WorkerBackend(path, timeout=timeout, isolation=isolation, convention=convention,
                                               plan=assignment), label)
            except LoadError as exc:  # the recovered source is not the session: run what the session has
                first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                opened.warnings.append(
                    f"ran in this process, not isolated: the recovered source did not load in the worker ({first})"
                )
                return _labelled(_in_process(session.as_namespace(target), convention, assignment, timeout), label)
        return _labelled(WorkerBackend(path, timeout=timeout, isolation=isolation, convention=convention,
                                       plan=assignment), label)
    return _labelled(_in_process(session.as_namespace(target), convention, assignment, timeout), label)


def _in_process(implementation: Any, convention: str | None, assignment: str | None, timeout: float) -> Backend:
    """An in-process backend for a module or namespace: its course's contract (the convention,
    as the worker decides it) and its assignment's functions (``gradcheck.plans``)."""
    from gradcheck.load.loaders import as_contract
    from gradcheck.plans import plan_for

    names = [name for name in dir(implementation) if callable(getattr(implementation, name, None))]
    plan = plan_for(assignment, names)
    if plan is not None and plan.convention and convention is None:
        convention = plan.convention
    return InProcessBackend(as_contract(implementation, convention), timeout=timeout, plan=plan,
                            plan_source=implementation)


def _labelled(backend: Backend, label: str) -> Backend:
    backend.label = label
    return backend


def assert_check(target: str | ModuleType | Any, **options: Any) -> Report:
    """Like :func:`check`, but raise :class:`~gradcheck.errors.GradcheckError` (an
    AssertionError) when the report does not pass: per failing check its message and
    likely cause. The error's ``report`` attribute holds the :class:`Report`."""
    __tracebackhide__ = True
    from gradcheck.errors import GradcheckError
    from gradcheck.render.terminal import failure_text

    report = check(target, **options)
    if not report.passed:
        if report.load_error is not None:
            error = GradcheckError(f"{report.target} could not be loaded: {report.load_error}")
        else:
            failures = report.failures()
            details = "\n\n".join(failure_text(c) for c in failures)
            error = GradcheckError(f"{report.target}: {len(failures)} check(s) did not pass\n\n{details}")
        error.report = report
        raise error
    return report
