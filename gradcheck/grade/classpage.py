"""The class page: ``class.md`` and a self-contained ``class.html`` summarizing a graded class.

Sections: counts; pass rate per function and per (function, quantity); the likely
causes ranked by how many submissions they hit ("conv_backward: <cause>: 19 of
23", the 23 being the submissions where that function does not pass) with the
submissions in each; the fixes the fix search confirmed, grouped by function and
kind of edit ("conv_backward: `=` -> `+=`: 17 of 23"), each submission with its own
line; load errors; identical submissions grouped by hash; time per submission; one
line per submission linking to its report. Both files are built from the same
:class:`ClassSummary`, so they say the same things.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from gradcheck.contract import STATUSES
from gradcheck.grade.gradebook import LEADING, TRAILING, Row, columns, write_atomic
from gradcheck.grade.sources import Submission
from gradcheck.render.escape import html_text, md_code, md_inline

NOT_PASSING = tuple(status for status in STATUSES if status != "pass")  # a column each, in the contract's order


@dataclass
class Cause:
    function: str
    cause: str
    ident: str
    submissions: list[str] = field(default_factory=list)
    of: int = 0  # submissions in which the function does not pass


@dataclass
class FixGroup:
    """Submissions whose failing ``function`` a confirmed edit of one ``kind`` makes pass."""

    function: str
    kind: str
    fixes: list[tuple[str, dict]] = field(default_factory=list)  # (submission id, diagnosis.fix)
    of: int = 0  # submissions in which the function does not pass


@dataclass
class ClassSummary:
    rows: list[Row]
    required: tuple[str, ...]
    per_function: dict[str, Counter] = field(default_factory=dict)
    per_quantity: dict[tuple[str, str], Counter] = field(default_factory=dict)
    causes: list[Cause] = field(default_factory=list)
    fixes: list[FixGroup] = field(default_factory=list)
    duplicates: list[list[str]] = field(default_factory=list)
    functions: tuple[str, ...] = ()  # the function columns: each convention's the class submits
    collisions: list[list[Submission]] = field(default_factory=list)  # entries whose names gave one id
    usual: str = ""  # the course most of the class was graded under (its title)
    other_course: dict[str, str] = field(default_factory=dict)  # {id: the other course's title} of rows graded so


def summarize(rows: list[Row], required: tuple[str, ...],
              collisions: list[list[Submission]] | None = None) -> ClassSummary:
    """Count statuses, rank likely causes, group identical submissions, list colliding ids."""
    from gradcheck.grade.gradebook import courses_of

    # as each course present names its required functions (CS231n's *_naive, an assignment's own)
    asked = tuple(dict.fromkeys(name for known in courses_of(rows) for name in known.required(required)))
    summary = ClassSummary(rows, asked, collisions=list(collisions or []))
    summary.functions = columns(rows)[len(LEADING) : -len(TRAILING)]
    checked = [row for row in rows if row.outcome != "odd"]
    for name in summary.functions:
        summary.per_function[name] = Counter(row.statuses.get(name, "missing") for row in checked)
    causes: dict[tuple[str, str], Cause] = {}
    fixes: dict[tuple[str, str], FixGroup] = {}
    for row in checked:
        for check in (row.report or {}).get("checks", []):
            key = (check["function"], check["quantity"])
            summary.per_quantity.setdefault(key, Counter())[check["status"]] += 1
        seen: set[tuple[str, str]] = set()
        for check in (row.report or {}).get("checks", []):
            diagnosis = check.get("diagnosis") or {}
            if check["status"] in ("pass", "missing"):
                continue
            cause_text = diagnosis.get("cause") or _symptom(check)
            ident = (check["function"], cause_text)
            if ident in seen:
                continue
            seen.add(ident)
            entry = causes.setdefault(ident, Cause(check["function"], cause_text, diagnosis.get("id", "")))
            entry.submissions.append(row.submission.id)
        fixed: set[str] = set()
        for check in (row.report or {}).get("checks", []):
            fix = (check.get("diagnosis") or {}).get("fix")
            if check["status"] in ("pass", "missing") or not isinstance(fix, dict) or check["function"] in fixed:
                continue
            fixed.add(check["function"])  # one edit per function: dW and db share it
            group = fixes.setdefault((check["function"], str(fix.get("kind") or "edit")),
                                     FixGroup(check["function"], str(fix.get("kind") or "edit")))
            group.fixes.append((row.submission.id, fix))
    failing = {name: sum(1 for row in checked if row.statuses.get(name) not in ("pass", "missing"))
               for name in {*(c.function for c in causes.values()), *(g.function for g in fixes.values())}}
    for entry in causes.values():
        entry.of = failing[entry.function]
    for group in fixes.values():
        group.of = failing[group.function]
    summary.causes = sorted(causes.values(), key=lambda c: (-len(c.submissions), c.function, c.cause))
    summary.fixes = sorted(fixes.values(), key=lambda g: (-len(g.fixes), g.function, g.kind))
    groups: dict[str, list[str]] = {}
    for row in rows:
        if row.submission.sha256:
            groups.setdefault(row.submission.sha256, []).append(row.submission.id)
    summary.duplicates = [ids for ids in groups.values() if len(ids) > 1]
    summary.usual, summary.other_course = _other_courses(checked)
    return summary


def _other_courses(rows: list[Row]) -> tuple[str, dict[str, str]]:
    """(the course most rows were graded under, {id: course title} of the rows graded under another).
    A row's course decides which functions it is asked for (its score rules are its course's): a
    CS231n file in a class of the article's course scores 4 of 4, and the class page says so."""
    from gradcheck.grade.courses import course

    courses = {row.submission.id: course(row.convention, row.assignment) for row in rows if row.convention}
    if not courses:
        return "", {}
    counts = Counter(courses.values())
    usual = max(counts, key=lambda known: (counts[known], [-i for i in known.order]))
    return usual.title, {ident: known.title for ident, known in courses.items() if known != usual}


_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?")


def _symptom(check: dict) -> str:
    """A groupable text for a failure without a named cause: its status and the message's
    key line, numbers replaced by ``#`` (shapes and values differ between submissions)."""
    lines = [line.strip() for line in str(check.get("message", "")).splitlines() if line.strip()]
    line = lines[1] if len(lines) > 1 else (lines[0] if lines else "")
    prefix = f"{check['function']}: "
    line = line[len(prefix):] if line.startswith(prefix) else line
    if line.startswith(("step h", "Mismatched", "Not equal", "max ")):  # a plain value mismatch
        return f"{check['status']}: {check['quantity']} has wrong values (no likely cause named)"
    line = _NUMBER.sub("#", line)
    return f"{check['status']}: {line[:140]}" if line else f"{check['status']} (no likely cause named)"


def _first_line(text: object, limit: int = 100) -> str:
    """The first line of a fix's text, stripped and cut to ``limit`` characters (a class page line)."""
    line = next((part.strip() for part in str(text or "").splitlines() if part.strip()), "")
    return line if len(line) <= limit else line[: limit - 3] + "..."


def _kind_md(kind: str) -> str:
    """An edit's kind: ``= -> +=`` as code on both sides, a described kind (``name swap``) as words."""
    before, arrow, after = kind.partition(" -> ")
    return f"`{before}` -> `{after}`" if arrow and "`" not in kind else _ours(kind)


def _rate(counter: Counter) -> tuple[int, int]:
    present = sum(n for status, n in counter.items() if status != "missing")
    return counter.get("pass", 0), present


def _counts_line(rows: list[Row]) -> str:
    outcomes = Counter(row.outcome for row in rows)
    passed = sum(1 for row in rows if row.passed)
    parts = [f"{len(rows)} entries", f"{outcomes.get('graded', 0)} graded", f"{passed} passed"]
    for outcome in ("crashed", "timeout", "error", "odd"):
        if outcomes.get(outcome):
            parts.append(f"{outcomes[outcome]} {'not submissions' if outcome == 'odd' else outcome}")
    return ", ".join(parts)


def _times(rows: list[Row]) -> str:
    times = [row.duration_s for row in rows if row.duration_s is not None]
    if not times:
        return "no submission was graded"
    return (f"median {statistics.median(times):.2f} s, mean {statistics.fmean(times):.2f} s, "
            f"max {max(times):.2f} s over {len(times)} submissions")


def _md(text: object) -> str:
    """Text from a submission (ids, paths, messages), escaped for Markdown."""
    return md_inline(text)


def _ours(text: object) -> str:
    """gradcheck's own words (quantities, named causes, which may hold `code`): one line, pipes escaped."""
    return " ".join(str(text).split()).replace("|", "\\|")


def format_class_md(summary: ClassSummary) -> str:
    rows = summary.rows
    out = ["# Class results", "", _counts_line(rows) + ".", "",
           f"Required functions: {', '.join(summary.required)}. Time per submission: {_times(rows)}.", "",
           "## Pass rate per function", "", "| function | passing | " + " | ".join(
               NOT_PASSING) + " |", "|---" * (2 + len(NOT_PASSING)) + "|"]
    for name, counter in summary.per_function.items():
        passed, present = _rate(counter)
        cells = [str(counter.get(s, 0)) for s in NOT_PASSING]
        out.append(f"| {name} | {passed} of {present} | " + " | ".join(cells) + " |")
    out += ["", "## Pass rate per quantity", "", "| function | quantity | passing |", "|---|---|---|"]
    for (function, quantity), counter in summary.per_quantity.items():
        passed, present = _rate(counter)
        out.append(f"| {function} | {_ours(quantity)} | {passed} of {present} |")
    out += ["", "## Likely causes, most common first", ""]
    if not summary.causes:
        out.append("No check failed.")
    for cause in summary.causes:
        text = _ours(cause.cause) if cause.ident else _md(cause.cause)  # a symptom quotes the message
        out.append(f"- **{cause.function}**: {text}: {len(cause.submissions)} of {cause.of}"
                   f" ({', '.join(cause.submissions)})")
    if summary.fixes:
        out += ["", "## Confirmed fixes, most common first", "",
                "Each edit below makes its submission's function pass its whole check plan (the fix search, "
                "`--fix-budget`).", ""]
        for group in summary.fixes:
            out.append(f"- **{group.function}**: {_kind_md(group.kind)}: {len(group.fixes)} of {group.of}")
            out += [f"  - {_md(ident)}, line {_md(fix.get('line'))}: {md_code(_first_line(fix.get('before')))} -> "
                    f"{md_code(_first_line(fix.get('after')))}" for ident, fix in group.fixes]
    flagged = [row for row in rows if row.review]
    if flagged:
        out += ["", "## To review", "",
                "These submissions' code looks at the process it runs in, which a layer has no need to do: code "
                "that does can behave one way while it is checked and another way afterwards. Read it.", ""]
        out += [f"- {_md(row.submission.id)}: {_md('; '.join(row.review[:3]))}"
                + (f" (and {len(row.review) - 3} more)" if len(row.review) > 3 else "") for row in flagged]
    if summary.other_course:
        out += ["", "## Graded under another course", "",
                f"Most of the class was graded under {_md(summary.usual)}. These were graded under another "
                "course, read from the functions they define, and asked for that course's functions (their "
                "score counts those); check that they handed in the right assignment.", ""]
        out += [f"- {_md(ident)}: {_md(title)}" for ident, title in summary.other_course.items()]
    load_errors = [row for row in rows if row.load_error and row.outcome != "odd"]
    if load_errors:
        out += ["", "## Could not be loaded or graded", ""]
        out += [f"- {_md(row.submission.id)} ({row.outcome}): {md_code(row.load_error[:300])}" for row in load_errors]
    odd = [row for row in rows if row.outcome == "odd"]
    if odd:
        out += ["", "## Not submissions", ""]
        out += [f"- {_md(row.submission.label)}: {_md(row.load_error)}" for row in odd]
    if summary.collisions:
        out += ["", "## Names that give the same id", "",
                "Each entry below is graded under its own id; check that they are different students.", ""]
        out += ["- " + ", ".join(f"{_md(sub.id)} ({_md(sub.label)})" for sub in group) for group in summary.collisions]
    out += ["", "## Identical submissions", ""]
    out += [f"- {', '.join(ids)}" for ids in summary.duplicates] or ["None."]
    out += ["", "## Submissions", "", "| submission | passed | score | " + " | ".join(summary.functions)
            + " | time (s) | report |", "|---" * (len(summary.functions) + 5) + "|"]
    for row in rows:
        link = f"[report]({row.report_dir}/report.md)" if row.report_dir else ""
        cells = " | ".join(row.statuses.get(name, "") for name in summary.functions)
        time_text = "" if row.duration_s is None else f"{row.duration_s:.2f}"
        other_course = summary.other_course.get(row.submission.id)
        other = f" ({_md(other_course)})" if other_course else ""
        out.append(f"| {_md(row.submission.id)}{other} | {'yes' if row.passed else 'no'} | {row.score}/{row.max_score}"
                   f" | {cells} | {time_text} | {link} |")
    return "\n".join(out) + "\n"


CSS = """body{font-family:system-ui,sans-serif;margin:2em;max-width:80em}table{border-collapse:collapse}
td,th{border:1px solid #ccc;padding:2px 6px;font-size:90%}.pass{background:#dfd}.fail,.error{background:#fdd}
.timeout,.memory,.crashed{background:#fcb}.missing{color:#888}code{background:#eee}"""


def _h(text: object) -> str:
    return html_text(text)


def format_class_html(summary: ClassSummary) -> str:
    rows = summary.rows
    links = {row.submission.id: row.report_dir for row in rows}
    out = ["<!DOCTYPE html><html><head><meta charset='utf-8'><title>Class results</title>",
           f"<style>{CSS}</style></head><body><h1>Class results</h1>",
           f"<p>{_h(_counts_line(rows))}.</p><p>Required functions: {_h(', '.join(summary.required))}. "
           f"Time per submission: {_h(_times(rows))}.</p>",
           "<h2>Pass rate per function</h2><table><tr><th>function</th><th>passing</th>"
           + "".join(f"<th>{s}</th>" for s in NOT_PASSING)
           + "</tr>"]
    for name, counter in summary.per_function.items():
        passed, present = _rate(counter)
        cells = "".join(f"<td>{counter.get(s, 0)}</td>"
                        for s in NOT_PASSING)
        out.append(f"<tr><td>{name}</td><td>{passed} of {present}</td>{cells}</tr>")
    out.append("</table><h2>Pass rate per quantity</h2><table><tr><th>function</th><th>quantity</th>"
               "<th>passing</th></tr>")
    for (function, quantity), counter in summary.per_quantity.items():
        passed, present = _rate(counter)
        out.append(f"<tr><td>{_h(function)}</td><td>{_h(quantity)}</td><td>{passed} of {present}</td></tr>")
    out.append("</table><h2>Likely causes, most common first</h2>")
    out.append("<ul>" + "".join(
        f"<li><b>{_h(c.function)}</b>: {_h(c.cause)}: <b>{len(c.submissions)} of {c.of}</b> "
        f"({', '.join(_link(links, ident) for ident in c.submissions)})</li>" for c in summary.causes
    ) + "</ul>" if summary.causes else "<p>No check failed.</p>")
    if summary.fixes:
        out.append("<h2>Confirmed fixes, most common first</h2><p>Each edit below makes its submission's function "
                   "pass its whole check plan (the fix search, <code>--fix-budget</code>).</p><ul>" + "".join(
                       f"<li><b>{_h(group.function)}</b>: {_h(group.kind)}: <b>{len(group.fixes)} of {group.of}"
                       "</b><ul>" + "".join(
                           f"<li>{_link(links, ident)}, line {_h(fix.get('line'))}: "
                           f"<code>{_h(_first_line(fix.get('before')))}</code> -&gt; "
                           f"<code>{_h(_first_line(fix.get('after')))}</code></li>" for ident, fix in group.fixes)
                       + "</ul></li>" for group in summary.fixes) + "</ul>")
    flagged = [row for row in rows if row.review]
    if flagged:
        out.append("<h2>To review</h2><p>These submissions' code looks at the process it runs in, which a layer has "
                   "no need to do: code that does can behave one way while it is checked and another way afterwards. "
                   "Read it.</p><ul>" + "".join(
                       f"<li>{_link(links, row.submission.id)}: {_h('; '.join(row.review[:3]))}"
                       + (f" (and {len(row.review) - 3} more)" if len(row.review) > 3 else "") + "</li>"
                       for row in flagged) + "</ul>")
    if summary.other_course:
        out.append(f"<h2>Graded under another course</h2><p>Most of the class was graded under {_h(summary.usual)}. "
                   "These were graded under another course, read from the functions they define, and asked for "
                   "that course's functions (their score counts those); check that they handed in the right "
                   "assignment.</p><ul>" + "".join(
                       f"<li>{_link(links, ident)}: {_h(title)}</li>" for ident, title in summary.other_course.items())
                   + "</ul>")
    load_errors = [row for row in rows if row.load_error and row.outcome != "odd"]
    if load_errors:
        out.append("<h2>Could not be loaded or graded</h2><ul>" + "".join(
            f"<li>{_link(links, row.submission.id)} ({_h(row.outcome)}): <code>{_h(row.load_error[:300])}</code></li>"
            for row in load_errors) + "</ul>")
    odd = [row for row in rows if row.outcome == "odd"]
    if odd:
        out.append("<h2>Not submissions</h2><ul>" + "".join(
            f"<li>{_h(row.submission.label)}: {_h(row.load_error)}</li>" for row in odd) + "</ul>")
    if summary.collisions:
        out.append("<h2>Names that give the same id</h2><p>Each entry below is graded under its own id; check "
                   "that they are different students.</p><ul>" + "".join(
                       "<li>" + ", ".join(f"{_link(links, sub.id)} ({_h(sub.label)})" for sub in group) + "</li>"
                       for group in summary.collisions) + "</ul>")
    out.append("<h2>Identical submissions</h2>")
    out.append("<ul>" + "".join(f"<li>{_h(', '.join(ids))}</li>" for ids in summary.duplicates) + "</ul>"
               if summary.duplicates else "<p>None.</p>")
    out.append("<h2>Submissions</h2><table><tr><th>submission</th><th>passed</th><th>score</th>"
               + "".join(f"<th>{name}</th>" for name in summary.functions) + "<th>time (s)</th></tr>")
    for row in rows:
        cells = "".join(f"<td class='{_h(row.statuses.get(n, ''))}'>{_h(row.statuses.get(n, ''))}</td>"
                        for n in summary.functions)
        time_text = "" if row.duration_s is None else f"{row.duration_s:.2f}"
        other = (f" <small>({_h(summary.other_course[row.submission.id])})</small>"
                 if row.submission.id in summary.other_course else "")
        out.append(f"<tr><td>{_link(links, row.submission.id)}{other}</td><td>{'yes' if row.passed else 'no'}</td>"
                   f"<td>{row.score}/{row.max_score}</td>{cells}<td>{time_text}</td></tr>")
    out.append("</table></body></html>")
    return "\n".join(out) + "\n"


def _link(links: dict[str, str], ident: str) -> str:
    folder = links.get(ident)
    return f"<a href='{_h(folder)}/report.html'>{_h(ident)}</a>" if folder else _h(ident)


def write_class_pages(out: Path, rows: list[Row], required: tuple[str, ...],
                      collisions: list[list[Submission]] | None = None) -> None:
    """Write ``out/class.md`` and ``out/class.html``."""
    summary = summarize(rows, required, collisions)
    write_atomic(out / "class.md", format_class_md(summary))
    write_atomic(out / "class.html", format_class_html(summary))
