"""Time to a verdict and bugs caught, this engine against a baseline commit, in one run.

For every target (the article's loops ``reference.naive``, the vectorized ``reference``,
each member of the bug zoo and each correct variant) the script runs
``gradcheck check TARGET --json FILE`` twice: with this checkout, and with the
baseline commit (by default the engine before the batched, hypothesis-free screening),
each isolated, with default settings. It prints wall and CPU time (parent + worker;
a worker inside the bubblewrap sandbox is not counted: it is not reaped as a child)
and whether each verdict agrees with ``tests/zoo/manifest.py``: every function the
manifest says must fail fails (fail or error) and every other present one passes.

The baseline runs from a detached ``git worktree`` with a small virtual environment
whose ``.pth`` puts that worktree before this interpreter's site-packages (so the
worker it starts imports the baseline too). Nothing is installed.

Run with both OpenBLAS variables unset (see benchmarks/README.md)::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_engine.py
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_engine.py --only naive,bug_flipped_kernel
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from zoo.manifest import CORRECT, ZOO  # noqa: E402

BASELINE = "cc52e75"  # the last commit with hypothesis-driven, one-case-per-round-trip screening
FAILING = ("fail", "error", "timeout", "memory", "crashed")


def baseline_python(revision: str, cache: Path) -> Path:
    """An interpreter that imports gradcheck from ``revision`` (made once, under ``cache``)."""
    tree, venv = cache / f"tree-{revision}", cache / f"venv-{revision}"
    if not tree.exists():
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), revision],
                       check=True, capture_output=True)
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
        purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                 check=True, capture_output=True, text=True).stdout.strip()
        own_site = sysconfig.get_paths()["purelib"]
        Path(purelib, "gradcheck_baseline.pth").write_text(f"{tree}\n{own_site}\n")
    return python


def run(python: Path, target: str, workdir: Path) -> tuple[float, float, dict]:
    """(wall s, CPU s of the check and its worker, JSON verdict) of one isolated check."""
    out = workdir / "verdict.json"
    env = {key: value for key, value in os.environ.items() if key not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    # run from the scratch folder: ``python -m`` puts the working directory first on sys.path
    subprocess.run([str(python), "-m", "gradcheck.cli", "check", target, "--json", str(out), "--quiet"],
                   cwd=workdir, env=env, capture_output=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, json.loads(out.read_text())


def agrees(name: str, verdict: dict) -> bool:
    """Whether the verdict is what the manifest says (correct targets: everything passes)."""
    worst: dict[str, str] = {}
    for check in verdict["checks"]:
        if check["status"] != "missing":
            previous = worst.get(check["function"], "pass")
            worst[check["function"]] = check["status"] if check["status"] in FAILING else previous
    if name not in ZOO:
        return verdict["passed"] and bool(worst)
    expected = ZOO[name]
    return all(worst.get(f) in FAILING for f in expected.failing) and all(
        worst.get(f, "pass") == "pass" for f in expected.passing
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default=BASELINE, help="git revision to compare with (default %(default)s)")
    parser.add_argument("--only", default="", help="comma-separated targets: naive, reference, zoo member names")
    parser.add_argument("--cache", default=str(Path(tempfile.gettempdir()) / "gradcheck-bench-baseline"))
    args = parser.parse_args()
    targets = {"naive": "reference.naive", "reference": "reference"}
    targets |= {name: str(ROOT / "tests" / "zoo" / f"{name}.py") for name in [*CORRECT, *ZOO]}
    if args.only:
        chosen = [name.strip() for name in args.only.split(",")]
        unknown = [name for name in chosen if name not in targets]
        if unknown:
            parser.error(f"unknown targets {unknown}; choose from {', '.join(targets)}")
        targets = {name: targets[name] for name in chosen}
    old_python = baseline_python(args.baseline, Path(args.cache))
    print(f"load average before: {os.getloadavg()[0]:.2f}; baseline {args.baseline}; {len(targets)} targets")
    print(f"{'target':34} {'old s':>7} {'new s':>7} {'old/new':>8} {'old cpu':>8} {'new cpu':>8}  old ok  new ok")
    ratios, cpu_ratios, old_ok, new_ok = [], [], 0, 0
    totals = [0.0, 0.0]
    with tempfile.TemporaryDirectory() as scratch:
        for name, target in targets.items():
            old_wall, old_cpu, old_verdict = run(old_python, target, Path(scratch))
            new_wall, new_cpu, new_verdict = run(Path(sys.executable), target, Path(scratch))
            ok_old, ok_new = agrees(name, old_verdict), agrees(name, new_verdict)
            old_ok, new_ok = old_ok + ok_old, new_ok + ok_new
            ratios.append(old_wall / new_wall)
            cpu_ratios.append(old_cpu / new_cpu)
            totals[0] += old_wall
            totals[1] += new_wall
            print(f"{name:34} {old_wall:7.2f} {new_wall:7.2f} {old_wall / new_wall:8.2f} {old_cpu:8.2f} "
                  f"{new_cpu:8.2f}  {'yes' if ok_old else 'NO':>6}  {'yes' if ok_new else 'NO':>6}", flush=True)
    geomean = math.exp(sum(map(math.log, ratios)) / len(ratios))
    cpu_geomean = math.exp(sum(map(math.log, cpu_ratios)) / len(cpu_ratios))
    print(f"\ntotal wall: old {totals[0]:.1f} s, new {totals[1]:.1f} s; speed-up old/new: geometric mean "
          f"{geomean:.2f} (wall), {cpu_geomean:.2f} (CPU)")
    print(f"verdicts as the manifest says: old {old_ok}/{len(targets)}, new {new_ok}/{len(targets)}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
