"""Known bugs, each verified by its fix: the hypothesised mistake, recomputed from the failing
case's own inputs with the reference layers, reproduces the analytic result at *every*
element (within the check's tolerance) while the plain comparison fails. Each rule
returns ``(id, evidence)`` or None; ``NEEDS`` says on which non-degenerate case the
evidence must hold too (see ``gradcheck.plans.convolution.diagnosis``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

import reference
from gradcheck.plans.convolution.diagnosis.common import (
    NHWC,
    Case,
    Evaluate,
    broadcast_tolerance,
    close,
    conv_inputs,
    fails,
    fmt_geometry,
    largest,
    mismatch_summary,
    passes,
    reference_quantity,
    upstream,
)
from gradcheck.plans.convolution.diagnosis.masks import mask_from_window, pool_routing

# (id, evidence) or (id, evidence, cause replacing the class's text), or None
Found = tuple[str, ...] | None


def pad_zero_crash(case: Case, evaluate: Evaluate | None) -> Found:
    """Crashes (or returns an empty dA_prev) at pad = 0 only: re-run with pad = 1 and 2."""
    if evaluate is None or not case.function.startswith("conv") or case.geometry is None:
        return None
    if case.geometry.get("pad") != 0:
        return None
    crashed = case.status == "error"
    empty = case.status == "fail" and case.analytic is not None and case.analytic.ndim == 4 and (
        0 in case.analytic.shape[1:3]
    )
    if not (crashed or empty):
        return None
    padded = [{**case.geometry, "pad": pad} for pad in (1, 2)]
    if not fails(evaluate, case, case.geometry) or not all(passes(evaluate, case, g) for g in padded):
        return None
    what = "crashes" if crashed else "returns an empty dA_prev"
    first = next((line.strip() for line in case.message.splitlines() if " raised " in line), "")
    evidence = (
        f"{case.function} {what} at pad=0 ({fmt_geometry(case.geometry)}" + (f": {first}" if first else "")
        + "); the same case passes with pad=1 and pad=2 (two seeds each)"
    )
    if empty or "shape (0," in case.message or "(0,0," in case.message:  # an empty slice is what broke
        return "pad_zero_crash", evidence
    return "pad_zero_crash", evidence, PAD_ZERO_MEASURED_CAUSE


PAD_ZERO_MEASURED_CAUSE = (
    "fails only at pad = 0 and passes with padding: an expression breaks when pad = 0 (a slice "
    "x[pad:-pad] is empty, or something divides by pad)"
)


def all_zero(case: Case, evaluate: Evaluate | None) -> Found:
    found = case.arrays()
    if found is None:
        return None
    a, n, tol = found
    if close(a, np.zeros(a.shape), tol) and not close(n, np.zeros(n.shape), tol):
        evidence = f"analytic {case.quantity} is 0 at all {a.size} elements, the numeric one is not"
        if case.function == "create_mask_from_window":
            return "all_zero", evidence, (
                "the mask is 0 everywhere: nothing marks the maximum (a comparison that never holds, such as "
                "x == np.argmax(x), which compares values with an index: use x == np.max(x))"
            )
        return "all_zero", evidence
    return None


def bias(case: Case, evaluate: Evaluate | None) -> Found:
    """b added once per window element (bias_in_window), or not at all (bias_missing)."""
    found = case.arrays()
    if found is None:
        return None
    a, n, tol = found
    if case.function == "conv_single_step":
        if "a_slice_prev" not in case.inputs or "b" not in case.inputs:
            return None
        k = int(np.size(case.inputs["a_slice_prev"]))
        b = float(np.asarray(case.inputs["b"], dtype=np.float64).reshape(-1)[0])
        if b != 0 and close(a - n, np.full(a.shape, -b), tol):
            return "bias_missing", f"the result minus the reference is -b = {-b:.4g}: b was not added"
        if k > 1 and close(a - n, np.full(a.shape, (k - 1) * b), tol):
            return "bias_in_window", (
                f"the result minus the reference equals (f*f*n_C_prev - 1) * b = {k - 1} * {b:.4g} "
                f"(the window has {k} elements)"
            )
        return None
    inputs = conv_inputs(case)
    if inputs is None:
        return None
    _, W, b, _ = inputs
    f, _, n_C_prev, n_C = W.shape
    k = f * f * n_C_prev
    if case.function == "conv_forward" and a.ndim == 4:
        b4 = np.broadcast_to(b.reshape(1, 1, 1, n_C), a.shape)
        if np.any(b != 0) and close(a - n, -b4, tol):
            return "bias_missing", f"Z - Z_ref equals -b in every one of the {a.size} outputs: b was not added"
        if k > 1 and close(a - n, (k - 1) * b4, tol):
            return "bias_in_window", (
                f"Z - Z_ref equals (f*f*n_C_prev - 1) * b = {k - 1} * b in every one of the {a.size} outputs "
                f"(f={f}, n_C_prev={n_C_prev}; largest deviation {largest(a - n, (k - 1) * b4)})"
            )
    return None


def other_mode(case: Case, evaluate: Evaluate | None) -> Found:
    if case.function not in ("pool_forward", "pool_backward"):
        return None
    found = case.arrays()
    if found is None:
        return None
    a, n, tol = found
    other = "average" if case.mode == "max" else "max"
    computed = reference_quantity(case, mode=other)
    if computed is not None and close(a, computed, tol):
        return "other_mode", (
            f"with mode={case.mode!r} the analytic {case.quantity} equals the reference's {other} pooling at all "
            f"{a.size} elements, while {mismatch_summary(a, n, tol)}"
        )
    return None


def max_from_zero(case: Case, evaluate: Evaluate | None) -> Found:
    """A running maximum started at 0 (``best = 0``) instead of the window's first element: the
    analytic max pooling equals max(reference, 0) at every element, and some window is all negative."""
    if case.function != "pool_forward" or case.mode != "max":
        return None
    found = case.arrays()
    if found is None:
        return None
    a, n, tol = found
    if not np.any(n < 0) or not close(a, np.maximum(n, 0.0), tol):
        return None
    return "max_from_zero", (
        f"analytic {case.quantity} equals max(reference, 0) at all {a.size} elements: the {int(np.sum(n < 0))} "
        f"windows whose values are all negative give 0, while {mismatch_summary(a, n, tol)}"
    )


def window_size(case: Case, evaluate: Evaluate | None) -> Found:
    """pool_forward's windows are (f - 1) x (f - 1) or (f + 1) x (f + 1) at the right places."""
    if case.function != "pool_forward":
        return None
    found = case.arrays()
    if found is None or "hparameters" not in case.inputs or "A_prev" not in case.inputs:
        return None
    a, n, tol = found
    hp = dict(case.inputs["hparameters"])
    A_prev = np.asarray(case.inputs["A_prev"], dtype=np.float64)
    for size in (hp["f"] - 1, hp["f"] + 1):
        if size < 1 or size > A_prev.shape[1] or size > A_prev.shape[2]:
            continue
        value = reference.pool_forward(A_prev, {**hp, "f": size}, case.mode)[0]
        if value.shape[1] < a.shape[1] or value.shape[2] < a.shape[2]:
            continue
        value = value[:, : a.shape[1], : a.shape[2], :]
        if close(a, value, tol):
            return "window_size", (
                f"A equals the reference pooling with {size}x{size} windows at the same positions (f={hp['f']}) "
                f"at all {a.size} elements: the window slice is {'one short' if size < hp['f'] else 'one too long'}"
            )
    return None


def kernel_flipped(case: Case, evaluate: Evaluate | None) -> Found:
    if case.function not in ("conv_backward", "conv_forward"):
        return None
    found, inputs = case.arrays(), conv_inputs(case)
    if found is None or inputs is None or inputs[1].shape[0] < 2:
        return None
    a, n, tol = found
    if case.quantity == "dW":
        if close(a, n[::-1, ::-1], tol):
            return "kernel_flipped", (
                f"analytic dW equals the numeric dW rotated by 180 degrees (dW[::-1, ::-1]) at all {a.size} "
                f"elements, while {mismatch_summary(a, n, tol)}"
            )
        return None
    computed = reference_quantity(case, W=np.ascontiguousarray(inputs[1][::-1, ::-1]))
    if computed is not None and case.quantity in ("Z", "dA_prev") and close(a, computed, tol):
        return "kernel_flipped", (
            f"analytic {case.quantity} equals the reference {case.quantity} computed with W rotated by 180 degrees "
            f"(W[::-1, ::-1]) at all {a.size} elements, while {mismatch_summary(a, n, tol)}"
        )
    return None


def kernel_transposed(case: Case, evaluate: Evaluate | None) -> Found:
    """W read as W[q, p] for W[p, q] (the kernel's two spatial axes swapped): the reference
    computed with W.swapaxes(0, 1) reproduces the analytic Z or dA_prev (conv_single_step: the
    window's sum with the transposed kernel) at every element."""
    found = case.arrays()
    if found is None:
        return None
    a, n, tol = found
    if case.function == "conv_single_step":
        window, W, b = (case.inputs.get(key) for key in ("a_slice_prev", "W", "b"))
        if window is None or W is None or b is None or np.ndim(W) != 3 or np.shape(W)[0] < 2:
            return None
        W = np.asarray(W, dtype=np.float64)
        computed = np.array(np.sum(np.asarray(window, dtype=np.float64) * W.swapaxes(0, 1)) + float(np.sum(b)))
        what = "the window's sum"
    elif case.function in ("conv_forward", "conv_backward") and case.quantity in ("Z", "dA_prev"):
        inputs = conv_inputs(case)
        if inputs is None or inputs[1].shape[0] < 2 or inputs[1].shape[0] != inputs[1].shape[1]:
            return None
        computed = reference_quantity(case, W=np.ascontiguousarray(inputs[1].swapaxes(0, 1)))
        what = f"the reference {case.quantity}"
    else:
        return None
    if computed is None or np.shape(computed) != a.shape or not close(a, computed, tol):
        return None
    return "kernel_transposed", (
        f"analytic {case.quantity} equals {what} computed with the kernel transposed (W.swapaxes(0, 1): W[q, p] "
        f"for W[p, q]) at all {a.size} elements, while {mismatch_summary(a, n, tol)}"
    )


def hw_swapped(case: Case, evaluate: Evaluate | None) -> Found:
    found = case.arrays()
    if found is None:
        return None
    a, n, tol = found
    if case.key in NHWC and n.ndim == 4:
        axes, label = (1, 2), "H and W (axes 1 and 2)"
    elif case.key == ("conv_backward", "dW") and n.ndim == 4:
        axes, label = (0, 1), "the two kernel axes of dW (axes 0 and 1)"
    elif case.function == "distribute_value" and n.ndim == 2:
        axes, label = (0, 1), "n_H and n_W"
    else:
        return None
    if n.shape[axes[0]] >= 2 or n.shape[axes[1]] >= 2:
        if close(a, np.swapaxes(n, *axes), np.swapaxes(tol, *axes)):
            return "hw_swapped", (
                f"analytic {case.quantity} equals the numeric gradient with {label} swapped at all {a.size} elements"
            )
    dZ = upstream(case)
    if case.function != "conv_backward" or dZ is None or dZ.shape[1] != dZ.shape[2] or dZ.shape[1] < 2:
        return None
    computed = reference_quantity(case, dZ=np.ascontiguousarray(dZ.swapaxes(1, 2)))
    if computed is not None and close(a, computed, tol):
        return "hw_swapped", (
            f"analytic {case.quantity} equals the gradient with dZ's h and w swapped (each window placed at "
            f"[w * stride, h * stride]) at all {a.size} elements, while {mismatch_summary(a, n, tol)}"
        )
    return None


def crop_offset(case: Case, evaluate: Evaluate | None) -> Found:
    """dA_prev cut out of dA_prev_pad at the wrong offset (e.g. [:n_H_prev] instead of [pad:pad + n_H_prev])."""
    if case.key != ("conv_backward", "dA_prev"):
        return None
    found, inputs, dZ = case.arrays(), conv_inputs(case), upstream(case)
    if found is None or inputs is None or dZ is None:
        return None
    a, n, tol = found
    A_prev, W, b, hp = inputs
    pad = int(hp["pad"])
    if pad == 0:
        return None
    dA_pad = reference.conv_backward(dZ, (reference.zero_pad(A_prev, pad), W, b, {**hp, "pad": 0}))[0]
    _, n_H, n_W, _ = a.shape
    for top in range(2 * pad + 1):
        for left in range(2 * pad + 1):
            if (top, left) != (pad, pad) and close(a, dA_pad[:, top : top + n_H, left : left + n_W, :], tol):
                return "crop_offset", (
                    f"analytic dA_prev equals dA_prev_pad[:, {top}:{top} + n_H_prev, {left}:{left} + n_W_prev, :] "
                    f"(pad={pad}) at all {a.size} elements: the crop starts at the wrong offset"
                )
    return None


def equals_other_tensor(case: Case, evaluate: Evaluate | None) -> Found:
    """The result is the reference's computed from another tensor: dW from W instead of the input
    windows, or one filter (one channel of W, b or dZ) used for every output channel."""
    if case.function not in ("conv_backward", "conv_forward"):
        return None
    found, inputs = case.arrays(), conv_inputs(case)
    if found is None or inputs is None:
        return None
    a, n, tol = found
    _, W, b, _ = inputs
    dZ = upstream(case)
    if case.quantity == "dW" and dZ is not None and close(a, W * dZ.sum(axis=(0, 1, 2)).reshape(1, 1, 1, -1), tol):
        return "equals_other_tensor", (
            f"analytic dW equals W * sum(dZ) per output channel at all {a.size} elements: the kernel W was used "
            "where the input window a_slice belongs (dW[:, :, :, c] += a_slice * dZ[i, h, w, c])"
        )
    n_C = W.shape[3]
    if n_C < 2:
        return None
    for j in (0, n_C - 1):
        same = [j] * n_C
        replaced = {
            "W[..., c]": {"W": W[..., same]},
            "b[..., c]": {"b": b[..., same]},
            "dZ[..., c]": {"dZ": dZ[..., same]} if dZ is not None else None,
        }
        for what, replace in replaced.items():
            if replace is None or (case.function == "conv_forward" and what.startswith("dZ")):
                continue
            computed = reference_quantity(case, **replace)
            if computed is not None and computed.shape == a.shape and close(a, computed, tol):
                fixed = what.replace("c]", f"{j}]")
                return "equals_other_tensor", (
                    f"analytic {case.quantity} equals, at all {a.size} elements, the reference computed with "
                    f"{fixed} in place of {what} for every output channel c"
                ), f"{fixed} is used for every output channel c: index the channel with c ({what}), not {j}"
    return None


def starts_from_input(case: Case, evaluate: Evaluate | None) -> Found:
    """The gradient is the right one plus the tensor it is the gradient of: its buffer was
    started from that tensor (``dW = W``, ``da_prev_pad = a_prev_pad``) instead of zeros."""
    tensors = {
        ("conv_backward", "dA_prev"): "A_prev",
        ("conv_backward", "dW"): "W",
        ("conv_backward", "db"): "b",
        ("pool_backward", "dA_prev"): "A_prev",
    }
    name = tensors.get((case.function, case.quantity.split("[", 1)[0]))
    found = case.arrays()
    if name is None or found is None or name not in case.inputs:
        return None
    a, n, tol = found
    x = np.asarray(case.inputs[name], dtype=np.float64)
    if x.shape != a.shape or not np.any(np.abs(x) > broadcast_tolerance(tol, a.shape)) or not close(a, n + x, tol):
        return None
    return "starts_from_input", (
        f"analytic {case.quantity} = numeric {case.quantity} + {name} at all {a.size} elements: the gradient "
        f"buffer holds {name}'s values before the first += (e.g. d{name} = {name}, or da_prev_pad = a_prev_pad)"
    )


def cumulative_examples(case: Case, evaluate: Evaluate | None) -> Found:
    if case.key not in (("conv_backward", "dA_prev"), ("pool_backward", "dA_prev")):
        return None
    found = case.arrays()
    if found is None or found[0].shape[0] < 2:
        return None
    a, n, tol = found
    if close(a, np.cumsum(n, axis=0), tol):
        return "not_reset_per_example", (
            f"analytic dA_prev[i] equals the sum of the numeric dA_prev[0..i] for every example i (m={a.shape[0]}): "
            "the per-example gradient buffer keeps the previous examples' gradients"
        )
    return None


def mask_wrong(case: Case, evaluate: Evaluate | None) -> Found:
    found = mask_from_window(case) if case.function == "create_mask_from_window" else pool_routing(case, evaluate)
    return None if found is None else ("mask_wrong", found[1])


Rule = Callable[[Case, Evaluate | None], Found]

# rule -> what its evidence needs to be non-degenerate
NEEDS: dict[Rule, frozenset[str]] = {
    pad_zero_crash: frozenset(),
    all_zero: frozenset({"window", "interior", "batch", "channels"}),
    bias: frozenset({"window", "channels"}),
    other_mode: frozenset({"window", "interior"}),
    window_size: frozenset({"window", "interior"}),
    kernel_flipped: frozenset({"window"}),
    kernel_transposed: frozenset({"window"}),
    max_from_zero: frozenset(),  # any case with an all-negative window shows it
    hw_swapped: frozenset({"window", "interior"}),
    crop_offset: frozenset({"interior", "batch"}),
    equals_other_tensor: frozenset({"window", "batch", "channels", "interior"}),
    starts_from_input: frozenset(),
    cumulative_examples: frozenset({"batch", "window"}),
    mask_wrong: frozenset({"window"}),
}
