"""A report folder: ``report.json``, ``report.md``, ``report.html`` and ``images/*.png``.

All writers read a :class:`~gradcheck.verdict.results.Report` (and only what it holds),
so a saved ``report.json`` re-renders to the same Markdown and HTML without re-running
any check (:func:`render_saved`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gradcheck.render.escape import file_text
from gradcheck.render.html import format_html
from gradcheck.render.images import SWEEP_IMAGE, make_images
from gradcheck.render.markdown import format_markdown
from gradcheck.verdict.results import Report, json_safe


class SavedReportError(ValueError):
    """The file given to ``render`` is not a report ``gradcheck check --json``/``--report`` wrote."""


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


def load_saved(json_path: str | Path) -> Report:
    """Read a saved report, or raise :class:`SavedReportError` saying what the file is instead."""
    json_path = Path(json_path)
    try:
        data = json.loads(json_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise SavedReportError(
            f"{json_path} is not a saved report (not JSON); give the report.json that "
            "`gradcheck check --json FILE` or `--report DIR` wrote"
        ) from None
    if isinstance(data, dict) and "tests" in data and "checks" not in data:
        raise SavedReportError(
            f"{json_path} is a Gradescope results.json, not a saved report; give the report.json that "
            "`gradcheck check --json FILE` or `--report DIR` wrote"
        )
    if not (isinstance(data, dict) and isinstance(data.get("target"), str) and isinstance(data.get("checks"), list)):
        raise SavedReportError(
            f"{json_path} is JSON but not a saved report (no \"target\" and \"checks\"); give the report.json "
            "that `gradcheck check --json FILE` or `--report DIR` wrote"
        )
    try:
        return Report.from_dict(data)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise SavedReportError(f"{json_path} is not a valid saved report ({type(exc).__name__}: {exc})") from None


def render_saved(json_path: str | Path, directory: str | Path | None = None) -> dict[str, Path]:
    """Re-render report.md and report.html from a saved report.json (no check is re-run).

    ``directory`` defaults to the JSON file's directory. Raises :class:`SavedReportError`
    when the file is not a saved report.
    """
    report = load_saved(json_path)
    directory = Path(directory) if directory is not None else Path(json_path).parent
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
    md_path.write_text(file_text(format_markdown(report, images=images.keys())), encoding="utf-8")
    html_path = directory / "report.html"
    html_path.write_text(file_text(format_html(report, images=images)), encoding="utf-8")
    return {"markdown": md_path, "html": html_path, **written}
