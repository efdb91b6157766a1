"""Throughput of ``gradcheck grade``: the same class with 1 and with 2 workers, in one run.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_grade.py [--examples N] [--copies K]

The class: every member of the bug zoo (``tests/zoo``: correct implementations and
one-bug variants), each ``--copies`` times with a distinct trailing comment so no two
files share bytes (identical files would be graded once). Each run starts from an
empty ``--out`` (no store to reuse). Prints wall time per run, the 2-worker speed-up
(target >= 1.7x), and the cost per submission (task duration) for correct and
failing ones; the CPU time the grading processes got (``cores busy`` = CPU / wall: with
2 workers on an idle 2-core machine it approaches 2; processes inside a bubblewrap PID namespace
are not counted), and the load average before and
after (a shared machine skews everything).
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ZOO = ROOT / "tests" / "zoo"


def build_class(folder: Path, copies: int) -> int:
    """Each member a submission of its own: a file, or a folder with the course_loops.py it builds on."""
    folder.mkdir(parents=True)
    count = 0
    for path in sorted(ZOO.glob("*.py")):
        if path.name in ("__init__.py", "manifest.py", "course_loops.py"):
            continue
        for copy in range(copies):
            text = path.read_text() + f"\n# copy {copy}\n"
            if "from course_loops import" in text:
                entry = folder / f"{path.stem}_{copy}"
                entry.mkdir()
                shutil.copy(ZOO / "course_loops.py", entry / "course_loops.py")
                (entry / "cnn.py").write_text(text)
            else:
                (folder / f"{path.stem}_{copy}.py").write_text(text)
            count += 1
    return count


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # reaped descendants: pool processes and their workers
    return usage.ru_utime + usage.ru_stime


def grade(folder: Path, out: Path, workers: int, examples: int) -> tuple[float, float, object]:
    """(wall s, CPU s used by the grading processes, GradeRun)."""
    from gradcheck.grade import grade as run_grade
    from gradcheck.grade.executors import LocalExecutor

    cpu = _children_cpu()
    started = time.perf_counter()
    result = run_grade([str(folder)], out, executor=LocalExecutor(workers), examples=examples, progress=False)
    return time.perf_counter() - started, _children_cpu() - cpu, result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    from gradcheck.api import DEFAULT_EXAMPLES

    parser.add_argument("--examples", type=int, default=DEFAULT_EXAMPLES,
                        help=f"cases per function and quantity (default {DEFAULT_EXAMPLES}, as gradcheck check)")
    parser.add_argument("--copies", type=int, default=1, help="copies of each zoo member (default 1)")
    args = parser.parse_args(argv)
    commit = subprocess.run(["git", "-C", str(ROOT), "log", "-1", "--format=%h %s"], capture_output=True,
                            text=True).stdout.strip()
    print(f"gradcheck grade benchmark: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"python {platform.python_version()}, commit {commit[:72]}")
    print(f"load average before: {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch) / "class"
        total = build_class(folder, args.copies)
        print(f"class: {total} distinct submissions, --examples {args.examples}")
        walls = {}
        for workers in (1, 2):
            out = Path(scratch) / f"out{workers}"
            wall, cpu, result = grade(folder, out, workers, args.examples)
            walls[workers] = wall
            rows = result.rows
            correct = [r.duration_s for r in rows if r.passed and r.duration_s is not None]
            failing = [r.duration_s for r in rows if not r.passed and r.duration_s is not None]
            print(f"{workers} worker(s): {wall:.1f} s wall, {cpu:.1f} s CPU ({cpu / wall:.2f} cores busy), "
                  f"{total / wall * 60:.1f} submissions/min; "
                  f"per submission (task time): correct median {statistics.median(correct):.2f} s "
                  f"(n={len(correct)}), failing median {statistics.median(failing):.2f} s (n={len(failing)})")
            shutil.rmtree(out)
        print(f"speed-up with 2 workers: {walls[1] / walls[2]:.2f}x (target >= 1.7x)")
    print(f"load average after: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
