"""The implementation contract: the functions a submission may define (DESIGN.md).

NHWC, float64. ``conv_forward(A_prev, W, b, hparameters) -> (Z, cache)``,
``conv_backward(dZ, cache) -> (dA_prev, dW, db)``, ``pool_forward(A_prev,
hparameters, mode) -> (A, cache)``, ``pool_backward(dA, cache, mode) -> dA_prev``,
``zero_pad(X, pad)``, ``conv_single_step(a_slice_prev, W, b) -> float``,
``create_mask_from_window(x) -> mask``, ``distribute_value(dz, shape) -> array``.
"""

from __future__ import annotations

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
