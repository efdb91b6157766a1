"""The ``gradcheck`` command: a thin layer over :func:`gradcheck.check`.

    gradcheck check TARGET [--examples N] [--seed S] [--only NAME[,NAME...]]
                           [--require NAME[,NAME...]|all] [--max-time SECONDS]
                           [--timeout SECONDS] [--json FILE] [--report DIR]
                           [--gradescope FILE] [--in-process]
    gradcheck render REPORT_JSON --report DIR

Exit status: 0 when every function present passes; 1 when any check does not
pass or TARGET cannot be loaded; 2 for a usage error (unknown option, no such
file, a folder, an output path that cannot be written). Usage errors are checked
before anything runs and print one sentence, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Sequence
from typing import Any

from gradcheck.api import (
    DEFAULT_EXAMPLES,
    DEFAULT_TIMEOUT,
    MAX_EXAMPLES,
    _validate_only,
    check,
    validate_assignment,
    validate_require,
)
from gradcheck.errors import UsageError
from gradcheck.fix import DEFAULT_FIX_BUDGET
from gradcheck.plans.convolution import CONTRACT_FUNCTIONS
from gradcheck.render.terminal import Progress, format_report, use_color
from gradcheck.verdict.results import Report, json_safe

EXIT_PASS, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse exits 2: the usage-error status
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}")
    return value


def _examples(text: str) -> int:
    value = _positive_int(text)
    if value > MAX_EXAMPLES:
        raise argparse.ArgumentTypeError(
            f"{value} is more than the limit of {MAX_EXAMPLES} cases per check (the default, "
            f"{DEFAULT_EXAMPLES}, already catches every bug of the test zoo); use --only to spend more on one function"
        )
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return value


def _fix_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds >= 0, got {text!r}") from None
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number of seconds >= 0, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="gradcheck",
        description="Check hand-written CNN layers (conv, pooling) and their backward passes.",
    )
    from gradcheck import __version__

    parser.add_argument("--version", action="version", version=f"gradcheck {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    run = commands.add_parser(
        "check",
        help="check an implementation",
        description="Check every contract function TARGET defines against the reference "
        "(forwards) and central finite differences (backwards). "
        f"Contract functions: {', '.join(CONTRACT_FUNCTIONS)} "
        "(or CS231n's conv_forward_naive, conv_backward_naive, max_pool_forward_naive, max_pool_backward_naive).",
        epilog=CHECK_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument(
        "target", metavar="TARGET", help="a .py file, an .ipynb notebook or a module name"
    )
    run.add_argument(
        "--examples",
        type=_examples,
        default=DEFAULT_EXAMPLES,
        metavar="N",
        help=f"generated cases per function and quantity (default {DEFAULT_EXAMPLES}, at most {MAX_EXAMPLES})",
    )
    run.add_argument("--seed", type=_seed, default=0, metavar="S", help="random seed (default 0)")
    run.add_argument("--only", metavar="NAME[,NAME...]", help="check only these functions")
    run.add_argument(
        "--require",
        metavar="NAME[,NAME...]|all",
        help="these functions must be defined: a missing one fails the run (default: none, "
        "a missing function is reported but does not fail)",
    )
    run.add_argument(
        "--timeout",
        type=_seconds,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help=f"per-call time limit (default {DEFAULT_TIMEOUT:g} s)",
    )
    run.add_argument(
        "--max-time",
        type=_seconds,
        default=None,
        metavar="SECONDS",
        help="time budget for the whole run, looked at between functions: those not reached are "
        "reported as timeout (default: no budget)",
    )
    run.add_argument("--json", metavar="FILE", help="write the report as JSON")
    run.add_argument("--report", metavar="DIR", help="write report.json, report.md and report.html into DIR")
    run.add_argument("--gradescope", metavar="FILE", help="write a Gradescope results.json")
    run.add_argument(
        "--in-process",
        action="store_true",
        help="run the code in this process, without isolation (trusted code only)",
    )
    run.add_argument(
        "--isolation",
        choices=("auto", "strict", "sandbox", "unprivileged-user", "limits-only"),
        default=None,
        help="how the worker is isolated (default: $GRADCHECK_ISOLATION or auto, the strongest available); "
        "strict refuses to run without the bubblewrap sandbox (docs/sandbox.md)",
    )
    run.add_argument(
        "--convention",
        choices=("auto", "article", "cs231n"),
        default="auto",
        help="the course whose contract judges the target (default auto: the one its functions show; "
        "a file defining both courses' functions has each set checked)",
    )
    run.add_argument(
        "--assignment",
        metavar="NAME",
        default="auto",
        help="the course assignment whose layers are checked: auto (default: the one the functions the "
        f"target defines show), none, or one of {', '.join(_assignment_names())}",
    )
    run.add_argument(
        "--fix-budget",
        type=_fix_seconds,
        default=None,
        metavar="SECONDS",
        help=f"time for the fix search: a failing function of a .py file gets an edit of its source "
        f"that its whole check plan confirms (default {DEFAULT_FIX_BUDGET:g})",
    )
    run.add_argument("--no-fix", action="store_true", help="no fix search")
    run.add_argument("--quiet", "-q", action="store_true", help="no progress on stderr")

    render = commands.add_parser(
        "render",
        help="re-render a saved JSON report",
        description="Write the Markdown/HTML reports of a saved --json report without re-running.",
    )
    render.add_argument("report_json", metavar="REPORT_JSON", help="a file written by --json")
    render.add_argument("--report", metavar="DIR", required=True, help="output directory")
    from gradcheck.grade.command import add_commands

    add_commands(commands)  # grade, gradescope-autograder
    return parser


CHECK_EPILOG = """\
exit status:
  0  every function present passes (and every --require'd function is present)
  1  a check did not pass, a required function is missing, or TARGET could not be loaded
  2  usage error: unknown option, no such file, a folder, a file that is not .py/.ipynb,
     an output path that cannot be written (checked before anything runs)

example:
  gradcheck check my_cnn.py --require all --report report/
"""


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``gradcheck`` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "render":
            return _render(args)
        if args.command in ("grade", "gradescope-autograder"):
            from gradcheck.grade.command import run_command

            return run_command(args)
        return _check(args)
    except UsageError as exc:
        print(f"gradcheck: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("gradcheck: interrupted", file=sys.stderr)
        return 130


def _report_module() -> Any:
    try:
        from gradcheck.render import report as report_module
    except ImportError as exc:
        raise UsageError(
            f"--report/--gradescope need gradcheck.render.report, which is not available ({exc})"
        ) from None
    return report_module


def _render(args: argparse.Namespace) -> int:
    from gradcheck.render.report_dir import SavedReportError

    if not os.path.isfile(args.report_json):
        raise UsageError(f"no such file: {args.report_json}")
    validate_output_paths(report=args.report)
    try:
        _report_module().render_saved(args.report_json, args.report)
    except SavedReportError as exc:
        raise UsageError(str(exc)) from None
    print(f"gradcheck: report written to {args.report} (from {args.report_json})")
    return EXIT_PASS


def _assignment_names() -> tuple[str, ...]:
    from gradcheck.plans import plans

    return tuple(plans())


def _check(args: argparse.Namespace) -> int:
    from gradcheck.load.loaders import find_target

    validate_assignment(args.assignment)  # a name that is no assignment: exit 2 before anything runs
    only = _validate_only(args.only)  # CS231n's names work too
    require = validate_require(args.require)
    validate_output_paths(json=args.json, report=args.report, gradescope=args.gradescope)
    missing = find_target(args.target)
    if missing is not None:
        if args.gradescope:  # the autograder still gets a results file
            report = Report(
                target=args.target, seed=args.seed, examples=args.examples, load_error=missing, required=require
            )
            _report_module().write_gradescope(report, args.gradescope)
        raise UsageError(missing)

    if not args.in_process:
        from gradcheck.boundary.sandbox import resolve

        resolve(args.isolation, where="--isolation")  # strict without the sandbox: exit 2 before anything runs
    progress = Progress(enabled=not args.quiet)
    try:
        report = check(
            args.target,
            examples=args.examples,
            seed=args.seed,
            only=only,
            require=require,
            isolate=not args.in_process,
            isolation=None if args.in_process else args.isolation,
            convention=args.convention,
            assignment=args.assignment,
            timeout=args.timeout,
            max_time=args.max_time,  # counts the worker's start too
            progress=progress,
            sweep=bool(args.report),  # the error-against-step figure of the report
            fix_budget=0.0 if args.no_fix or args.in_process else (
                DEFAULT_FIX_BUDGET if args.fix_budget is None else args.fix_budget),
        )
    finally:
        progress.done()
    print(format_report(report, color=use_color(sys.stdout)))
    if report.load_error is None:
        print(_closing_note(report))
    _write_outputs(report, args)
    return EXIT_PASS if report.passed else EXIT_FAIL


def _count(number: int, noun: str) -> str:
    """'1 check', '2 checks'."""
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _closing_note(report: Report) -> str:
    checked = [check for check in report.checks if check.status != "missing"]
    note = f"{_count(len(checked), 'check')} in {report.duration_s:.1f} s"
    if report.worker is not None:
        trips = report.worker["round_trips"]
        per_check = f", {trips / len(checked):.0f} per check" if checked else ""
        note += f" (isolated worker, {report.isolation}: {_count(trips, 'round trip')}{per_check}"
        restarts = report.worker.get("restarts", 0)
        note += f", {_count(restarts, 'restart')})" if restarts else ")"
    else:
        note += " (in process, not isolated)"
    from gradcheck.boundary.sandbox import level_note

    if level_note(report.isolation, report.isolation_reason):
        note += f"\nnote: {level_note(report.isolation, report.isolation_reason)}"
    return note


def _write_outputs(report: Report, args: argparse.Namespace) -> None:
    if args.json:
        _ensure_parent(args.json)
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(json_safe(report.to_dict()), handle, indent=2, allow_nan=False)
            handle.write("\n")
    if args.report:
        _report_module().write_report_dir(report, args.report)
        print(f"gradcheck: report written to {args.report} (open {os.path.join(args.report, 'report.html')})")
    if args.gradescope:
        _ensure_parent(args.gradescope)
        _report_module().write_gradescope(report, args.gradescope)


def validate_output_paths(**paths: str | None) -> None:
    """Raise :class:`UsageError` (one sentence) when an output path cannot be written.

    Keywords name the option: ``json``/``gradescope`` are files, ``report`` is a folder.
    Checked before the run, so a typo costs nothing and never ends in a traceback."""
    for option, path in paths.items():
        if not path:
            continue
        flag = f"--{option}"
        is_folder = option == "report"
        if os.path.isdir(path) and not is_folder:
            raise UsageError(f"{flag} {path} is a folder; give a file name, e.g. {os.path.join(path, 'report.json')}")
        if os.path.exists(path) and is_folder and not os.path.isdir(path):
            raise UsageError(
                f"{flag} {path} is an existing file; give a folder (it will hold report.json, report.md, report.html)"
            )
        ancestor = os.path.dirname(os.path.abspath(path))
        while not os.path.exists(ancestor):
            ancestor = os.path.dirname(ancestor)
        if not os.path.isdir(ancestor):
            raise UsageError(f"{flag} {path} cannot be created: {ancestor} is a file, not a folder")
        target = path if os.path.exists(path) else ancestor
        if not os.access(target, os.W_OK):
            raise UsageError(f"{flag} {path} cannot be written: no write permission on {target}")


def _ensure_parent(path: str) -> None:
    parent = os.path.dirname(os.path.abspath(path))
    os.makedirs(parent, exist_ok=True)


if __name__ == "__main__":
    sys.exit(main())
