"""Pictures for reports, as PNG bytes: mismatch heatmaps and error-against-step curves.

Uses matplotlib's object API with the Agg canvas (no pyplot, no global backend
switch, no display needed). PNGs carry no timestamp or version metadata, so the
same report renders to the same bytes.

Heatmaps show analytic, numeric and |analytic - numeric| side by side over the two
spatial axes of the checked quantity, one row per channel, so a pattern (only the
border, every other row, one channel) is visible at once:

- NHWC quantities (dA_prev, Z, A, X_pad): (h, w) of the batch element holding the
  worst element, one row per channel (the channels with the largest errors first);
- dW (f, f, n_C_prev, n_C): (p, q) per (input channel k, output channel c) pair;
- db (1, 1, 1, n_C): one strip over the channels; 2-D quantities (mask, ...): one panel.
Elements outside the tolerance are marked with a cross on the difference panel.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from gradcheck.verdict.results import Detail

MAX_ROWS = 4  # channels (or channel pairs) shown per heatmap figure
ANNOTATE_UP_TO = 36  # write the values into the cells of panels this small
DPI = 100
# font sizes in points: readable when the HTML report shrinks a figure to the page width
FONT_TEXT, FONT_TITLE, FONT_HEADING, FONT_SMALL = 10.0, 11.0, 13.0, 9.0


@dataclass
class Panel:
    """One row of a heatmap figure: 2-D slices of the three arrays and the mismatch mask."""

    label: str
    analytic: np.ndarray
    numeric: np.ndarray
    difference: np.ndarray
    mismatched: np.ndarray


def heatmap_panels(
    detail: Detail,
    quantity: str,
    worst_index: Sequence[int] | None = None,
    max_rows: int = MAX_ROWS,
) -> tuple[list[Panel], str]:
    """The 2-D slices to draw for ``detail`` and a note on what was left out."""
    a = np.asarray(detail.analytic, dtype=np.float64)
    n = np.asarray(detail.numeric, dtype=np.float64)
    if a.shape != n.shape or a.size < 2:
        return [], ""
    tol = np.broadcast_to(np.asarray(detail.tolerance, dtype=np.float64), a.shape)
    diff = np.abs(a - n)
    bad = ~(diff <= tol)
    score = diff / np.maximum(tol, np.finfo(np.float64).tiny)
    if a.ndim == 4 and quantity.split("[", 1)[0] == "dW":
        pairs = [(k, c) for k in range(a.shape[2]) for c in range(a.shape[3])]
        ranked = sorted(pairs, key=lambda kc: -float(score[:, :, kc[0], kc[1]].max()))
        chosen = ranked[:max_rows]
        panels = [
            Panel(
                f"k={k}, c={c}",
                a[:, :, k, c],
                n[:, :, k, c],
                diff[:, :, k, c],
                bad[:, :, k, c],
            )
            for k, c in chosen
        ]
        note = _left_out(len(chosen), len(pairs), "(k, c) channel pairs")
        return panels, note
    if a.ndim == 4 and a.shape[1] * a.shape[2] == 1:  # db (1, 1, 1, n_C) and 1x1 maps
        i = _batch_element(score, worst_index)
        row = lambda x: x[i].reshape(1, -1)  # noqa: E731
        label = "channels c" if a.shape[0] == 1 else f"i={i}, channels c"
        return [Panel(label, row(a), row(n), row(diff), row(bad))], ""
    if a.ndim == 4:
        i = _batch_element(score, worst_index)
        channels = sorted(range(a.shape[3]), key=lambda c: -float(score[i, :, :, c].max()))
        chosen = channels[:max_rows]
        panels = [
            Panel(f"i={i}, c={c}", a[i, :, :, c], n[i, :, :, c], diff[i, :, :, c], bad[i, :, :, c]) for c in chosen
        ]
        note = _left_out(len(chosen), a.shape[3], "channels")
        if a.shape[0] > 1:
            note = f"batch element i={i} of {a.shape[0]}" + (f"; {note}" if note else "")
        return panels, note
    if a.ndim == 3:  # (f, f, n_C_prev) windows
        channels = sorted(range(a.shape[2]), key=lambda c: -float(score[:, :, c].max()))
        chosen = channels[:max_rows]
        panels = [Panel(f"k={k}", a[:, :, k], n[:, :, k], diff[:, :, k], bad[:, :, k]) for k in chosen]
        return panels, _left_out(len(chosen), a.shape[2], "channels")
    if a.ndim == 2:
        return [Panel("", a, n, diff, bad)], ""
    if a.ndim == 1:
        return [Panel("", a[None], n[None], diff[None], bad[None])], ""
    return [], ""


def _batch_element(score: np.ndarray, worst_index: Sequence[int] | None) -> int:
    if worst_index is not None and len(worst_index) == score.ndim and 0 <= worst_index[0] < len(score):
        return int(worst_index[0])
    return int(np.unravel_index(int(np.argmax(score)), score.shape)[0])


def _left_out(shown: int, total: int, what: str) -> str:
    return "" if shown >= total else f"showing the {shown} of {total} {what} with the largest errors"


def heatmaps_png(
    detail: Detail,
    quantity: str,
    *,
    title: str,
    worst_index: Sequence[int] | None = None,
    max_rows: int = MAX_ROWS,
) -> bytes | None:
    """Analytic | numeric | |difference| heatmaps of ``detail`` as PNG, or None if nothing to draw."""
    figure = heatmaps_figure(detail, quantity, title=title, worst_index=worst_index, max_rows=max_rows)
    return None if figure is None else _png(figure)


def heatmaps_figure(
    detail: Detail,
    quantity: str,
    *,
    title: str,
    worst_index: Sequence[int] | None = None,
    max_rows: int = MAX_ROWS,
) -> Any:
    """The matplotlib Figure of :func:`heatmaps_png` (None if nothing to draw)."""
    panels, note = heatmap_panels(detail, quantity, worst_index, max_rows)
    if not panels:
        return None
    from matplotlib.figure import Figure

    rows = len(panels)
    height, width = panels[0].analytic.shape
    cell = min(0.7, 3.6 / max(height, width, 1))
    panel_w, panel_h = max(width * cell, 1.5), max(height * cell, 0.8)
    figure = Figure(figsize=(3 * panel_w + 4.0, rows * (panel_h + 0.7) + 0.9), dpi=DPI)
    axes = figure.subplots(rows, 3, squeeze=False)
    for row, panel in enumerate(panels):
        limit = float(max(np.abs(panel.analytic).max(), np.abs(panel.numeric).max(), 1e-300))
        pairs = (("analytic", panel.analytic), ("numeric", panel.numeric))
        for column, (name, values) in enumerate(pairs):
            ax = axes[row][column]
            image = ax.imshow(values, cmap="RdBu_r", vmin=-limit, vmax=limit, interpolation="nearest")
            _annotate(ax, values)
            _style(ax, name if row == 0 else "")
            _colorbar(figure, image, ax)
        if panel.label:
            axes[row][0].set_ylabel(panel.label, fontsize=FONT_TEXT)
        ax = axes[row][2]
        image = ax.imshow(panel.difference, cmap="magma_r", vmin=0.0, interpolation="nearest")
        ys, xs = np.nonzero(panel.mismatched)
        if ys.size:
            ax.scatter(xs, ys, marker="x", s=18, c="#00a0ff", linewidths=1.0)
        _style(ax, "|diff|  (x: beyond tolerance)" if row == 0 else "")
        _colorbar(figure, image, ax)
    heading = title + (f"\n{note}" if note else "")
    figure.suptitle(heading, fontsize=FONT_HEADING)
    # a fixed layout: the "tight" engine costs an extra draw of every tick label
    inches_w, inches_h = figure.get_size_inches()
    top = 1.0 - (0.25 + 0.22 * (heading.count("\n") + 1)) / inches_h
    figure.subplots_adjust(
        left=0.55 / inches_w, right=1.0 - 0.55 / inches_w, bottom=0.25 / inches_h, top=top, wspace=0.55, hspace=0.3
    )
    return figure


def _colorbar(figure, image, ax) -> None:
    bar = figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    bar.ax.tick_params(labelsize=FONT_SMALL)
    bar.formatter.set_powerlimits((-2, 3))


def _annotate(ax, values: np.ndarray) -> None:
    if values.size > ANNOTATE_UP_TO:
        return
    limit = float(np.abs(values).max()) or 1.0
    for (y, x), value in np.ndenumerate(values):
        color = "white" if abs(value) > 0.6 * limit else "black"
        ax.text(x, y, f"{value:.2g}", ha="center", va="center", fontsize=FONT_SMALL, color=color)


def _style(ax, title: str) -> None:
    ax.set_title(title, fontsize=FONT_TITLE)
    ax.tick_params(labelsize=FONT_SMALL)
    height, width = ax.images[0].get_array().shape
    ax.set_xticks(range(width) if width <= 12 else range(0, width, max(1, width // 6)))
    ax.set_yticks(range(height) if height <= 12 else range(0, height, max(1, height // 6)))


@dataclass
class Sweep:
    """Error of one gradient against the finite-difference step."""

    label: str
    steps: Sequence[float]
    errors: Sequence[float]
    failed: bool = False


def step_sweep_png(sweeps: Sequence[Sweep], *, title: str, tolerance: float | None = None) -> bytes | None:
    """:func:`step_sweep_figure` as PNG, or None if nothing to draw."""
    figure = step_sweep_figure(sweeps, title=title, tolerance=tolerance)
    return None if figure is None else _png(figure)


def step_sweep_figure(sweeps: Sequence[Sweep], *, title: str, tolerance: float | None = None) -> Any:
    """Error against finite-difference step on log-log axes, one line per gradient (a Figure).

    For these piecewise-linear layers correct code sits at rounding level for moderate
    steps (no truncation error) and rises like 1/h for tiny ones (rounding divided by
    h); a bug stays flat at its own size for every step.
    """
    usable = [s for s in sweeps if len(s.steps) == len(s.errors) and len(s.steps) >= 2]
    if not usable:
        return None
    from matplotlib.figure import Figure

    figure = Figure(figsize=(9.5, 4.6), dpi=DPI)
    ax = figure.subplots()
    floor, ceiling = 1e-17, 1e4
    capped = False
    for sweep in usable:
        steps = np.asarray(sweep.steps, dtype=np.float64)
        errors = np.nan_to_num(np.asarray(sweep.errors, dtype=np.float64), nan=ceiling, posinf=ceiling)
        capped = capped or bool(np.any(errors > ceiling))
        errors = np.clip(errors, floor, ceiling)
        style = {"linewidth": 2.4, "linestyle": "-"} if sweep.failed else {"linewidth": 1.1, "linestyle": "--"}
        label = sweep.label + (" (fails)" if sweep.failed else "")
        ax.loglog(steps, errors, marker="o", markersize=3, label=label, **style)
    if tolerance is not None and tolerance > 0:
        ax.axhline(tolerance, color="grey", linewidth=0.8, linestyle=":", label="tolerance")
    ax.set_xlabel("finite-difference step h", fontsize=FONT_TEXT)
    capped_note = f" (values > {ceiling:g} drawn at {ceiling:g})" if capped else ""
    ax.set_ylabel("relative error" + capped_note, fontsize=FONT_TEXT)
    ax.tick_params(labelsize=FONT_SMALL)
    ax.grid(True, which="major", linewidth=0.4, alpha=0.5)
    ax.set_title(title, fontsize=FONT_HEADING)
    ax.legend(fontsize=FONT_SMALL, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    figure.subplots_adjust(left=0.1, right=0.62, bottom=0.14, top=0.9)
    return figure


def _png(figure) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()
