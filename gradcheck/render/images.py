"""Which pictures a report has, and their PNG bytes (drawn by ``gradcheck.render.plots``)."""

from __future__ import annotations

from typing import Any

from gradcheck.render.common import geometry_text, slug
from gradcheck.verdict.results import CheckResult, Detail, Report

Images = dict[str, bytes]  # relative path ("images/...png") -> PNG bytes
SWEEP_IMAGE = "images/step-sweep.png"


def make_images(report: Report) -> Images:
    """PNG pictures of a report: per failure with detail a heatmap figure; one
    error-against-step figure per check that carries a step sweep."""
    from gradcheck.render import plots

    images: Images = {}
    for check in report.checks:
        if check.status == "pass" or check.detail is None:
            continue
        png = plots.heatmaps_png(
            check.detail, check.quantity, title=f"{check.function}: {check.quantity}", worst_index=check.worst_index
        )
        if png is not None:
            images[f"images/{slug(check)}-heatmap.png"] = png
    for check in report.checks:
        example = example_detail(check)
        if example is None:
            continue
        png = plots.heatmaps_png(
            example,
            check.quantity,
            title=f"{check.function}: {check.quantity} on a larger input\n"
            f"({geometry_text(check.diagnosis['example'].get('geometry'))})",
        )
        if png is not None:
            images[f"images/{slug(check)}-example.png"] = png
    sweeps = _sweeps(report)
    if sweeps:
        png = plots.step_sweep_png(sweeps, title="Error of each gradient against the finite-difference step")
        if png is not None:
            images[SWEEP_IMAGE] = png
    return images


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


def example_detail(check: CheckResult) -> Detail | None:
    """The larger failing input a diagnosis kept (``diagnosis["example"]``) as a Detail."""
    example = (check.diagnosis or {}).get("example") if check.status != "pass" else None
    if not isinstance(example, dict):
        return None
    try:
        return Detail.from_dict({**example, "step": None})
    except (KeyError, TypeError, ValueError):
        return None


def image_paths(report: Report) -> dict[str, list[str]]:
    """Which image files each check would have, from the report alone (no drawing)."""
    from gradcheck.render import plots

    paths: dict[str, list[str]] = {}
    for check in report.checks:
        names = []
        if check.status != "pass" and check.detail is not None:
            panels, _ = plots.heatmap_panels(check.detail, check.quantity, check.worst_index)
            if panels:
                names.append(f"images/{slug(check)}-heatmap.png")
        example = example_detail(check)
        if example is not None and plots.heatmap_panels(example, check.quantity)[0]:
            names.append(f"images/{slug(check)}-example.png")
        paths[slug(check)] = names
    return paths


def image_kind(path: str) -> str:
    if path.endswith("-example.png"):
        return "analytic, numeric, |diff| on a larger input"
    return "analytic, numeric, |diff|"


SWEEP_TEXT = (
    "Relative error of one directional derivative against the step h, one case per gradient. "
    "The layers are linear in each input, so for correct code the central difference is exact "
    "up to rounding: the error sits at rounding level (1e-16) for moderate steps and grows only "
    "for tiny ones, where rounding is divided by h (max pooling also errs for steps larger than "
    "the gap between window values, where the maximum moves). A bug stays flat at its own size "
    "for every step: the verdict is not an artefact of the chosen step."
)
