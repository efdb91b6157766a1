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
    from gradcheck.cli import _positive_int, _seconds, _seed

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
                       help="random seed (default: a secret one for this class, kept in DIR/.gradcheck-seed so a "
                       "re-run reuses it: no submission can be fitted to cases known in advance)")
    grade.add_argument("--timeout", type=_seconds, default=DEFAULT_TIMEOUT, metavar="SECONDS",
                       help=f"per-call time limit (default {DEFAULT_TIMEOUT:g} s)")
    grade.add_argument("--require", metavar="NAME[,NAME...]|all", default="all",
                       help="the functions the assignment asks for (default all)")
    grade.add_argument("--convention", choices=("auto", "article", "cs231n"), default="auto",
                       help="the course whose contract judges every submission (default auto: each its own)")
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
                       help="a sample solution (.py or .ipynb): the course is read from the functions it defines")


def run_command(args: argparse.Namespace) -> int:
    """Run ``grade`` or ``gradescope-autograder``; UsageError propagates (the CLI maps it to 2)."""
    from gradcheck.grade.run import parse_require

    if args.command == "gradescope-autograder":
        from gradcheck.grade.autograder import write_autograder

        paths = write_autograder(args.directory, examples=args.examples, seed=args.seed, timeout=args.timeout,
                                 require=parse_require(args.require),
                                 convention=_assignment_convention(args.convention, args.solution))
        print(f"gradcheck: wrote {', '.join(str(p) for p in paths)}")
        return EXIT_OK
    from gradcheck.grade.run import grade

    if args.scheduler and args.executor != "dask":
        raise UsageError("--scheduler needs --executor dask")
    if args.executor == "dask":
        from gradcheck.grade.executors import DaskExecutor

        executor: Any = DaskExecutor(args.scheduler, workers=args.workers)
    else:
        from gradcheck.grade.executors import LocalExecutor

        executor = LocalExecutor(args.workers)
    result = grade(args.sources, args.out, executor=executor, examples=args.examples, seed=args.seed,
                   timeout=args.timeout, require=parse_require(args.require), progress=not args.quiet,
                   convention=args.convention)
    rows = result.rows
    passed = sum(1 for row in rows if row.passed)
    print(f"gradcheck grade: {len(rows)} entries, {passed} passed, {result.graded_now} graded now, "
          f"{result.reused} from the store; wrote {result.out / 'grades.csv'}, {result.out / 'class.html'}")
    if result.ungraded:
        print(f"gradcheck grade: {len(result.ungraded)} could not be graded: "
              + ", ".join(row.submission.id for row in result.ungraded), file=sys.stderr)
        return EXIT_UNGRADED
    return EXIT_OK


def _assignment_convention(named: str | None, solution: str | None) -> str:
    """The course an autograder grades: ``--convention``, else the one ``--solution`` defines
    (read from its source), else the article's."""
    if solution is None:
        return named or "article"
    import os

    from gradcheck.load.declared import declared

    if not os.path.isfile(solution) or not solution.endswith((".py", ".ipynb")):
        raise UsageError(f"--solution {solution}: not a .py or .ipynb file; give the assignment's sample solution")
    found = declared(os.path.abspath(solution), True)
    if not found.functions:
        raise UsageError(f"--solution {solution}: it defines none of the functions of the article's course or "
                         "CS231n's; give the sample solution, or --convention article|cs231n")
    return found.convention
