"""Report writers (a facade): JSON, Markdown, self-contained HTML, and Gradescope ``results.json``.

The pieces live in their own modules: ``common`` (facts every format shares, the one
ranking of worst elements), ``images`` (which pictures, drawn by ``plots``),
``markdown``, ``html``, ``gradescope`` and ``report_dir`` (the folder
``gradcheck check --report DIR`` writes). This module keeps the names other code
imports: ``write_report_dir``, ``write_gradescope``, ``gradescope_results``,
``render_saved``, ``format_markdown``, ``format_html``.

Command line: ``gradcheck render report.json --report DIR`` (or
``python -m gradcheck.render.report report.json DIR``) re-renders a saved report.
"""

from __future__ import annotations

import sys
from pathlib import Path

from gradcheck.render.common import MAX_WORST_ROWS, WorstRow, worst_rows
from gradcheck.render.gradescope import MESSAGE_LIMIT, gradescope_results, write_gradescope
from gradcheck.render.html import format_html
from gradcheck.render.images import SWEEP_IMAGE, SWEEP_TEXT, Images, make_images
from gradcheck.render.markdown import format_markdown
from gradcheck.render.report_dir import SavedReportError, load_saved, render_saved, write_report_dir

__all__ = [
    "MAX_WORST_ROWS",
    "MESSAGE_LIMIT",
    "SWEEP_IMAGE",
    "SWEEP_TEXT",
    "Images",
    "SavedReportError",
    "WorstRow",
    "format_html",
    "format_markdown",
    "gradescope_results",
    "load_saved",
    "make_images",
    "render_saved",
    "worst_rows",
    "write_gradescope",
    "write_report_dir",
]


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
    try:
        written = render_saved(source, args[1] if len(args) == 2 else None)
    except SavedReportError as exc:
        print(exc, file=sys.stderr)
        return 2
    for key in ("markdown", "html"):
        print(written[key])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
