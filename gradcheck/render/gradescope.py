"""Gradescope autograder ``results.json``: one test per (function, quantity), Markdown output.

A load error or a run without checks still gives a valid file (one failing test that
says why); every required function that is missing is a failing test of its own.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from gradcheck.plans.convolution import EXAMPLES
from gradcheck.render.common import (
    bare_warning,
    case_title,
    cause_title,
    error_cell,
    fix_text,
    geometry_text,
    joint_notes,
    run_line,
    verdict_line,
)
from gradcheck.render.escape import file_text, md_block, md_code, md_inline
from gradcheck.verdict.results import CheckResult, Report

MESSAGE_LIMIT = 6000  # characters of a check's message kept in Gradescope output


def _finite(value: float) -> float:
    return float(value) if math.isfinite(float(value)) else 0.0


def _check_output(check: CheckResult) -> str:
    """Markdown for one Gradescope test."""
    lines = [f"**{check.status}** ({check.cases} generated cases)"]
    if check.max_error is not None or check.tolerance is not None:
        lines.append(f"Max error / tolerance: {error_cell(check)}")
    lines += joint_notes([check])
    if check.counterexample:
        lines.append(f"{case_title(check)}: {md_code(geometry_text(check.counterexample))}")
    if check.diagnosis:
        d = check.diagnosis
        lines.append(f"**Likely cause: {cause_title(d)}.** {d.get('cause', '')}")
        lines.append(f"*Evidence:* {md_inline(d.get('evidence', ''))}")
        if isinstance(d.get("fix"), dict) and d.get("id") != "verified_fix":
            lines.append(f"**Confirmed fix:** {md_inline(fix_text(d['fix'], check.function))}")
    message = check.message
    if message and not check.passed:
        if len(message) > MESSAGE_LIMIT:
            message = message[:MESSAGE_LIMIT] + f"\n... ({len(check.message) - MESSAGE_LIMIT} more characters)"
        lines.append(md_block(message))
    elif message:
        lines.append(md_inline(message))
    lines += [f"- warning: {md_inline(bare_warning(check, warning))}" for warning in check.warnings]
    return "\n\n".join(lines)


def _test(name: str, passed: bool, output: str, max_score: float, visibility: str, number: int | None = None
          ) -> dict[str, Any]:
    test: dict[str, Any] = {"name": name}
    if number is not None:
        test["number"] = str(number)
    test.update({
        "status": "passed" if passed else "failed",
        "score": float(max_score) if passed else 0.0,
        "max_score": float(max_score),
        "output": output,
        "output_format": "md",
        "visibility": visibility,
    })
    return test


def gradescope_results(
    report: Report,
    *,
    max_score_per_test: float = 1.0,
    visibility: str = "visible",
) -> dict[str, Any]:
    """The Gradescope autograder ``results.json`` content for ``report``.

    One test per (function, quantity); a passing test scores ``max_score_per_test``,
    any other status (fail, error, timeout, memory, crashed, missing) scores 0.
    A load error, or a report without checks, gives one failing test that says why;
    then every required function is listed as a failing test too.
    """
    tests: list[dict[str, Any]] = []
    if report.load_error is not None:
        output = "The submission could not be loaded, so no function was checked.\n\n" + md_block(report.load_error)
        tests.append(_test("load the submission", False, output, max_score_per_test, visibility))
    elif not report.checks:
        output = f"No contract function ({', '.join(EXAMPLES)}, ...) was found in the submission."
        tests.append(_test("find the contract functions", False, output, max_score_per_test, visibility))
    for number, check in enumerate(report.checks, start=1):
        tests.append(_test(f"{check.function}: {check.quantity}", check.passed, _check_output(check),
                           max_score_per_test, visibility, number))
    if not report.checks:
        for name in report.required:  # nothing was checked: each required function still has its test
            output = f"**missing**: {name} was not checked because the submission could not be used."
            tests.append(_test(f"{name}: *", False, output, max_score_per_test, visibility))
    score = sum(test["score"] for test in tests)
    summary = [f"**{verdict_line(report)}** ({run_line(report)})"]
    causes = [c for c in report.checks if c.diagnosis]
    if causes:
        summary.append("Likely causes:")
        summary += [f"- {c.function}: {c.quantity}: {cause_title(c.diagnosis)}. {c.diagnosis.get('cause', '')}"
                    for c in causes]
    results: dict[str, Any] = {
        "score": _finite(score),
        "output": "\n\n".join(summary[:2]) + ("\n" + "\n".join(summary[2:]) if summary[2:] else ""),
        "output_format": "md",
        "test_output_format": "md",
        "visibility": visibility,
        "stdout_visibility": "hidden",
        "extra_data": {
            "target": file_text(report.target),
            "seed": int(report.seed),
            "passed": bool(report.passed),
            "summary": report.summary(),
            "required": list(report.required),
            "isolation": report.isolation,
            "review": list(report.review),  # what looks at the process: for the instructor to read
        },
        "tests": tests,
    }
    if report.review:
        results["output"] += ("\n\n**To review**: the submission's code looks at the process it runs in, which a "
                              "layer has no need to do; its verdict may not hold elsewhere:\n"
                              + "\n".join(f"- {md_inline(item)}" for item in report.review[:8]))
    if report.duration_s is not None and math.isfinite(report.duration_s):
        results["execution_time"] = int(math.ceil(report.duration_s))
    return results


def write_gradescope(report: Report, path: str | Path, **options: Any) -> Path:
    """Write :func:`gradescope_results` as JSON to ``path`` (parents created)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(gradescope_results(report, **options), indent=2, allow_nan=False)
    path.write_text(text + "\n", encoding="utf-8")
    return path
