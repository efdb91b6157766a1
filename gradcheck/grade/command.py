"""Command line of ``gradcheck grade`` and ``gradcheck gradescope-autograder``.

``add_commands(subparsers)`` registers both; ``run_command(args)`` runs one and
returns the exit status. ``grade`` exits 0 when every submission was graded
(whatever its verdict; entries that are not submissions are listed, not errors),
1 when some could not be graded (its task crashed twice or ran out of time), 2
for a usage error.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from gradcheck.errors import UsageError

EXIT_OK, EXIT_UNGRADED, EXIT_USAGE = 0, 1, 2


def add_commands(commands: Any) -> None:
    """Add the ``grade`` and ``gradescope-autograder`` sub-commands to ``commands``."""
    from gradcheck.api import DEFAULT_EXAMPLES, DEFAULT_TIMEOUT
    from gradcheck.cli import _fix_seconds, _positive_int, _seconds, _seed
    from gradcheck.fix import DEFAULT_FIX_BUDGET
    from gradcheck.grade.executors import DEFAULT_TASK_TIMEOUT
    from gradcheck.grade.task import DEFAULT_MAX_TIME

    grade = commands.add_parser(
        "grade",
        help="grade a class: folders, zips or files of submissions",
        description="Check every submission in SOURCE (each isolated, in parallel) into a gradebook "
        "(OUT/grades.csv), per-submission reports and Gradescope results, and a class page "
        "(OUT/class.html, OUT/class.md). Running it again grades only what is missing or changed.",
    )
    grade.add_argument("sources", nargs="+", metavar="SOURCE", help="a class folder, a .zip, or .py/.ipynb files")
    grade.add_argument("--out", required=True, metavar="DIR", help="output folder (also the resumable store)")
    grade.add_argument("--workers", type=_positive_int, metavar="N", help="submissions at once (default: cores)")
    grade.add_argument("--executor", choices=("local", "dask"), default="local", help="local processes or Dask")
    grade.add_argument("--scheduler", metavar="ADDRESS", help="Dask scheduler (default: a LocalCluster)")
    grade.add_argument("--examples", type=_positive_int, default=DEFAULT_EXAMPLES, metavar="N",
                       help=f"generated cases per function and quantity (default {DEFAULT_EXAMPLES})")
    grade.add_argument("--seed", type=_seed, default=None, metavar="S",
                       help="random seed of every submission, for a reproducible run (default: a seed per "
                       "submission, derived from a secret kept in DIR/.gradcheck-secret and the submission's "
                       "bytes: a changed file gets cases no one can predict, and a re-run grades a file alike)")
    grade.add_argument("--timeout", type=_seconds, default=DEFAULT_TIMEOUT, metavar="SECONDS",
                       help=f"per-call time limit (default {DEFAULT_TIMEOUT:g} s)")
    grade.add_argument("--max-time", type=_seconds, default=DEFAULT_MAX_TIME, metavar="SECONDS",
                       help=f"time budget of a whole submission, looked at between functions: those not reached "
                       f"get timeout (default {DEFAULT_MAX_TIME:g} s); a task still running past "
                       f"max(--max-time + 600 s, {DEFAULT_TASK_TIMEOUT:g} s) is killed (outcome timeout)")
    grade.add_argument("--require", metavar="NAME[,NAME...]|all", default="all",
                       help="the functions the assignment asks for (default all)")
    grade.add_argument("--convention", choices=("auto", "article", "cs231n"), default="auto",
                       help="the course whose contract judges every submission (default auto: each its own)")
    grade.add_argument("--assignment", metavar="NAME", default="auto",
                       help="the assignment whose layers are graded: auto (default: each submission's own, from "
                       "the functions it defines), none, or an assignment's name (gradcheck check --help)")
    grade.add_argument("--fix-budget", type=_fix_seconds, default=None, metavar="SECONDS",
                       help=f"fix search per failing submission, as in check: the class page groups the class by "
                       f"the fix each submission needs (default {DEFAULT_FIX_BUDGET:g})")
    grade.add_argument("--no-fix", action="store_true", help="no fix search")
    grade.add_argument("--quiet", "-q", action="store_true", help="no progress on stderr")

    bundle = commands.add_parser(
        "gradescope-autograder",
        help="write a Gradescope autograder (setup.sh, run_autograder, autograder.zip)",
        description="Write into DIR a Gradescope autograder that checks each submission with gradcheck.",
    )
    bundle.add_argument("directory", metavar="DIR", help="output folder")
    bundle.add_argument("--examples", type=_positive_int, default=DEFAULT_EXAMPLES, metavar="N")
    bundle.add_argument("--seed", type=_seed, default=None, metavar="S",
                        help="random seed (default: a fresh secret one for every submission)")
    bundle.add_argument("--timeout", type=_seconds, default=DEFAULT_TIMEOUT, metavar="SECONDS")
    bundle.add_argument("--require", metavar="NAME[,NAME...]|all", default="all")
    which = bundle.add_mutually_exclusive_group()
    which.add_argument("--convention", choices=("article", "cs231n"),
                       help="the assignment's course (default: the article's, or --solution's)")
    which.add_argument("--solution", metavar="FILE",
                       help="a sample solution (.py or .ipynb): the course and the assignment are read from the "
                       "functions it defines")
    bundle.add_argument("--assignment", metavar="NAME", default=None,
                        help="the assignment whose layers are the tests (default: --solution's, or none)")


def run_command(args: argparse.Namespace) -> int:
    """Run ``grade`` or ``gradescope-autograder``; UsageError propagates (the CLI maps it to 2)."""
    from gradcheck.grade.run import parse_require

    if args.command == "gradescope-autograder":
        from gradcheck.grade.autograder import write_autograder

        convention, assignment = _assignment_course(args.convention, args.solution, args.assignment)
        paths = write_autograder(args.directory, examples=args.examples, seed=args.seed, timeout=args.timeout,
                                 require=parse_require(args.require), convention=convention, assignment=assignment)
        print(f"gradcheck: wrote {', '.join(str(p) for p in paths)}")
        return EXIT_OK
    from gradcheck.api import validate_assignment
    from gradcheck.fix import DEFAULT_FIX_BUDGET
    from gradcheck.grade.run import grade
    from gradcheck.render.escape import terminal

    validate_assignment(args.assignment)
    if args.scheduler and args.executor != "dask":
        raise UsageError("--scheduler needs --executor dask")
    from gradcheck.grade.executors import task_timeout_for

    cap = task_timeout_for(args.max_time)  # the hard cap of a whole submission, the same for both executors
    if args.executor == "dask":
        from gradcheck.grade.executors import DaskExecutor

        executor: Any = DaskExecutor(args.scheduler, workers=args.workers, task_timeout=cap)
    else:
        from gradcheck.grade.executors import LocalExecutor

        executor = LocalExecutor(args.workers, task_timeout=cap)
    result = grade(args.sources, args.out, executor=executor, examples=args.examples, seed=args.seed,
                   timeout=args.timeout, require=parse_require(args.require), progress=not args.quiet,
                   convention=args.convention, assignment=args.assignment, max_time=args.max_time,
                   fix_budget=0.0 if args.no_fix else (DEFAULT_FIX_BUDGET if args.fix_budget is None
                                                       else args.fix_budget))
    rows = result.rows
    passed = sum(1 for row in rows if row.passed)
    print(f"gradcheck grade: {len(rows)} entries, {passed} passed, {result.graded_now} graded now, "
          f"{result.reused} from the store; wrote {result.out / 'grades.csv'}, {result.out / 'class.html'}")
    for group in result.collisions:
        print("gradcheck grade: these entries' names give the same id, each graded under its own: "
              + ", ".join(f"{terminal(sub.id)} ({terminal(sub.label)})" for sub in group))
    if result.ungraded:
        print(f"gradcheck grade: {len(result.ungraded)} could not be graded: "
              + ", ".join(row.submission.id for row in result.ungraded), file=sys.stderr)
        return EXIT_UNGRADED
    return EXIT_OK


def _assignment_course(named: str | None, solution: str | None, assignment: str | None) -> tuple[str, str | None]:
    """(convention, assignment) an autograder grades: ``--convention`` and ``--assignment``, else
    what ``--solution`` defines (read from its source), else the article's course alone."""
    from gradcheck.api import validate_assignment

    chosen = validate_assignment(assignment)
    chosen = None if chosen == "none" else chosen
    if solution is None:
        from gradcheck.plans import plan_named

        plan = plan_named(chosen) if chosen else None
        return named or (plan.convention if plan is not None and plan.convention else "article"), chosen
    import os

    from gradcheck.load.declared import declared
    from gradcheck.plans import plan_for

    if not os.path.isfile(solution) or not solution.endswith((".py", ".ipynb")):
        raise UsageError(f"--solution {solution}: not a .py or .ipynb file; give the assignment's sample solution")
    found = declared(os.path.abspath(solution), True)
    plan = plan_for(chosen or ("none" if assignment == "none" else None), found.names)
    if not found.functions and plan is None:
        raise UsageError(f"--solution {solution}: it defines none of the functions of the article's course, "
                         "CS231n's or an assignment's; give the sample solution, or --convention article|cs231n")
    if plan is not None and plan.convention:
        return plan.convention, plan.name
    return found.convention, None if plan is None else plan.name
