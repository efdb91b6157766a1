"""The implementation contract: the functions a submission may define (DESIGN.md).

NHWC, float64. ``conv_forward(A_prev, W, b, hparameters) -> (Z, cache)``,
``conv_backward(dZ, cache) -> (dA_prev, dW, db)``, ``pool_forward(A_prev,
hparameters, mode) -> (A, cache)``, ``pool_backward(dA, cache, mode) -> dA_prev``,
``zero_pad(X, pad)``, ``conv_single_step(a_slice_prev, W, b) -> float``,
``create_mask_from_window(x) -> mask``, ``distribute_value(dz, shape) -> array``.
"""

from __future__ import annotations

from typing import Literal

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

# The status of a check in a verdict (the JSON contract's "status").
Status = Literal["pass", "fail", "error", "timeout", "memory", "crashed", "missing"]
STATUSES: tuple[str, ...] = ("pass", "fail", "error", "timeout", "memory", "crashed", "missing")
# The status of one call of a submitted function.
CallStatus = Literal["ok", "error", "timeout", "memory", "crashed", "missing"]
CALL_STATUSES: tuple[str, ...] = ("ok", "error", "timeout", "memory", "crashed", "missing")
# Statuses after which nothing more is asked of the implementation in that check or batch.
FATAL_STATUSES: tuple[str, ...] = ("timeout", "memory", "crashed")
