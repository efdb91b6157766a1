"""How a :class:`~gradcheck.verdict.results.Report` shows itself in a notebook (``_repr_html_``).

A compact fragment (no page, no script): the verdict, the summary table, and per
failure its likely cause, smallest case and a small inline heatmap.
"""

from __future__ import annotations

from gradcheck.render.common import case_title, geometry_text, warning_text
from gradcheck.render.html import cause_html, h, h_line, img, summary_table, verdict_html, worst_table
from gradcheck.render.images import example_detail
from gradcheck.verdict.results import CheckResult, Report

HEATMAP_WIDTH = "min(100%, 560px)"
STYLE = (
    "<style>.gradcheck table{border-collapse:collapse}.gradcheck th,.gradcheck td{border:1px solid #ccc;"
    "padding:2px 6px;text-align:left}.gradcheck .verdict.pass{color:#176f2c;font-weight:600}"
    ".gradcheck .verdict.fail{color:#b00020;font-weight:600}.gradcheck .cause{background:#fff7e0;"
    "border-left:4px solid #e0a800;padding:4px 8px;margin:4px 0}</style>"
)


def format_notebook_html(report: Report) -> str:
    """The report as an HTML fragment for a notebook cell."""
    out = [STYLE, '<div class="gradcheck">', f"<b>gradcheck: <code>{h(report.target)}</code></b>",
           verdict_html(report)]
    if report.load_error is not None:
        out.append(f"<pre>{h(report.load_error)}</pre>")
    if report.warnings:
        out += ["<ul>", *[f"<li>note: {h_line(note)}</li>" for note in report.warnings], "</ul>"]
    if report.checks:
        out += summary_table(report, links=False)
    for check in report.failures():
        out.append(f"<h4>{h(check.function)}: {h(check.quantity)} ({h(check.status)})</h4>")
        if check.diagnosis:
            out.append(cause_html(check))
        if check.counterexample:
            out.append(f"<p><b>{h(case_title(check))}:</b> <code>{h(geometry_text(check.counterexample))}</code></p>")
        out += worst_table(check)
        png = _heatmap(check)
        if png is not None:
            out.append(img(png, f"{check.function}: {check.quantity}, analytic, numeric, |diff|",
                           style=f"width:{HEATMAP_WIDTH}"))
        if not check.diagnosis and check.message:
            out.append(f"<pre>{h(check.message)}</pre>")
    warned = [(c, w) for c in report.checks for w in c.warnings]
    if warned:
        out += ["<ul>", *[f"<li>warning: {h_line(warning_text(c, w))}</li>" for c, w in warned], "</ul>"]
    out.append("</div>")
    return "\n".join(out)


def _heatmap(check: CheckResult) -> bytes | None:
    """The failing case's heatmap, or the diagnosis' larger example when the case is too small."""
    try:
        from gradcheck.render import plots

        if check.detail is not None:
            png = plots.heatmaps_png(check.detail, check.quantity, title=f"{check.function}: {check.quantity}",
                                     worst_index=check.worst_index)
            if png is not None:
                return png
        example = example_detail(check)
        if example is not None:
            return plots.heatmaps_png(example, check.quantity,
                                      title=f"{check.function}: {check.quantity} on a larger input")
    except Exception:  # noqa: BLE001 - a picture never hides the verdict
        return None
    return None
