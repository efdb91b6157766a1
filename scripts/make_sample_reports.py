"""Regenerate the sample reports in ``reports/``: ``python scripts/make_sample_reports.py``.

Checks two targets in the isolated worker, as ``gradcheck check`` does, with the
error-against-step sweep on, and writes for each ``reports/<name>/``: report.json,
report.md, report.html (self-contained), images/*.png and a Gradescope results.json.

- ``reference``: the reference layers (everything passes);
- ``bug_border_windows``: a bug-zoo member whose conv_backward skips the windows that
  reach into the padding (dA_prev wrong in a border band; diagnosis ``border_only``).

The run is seeded and the wall-clock duration is left out of the samples, so running
the script again rewrites the same files unless the checker's behaviour changed.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import gradcheck
from gradcheck.render.report import write_gradescope, write_report_dir

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = {
    "reference": "reference",
    "bug_border_windows": "tests/zoo/bug_border_windows.py",
}
EXAMPLES = 25
SEED = 0


def main() -> int:
    out = ROOT / "reports"
    for name, target in SAMPLES.items():
        report = gradcheck.check(target, examples=EXAMPLES, seed=SEED, sweep=True)
        report.duration_s = None  # keep the samples reproducible byte for byte
        directory = out / name
        if directory.exists():
            shutil.rmtree(directory)
        written = write_report_dir(report, directory)
        write_gradescope(report, directory / "results.json")
        failing = [f"{c.function}: {c.quantity}" for c in report.failures()]
        print(
            f"{name}: {'pass' if report.passed else 'FAIL ' + ', '.join(failing)} -> "
            f"{written['html'].relative_to(ROOT)}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
