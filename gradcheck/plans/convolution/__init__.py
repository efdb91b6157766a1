"""The convolution notebook (*Convolutional Model: step by step*): the first assignment gradcheck
checked, and CS231n's ``conv_*_naive`` layers as a convention of it (``gradcheck.conventions``).

Its layers run on the engine of ``gradcheck.engine`` (drawn geometries, batched screening,
shrinking), which names none of them: what the engine needs of them is here.

- ``plan``: the (function, quantity) table, one spec per row (how its cases are drawn and
  judged), and the facts the engine reads from it;
- ``checks``: one case per function (conv, pool and the window helpers);
- ``sampling``: the geometries a case is drawn on, and how a failing one shrinks;
- ``diagnosis``: the likely causes of a failure and the callee to fix first.

This module holds the facts that need no case code: the contract's function names, which
forwards are checked before their backwards, and which functions are checked together.
"""

from __future__ import annotations

# The implementation contract: the functions a submission may define (docs/contracts.md), NHWC,
# float64. ``conv_forward(A_prev, W, b, hparameters) -> (Z, cache)``, ``conv_backward(dZ, cache)
# -> (dA_prev, dW, db)``, ``pool_forward(A_prev, hparameters, mode) -> (A, cache)``,
# ``pool_backward(dA, cache, mode) -> dA_prev``, ``zero_pad(X, pad)``, ``conv_single_step(a_slice_prev,
# W, b) -> float``, ``create_mask_from_window(x) -> mask``, ``distribute_value(dz, shape) -> array``.
CONTRACT_FUNCTIONS: tuple[str, ...] = (
    "zero_pad",
    "conv_single_step",
    "conv_forward",
    "conv_backward",
    "pool_forward",
    "pool_backward",
    "create_mask_from_window",
    "distribute_value",
)

# The forwards whose backwards are finite-differenced through them once they pass (else through
# the reference forward with the contract's cache).
FORWARDS: tuple[str, ...] = ("conv_forward", "pool_forward")

# What a time budget checks together: a forward and its backward (the backward uses the forward's
# own cache), each helper alone.
GROUPS: tuple[tuple[str, ...], ...] = (
    ("zero_pad",),
    ("conv_single_step",),
    ("conv_forward", "conv_backward"),
    ("pool_forward", "pool_backward"),
    ("create_mask_from_window",),
    ("distribute_value",),
)

# The functions a message names as examples of the contract's.
EXAMPLES: tuple[str, ...] = ("conv_forward", "pool_backward")
