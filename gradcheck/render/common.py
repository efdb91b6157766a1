"""Facts every rendering shares: number and geometry text, verdict lines, cause titles,
warning text, and the worst elements (ranked once, by ``gradcheck.verdict.compare``)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from gradcheck.plans.convolution.diagnosis.causes import CAUSE_TITLES
from gradcheck.verdict.compare import mismatch_order
from gradcheck.verdict.results import CheckResult, Report, case_text

MAX_WORST_ROWS = 5

CASE_TITLES: dict[str, str] = {
    "fail": "Smallest failing case",
    "error": "Smallest case that raised an exception",
    "timeout": "Case that ran out of time",
    "memory": "Case that ran out of memory",
    "crashed": "Case that crashed the worker",
}


def fmt(value: float | None, digits: int = 3) -> str:
    if value is None:
        return "-"
    value = float(value)
    if not math.isfinite(value):
        return str(value)
    return f"{value:.{digits}g}"


def error_cell(check: CheckResult) -> str:
    if check.max_error is None and check.tolerance is None:
        return "-"
    return f"{fmt(check.max_error)} / {fmt(check.tolerance)}"


geometry_text = case_text


def joint_notes(checks: list[CheckResult]) -> list[str]:
    """One sentence per group of quantities screened together (``CheckResult.joint_screen``):
    their shared cases and figure, and that each row's figure is its own."""
    groups: dict[tuple[str, tuple[str, ...]], list[CheckResult]] = {}
    for check in checks:
        if check.joint_screen:
            key = (check.function, tuple(check.joint_screen.get("quantities") or ()))
            groups.setdefault(key, []).append(check)
    notes = []
    for (function, quantities), members in groups.items():
        counts = {check.quantity: int(check.joint_screen.get("cases", 0)) for check in members}
        if len(set(counts.values())) == 1:
            cases = f"{next(iter(counts.values()))} cases"
        else:
            cases = "cases (" + ", ".join(f"{q} {n}" for q, n in counts.items()) + ")"
        screen = members[0].joint_screen
        figure = ""
        if screen.get("max_error") is not None:
            figure = f": max error {fmt(screen.get('max_error'))}, tolerance {fmt(screen.get('tolerance'))} together"
        notes.append(
            f"{function}: {', '.join(quantities)} were screened together on {cases} (one random direction over "
            f"all their inputs){figure}; each row's max error and tolerance are its own (its per-element case and "
            "any case it was screened alone)"
        )
    return notes


def slug(check: CheckResult) -> str:
    return re.sub(r"[^A-Za-z0-9_]+", "-", f"{check.function}-{check.quantity}").strip("-")


def fix_text(fix: dict[str, Any], function: str) -> str:
    """A confirmed fix (``diagnosis["fix"]``) in words: ``line 78: `dW[...] = ...` -> `dW[...] += ...`
    makes conv_backward pass all 600 cases``."""
    where = f"cell {fix['cell']}, line {fix['line']}" if fix.get("cell") else f"line {fix.get('line')}"
    cases = f" all {fix['cases']} cases" if fix.get("cases") else ""

    def inline(text: Any) -> str:
        return "`" + " ".join(str(text).split()) + "`"

    return f"{where}: {inline(fix.get('before', ''))} -> {inline(fix.get('after', ''))} makes {function} pass{cases}"


def cause_title(diagnosis: dict[str, Any] | None) -> str:
    """The likely cause in words (``stride_only`` -> "Stride ignored when placing windows")."""
    if not diagnosis:
        return ""
    cause_id = str(diagnosis.get("id", ""))
    return CAUSE_TITLES.get(cause_id, cause_id.replace("_", " ").capitalize())


def case_title(check: CheckResult) -> str:
    """What the counterexample is: a timeout's case is not a "smallest failing case"."""
    return CASE_TITLES.get(check.status, "Failing case")


def warning_text(check: CheckResult, warning: str) -> str:
    """``function: quantity: warning`` without repeating a prefix the warning already has."""
    for prefix in (f"{check.function}: {check.quantity}: ", f"{check.function}: "):
        if warning.startswith(prefix):
            warning = warning[len(prefix):]
            break
    return f"{check.function}: {check.quantity}: {warning}"


def bare_warning(check: CheckResult, warning: str) -> str:
    """The warning without the ``function: [quantity:]`` prefix (shown under its check)."""
    return warning_text(check, warning)[len(f"{check.function}: {check.quantity}: "):]


def verdict_line(report: Report) -> str:
    if report.load_error is not None:
        return "FAIL: the target could not be loaded"
    present = [c for c in report.checks if c.status != "missing"]
    required = report.required_missing()
    if not present and not required:
        return "FAIL: no contract function was found"
    bad = [c for c in present if not c.passed]
    missing = f"; {len(required)} required function(s) missing" if required else ""
    if not bad and not required:
        return f"PASS: all {len(present)} checks pass"
    if not bad:
        return f"FAIL: all {len(present)} checks pass{missing}"
    return f"FAIL: {len(bad)} of {len(present)} checks do not pass{missing}"


def run_line(report: Report) -> str:
    parts = [f"seed {report.seed}"]
    if report.examples is not None:
        parts.append(f"{report.examples} generated cases per check")
    if report.duration_s is not None:
        parts.append(f"{report.duration_s:.1f} s")
    if report.isolation is not None:
        parts.append(f"isolation: {report.isolation}")
    return ", ".join(parts)


@dataclass
class WorstRow:
    index: list[int]
    analytic: float
    numeric: float
    difference: float
    tolerance: float


def worst_rows(check: CheckResult, limit: int = MAX_WORST_ROWS) -> list[WorstRow]:
    """Up to ``limit`` elements beyond tolerance, in the order of the mismatch message."""
    detail = check.detail
    if detail is None:
        return []
    a, n = np.asarray(detail.analytic), np.asarray(detail.numeric)
    if a.shape != n.shape or a.size == 0:
        return []
    tol = np.broadcast_to(np.asarray(detail.tolerance, dtype=np.float64), a.shape)
    diff = np.abs(a - n)
    rows = []
    for flat in mismatch_order(diff, tol)[:limit]:
        index = np.unravel_index(int(flat), a.shape)
        rows.append(WorstRow([int(i) for i in index], float(a[index]), float(n[index]),
                             float(diff[index]), float(tol[index])))
    return rows


def index_axes(check: CheckResult, ndim: int) -> str:
    """The axes of a checked array's index, in its convention's layout (CS231n's ``dx``, ``dw``
    and ``db`` are (N, C, H, W), (F, C, HH, WW) and (F,))."""
    quantity = check.quantity.split("[", 1)[0]
    if quantity == "dW" and ndim == 4:
        return "[p, q, k, c]"
    if quantity == "dw" and ndim == 4:
        return "[f, c, p, q]"
    if quantity in ("dx", "out") and ndim == 4:
        return "[n, c, h, w]"
    if quantity == "db" and ndim == 1:
        return "[f]"
    if ndim == 4:
        return "[i, h, w, c]"
    if ndim == 2:
        return "[h, w]"
    return "index"
