"""Report writers: JSON, Markdown, self-contained HTML, and Gradescope ``results.json``.

All writers read a :class:`~gradcheck.verdict.results.Report` (and only what it holds), so a
saved ``report.json`` re-renders to the same Markdown and HTML without re-running
any check (:func:`render_saved`).

``write_report_dir(report, directory)`` writes

- ``report.json``: ``Report.to_dict()``, the DESIGN.md schema plus its extensions;
- ``report.md``: summary table, then per failure the likely cause, the smallest
  failing case, the worst elements and the checker's mismatch message; pictures
  are PNG files under ``images/``;
- ``report.html``: the same facts in one file that references nothing outside
  itself (inline CSS, pictures as ``data:image/png;base64`` URIs, no scripts).

``write_gradescope(report, path)`` writes a Gradescope autograder ``results.json``:
one test per (function, quantity) with Markdown output; a load error or a crash
still gives a valid file (one failing test that shows the problem).

Command line: ``gradcheck render report.json --report DIR`` (or
``python -m gradcheck.render.report report.json DIR``) re-renders a saved report.
"""

from __future__ import annotations

import base64
import html
import json
import math
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from gradcheck.verdict.results import CheckResult, Detail, Report, json_safe

MAX_WORST_ROWS = 5
MESSAGE_LIMIT = 6000  # characters of a check's message kept in Gradescope output

Images = dict[str, bytes]  # relative path ("images/...png") -> PNG bytes


# --------------------------------------------------------------------------- facts shared by all formats


def _fmt(value: float | None, digits: int = 3) -> str:
    if value is None:
        return "-"
    value = float(value)
    if not math.isfinite(value):
        return str(value)
    return f"{value:.{digits}g}"


def _error_cell(check: CheckResult) -> str:
    if check.max_error is None and check.tolerance is None:
        return "-"
    return f"{_fmt(check.max_error)} / {_fmt(check.tolerance)}"


def _geometry_text(counterexample: dict[str, Any] | None) -> str:
    if not counterexample:
        return ""
    return ", ".join(f"{key}={value}" for key, value in counterexample.items())


def _slug(check: CheckResult) -> str:
    text = f"{check.function}-{check.quantity}"
    return re.sub(r"[^A-Za-z0-9_]+", "-", text).strip("-")


def _verdict_line(report: Report) -> str:
    if report.load_error is not None:
        return "FAIL: the target could not be loaded"
    present = [c for c in report.checks if c.status != "missing"]
    if not present:
        return "FAIL: no contract function was found"
    bad = [c for c in present if not c.passed]
    if not bad:
        return f"PASS: all {len(present)} checks pass"
    return f"FAIL: {len(bad)} of {len(present)} checks do not pass"


def _run_line(report: Report) -> str:
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
    """Up to ``limit`` elements beyond tolerance, largest |diff| / tolerance first."""
    detail = check.detail
    if detail is None:
        return []
    a, n = np.asarray(detail.analytic), np.asarray(detail.numeric)
    if a.shape != n.shape or a.size == 0:
        return []
    tol = np.broadcast_to(np.asarray(detail.tolerance, dtype=np.float64), a.shape)
    diff = np.abs(a - n)
    bad = ~(diff <= tol)
    ratio = np.where(bad, diff / np.maximum(tol, np.finfo(np.float64).tiny), -np.inf)
    order = np.argsort(-ratio, axis=None, kind="stable")[: min(limit, int(bad.sum()))]
    rows = []
    for flat in order:
        index = np.unravel_index(int(flat), a.shape)
        rows.append(
            WorstRow(
                [int(i) for i in index],
                float(a[index]),
                float(n[index]),
                float(diff[index]),
                float(tol[index]),
            )
        )
    return rows


def _index_axes(check: CheckResult, ndim: int) -> str:
    quantity = check.quantity.split("[", 1)[0]
    if quantity == "dW" and ndim == 4:
        return "[p, q, k, c]"
    if ndim == 4:
        return "[i, h, w, c]"
    if ndim == 2:
        return "[h, w]"
    return "index"


# --------------------------------------------------------------------------- pictures


def make_images(report: Report) -> Images:
    """PNG pictures of a report: per failure with detail a heatmap figure; one
    error-against-step figure per check that carries a step sweep."""
    from gradcheck.render import plots

    images: Images = {}
    for check in report.checks:
        if check.status == "pass" or check.detail is None:
            continue
        png = plots.heatmaps_png(
            check.detail,
            check.quantity,
            title=f"{check.function}: {check.quantity}",
            worst_index=check.worst_index,
        )
        if png is not None:
            images[f"images/{_slug(check)}-heatmap.png"] = png
    for check in report.checks:
        example = _example_detail(check)
        if example is None:
            continue
        png = plots.heatmaps_png(
            example,
            check.quantity,
            title=f"{check.function}: {check.quantity} on a larger input\n"
            f"({_geometry_text(check.diagnosis['example'].get('geometry'))})",
        )
        if png is not None:
            images[f"images/{_slug(check)}-example.png"] = png
    sweeps = _sweeps(report)
    if sweeps:
        png = plots.step_sweep_png(sweeps, title="Error of each gradient against the finite-difference step")
        if png is not None:
            images[SWEEP_IMAGE] = png
    return images


SWEEP_IMAGE = "images/step-sweep.png"


def _sweeps(report: Report) -> list[Any]:
    from gradcheck.render import plots

    return [
        plots.Sweep(
            f"{check.function}: {check.quantity}",
            check.step_sweep["steps"],
            check.step_sweep.get("errors", []),
            failed=check.status != "pass",
        )
        for check in report.checks
        if check.step_sweep
        and len(check.step_sweep.get("steps") or []) >= 2
        and len(check.step_sweep.get("steps") or []) == len(check.step_sweep.get("errors") or [])
    ]


def _example_detail(check: CheckResult) -> Detail | None:
    """The larger failing input a diagnosis kept (``diagnosis["example"]``) as a Detail."""
    example = (check.diagnosis or {}).get("example") if check.status != "pass" else None
    if not isinstance(example, dict):
        return None
    try:
        return Detail.from_dict({**example, "step": None})
    except (KeyError, TypeError, ValueError):
        return None


def _image_paths(report: Report) -> dict[str, list[str]]:
    """Which image files each check would have, from the report alone (no drawing)."""
    from gradcheck.render import plots

    paths: dict[str, list[str]] = {}
    for check in report.checks:
        names = []
        if check.status != "pass" and check.detail is not None:
            panels, _ = plots.heatmap_panels(check.detail, check.quantity, check.worst_index)
            if panels:
                names.append(f"images/{_slug(check)}-heatmap.png")
        example = _example_detail(check)
        if example is not None and plots.heatmap_panels(example, check.quantity)[0]:
            names.append(f"images/{_slug(check)}-example.png")
        paths[_slug(check)] = names
    return paths


# --------------------------------------------------------------------------- Markdown


SWEEP_TEXT = (
    "Relative error of one directional derivative against the step h, one case per gradient. "
    "The layers are linear in each input, so for correct code the central difference is exact "
    "up to rounding: the error sits at rounding level (1e-16) for moderate steps and grows only "
    "for tiny ones, where rounding is divided by h (max pooling also errs for steps larger than "
    "the gap between window values, where the maximum moves). A bug stays flat at its own size "
    "for every step: the verdict is not an artefact of the chosen step."
)


def _image_kind(path: str) -> str:
    if path.endswith("-example.png"):
        return "analytic, numeric, |diff| on a larger input"
    return "analytic, numeric, |diff|"


def _md_cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _fence(text: str, info: str = "text") -> str:
    fence = "```"
    while fence in text:
        fence += "`"
    return f"{fence}{info}\n{text.rstrip()}\n{fence}"


def _md_status(check: CheckResult) -> str:
    return check.status if check.passed or check.status == "missing" else f"**{check.status}**"


def format_markdown(report: Report, *, images: Iterable[str] | None = None) -> str:
    """The report as Markdown. ``images``: relative paths of written pictures to link
    (as returned in :func:`write_report_dir`); without it no picture is linked."""
    available = set(images or ())
    paths = _image_paths(report) if available else {}
    lines = [f"# gradcheck report: `{report.target}`", ""]
    lines += [f"**{_verdict_line(report)}** ({_run_line(report)})", ""]
    if report.load_error is not None:
        lines += ["## Load error", "", _fence(report.load_error), ""]
    if report.checks:
        lines += _md_summary(report)
    failures = report.failures()
    if failures:
        lines += ["## Failures", ""]
        for check in failures:
            check_images = [p for p in paths.get(_slug(check), []) if p in available]
            lines += _md_failure(check, check_images)
    warned = [c for c in report.checks if c.warnings and c not in failures]
    if warned:
        lines += ["## Warnings", ""]
        for check in warned:
            for warning in check.warnings:
                lines.append(f"- {check.function}: {check.quantity}: {warning}")
        lines.append("")
    if SWEEP_IMAGE in available:
        lines += ["## Error against finite-difference step", "", SWEEP_TEXT, ""]
        lines += [f"![error against finite-difference step]({SWEEP_IMAGE})", ""]
    lines += [
        "---",
        "Generated by gradcheck. Re-render this report from its JSON with `gradcheck render report.json --report DIR`.",
        "",
    ]
    return "\n".join(lines)


def _md_summary(report: Report) -> list[str]:
    lines = [
        "## Summary",
        "",
        "| function | quantity | status | cases | max error / tolerance | warnings | likely cause |",
        "|---|---|---|---:|---|---:|---|",
    ]
    for check in report.checks:
        cause = str(check.diagnosis.get("id", "")) if check.diagnosis else ""
        lines.append(
            f"| {_md_cell(check.function)} | {_md_cell(check.quantity)} | {_md_status(check)} | "
            f"{check.cases} | {_error_cell(check)} | {len(check.warnings)} | {_md_cell(cause)} |"
        )
    return lines + [""]


def _md_failure(check: CheckResult, images: list[str]) -> list[str]:
    lines = [f"### {check.function}: {check.quantity} ({check.status})", ""]
    if check.diagnosis:
        d = check.diagnosis
        lines += [
            f"**Likely cause** (`{d.get('id', '')}`): {d.get('cause', '')}",
            "",
            f"*Evidence:* {d.get('evidence', '')}",
            "",
        ]
    if check.counterexample:
        lines += [f"**Smallest failing case:** `{_geometry_text(check.counterexample)}`", ""]
    if check.max_error is not None:
        lines += [f"**Max error / tolerance:** {_error_cell(check)}", ""]
    rows = worst_rows(check)
    if rows:
        axes = _index_axes(check, len(rows[0].index))
        lines += [
            f"| index {axes} | analytic | numeric | \\|diff\\| | tolerance |",
            "|---|---:|---:|---:|---:|",
        ]
        for row in rows:
            lines.append(
                f"| {row.index} | {row.analytic:.10g} | {row.numeric:.10g} | "
                f"{row.difference:.3g} | {row.tolerance:.3g} |"
            )
        lines.append("")
    for path in images:
        kind = _image_kind(path)
        if path.endswith("-example.png"):
            geometry = _geometry_text(check.diagnosis["example"].get("geometry"))
            lines += [f"The same failure on a larger input (`{geometry}`):", ""]
        lines += [f"![{check.function}: {check.quantity}, {kind}]({path})", ""]
    if check.message:
        lines += [_fence(check.message), ""]
    for warning in check.warnings:
        lines.append(f"- warning: {warning}")
    if check.warnings:
        lines.append("")
    return lines


# --------------------------------------------------------------------------- HTML

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto;
       max-width: 1100px; padding: 0 1em; color: #1d1d1f; line-height: 1.45; }
h1 { font-size: 1.5em; } h2 { border-bottom: 1px solid #ddd; padding-bottom: .2em; }
table { border-collapse: collapse; margin: .6em 0 1em; font-size: .92em; }
th, td { border: 1px solid #d0d0d0; padding: .25em .6em; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; font-family: ui-monospace, monospace; }
tr.pass td.status { color: #176f2c; } tr.missing td.status { color: #777; }
tr.bad td.status { color: #b00020; font-weight: 600; }
.verdict { font-size: 1.15em; font-weight: 600; padding: .4em .8em; border-radius: 4px;
           display: inline-block; }
.verdict.pass { background: #e3f5e6; color: #176f2c; } .verdict.fail { background: #fde7ea; color: #b00020; }
.cause { background: #fff7e0; border-left: 4px solid #e0a800; padding: .5em .9em; margin: .6em 0; }
pre { background: #f6f8fa; padding: .8em; overflow-x: auto; font-size: .85em; }
code { font-family: ui-monospace, monospace; }
img { max-width: 100%; height: auto; display: block; margin: .6em 0; }
section.failure { margin-bottom: 2.2em; }
"""


def _h(text: Any) -> str:
    return html.escape(str(text), quote=True)


def format_html(report: Report, *, images: Images | None = None) -> str:
    """The report as one self-contained HTML page (pictures inlined from ``images``)."""
    images = images or {}
    paths = _image_paths(report) if images else {}
    ok = report.passed
    out = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>gradcheck report: {_h(report.target)}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        f"<h1>gradcheck report: <code>{_h(report.target)}</code></h1>",
        f'<p><span class="verdict {"pass" if ok else "fail"}">{_h(_verdict_line(report))}</span> '
        f"({_h(_run_line(report))})</p>",
    ]
    if report.load_error is not None:
        out += ["<h2>Load error</h2>", f"<pre>{_h(report.load_error)}</pre>"]
    if report.checks:
        out += _html_summary(report)
    failures = report.failures()
    if failures:
        out.append("<h2>Failures</h2>")
        for check in failures:
            check_images = [p for p in paths.get(_slug(check), []) if p in images]
            out += _html_failure(check, check_images, images)
    warned = [c for c in report.checks if c.warnings and c not in failures]
    if warned:
        out += ["<h2>Warnings</h2>", "<ul>"]
        for check in warned:
            for warning in check.warnings:
                out.append(f"<li>{_h(check.function)}: {_h(check.quantity)}: {_h(warning)}</li>")
        out.append("</ul>")
    if SWEEP_IMAGE in images:
        out += ["<h2>Error against finite-difference step</h2>", f"<p>{_h(SWEEP_TEXT)}</p>"]
        out.append(_img(images[SWEEP_IMAGE], "error against finite-difference step"))
    out += [
        "<hr>",
        "<p><small>Generated by gradcheck. Re-render from the JSON with "
        "<code>gradcheck render report.json --report DIR</code>.</small></p>",
        "</body>",
        "</html>",
        "",
    ]
    return "\n".join(out)


def _img(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{_h(alt)}" src="data:image/png;base64,{data}">'


def _html_summary(report: Report) -> list[str]:
    out = [
        "<h2>Summary</h2>",
        "<table>",
        "<tr><th>function</th><th>quantity</th><th>status</th><th>cases</th>"
        "<th>max error / tolerance</th><th>warnings</th><th>likely cause</th></tr>",
    ]
    for check in report.checks:
        kind = "pass" if check.passed else ("missing" if check.status == "missing" else "bad")
        cause = str(check.diagnosis.get("id", "")) if check.diagnosis else ""
        name = check.function
        if check in report.failures():
            name = f'<a href="#{_h(_slug(check))}">{_h(check.function)}</a>'
        else:
            name = _h(name)
        out.append(
            f'<tr class="{kind}"><td>{name}</td><td>{_h(check.quantity)}</td>'
            f'<td class="status">{_h(check.status)}</td><td class="num">{check.cases}</td>'
            f'<td class="num">{_h(_error_cell(check))}</td><td class="num">{len(check.warnings)}</td>'
            f"<td>{_h(cause)}</td></tr>"
        )
    out.append("</table>")
    return out


def _html_failure(check: CheckResult, paths: list[str], images: Images) -> list[str]:
    out = [
        f'<section class="failure" id="{_h(_slug(check))}">',
        f"<h3>{_h(check.function)}: {_h(check.quantity)} ({_h(check.status)})</h3>",
    ]
    if check.diagnosis:
        d = check.diagnosis
        out.append(
            f'<div class="cause"><b>Likely cause</b> (<code>{_h(d.get("id", ""))}</code>): '
            f"{_h(d.get('cause', ''))}<br><i>Evidence:</i> {_h(d.get('evidence', ''))}</div>"
        )
    if check.counterexample:
        out.append(f"<p><b>Smallest failing case:</b> <code>{_h(_geometry_text(check.counterexample))}</code></p>")
    if check.max_error is not None:
        out.append(f"<p><b>Max error / tolerance:</b> {_h(_error_cell(check))}</p>")
    rows = worst_rows(check)
    if rows:
        axes = _index_axes(check, len(rows[0].index))
        out += [
            "<table>",
            f"<tr><th>index {_h(axes)}</th><th>analytic</th><th>numeric</th><th>|diff|</th><th>tolerance</th></tr>",
        ]
        for row in rows:
            out.append(
                f"<tr><td><code>{_h(row.index)}</code></td><td class='num'>{row.analytic:.10g}</td>"
                f"<td class='num'>{row.numeric:.10g}</td><td class='num'>{row.difference:.3g}</td>"
                f"<td class='num'>{row.tolerance:.3g}</td></tr>"
            )
        out.append("</table>")
    for path in paths:
        if path.endswith("-example.png"):
            geometry = _geometry_text(check.diagnosis["example"].get("geometry"))
            out.append(f"<p>The same failure on a larger input (<code>{_h(geometry)}</code>):</p>")
        out.append(_img(images[path], f"{check.function}: {check.quantity}, {_image_kind(path)}"))
    if check.message:
        out.append(f"<pre>{_h(check.message)}</pre>")
    if check.warnings:
        out.append("<ul>" + "".join(f"<li>warning: {_h(w)}</li>" for w in check.warnings) + "</ul>")
    out.append("</section>")
    return out


# --------------------------------------------------------------------------- writers


def _json_text(data: Any) -> str:
    return json.dumps(json_safe(data), indent=2, allow_nan=False) + "\n"


def write_report_dir(report: Report, directory: str | Path) -> dict[str, Path]:
    """Write report.json, report.md, report.html (and images/*.png) into ``directory``.

    Returns ``{"json": ..., "markdown": ..., "html": ..., "images/<name>.png": ...}``.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    json_path = directory / "report.json"
    json_path.write_text(_json_text(report.to_dict()), encoding="utf-8")
    written = _render(report, directory)
    return {"json": json_path, **written}


def render_saved(json_path: str | Path, directory: str | Path | None = None) -> dict[str, Path]:
    """Re-render report.md and report.html from a saved report.json (no check is re-run).

    ``directory`` defaults to the JSON file's directory.
    """
    json_path = Path(json_path)
    data = json.loads(json_path.read_text(encoding="utf-8"))
    report = Report.from_dict(data)
    directory = Path(directory) if directory is not None else json_path.parent
    directory.mkdir(parents=True, exist_ok=True)
    return _render(report, directory)


def _render(report: Report, directory: Path) -> dict[str, Path]:
    images = make_images(report)
    written: dict[str, Path] = {}
    for stale in (directory / "images").glob("*.png"):
        # pictures of an earlier report in this directory (only names this module writes)
        relative = f"images/{stale.name}"
        ours = stale.name == Path(SWEEP_IMAGE).name or stale.name.endswith(("-heatmap.png", "-example.png"))
        if ours and relative not in images:
            stale.unlink()
    for relative, png in images.items():
        path = directory / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(png)
        written[relative] = path
    md_path = directory / "report.md"
    md_path.write_text(format_markdown(report, images=images.keys()), encoding="utf-8")
    html_path = directory / "report.html"
    html_path.write_text(format_html(report, images=images), encoding="utf-8")
    return {"markdown": md_path, "html": html_path, **written}


# --------------------------------------------------------------------------- Gradescope


def _finite(value: float) -> float:
    return float(value) if math.isfinite(float(value)) else 0.0


def _check_output(check: CheckResult) -> str:
    """Markdown for one Gradescope test."""
    lines = [f"**{check.status}** ({check.cases} generated cases)"]
    if check.max_error is not None or check.tolerance is not None:
        lines.append(f"Max error / tolerance: {_error_cell(check)}")
    if check.counterexample:
        lines.append(f"Smallest failing case: `{_geometry_text(check.counterexample)}`")
    if check.diagnosis:
        d = check.diagnosis
        lines.append(f"**Likely cause** (`{d.get('id', '')}`): {d.get('cause', '')}")
        lines.append(f"*Evidence:* {d.get('evidence', '')}")
    message = check.message
    if message and not check.passed:
        if len(message) > MESSAGE_LIMIT:
            message = message[:MESSAGE_LIMIT] + f"\n... ({len(check.message) - MESSAGE_LIMIT} more characters)"
        lines.append(_fence(message))
    elif message:
        lines.append(message)
    for warning in check.warnings:
        lines.append(f"- warning: {warning}")
    return "\n\n".join(lines)


def gradescope_results(
    report: Report,
    *,
    max_score_per_test: float = 1.0,
    visibility: str = "visible",
) -> dict[str, Any]:
    """The Gradescope autograder ``results.json`` content for ``report``.

    One test per (function, quantity); a passing test scores ``max_score_per_test``,
    any other status (fail, error, timeout, memory, crashed, missing) scores 0.
    A load error, or a report without checks, gives one failing test that says why.
    """
    tests: list[dict[str, Any]] = []
    if report.load_error is not None:
        tests.append(
            {
                "name": "load the submission",
                "status": "failed",
                "score": 0.0,
                "max_score": float(max_score_per_test),
                "output": "The submission could not be loaded, so no function was checked.\n\n"
                + _fence(report.load_error),
                "output_format": "md",
                "visibility": visibility,
            }
        )
    elif not report.checks:
        tests.append(
            {
                "name": "find the contract functions",
                "status": "failed",
                "score": 0.0,
                "max_score": float(max_score_per_test),
                "output": "No contract function (conv_forward, pool_backward, ...) was found in the submission.",
                "output_format": "md",
                "visibility": visibility,
            }
        )
    for number, check in enumerate(report.checks, start=1):
        passed = check.passed
        tests.append(
            {
                "name": f"{check.function}: {check.quantity}",
                "number": str(number),
                "status": "passed" if passed else "failed",
                "score": float(max_score_per_test) if passed else 0.0,
                "max_score": float(max_score_per_test),
                "output": _check_output(check),
                "output_format": "md",
                "visibility": visibility,
            }
        )
    score = sum(test["score"] for test in tests)
    summary = [f"**{_verdict_line(report)}** ({_run_line(report)})"]
    causes = [c for c in report.checks if c.diagnosis]
    if causes:
        summary.append("Likely causes:")
        summary += [f"- {c.function}: {c.quantity}: {c.diagnosis.get('cause', '')}" for c in causes]
    results: dict[str, Any] = {
        "score": _finite(score),
        "output": "\n\n".join(summary[:2]) + ("\n" + "\n".join(summary[2:]) if summary[2:] else ""),
        "output_format": "md",
        "test_output_format": "md",
        "visibility": visibility,
        "stdout_visibility": "hidden",
        "extra_data": {
            "target": report.target,
            "seed": int(report.seed),
            "passed": bool(report.passed),
            "summary": report.summary(),
            "isolation": report.isolation,
        },
        "tests": tests,
    }
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


# --------------------------------------------------------------------------- python -m gradcheck.render.report


def main(argv: list[str] | None = None) -> int:
    """``python -m gradcheck.render.report REPORT_JSON [DIR]``: re-render a saved report."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) not in (1, 2) or args[0] in ("-h", "--help"):
        print("usage: python -m gradcheck.render.report REPORT_JSON [DIR]", file=sys.stderr)
        return 2
    source = Path(args[0])
    if not source.is_file():
        print(f"no such file: {source}", file=sys.stderr)
        return 2
    written = render_saved(source, args[1] if len(args) == 2 else None)
    for key in ("markdown", "html"):
        print(written[key])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
