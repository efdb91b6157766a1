"""What the checker must conclude about every zoo member.

``ZOO[name]`` is the expectation for ``tests/zoo/<name>.py``: the contract functions
that must be rejected (status fail or error), those that must pass, the likely
cause the report should name (one of ``DIAGNOSES``, or None when no id fits), and
the failing callee its failing callers must name as their root cause.
``CORRECT`` lists the members that must pass everything. ``load(name)`` imports a
member from its file under a unique module name.
"""

from __future__ import annotations

import functools
import importlib.util
import itertools
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from gradcheck.plans.convolution import CONTRACT_FUNCTIONS
from gradcheck.plans.convolution.diagnosis.causes import CAUSES

ZOO_DIR = Path(__file__).resolve().parent

FUNCTIONS = frozenset(CONTRACT_FUNCTIONS)  # the eight functions of the contract

DIAGNOSES = frozenset(CAUSES) - {"verified_fix"}  # every id a rule names (verified_fix comes from the fix search,
# which the zoo's in-process checks do not run: tests/test_fix_search.py pins it)


@dataclass(frozen=True)
class Expectation:
    failing: frozenset[str]
    passing: frozenset[str]
    diagnosis: str | None = None
    root_cause: str | None = None  # the failing callee the failing callers must name ("fix that first")

    def __post_init__(self) -> None:
        unknown = (self.failing | self.passing) - FUNCTIONS
        if unknown:
            raise ValueError(f"not contract functions: {sorted(unknown)}")
        if self.failing & self.passing:
            raise ValueError(f"both failing and passing: {sorted(self.failing & self.passing)}")
        if not self.failing:
            raise ValueError("a bug member must fail at least one function")
        if self.diagnosis is not None and self.diagnosis not in DIAGNOSES:
            raise ValueError(f"unknown diagnosis id {self.diagnosis!r}")
        if self.root_cause is not None and self.root_cause not in self.failing:
            raise ValueError(f"root cause {self.root_cause!r} is not a failing function")


def _bug(*failing: str, diagnosis: str | None = None, root_cause: str | None = None) -> Expectation:
    """Expectation where every contract function not in ``failing`` must pass."""
    return Expectation(frozenset(failing), FUNCTIONS - frozenset(failing), diagnosis, root_cause)


MASK, SPREAD, STEP = "create_mask_from_window", "distribute_value", "conv_single_step"

ZOO: dict[str, Expectation] = {
    "bug_crop_pad_slice": _bug("conv_backward", diagnosis="pad_zero_crash"),
    "bug_border_windows": _bug("conv_backward", diagnosis="border_only"),
    "bug_pool_float32": _bug("pool_forward", diagnosis="single_precision"),
    "bug_im2col_float32": _bug("conv_forward", diagnosis="single_precision"),
    "bug_stride_ignored_conv": _bug("conv_backward", diagnosis="stride_only"),
    "bug_stride_ignored_conv_forward": _bug("conv_forward", diagnosis="stride_only"),
    "bug_stride_ignored_pool": _bug("pool_backward", diagnosis="stride_only"),
    "bug_overlap_assign_conv": _bug("conv_backward", diagnosis="overlap_only"),
    "bug_overlap_assign_pool": _bug("pool_backward", diagnosis="overlap_only"),
    "bug_fancy_index_conv": _bug("conv_backward", diagnosis="overlap_only"),
    "bug_batch_mean": _bug("conv_backward", diagnosis="batch_averaged"),
    "bug_flipped_kernel": _bug("conv_backward", diagnosis="kernel_flipped"),
    "bug_hw_swapped": _bug("conv_backward", diagnosis="hw_swapped"),
    "bug_wrong_channel": _bug("conv_backward", diagnosis="equals_other_tensor"),
    "bug_db_wrong": _bug("conv_backward", diagnosis="one_example"),
    "bug_dw_unpadded_slice": _bug("conv_backward", diagnosis="pad_only"),
    "bug_mask_min": _bug("create_mask_from_window", "pool_backward", diagnosis="mask_wrong", root_cause=MASK),
    "bug_mask_above_mean": _bug("create_mask_from_window", "pool_backward", diagnosis="mask_wrong", root_cause=MASK),
    "bug_mask_flat_argmax": _bug("create_mask_from_window", "pool_backward", root_cause=MASK),
    "bug_max_pool_grad_everywhere": _bug("pool_backward", diagnosis="other_mode"),
    "bug_distribute_factor": _bug(SPREAD, "pool_backward", diagnosis="distribute_factor", root_cause=SPREAD),
    "bug_avg_no_divide": _bug("pool_backward", diagnosis="distribute_factor"),
    "bug_bias_in_window": _bug("conv_single_step", "conv_forward", diagnosis="bias_in_window", root_cause=STEP),
    "bug_float_b": _bug("conv_single_step", "conv_forward", diagnosis="numpy2_float", root_cause=STEP),
    "bug_zero_pad_all_axes": _bug("zero_pad", "conv_forward", "conv_backward", root_cause="zero_pad"),
    "bug_modifies_input": _bug("pool_backward", diagnosis="input_modified"),
    "bug_pool_ceil": _bug("pool_forward", diagnosis="wrong_shape"),
    "bug_pool_mode_keyword_only": _bug("pool_backward", diagnosis="call_signature"),
    "bug_nchw_forward": _bug("conv_forward", diagnosis="layout"),
    "bug_kernel_transposed": _bug("conv_forward", diagnosis="kernel_transposed"),
    "bug_pool_max_from_zero": _bug("pool_forward", diagnosis="max_from_zero"),
    # one realistic mistake each, in the course's loop style (see each file's docstring)
    "bug_pool_skip_last_row": _bug("pool_backward", diagnosis="skipped_windows"),
    "bug_conv_skip_last_col": _bug("conv_backward", diagnosis="skipped_windows"),
    "bug_conv_skip_first_row": _bug("conv_backward", diagnosis="skipped_windows"),
    "bug_dw_assign": _bug("conv_backward", diagnosis="overwritten"),
    "bug_da_prev_not_reset": _bug("conv_backward", diagnosis="not_reset_per_example"),
    "bug_avg_divide_f": _bug("pool_backward", diagnosis="distribute_factor"),
    "bug_pool_window_off_by_one": _bug("pool_forward", diagnosis="window_size"),
    "bug_avg_mode_typo": _bug("pool_backward", diagnosis="all_zero"),
    "bug_pool_forward_modes_swapped": _bug("pool_forward", diagnosis="other_mode"),
    "bug_no_bias": _bug("conv_single_step", "conv_forward", diagnosis="bias_missing", root_cause=STEP),
    "bug_zero_pad_h_and_m": _bug("zero_pad", "conv_forward", "conv_backward", root_cause="zero_pad"),
    "bug_crop_offset": _bug("conv_backward", diagnosis="crop_offset"),
    "bug_dw_uses_w": _bug("conv_backward", diagnosis="equals_other_tensor"),
    "bug_output_size_pad": _bug("conv_forward", diagnosis="wrong_shape"),
    "bug_hw_loop_bounds": _bug("conv_backward", diagnosis="nonsquare_only"),
    "bug_dw_reset_per_example": _bug("conv_backward", diagnosis="one_example"),
    "bug_pool_forward_skip_last_col": _bug("pool_forward", diagnosis="unwritten_outputs"),
    "bug_db_mean": _bug("conv_backward", diagnosis="constant_factor"),
    "bug_dw_example0": _bug("conv_backward", diagnosis="batch_only"),
    "bug_db_all_channels": _bug("conv_backward", diagnosis="channels_only"),
    "bug_pool_mask_other_channel": _bug("pool_backward", diagnosis="channels_only"),
    "bug_avg_window_stride": _bug("pool_backward"),
    "bug_dw_starts_from_w": _bug("conv_backward", diagnosis="starts_from_input"),
    "bug_crop_outside_example_loop": _bug("conv_backward", diagnosis="one_example"),
    "bug_avg_forward_divide_f": _bug("pool_forward", diagnosis="constant_factor"),
    "bug_mask_axis_max": _bug("create_mask_from_window", "pool_backward", diagnosis="mask_wrong", root_cause=MASK),
    "bug_distribute_precedence": _bug(SPREAD, "pool_backward", diagnosis="distribute_factor", root_cause=SPREAD),
    "bug_mask_times_value": _bug("create_mask_from_window", "pool_backward", diagnosis="mask_wrong", root_cause=MASK),
    # right on the usual calls, wrong on calls as real code makes them (see gradcheck.engine.numeric's flags)
    "bug_pool_default_average": _bug("pool_forward", diagnosis="default_mode"),
    "bug_hparameters_by_position": _bug("conv_forward", diagnosis="key_order"),
    "bug_pool_skip_zero_gradient": _bug("pool_backward", diagnosis="zero_upstream"),
    "bug_pool_strides_by_hand": _bug("pool_forward", diagnosis="memory_layout"),
    "bug_conv_reused_output": _bug("conv_forward", diagnosis="reused_buffer"),
}

CORRECT: list[str] = [
    "correct_course",
    "correct_einsum",
    "correct_scipy",
    "correct_transposed_loops",
    "correct_fft",
    "correct_winograd",
    "correct_reordered",
]

# correct members whose convolutions round norm-wise (FFT, Winograd): the engine's
# false-failure test stresses them on many generated cases
TRANSFORM: list[str] = ["correct_fft", "correct_winograd", "correct_reordered"]

_counter = itertools.count()


def path(name: str) -> Path:
    """The file of zoo member ``name``."""
    file = ZOO_DIR / f"{name}.py"
    if not file.is_file():
        raise FileNotFoundError(f"no zoo member {name!r} (looked for {file})")
    return file


def load(name: str) -> ModuleType:
    """Import zoo member ``name`` from its file as a fresh module ``gradcheck_zoo_<name>_<n>``."""
    file = path(name)
    if str(ZOO_DIR) not in sys.path:  # members build on course_loops.py beside them
        sys.path.insert(0, str(ZOO_DIR))
    spec = importlib.util.spec_from_file_location(f"gradcheck_zoo_{name}_{next(_counter)}", file)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


CHECK_EXAMPLES = 8  # generated cases per check when the tests run a member through the engine


@functools.cache
def checked(name: str):
    """``gradcheck.check`` of zoo member ``name`` in process (cached for the session: the verdict
    and diagnosis tests share one run per member)."""
    import warnings

    import gradcheck

    with warnings.catch_warnings():
        # bug_pool_ceil averages the empty windows past the edge: numpy warns, in the member's code
        warnings.simplefilter("ignore", RuntimeWarning)
        return gradcheck.check(load(name), isolate=False, examples=CHECK_EXAMPLES, seed=0)
