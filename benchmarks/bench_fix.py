"""The fix search on the bug zoo: per file, failed set right, cause right, fix found and
confirmed, and time; beside the engine without the fix search (``--no-fix``) in the same run.

For every member of ``tests/zoo/manifest.py`` (bugs, then correct files) the script runs
``gradcheck check FILE --json OUT -q`` twice, whole command, isolated, default settings: once
with the fix search (its default budget) and once with ``--no-fix``. A fix the report offers is
then applied to a copy of the file and that copy checked again (``--only`` the function,
``--no-fix``): "applied" says the function passed, which the confirmation guarantees.

    PYTHONPATH=. python benchmarks/bench_fix.py
    PYTHONPATH=. python benchmarks/bench_fix.py --only bug_dw_assign,correct_course
    PYTHONPATH=. python benchmarks/bench_fix.py --dir DIR   # a folder with a manifest.json
                                                            # ([{"file", "fails": [...]}, ...])
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from zoo.manifest import CORRECT, ZOO, ZOO_DIR  # noqa: E402

CLI = "import sys; from gradcheck.cli import main; sys.exit(main())"
REJECTED = ("fail", "error")


def run(path: Path, out: Path, *extra: str) -> tuple[dict, float]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", CLI, "check", str(path), "--json", str(out), "-q", *extra],
                   env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    seconds = time.perf_counter() - started
    try:
        return json.loads(out.read_text()), seconds
    except (OSError, ValueError):
        return {"checks": [], "load_error": "no report"}, seconds


def failed_set(report: dict) -> set[str]:
    return {check["function"] for check in report.get("checks", []) if check["status"] in REJECTED}


def fixes(report: dict) -> dict[str, dict]:
    found: dict[str, dict] = {}
    for check in report.get("checks", []):
        fix = (check.get("diagnosis") or {}).get("fix")
        if isinstance(fix, dict):
            found.setdefault(check["function"], fix)
    return found


def applied_passes(path: Path, function: str, fix: dict, scratch: Path) -> bool:
    """Apply ``fix`` to a copy of ``path`` (beside it: its imports still resolve) and check ``function``."""
    lines = path.read_text().split("\n")
    start = int(fix["line"])
    count = len(fix["before"].split("\n"))
    if "\n".join(lines[start - 1: start - 1 + count]) != fix["before"]:
        return False
    lines[start - 1: start - 1 + count] = fix["after"].split("\n")
    copy = path.parent / f"_fixcheck_{os.getpid()}_{path.name}"
    try:
        copy.write_text("\n".join(lines))
        report, _ = run(copy, scratch / "applied.json", "--only", function, "--no-fix")
    finally:
        copy.unlink(missing_ok=True)
    checks = [check for check in report.get("checks", []) if check["function"] == function]
    return bool(checks) and all(check["status"] == "pass" for check in checks)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="comma-separated member names")
    parser.add_argument("--dir", help="measure the files of DIR (manifest.json) instead of the zoo")
    parser.add_argument("--no-baseline", action="store_true", help="skip the --no-fix runs (time and cause columns)")
    args = parser.parse_args()
    if args.dir:
        folder = Path(args.dir)
        manifest = json.loads((folder / "manifest.json").read_text())
        members = [(folder / item["file"], set(item.get("fails") or []), None) for item in manifest]
    else:
        members = [(ZOO_DIR / f"{name}.py", set(e.failing), e.diagnosis) for name, e in ZOO.items()]
        members += [(ZOO_DIR / f"{name}.py", set(), None) for name in CORRECT]
    if args.only:
        wanted = set(args.only.split(","))
        members = [m for m in members if m[0].stem in wanted]
    rows = []
    with tempfile.TemporaryDirectory() as scratch_name:
        scratch = Path(scratch_name)
        print(f"{'file':34} {'failed set':10} {'cause':6} {'fix':30} {'applied':8} {'s fix':>6} {'s no-fix':>8}")
        for path, failing, cause in members:
            with_fix, seconds = run(path, scratch / "fix.json")
            if args.no_baseline:
                without, seconds_plain = with_fix, float("nan")
            else:
                without, seconds_plain = run(path, scratch / "plain.json", "--no-fix")
            got = failed_set(with_fix)
            right = got == failing and failed_set(without) == failing
            ids = {(c.get("diagnosis") or {}).get("id") for c in without.get("checks", [])} - {None, "root_cause"}
            cause_ok = "-" if cause is None else ("yes" if cause in ids else "no")
            found = fixes(with_fix)
            applied = {function: applied_passes(path, function, fix, scratch) for function, fix in found.items()}
            text = ", ".join(f"{f}:{fix['line']} {fix.get('kind', '')}" for f, fix in found.items()) or "-"
            ok = "-" if not applied else ("yes" if all(applied.values()) else "NO")
            rows.append({"file": path.stem, "bug": bool(failing), "right": right, "cause": cause_ok,
                         "fixed": sorted(found), "failing": sorted(failing), "applied": applied,
                         "seconds": seconds, "plain": seconds_plain})
            print(f"{path.stem[:34]:34} {'right' if right else 'WRONG':10} {cause_ok:6} {text[:30]:30} {ok:8} "
                  f"{seconds:6.2f} {seconds_plain:8.2f}", flush=True)
    bugs = [row for row in rows if row["bug"]]
    correct = [row for row in rows if not row["bug"]]
    fixed = [row for row in bugs if row["fixed"]]
    every = [row for row in bugs if row["fixed"] and set(row["failing"]) <= set(row["fixed"])]
    applied_ok = sum(all(row["applied"].values()) for row in rows if row["applied"])
    print()
    print(f"bug files: {len(bugs)}; failed set right {sum(r['right'] for r in bugs)}/{len(bugs)}; "
          f"cause right {sum(r['cause'] == 'yes' for r in bugs)}/{sum(r['cause'] != '-' for r in bugs)} "
          f"(of those with an expected cause)")
    print(f"fix found and confirmed: {len(fixed)}/{len(bugs)} bug files (for every failing function: {len(every)}); "
          f"fixes that pass when applied: {applied_ok}/{sum(bool(r['applied']) for r in rows)}")
    print(f"correct files: {len(correct)}; passing {sum(r['right'] for r in correct)}; with a fix offered: "
          f"{sum(bool(r['fixed']) for r in correct)}")
    for label, group in (("bug files", bugs), ("correct files", correct)):
        if group:
            print(f"{label}: whole command median {statistics.median(r['seconds'] for r in group):.2f} s "
                  f"(max {max(r['seconds'] for r in group):.2f}) with the fix search; "
                  f"{statistics.median(r['plain'] for r in group):.2f} s "
                  f"(max {max(r['plain'] for r in group):.2f}) with --no-fix")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
