"""Draws and bounds that several plans share: normalisation parameters, hinge margins, the
magnitude of an affine map's intermediate values."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from gradcheck.specs.spec import Dims, Inputs


def norm_param(modes: tuple[str | None, ...], *, running: bool) -> Callable[[Dims, np.random.Generator], dict]:
    """A ``bn_param``/``ln_param`` builder: the mode drawn from ``modes`` (None: no mode key);
    ``eps`` and ``momentum`` left to their defaults in half the cases and drawn otherwise (a
    layer must read them); running averages (``running``) given in test mode and in half of
    the train cases (else the layer starts them at zero)."""

    def build(dims: Dims, rng: np.random.Generator) -> dict[str, Any]:
        param: dict[str, Any] = {}
        mode = modes[int(rng.integers(len(modes)))]
        if mode is not None:
            param["mode"] = mode
        if rng.random() < 0.5:
            param["eps"] = float(rng.choice([1e-5, 1e-4, 1e-3]))
            if running:
                param["momentum"] = float(rng.choice([0.9, 0.8, 0.99]))
        if running and (mode == "test" or rng.random() < 0.5):
            size = dims["D"] if "D" in dims else dims["C"]
            param["running_mean"] = rng.standard_normal(size)
            param["running_var"] = rng.uniform(0.5, 2.0, size)
        return param

    return build


def hinge_margins(scores: str, labels: str, weights: str | None = None) -> Callable[[Inputs, Dims], np.ndarray]:
    """A ``kinks`` hook: the multiclass hinge's margins ``s_j - s_y + 1`` (j != y), where its
    loss bends; the scores are ``inputs[scores]``, or ``inputs[scores] @ inputs[weights]``."""

    def margins(inputs: Inputs, dims: Dims) -> np.ndarray:
        s = np.asarray(inputs[scores], dtype=np.float64)
        if weights is not None:
            s = s @ np.asarray(inputs[weights], dtype=np.float64)
        y = np.asarray(inputs[labels])
        rows = np.arange(s.shape[0])
        gap = s - s[rows, y][:, None] + 1.0
        keep = np.ones(gap.shape, dtype=bool)
        keep[rows, y] = False
        return gap[keep]

    return margins


def affine_magnitude(x: str, w: str, b: str | None = None) -> Callable[[Inputs], float]:
    """The size of an affine map's terms: ``max |x| max |w| * (terms per sum) + max |b|``."""

    def magnitude(inputs: Inputs) -> float:
        xs, ws = np.abs(inputs[x]), np.abs(inputs[w])
        terms = ws.shape[0] if ws.ndim else 1
        total = float(xs.max(initial=0.0)) * float(ws.max(initial=0.0)) * terms
        if b is not None:
            total += float(np.abs(inputs[b]).max(initial=0.0))
        return total

    return magnitude
