"""What the error depends on, measured by re-running the failing case with one parameter
changed: stride, overlap (stride < f), padding, the batch size, the channel counts, and
whether the input is square. A rule holds only when the failing case fails again and
every changed case passes on two seeds.
"""

from __future__ import annotations

import numpy as np

import reference
from gradcheck.plans.convolution.diagnosis.common import (
    Case,
    Evaluate,
    changed_passes,
    close,
    conv_inputs,
    fails,
    fmt_geometry,
    passes,
    pool_inputs,
    reference_quantity,
    upstream,
)
from gradcheck.plans.convolution.diagnosis.templates import Found

OVERLAP_MEASURED_CAUSE = (
    "the gradient is wrong only where windows overlap (stride < f) and right where they do not: the "
    "contributions of overlapping windows are not all added up"
)


def _fails_on_values(evaluate: Evaluate, case: Case, geometry: dict) -> bool:
    """The re-run fails by its values (right shape, wrong numbers), not by a crash."""
    verdict = evaluate(dict(geometry), case.seed)
    if bool(getattr(verdict, "passed", True)):
        return False
    a, n = getattr(verdict, "analytic", None), getattr(verdict, "numeric", None)
    return a is not None and n is not None and np.shape(a) == np.shape(n)


def stride_only(case: Case, evaluate: Evaluate | None) -> Found:
    g = case.geometry
    if evaluate is None or g is None or case.status != "fail":
        return None
    stride = g.get("stride")
    if not isinstance(stride, int) or stride < 2 or not _fails_on_values(evaluate, case, g):
        return None
    if not passes(evaluate, case, {**g, "stride": 1}):
        return None
    evidence = f"fails at stride={stride} ({fmt_geometry(g)}) and passes on the same case with stride=1 (two seeds)"
    if _stride_ignored(case):
        return "stride_only", evidence + (
            "; the analytic result equals, at every element, the reference computed with the windows at "
            "h and w instead of h * stride and w * stride"
        )
    return "stride_only", evidence, STRIDE_MEASURED_CAUSE


STRIDE_MEASURED_CAUSE = (
    "fails only with stride > 1 and passes with stride = 1: the stride is used wrongly (the window "
    "positions h * stride, the output size, or the spacing of dZ's rows and columns)"
)


def _stride_ignored(case: Case) -> bool:
    """The analytic result is the reference's with every window at (h, w) instead of (h * stride, w * stride)."""
    found = case.arrays()
    hp = case.inputs.get("hparameters")
    if found is None or hp is None or found[0].ndim != 4:
        return False
    a, _, tol = found
    one = {**dict(hp), "stride": 1}
    if case.function in ("conv_forward", "pool_forward"):
        full = reference_quantity(case, hparameters=one)
        return full is not None and full.shape[1] >= a.shape[1] and full.shape[2] >= a.shape[2] and close(
            a, full[:, : a.shape[1], : a.shape[2]], tol
        )
    G = upstream(case)
    if G is None or case.function not in ("conv_backward", "pool_backward"):
        return False
    forward = "conv_forward" if case.function == "conv_backward" else "pool_forward"
    shape = reference_quantity(Case(forward, "Z", case.geometry, case.seed, "fail", inputs=case.inputs),
                               hparameters=one)
    if shape is None or shape.shape[1] < G.shape[1] or shape.shape[2] < G.shape[2]:
        return False
    placed = np.zeros(shape.shape)
    placed[:, : G.shape[1], : G.shape[2]] = G
    key = "dZ" if case.function == "conv_backward" else "dA"
    computed = reference_quantity(case, hparameters=one, **{key: placed})
    return computed is not None and computed.shape == a.shape and close(a, computed, tol)


def overlap_only(case: Case, evaluate: Evaluate | None) -> Found:
    g = case.geometry
    if evaluate is None or g is None or case.status != "fail":
        return None
    stride, f = g.get("stride"), g.get("f")
    if not (isinstance(stride, int) and isinstance(f, int)) or f < 2 or stride >= f:
        return None
    if not _fails_on_values(evaluate, case, g) or not passes(evaluate, case, {**g, "stride": f}):
        return None
    if stride > 1 and not fails(evaluate, case, {**g, "stride": 1}):
        return None  # passes at stride 1 too: not about overlap
    evidence = (
        f"fails with overlapping windows (stride={stride} < f={f}, {fmt_geometry(g)}) and passes on the same "
        f"case with stride=f={f}, where windows do not overlap (two seeds)"
    )
    assigned = _assigned(case)
    if assigned is not None:
        return "overlap_only", evidence + "; " + assigned
    if not passes(evaluate, case, {**g, "stride": f + 1}):
        return None  # fails where windows leave gaps too: the windows are wrong, not just their overlap
    evidence += f", and with stride={f + 1} > f, where they leave gaps"
    return "overlap_only", evidence, OVERLAP_MEASURED_CAUSE


def _assigned(case: Case) -> str | None:
    """Evidence that each window's gradient was assigned (`=`): the analytic gradient equals a
    replay of the course's loops (i, h, w, c) with `=` in place of `+=`."""
    found, G = case.arrays(), upstream(case)
    if found is None or G is None or case.quantity.split("[", 1)[0] != "dA_prev":
        return None
    a, _, tol = found
    m, n_H, n_W, n_C = G.shape
    if case.function == "conv_backward":
        inputs = conv_inputs(case)
        if inputs is None:
            return None
        A_prev, W, _, hp = inputs
        f, stride, pad = W.shape[0], int(hp["stride"]), int(hp["pad"])
        replays = []
        for per_channel in (True, False):  # `=` per (h, w, c), or per (h, w) of the sum over c
            out = np.zeros(reference.zero_pad(A_prev, pad).shape)
            for i in range(m):
                for h in range(n_H):
                    for w in range(n_W):
                        window = (i, slice(h * stride, h * stride + f), slice(w * stride, w * stride + f))
                        if per_channel:
                            for c in range(n_C):
                                out[window] = W[..., c] * G[i, h, w, c]
                        else:
                            out[window] = W @ G[i, h, w, :]
            replays.append(out[:, pad : pad + A_prev.shape[1], pad : pad + A_prev.shape[2], :])
    else:
        inputs = pool_inputs(case)
        if inputs is None:
            return None
        A_prev, hp, _ = inputs
        f, stride = int(hp["f"]), int(hp["stride"])
        out = np.zeros(A_prev.shape)
        for i in range(m):
            for h in range(n_H):
                for w in range(n_W):
                    for c in range(n_C):
                        rows, cols = slice(h * stride, h * stride + f), slice(w * stride, w * stride + f)
                        if case.mode == "average":
                            share = np.full((f, f), 1.0 / (f * f))
                        else:
                            x = A_prev[i, rows, cols, c]
                            share = (x == x.max()).astype(np.float64)
                        out[i, rows, cols, c] = share * G[i, h, w, c]
        replays = [out]
    if any(close(a, out, tol) for out in replays):
        return (
            "the analytic dA_prev equals, at every element, a replay of the loops (i, h, w, c) in which each "
            "window's gradient is assigned with `=`, so the last window written wins where windows overlap"
        )
    return None


def pad_only(case: Case, evaluate: Evaluate | None) -> Found:
    g = case.geometry or {}
    if not case.function.startswith("conv") or int(g.get("pad", 0)) == 0:
        return None
    if not changed_passes(case, evaluate, {"pad": 0}):
        return None
    return "pad_only", f"fails with pad={g['pad']} ({fmt_geometry(g)}) and passes on the same case with pad=0"


def batch_only(case: Case, evaluate: Evaluate | None) -> Found:
    g = case.geometry or {}
    if int(g.get("m", 1)) < 2 or not changed_passes(case, evaluate, {"m": 1}):
        return None
    return "batch_only", f"fails with m={g['m']} examples ({fmt_geometry(g)}) and passes on the same case with m=1"


def channels_only(case: Case, evaluate: Evaluate | None) -> Found:
    g = case.geometry or {}
    for key, label in (("n_C", "output channels"), ("n_C_prev", "input channels")):
        if int(g.get(key, 1)) >= 2 and changed_passes(case, evaluate, {key: 1}):
            return "channels_only", (
                f"fails with {key}={g[key]} {label} ({fmt_geometry(g)}) and passes on the same case with {key}=1"
            ), CHANNEL_CAUSE.format(label=label, key=key)
    return None


CHANNEL_CAUSE = (
    "fails only with more than one of the {label} ({key} > 1): a channel index is wrong (a fixed 0, "
    "the other channel axis, or a slice ':' where one channel belongs)"
)


def nonsquare_only(case: Case, evaluate: Evaluate | None) -> Found:
    g = case.geometry or {}
    if "n_H_prev" not in g or g["n_H_prev"] == g["n_W_prev"]:
        return None
    size = max(int(g["n_H_prev"]), int(g["n_W_prev"]))
    if evaluate is None or not fails(evaluate, case, g):
        return None
    square = [{**g, "n_H_prev": size, "n_W_prev": size}, {**g, "n_H_prev": g["n_W_prev"], "n_W_prev": g["n_W_prev"]}]
    if not all(passes(evaluate, case, s) for s in square):
        return None
    return "nonsquare_only", (
        f"fails on a {g['n_H_prev']}x{g['n_W_prev']} input ({fmt_geometry(g)}) and passes on square inputs "
        f"({size}x{size} and {g['n_W_prev']}x{g['n_W_prev']})"
    )


def _float32_numbers(values: np.ndarray) -> bool:
    return bool(np.all(values.astype(np.float32).astype(np.float64) == values))


def single_precision(case: Case, evaluate: Evaluate | None) -> Found:
    """A relative error of single precision's size, and either every analytic value is a float32
    number while the right ones are not, or the failure shows only on general float64 values
    (a case off the grid, ``numeric.off_grid``) and the same case passes on grid values, which
    float32 holds exactly (two seeds): something in the code computes in float32."""
    from gradcheck.engine.numeric import OFF_GRID, off_grid

    g, found = case.geometry, case.arrays()
    if g is None or found is None:
        return None
    a, n, _ = found
    scale = float(np.max(np.abs(n)))
    relative = float(np.max(np.abs(a - n))) / scale if scale > 0 else np.inf
    if not 1e-10 < relative < 1e-4:  # float32 rounds at 6e-8 relative; sums of a few terms stay near it
        return None
    measured = f"fails by a relative error of {relative:.2g}, the size of float32's rounding"
    if _float32_numbers(a) and not _float32_numbers(n):
        return "single_precision", f"{measured}; every analytic value is a float32 number, the right ones are not"
    if evaluate is None or not off_grid(case.seed):
        return None
    grid_seed = case.seed & ~OFF_GRID
    if not all(bool(getattr(evaluate(dict(g), grid_seed + k), "passed", False)) for k in (0, 1)):
        return None
    return "single_precision", (
        f"{measured}, on general float64 values (seed {case.seed}: full mantissas), and passes on the same case "
        f"with values float32 holds exactly (seeds {grid_seed} and {grid_seed + 1})"
    )
