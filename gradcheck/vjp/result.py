"""What ``check_vjp`` returns: a verdict per input with its figure, and the message.

Every input gets its own figure, whatever decided it: the largest error against its
tolerance (``max_error <= tolerance`` when it passes), and how it was measured:

- ``screen``: one random direction, ``|<g, u> - d/dt <G, F(x + t u)>|`` against the tolerance
  of ``gradcheck.vjp.directional`` (one number: the directional derivative);
- ``per element``: every element's central difference, ``|g[k] - numeric[k]|`` against
  ``atol + rtol |numeric[k]|`` at the element closest to (or furthest beyond) its tolerance;
- ``bisection``: a failed screen localised by block screens, then the elements of the
  failing blocks one by one (the figure is theirs).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from gradcheck.verdict.compare import Comparison

SCREEN, PER_ELEMENT, BISECTION = "screen", "per element", "bisection"


def step_text(step: float | None) -> str:
    """A step as the screen's are chosen (``2^-10``), or in ``%.3g`` when it is not a power of two."""
    if step is None:
        return "-"
    mantissa, exponent = np.frexp(step)
    return f"2^{int(exponent) - 1}" if mantissa == 0.5 else f"{step:.3g}"


@dataclass
class InputFigure:
    """How one input was judged: ``method`` (screen, per element, bisection), the figure
    (``max_error`` against ``tolerance``; for a screen the directional derivative's error),
    the forward calls it took, and for per-element figures the element's index. ``checked``:
    elements compared one by one (0 for a screen that passed); ``size``: elements of the input."""

    name: str
    method: str
    passed: bool
    max_error: float
    tolerance: float
    forward_calls: int
    size: int
    checked: int = 0
    worst_index: list[int] | None = None
    step: float | None = None
    estimate: str | None = None  # for a screen: the estimate that decided, R(h) or D(h)

    def text(self) -> str:
        relation = "<=" if self.passed else ">"
        figure = f"{self.name}: max error {self.max_error:.3g} {relation} tolerance {self.tolerance:.3g}"
        if self.method == SCREEN:
            how = f"along one random direction: {self.estimate or 'R(h)'} at h = {step_text(self.step)}"
        elif self.method == PER_ELEMENT:
            at = f" at {self.worst_index}" if self.worst_index is not None else ""
            how = f"per element{at}, all {self.size} elements"
        else:
            at = f" at {self.worst_index}" if self.worst_index is not None else ""
            how = f"per element{at}, {self.checked} of {self.size} elements found by bisection"
        calls = "call" if self.forward_calls == 1 else "calls"
        return f"{figure} ({how}; {self.forward_calls} forward {calls})"


@dataclass
class VjpResult:
    """Per-input verdicts of ``check_vjp``.

    ``figures``: one :class:`InputFigure` per input (in order); ``comparisons``: the
    comparison behind each figure (a 0-d one for a screen, the elements compared for the
    others); ``problems``: why it does not pass (one entry per failing input);
    ``warnings``: mismatched elements that sit at a kink of the function, a screen that
    failed where every element passes; ``forward_calls`` in all, ``duration_s`` the wall time;
    ``mode``: ``"screen"`` or ``"full"``."""

    names: list[str]
    comparisons: list[Comparison] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    message: str = ""
    figures: list[InputFigure] = field(default_factory=list)
    mode: str = "screen"
    forward_calls: int = 0
    duration_s: float = 0.0

    @property
    def passed(self) -> bool:
        return not self.problems and all(comparison.passed for comparison in self.comparisons)

    def __bool__(self) -> bool:  # pragma: no cover - avoid `if check_vjp(...)` surprises
        raise TypeError("use result.passed (or assert_vjp) instead of the truth value of a VjpResult")

    def compose(self) -> str:
        """The message: the problems (or the line saying every gradient matches), one figure
        per input, then the warnings."""
        lines = self.problems or ["every gradient matches its central difference"]
        if self.figures:
            lines = [*lines, "per input (max error against tolerance):", *(f"  {f.text()}" for f in self.figures)]
        self.message = "\n".join([*lines, *(f"warning: {w}" for w in self.warnings)])
        return self.message
