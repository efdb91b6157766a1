"""Terminal output of ``gradcheck check``: verdict table, failure details, progress on stderr."""

from __future__ import annotations

import os
import sys
import textwrap
import time
from typing import IO

from gradcheck.render.common import fix_text, joint_notes, warning_text
from gradcheck.render.escape import one_line, terminal
from gradcheck.verdict.results import CheckResult, Report, case_text

_COLORS = {
    "pass": "32",
    "fail": "31",
    "error": "31",
    "timeout": "33",
    "memory": "33",
    "crashed": "31",
    "missing": "2",
}
MESSAGE_LINES = 30  # lines of a failure message shown on the terminal (the JSON has all of it)


def use_color(stream: IO[str]) -> bool:
    """ANSI colors when ``stream`` is a terminal and NO_COLOR is not set."""
    return hasattr(stream, "isatty") and stream.isatty() and not os.environ.get("NO_COLOR")


def _paint(text: str, status: str, color: bool) -> str:
    return f"\033[{_COLORS.get(status, '0')}m{text}\033[0m" if color else text


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.2e}"


def format_table(checks: list[CheckResult], color: bool = False) -> str:
    """One row per (function, quantity): status, cases, max error / tolerance."""
    header = ("function", "quantity", "status", "cases", "max error", "tolerance")
    rows = [
        (
            check.function,
            check.quantity,
            check.status,
            str(check.cases),
            _number(check.max_error),
            _number(check.tolerance),
        )
        for check in checks
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(row: tuple[str, ...], status: str | None = None) -> str:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=True)]
        if status is not None:
            cells[2] = _paint(cells[2], status, color)
        return "  ".join(cells).rstrip()

    out = [line(header), "  ".join("-" * width for width in widths)]
    out.extend(line(row, check.status) for row, check in zip(rows, checks, strict=True))
    return "\n".join(out)


def _shorten(message: str, limit: int = MESSAGE_LINES) -> str:
    lines = message.splitlines()
    if len(lines) <= limit:
        return message
    return "\n".join([*lines[:limit], f"... ({len(lines) - limit} more lines in the JSON report)"])


def failure_details(check: CheckResult) -> str:
    """A failing check's message, counterexample, worst element and likely cause (unindented):
    the body under its title on the terminal, the text of a ``pytest --impl`` failure."""
    body = [_shorten(terminal(check.message))]
    if check.counterexample and case_text(check.counterexample) not in check.message:
        body.append(f"counterexample: {case_text(check.counterexample)}")
    if check.worst_index is not None:
        body.append(f"worst element: {list(check.worst_index)}")
    if check.diagnosis:
        cause = check.diagnosis.get("cause") or check.diagnosis.get("id")
        body.append(f"likely cause: {terminal(cause)}")
        if check.diagnosis.get("evidence"):
            body.append(f"  evidence: {terminal(check.diagnosis['evidence'])}")
        if isinstance(check.diagnosis.get("fix"), dict) and check.diagnosis.get("id") != "verified_fix":
            body.append(f"  confirmed fix: {terminal(fix_text(check.diagnosis['fix'], check.function))}")
    return "\n".join(body)


def format_failure(check: CheckResult, color: bool = False) -> str:
    """The failure's title, then its details (message, counterexample, likely cause) indented."""
    title = _paint(f"{check.function}: {check.quantity} [{check.status}]", check.status, color)
    return "\n".join([title, textwrap.indent(failure_details(check), "    ")])


def failure_text(check: CheckResult) -> str:
    """One failing check as plain text: title, message, smallest case and likely cause
    (what ``assert_check`` and its ``GradcheckError`` show)."""
    return format_failure(check, color=False)


def _body(check: CheckResult) -> str:
    """The failure's message without its first line (which names the quantity)."""
    body = "\n".join(check.message.splitlines()[1:])
    return body or check.message.replace(check.quantity, "")


def format_report(report: Report, color: bool = False) -> str:
    """The whole terminal report: load error, or table, failures, warnings and verdict line."""
    out = [f"gradcheck: {terminal(report.target)}"]
    if report.load_error is not None:
        out.append(_paint("could not load the target:", "error", color))
        out.append(textwrap.indent(terminal(report.load_error), "    "))
        out.append(_paint("FAILED (not loaded)", "fail", color))
        return "\n".join(out)
    out.append("")
    out.append(format_table(report.checks, color))
    joint = joint_notes(report.checks)
    if joint:
        out.extend(["", *(textwrap.fill(note, 100, subsequent_indent="  ") for note in joint)])
    required = [check.function for check in report.required_missing()]
    if required:
        out.extend(["", _paint(f"required but not defined: {', '.join(required)}", "fail", color)])
    failures = [check for check in report.failures() if check.status != "missing"]
    if failures:
        out.append("")
        shown: dict[tuple[str, str, str], str] = {}
        for check in failures:
            key = (check.function, check.status, _body(check))
            if key in shown:  # e.g. one exception fails dA_prev, dW and db alike
                title = _paint(
                    f"{check.function}: {check.quantity} [{check.status}]", check.status, color
                )
                out.append(
                    f"{title}\n    the same failure as {check.function}: {shown[key]} above\n"
                )
                continue
            shown[key] = check.quantity
            out.append(format_failure(check, color) + "\n")
    warnings = [(check, warning) for check in report.checks for warning in check.warnings]
    if warnings:
        out.extend(["", "warnings:"] if not failures else ["warnings:"])
        # one line each: a note's text can come from the submission (an exception message), and a
        # line break in it must not start a line of its own (a forged "PASSED" block)
        out.extend(f"  {one_line(warning_text(check, warning).strip())}" for check, warning in warnings)
    if report.warnings:
        out.extend(["", "notes:"])
        out.extend(f"  {one_line(note.strip())}" for note in report.warnings)
    counts = report.summary()
    summary = ", ".join(f"{n} {status}" for status, n in counts.items() if n)
    required = len(report.required_missing())
    if required:
        summary += f"; {required} required function(s) missing"
    verdict = "PASSED" if report.passed else "FAILED"
    out.append("")
    out.append(_paint(f"{verdict} ({summary})", "pass" if report.passed else "fail", color))
    return "\n".join(out)


class Progress:
    """Progress lines on stderr: rewritten in place on a terminal, one per step otherwise."""

    def __init__(self, stream: IO[str] | None = None, enabled: bool = True):
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.started = time.perf_counter()
        self._width = 0

    def __call__(self, message: str) -> None:
        if not self.enabled:
            return
        text = f"{message}  ({time.perf_counter() - self.started:.1f} s)"
        if self.tty:
            pad = max(0, self._width - len(text))
            self.stream.write("\r" + text + " " * pad)
            self._width = len(text)
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def done(self) -> None:
        if self.enabled and self.tty and self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()
            self._width = 0
