"""Time to a verdict on each assignment's reference: ``gradcheck check`` isolated, in process,
and the convolution notebook's loops (``reference.naive``) as the baseline, in one run.

Each assignment's reference modules are copied into a temporary folder as one file (as a
student's ``layers.py`` is one file) and checked with the defaults (200 cases per quantity):
``gradcheck.check(path)`` (isolated worker, the strongest level available, worker start
included) and ``gradcheck.check(module, isolate=False)``. Printed per assignment: the checks,
the minimum and median wall time over the repeats, and the ratio of the isolated median to
the baseline's (the convolution notebook's 14 checks, isolated, measured in the same run).

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_plans.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import importlib.util
import inspect
import statistics
import sys
import tempfile
import time
from pathlib import Path

import gradcheck
from reference import dls_deep, dls_rnn, layers, recurrent, spatial

ASSIGNMENTS = {
    "cs231n-a1": (layers,),
    "cs231n-a2": (layers, spatial),
    "cs231n-a3": (recurrent,),
    "dls-c1w4": (dls_deep,),
    "dls-c5w1": (dls_rnn,),
}


def _one_file(folder: Path, name: str, modules: tuple) -> Path:
    """The modules' source as one file (imports of one another, and a later ``__future__``, dropped)."""
    parts = []
    for index, module in enumerate(modules):
        dropped = ("from reference",) if index == 0 else ("from reference", "from __future__")
        parts.append("\n".join(line for line in inspect.getsource(module).splitlines()
                               if not line.startswith(dropped)))
    path = folder / f"{name.replace('-', '_')}.py"
    path.write_text("\n\n".join(parts) + "\n")
    return path


def _timed(run, repeats: int) -> tuple[list[float], gradcheck.Report]:
    times, report = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        report = run()
        times.append(time.perf_counter() - started)
    return times, report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    baseline, report = _timed(lambda: gradcheck.check("reference.naive"), args.repeats)
    assert report.passed
    base = statistics.median(baseline)
    print(f"baseline: reference.naive isolated ({report.isolation}), {len(report.checks)} checks: "
          f"min {min(baseline):.2f} s, median {base:.2f} s")
    print(f"{'assignment':<11} {'checks':>6} {'isolated min':>12} {'median':>7} {'in process':>10} {'ratio':>6}")
    with tempfile.TemporaryDirectory() as folder:
        for name, modules in ASSIGNMENTS.items():
            path = _one_file(Path(folder), name, modules)
            spec = importlib.util.spec_from_file_location(path.stem, path)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            isolated, report = _timed(lambda p=path, n=name: gradcheck.check(str(p), assignment=n), args.repeats)
            local, local_report = _timed(lambda m=module, n=name: gradcheck.check(m, isolate=False, assignment=n),
                                         args.repeats)
            if not (report.passed and local_report.passed):
                print(f"{name}: the reference did not pass: {report!r} {local_report!r}", file=sys.stderr)
                return 1
            checks = sum(1 for c in report.checks if c.status != "missing")
            print(f"{name:<11} {checks:>6} {min(isolated):>10.2f} s {statistics.median(isolated):>5.2f} s "
                  f"{statistics.median(local):>8.2f} s {statistics.median(isolated) / base:>6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
