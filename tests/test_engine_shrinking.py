"""A failure shrinks to the smallest failing geometry, and that case is the counterexample."""

from __future__ import annotations

import pytest
from zoo.manifest import load

import gradcheck

MINIMAL = {
    # zoo member -> (function, quantity, what the smallest failing case must be)
    "bug_stride_ignored_conv": ("conv_backward", "dA_prev",
                                {"stride": 2, "f": 1, "pad": 0, "m": 1, "n_C_prev": 1, "n_C": 1}),
    "bug_overlap_assign_conv": ("conv_backward", "dA_prev", {"f": 2, "stride": 1, "pad": 0, "m": 1}),
    "bug_crop_pad_slice": ("conv_backward", "dA_prev", {"pad": 0, "f": 1, "n_H_prev": 1, "n_W_prev": 1}),
    "bug_flipped_kernel": ("conv_backward", "dA_prev", {"f": 2, "m": 1, "n_C_prev": 1, "n_C": 1}),
    "bug_batch_mean": ("conv_backward", "db", {"m": 2, "f": 1, "n_H_prev": 1, "n_W_prev": 1}),
    "bug_wrong_channel": ("conv_backward", "dA_prev", {"n_C": 2, "f": 1, "m": 1}),
    "bug_stride_ignored_pool": ("pool_backward", "dA_prev[average]", {"stride": 2, "f": 1, "m": 1, "n_C": 1}),
}


@pytest.mark.parametrize("member", list(MINIMAL), ids=list(MINIMAL))
def test_counterexample_is_the_smallest_failing_geometry(member):
    function, quantity, expected = MINIMAL[member]
    report = gradcheck.check(load(member), isolate=False, examples=25, only=function)
    check = next(c for c in report.checks if c.quantity == quantity)
    assert check.status in ("fail", "error")
    assert {key: check.counterexample[key] for key in expected} == expected
    rendered = ", ".join(f"{key}={value}" for key, value in check.counterexample.items())
    assert rendered in check.message
