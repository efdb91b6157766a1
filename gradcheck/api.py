"""``gradcheck.check``: the library entry point the CLI and the pytest plugin stand on."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from types import ModuleType
from typing import Any

from gradcheck.boundary.backend import Backend, InProcessBackend
from gradcheck.contract import CONTRACT_FUNCTIONS
from gradcheck.errors import LoadError, UsageError
from gradcheck.verdict.results import Report

DEFAULT_EXAMPLES = 200  # reference.naive: ~2.5 s isolated on 2 cores (benchmarks/bench_engine.py)
DEFAULT_TIMEOUT = 10.0

Progress = Callable[[str], None]


def _validate_only(only: Iterable[str] | str | None) -> tuple[str, ...] | None:
    if only is None:
        return None
    names = tuple(part.strip() for part in (only.split(",") if isinstance(only, str) else only))
    unknown = [name for name in names if name not in CONTRACT_FUNCTIONS]
    if unknown or not names:
        raise UsageError(
            f"only={list(names)!r} names unknown function(s) {unknown}; "
            f"choose from {', '.join(CONTRACT_FUNCTIONS)}"
        )
    return names


def check(
    target: str | ModuleType | Any,
    *,
    examples: int = DEFAULT_EXAMPLES,
    seed: int = 0,
    only: Iterable[str] | str | None = None,
    isolate: bool = True,
    timeout: float = DEFAULT_TIMEOUT,
    progress: Progress | None = None,
    sweep: bool = False,
) -> Report:
    """Check every contract function ``target`` defines; return a :class:`Report`.

    ``target``: a ``.py`` path, an ``.ipynb`` path, an importable module name,
    or (with ``isolate=False``) a module or any object with the contract's functions.
    ``examples``: generated cases per (function, quantity). ``seed`` makes the run
    reproducible. With ``isolate=True`` the submission runs in a limited worker
    process and nothing it returns is unpickled. ``sweep`` also records, for one case
    per gradient, the error against the finite-difference step (shown in reports).
    """
    if isinstance(examples, bool) or not isinstance(examples, int) or examples < 1:
        raise UsageError(f"examples must be an integer >= 1, got {examples!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise UsageError(f"seed must be an integer >= 0, got {seed!r}")
    if not (isinstance(timeout, int | float) and timeout > 0):
        raise UsageError(f"timeout must be a positive number of seconds, got {timeout!r}")
    names = _validate_only(only)
    if isinstance(target, str):
        label = target
    elif isinstance(target, Backend):
        label = target.label
    else:
        label = getattr(target, "__name__", type(target).__name__)
    started = time.perf_counter()
    report = Report(target=str(label), seed=seed, examples=examples)
    try:
        backend = _open_backend(target, isolate=isolate, timeout=timeout)
    except LoadError as exc:
        report.load_error = str(exc)
        report.duration_s = time.perf_counter() - started
        return report
    from gradcheck.engine.runner import run_checks

    with backend:
        report.checks = run_checks(backend, examples=examples, seed=seed, only=names, progress=progress,
                                   sweep=sweep)
    report.duration_s = time.perf_counter() - started
    return report


def _open_backend(target: Any, *, isolate: bool, timeout: float) -> Backend:
    if isinstance(target, Backend):
        return target
    if isolate:
        if not isinstance(target, str):
            raise UsageError(
                "isolate=True needs a path or a module name (the worker imports it); "
                "pass isolate=False to check a module object in this process"
            )
        from gradcheck.boundary.isolated import WorkerBackend

        return WorkerBackend(target, timeout=timeout)
    from gradcheck.load.loaders import as_contract, load_submission

    if isinstance(target, str):
        return InProcessBackend(as_contract(load_submission(target)), timeout=timeout)
    return InProcessBackend(as_contract(target), timeout=timeout)


def assert_check(target: str | ModuleType | Any, **options: Any) -> Report:
    """Like :func:`check`, but raise :class:`~gradcheck.errors.GradcheckError` (an
    AssertionError) with every failing verdict's message when the report does not pass."""
    __tracebackhide__ = True
    from gradcheck.errors import GradcheckError

    report = check(target, **options)
    if not report.passed:
        if report.load_error is not None:
            raise GradcheckError(f"{report.target} could not be loaded: {report.load_error}")
        failures = report.failures() or report.checks
        details = "\n\n".join(f"[{c.status}] {c.message}" for c in failures)
        raise GradcheckError(f"{report.target}: {len(report.failures())} check(s) did not pass\n\n{details}")
    return report
