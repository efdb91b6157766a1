"""Each zoo member is what the manifest says it is, proven without the checker engine.

Every bug member's failing functions differ from the reference (or raise) on an
explicit, valid, tie-free geometry; where the member's docstring says the bug is
invisible (stride 1 for stride bugs, pad 0 for padding bugs, ...) it matches the
reference there. Every function the manifest lists as passing, and every function of
every correct member, matches the reference on geometries with overlapping windows,
non-square inputs, stride > f, pad = 0 and f = 1. The ``relation`` tests pin the
shape of the error (a factor m, a transpose, a flipped kernel, ...).
"""

from __future__ import annotations

import ast
import copy
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from zoo.manifest import CORRECT, FUNCTIONS, ZOO, ZOO_DIR, load

import reference

RTOL, ATOL = 1e-9, 1e-12
POOL_FUNCTIONS = {"pool_forward", "pool_backward"}


@dataclass(frozen=True)
class Geo:
    """Conv geometry; pooling uses n_H, n_W, n_C_prev (as its n_C), f and stride."""

    m: int
    n_H: int
    n_W: int
    n_C_prev: int
    n_C: int
    f: int
    stride: int
    pad: int

    def __str__(self) -> str:
        return (
            f"m={self.m},{self.n_H}x{self.n_W}x{self.n_C_prev}->{self.n_C},"
            f"f={self.f},stride={self.stride},pad={self.pad}"
        )

    def out(self, pad: int) -> tuple[int, int]:
        return (
            (self.n_H + 2 * pad - self.f) // self.stride + 1,
            (self.n_W + 2 * pad - self.f) // self.stride + 1,
        )


OVERLAP = Geo(2, 5, 6, 3, 2, f=3, stride=1, pad=1)  # stride < f, pad > 0, non-square
OVERLAP_S2 = Geo(2, 7, 5, 2, 2, f=3, stride=2, pad=1)  # stride 2 < f, windows tile
STRIDE_GT_F = Geo(2, 7, 8, 2, 3, f=2, stride=3, pad=0)  # disjoint windows with gaps
PAD0_NONTILING = Geo(2, 6, 7, 2, 2, f=3, stride=2, pad=0)  # (6 - 3) % 2 != 0
STRIDE_EQ_F = Geo(3, 4, 5, 1, 2, f=2, stride=2, pad=2)  # disjoint, touching windows
F1 = Geo(1, 4, 3, 2, 3, f=1, stride=1, pad=2)
F1_C1 = Geo(2, 4, 3, 1, 2, f=1, stride=2, pad=1)  # f*f*n_C_prev == 1
M1 = Geo(1, 5, 4, 2, 3, f=3, stride=2, pad=1)
C1 = Geo(2, 5, 5, 3, 1, f=3, stride=2, pad=1)  # one filter

STANDARD = [OVERLAP, OVERLAP_S2, STRIDE_GT_F, PAD0_NONTILING, STRIDE_EQ_F, F1]


def tie_free(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Distinct float64 values in [-2, 2), at least 4 / size apart: no window has a tie."""
    n = int(np.prod(shape))
    values = rng.permutation(n) + rng.uniform(0.1, 0.9, n)
    return (values / n * 4.0 - 2.0).reshape(shape)


def make_args(function: str, geo: Geo, mode: str | None, seed: int, call: str = "usual") -> tuple[Any, ...]:
    """Fresh arguments for ``function`` on ``geo``; random upstream gradients, float64. ``call``:
    how real code may call it besides the usual way (``Case.call``)."""
    args = _usual_args(function, geo, mode, seed)
    if call == "no_mode":  # as the course's notebook calls pool_forward(A_prev, hparameters)
        assert function in POOL_FUNCTIONS and mode == "max"
        return args[:-1]
    if call == "course_order":  # {"pad": .., "stride": ..}, {"stride": .., "f": ..}
        return _course_order(args)
    if call == "zeros":  # about half of the upstream gradient exactly 0, as after a ReLU
        upstream = args[0].copy()
        upstream[np.random.default_rng(seed + 100).random(upstream.shape) < 0.5] = 0.0
        return (upstream, *args[1:])
    if call == "fortran":
        return tuple(np.asfortranarray(a) if isinstance(a, np.ndarray) else a for a in args)
    if call == "strided":  # every other element of a larger buffer: neither C nor F order
        return tuple(_strided(a) if isinstance(a, np.ndarray) else a for a in args)
    return args


def _course_order(value: Any) -> Any:
    """``value`` with every dict in it (hparameters, in a cache too) in the reverse key order."""
    if isinstance(value, dict):
        return dict(reversed(list(value.items())))
    if isinstance(value, tuple):
        return tuple(_course_order(item) for item in value)
    return value


def _strided(array: np.ndarray) -> np.ndarray:
    buffer = np.full(tuple(2 * n for n in array.shape), np.nan)
    view = buffer[tuple(slice(None, None, 2) for _ in array.shape)]
    view[...] = array
    return view


def _usual_args(function: str, geo: Geo, mode: str | None, seed: int) -> tuple[Any, ...]:
    rng = np.random.default_rng(seed)
    g = geo
    if function == "zero_pad":
        return (tie_free(rng, (g.m, g.n_H, g.n_W, g.n_C_prev)), g.pad)
    if function == "conv_single_step":
        shape = (g.f, g.f, g.n_C_prev)
        return (tie_free(rng, shape), rng.standard_normal(shape), rng.standard_normal((1, 1, 1)))
    if function in ("conv_forward", "conv_backward"):
        A_prev = tie_free(rng, (g.m, g.n_H, g.n_W, g.n_C_prev))
        W = rng.standard_normal((g.f, g.f, g.n_C_prev, g.n_C))
        b = rng.standard_normal((1, 1, 1, g.n_C))
        hp = {"stride": g.stride, "pad": g.pad}
        if function == "conv_forward":
            return (A_prev, W, b, hp)
        dZ = rng.standard_normal((g.m, *g.out(g.pad), g.n_C))
        return (dZ, (A_prev, W, b, hp))
    if function in POOL_FUNCTIONS:
        A_prev = tie_free(rng, (g.m, g.n_H, g.n_W, g.n_C_prev))
        hp = {"f": g.f, "stride": g.stride}
        if function == "pool_forward":
            return (A_prev, hp, mode)
        dA = rng.standard_normal((g.m, *g.out(0), g.n_C_prev))
        return (dA, (A_prev, hp), mode)
    if function == "create_mask_from_window":
        return (tie_free(rng, (g.f, g.f)),)
    if function == "distribute_value":
        return (float(rng.standard_normal()), (g.f, g.f))
    raise AssertionError(f"unknown function {function}")


def outputs(function: str, result: Any) -> list[np.ndarray]:
    """The checked outputs as float arrays: Z or A (not the cache), the gradients, ..."""
    if function in ("conv_forward", "pool_forward"):
        result = result[0]
    if function == "conv_backward":
        return [np.asarray(r, dtype=np.float64) for r in result]
    return [np.asarray(result, dtype=np.float64)]


def same(a: list[np.ndarray], b: list[np.ndarray]) -> bool:
    return len(a) == len(b) and all(
        x.shape == y.shape and np.allclose(x, y, rtol=RTOL, atol=ATOL)
        for x, y in zip(a, b, strict=True)
    )


def leaves(tree: Any) -> list[np.ndarray]:
    if isinstance(tree, np.ndarray):
        return [tree]
    if isinstance(tree, tuple | list):
        return [leaf for item in tree for leaf in leaves(item)]
    if isinstance(tree, dict):
        return [leaf for item in tree.values() for leaf in leaves(item)]
    return []


def run(module: Any, function: str, geo: Geo, mode: str | None, seed: int = 0, call: str = "usual"):
    """Call ``module.function`` and the reference on the same fresh arguments (``call``: how,
    see ``Case.call``; ``"again"``: the member's result is read after a second call on other inputs).

    Returns (member outputs, reference outputs, whether the member modified an input).
    """
    args = make_args(function, geo, mode, seed, "usual" if call == "again" else call)
    pristine = copy.deepcopy(args)
    result = getattr(module, function)(*args)
    if call == "again":
        getattr(module, function)(*make_args(function, geo, mode, seed + 1))
    got = outputs(function, result)
    mutated = not all(
        np.array_equal(x, y) for x, y in zip(leaves(args), leaves(pristine), strict=True)
    )
    want = outputs(function, getattr(reference, function)(*pristine))
    return got, want, mutated


def modes(function: str) -> list[str | None]:
    return ["max", "average"] if function in POOL_FUNCTIONS else [None]


@dataclass(frozen=True)
class Case:
    function: str
    geo: Geo
    mode: str | None = None
    expect: str = "differs"  # "differs" (or raises), "matches", "mutates"
    raises: type[Exception] | None = None
    # how the function is called: "usual"; "no_mode" (pooling without mode), "course_order"
    # (hparameters' keys in the course's order), "zeros" (half the upstream gradient 0), "fortran",
    # "strided" (arrays in those layouts), "again" (the result read after a second call)
    call: str = "usual"

    def label(self) -> str:
        mode = f"[{self.mode}]" if self.mode else ""
        how = "" if self.call == "usual" else f" {self.call}"
        return f"{self.function}{mode}({self.geo}){how}"


def _both(function: str, geo: Geo, expect: str = "differs") -> list[Case]:
    return [Case(function, geo, mode, expect) for mode in ("max", "average")]


def _bw(geo: Geo, expect: str = "differs", raises: type[Exception] | None = None) -> Case:
    return Case("conv_backward", geo, None, expect, raises)


# name -> cases. "differs": the bug shows; "matches": the docstring says it is invisible here.
WITNESSES: dict[str, list[Case]] = {
    "bug_crop_pad_slice": [
        _bw(STRIDE_GT_F, raises=ValueError),
        _bw(PAD0_NONTILING, raises=ValueError),
        _bw(OVERLAP, "matches"),
        _bw(STRIDE_EQ_F, "matches"),
    ],
    "bug_border_windows": [
        _bw(OVERLAP),
        _bw(STRIDE_EQ_F),
        _bw(PAD0_NONTILING, "matches"),
        _bw(STRIDE_GT_F, "matches"),
        _bw(F1, "matches"),
    ],
    "bug_stride_ignored_conv": [_bw(OVERLAP_S2), _bw(STRIDE_GT_F), _bw(OVERLAP, "matches")],
    "bug_stride_ignored_conv_forward": [
        Case("conv_forward", OVERLAP_S2),
        Case("conv_forward", STRIDE_GT_F),
        Case("conv_forward", OVERLAP, expect="matches"),
        Case("conv_forward", F1, expect="matches"),
    ],
    "bug_stride_ignored_pool": [
        *_both("pool_backward", OVERLAP_S2),
        *_both("pool_backward", STRIDE_GT_F),
        *_both("pool_backward", OVERLAP, "matches"),
    ],
    "bug_overlap_assign_conv": [
        _bw(OVERLAP),
        _bw(OVERLAP_S2),
        _bw(STRIDE_GT_F, "matches"),
        _bw(STRIDE_EQ_F, "matches"),
        _bw(F1, "matches"),
    ],
    "bug_overlap_assign_pool": [
        *_both("pool_backward", OVERLAP),
        *_both("pool_backward", OVERLAP_S2),
        *_both("pool_backward", STRIDE_GT_F, "matches"),
        *_both("pool_backward", STRIDE_EQ_F, "matches"),
    ],
    "bug_fancy_index_conv": [
        _bw(OVERLAP),
        _bw(OVERLAP_S2),
        _bw(STRIDE_GT_F, "matches"),
        _bw(STRIDE_EQ_F, "matches"),
        _bw(F1, "matches"),
    ],
    "bug_batch_mean": [_bw(OVERLAP), _bw(STRIDE_EQ_F), _bw(M1, "matches"), _bw(F1, "matches")],
    "bug_flipped_kernel": [
        _bw(OVERLAP),
        _bw(STRIDE_GT_F),
        _bw(F1, "matches"),
        _bw(F1_C1, "matches"),
    ],
    "bug_hw_swapped": [_bw(OVERLAP), _bw(STRIDE_GT_F), _bw(F1, "matches"), _bw(F1_C1, "matches")],
    "bug_wrong_channel": [_bw(OVERLAP), _bw(STRIDE_GT_F), _bw(C1, "matches")],
    "bug_db_wrong": [_bw(OVERLAP), _bw(STRIDE_EQ_F), _bw(M1, "matches"), _bw(F1, "matches")],
    "bug_dw_unpadded_slice": [
        _bw(OVERLAP),
        _bw(OVERLAP_S2),
        _bw(STRIDE_GT_F, "matches"),
        _bw(PAD0_NONTILING, "matches"),
    ],
    "bug_mask_min": [
        Case("create_mask_from_window", OVERLAP),
        Case("create_mask_from_window", STRIDE_GT_F),
        Case("pool_backward", OVERLAP, "max"),
        Case("create_mask_from_window", F1, expect="matches"),
        *_both("pool_backward", F1, "matches"),
        Case("pool_backward", OVERLAP, "average", "matches"),
    ],
    "bug_mask_above_mean": [
        Case("create_mask_from_window", OVERLAP),
        Case("create_mask_from_window", F1),  # a 1x1 window gets no gradient at all
        Case("pool_backward", OVERLAP, "max"),
        Case("pool_backward", F1, "max"),
        Case("pool_backward", OVERLAP, "average", "matches"),
    ],
    "bug_mask_flat_argmax": [
        Case("create_mask_from_window", OVERLAP),
        Case("create_mask_from_window", STRIDE_GT_F),
        Case("pool_backward", OVERLAP, "max"),
        Case("create_mask_from_window", F1, expect="matches"),
        *_both("pool_backward", F1, "matches"),
        Case("pool_backward", OVERLAP, "average", "matches"),
    ],
    "bug_max_pool_grad_everywhere": [
        Case("pool_backward", OVERLAP, "max"),
        Case("pool_backward", STRIDE_GT_F, "max"),
        *_both("pool_backward", F1, "matches"),
        Case("pool_backward", OVERLAP, "average", "matches"),
    ],
    "bug_distribute_factor": [
        Case("distribute_value", OVERLAP),
        Case("distribute_value", STRIDE_GT_F),
        Case("pool_backward", OVERLAP, "average"),
        Case("distribute_value", F1, expect="matches"),
        *_both("pool_backward", F1, "matches"),
        Case("pool_backward", OVERLAP, "max", "matches"),
    ],
    "bug_avg_no_divide": [
        Case("pool_backward", OVERLAP, "average"),
        Case("pool_backward", STRIDE_GT_F, "average"),
        *_both("pool_backward", F1, "matches"),
        Case("pool_backward", OVERLAP, "max", "matches"),
    ],
    "bug_bias_in_window": [
        Case("conv_single_step", OVERLAP),
        Case("conv_single_step", F1),  # f*f*n_C_prev = 2
        Case("conv_forward", OVERLAP),
        Case("conv_forward", STRIDE_GT_F),
        Case("conv_single_step", F1_C1, expect="matches"),
        Case("conv_forward", F1_C1, expect="matches"),
    ],
    "bug_float_b": [
        Case("conv_single_step", OVERLAP, raises=TypeError),
        Case("conv_single_step", F1_C1, raises=TypeError),
        Case("conv_forward", OVERLAP, raises=TypeError),
        Case("conv_forward", STRIDE_GT_F, raises=TypeError),
    ],
    "bug_zero_pad_all_axes": [
        Case("zero_pad", OVERLAP),
        Case("conv_forward", OVERLAP),
        Case("conv_forward", STRIDE_EQ_F),
        _bw(OVERLAP),
        _bw(STRIDE_EQ_F),
        Case("zero_pad", PAD0_NONTILING, expect="matches"),
        Case("conv_forward", PAD0_NONTILING, expect="matches"),
        _bw(PAD0_NONTILING, "matches"),
        _bw(STRIDE_GT_F, "matches"),
    ],
    "bug_modifies_input": [
        Case("pool_backward", OVERLAP, "average", "mutates"),
        Case("pool_backward", STRIDE_GT_F, "average", "mutates"),
        *_both("pool_backward", F1, "matches"),
        Case("pool_backward", OVERLAP, "max", "matches"),
    ],
    "bug_pool_mode_keyword_only": [
        Case("pool_backward", OVERLAP, "max", raises=TypeError),
        Case("pool_backward", STRIDE_GT_F, "average", raises=TypeError),
    ],
    "bug_nchw_forward": [Case("conv_forward", OVERLAP), Case("conv_forward", STRIDE_GT_F)],
    "bug_pool_max_from_zero": [Case("pool_forward", F1, "max"), Case("pool_forward", STRIDE_GT_F, "max"),
                               Case("pool_forward", OVERLAP, "average", expect="matches")],
    "bug_kernel_transposed": [Case("conv_forward", OVERLAP), Case("conv_forward", STRIDE_GT_F),
                              Case("conv_forward", F1, expect="matches")],
    "bug_pool_float32": [*_both("pool_forward", OVERLAP), *_both("pool_forward", STRIDE_GT_F)],
    "bug_im2col_float32": [Case("conv_forward", OVERLAP), Case("conv_forward", STRIDE_GT_F)],
    "bug_pool_ceil": [
        *_both("pool_forward", PAD0_NONTILING),
        *_both("pool_forward", STRIDE_GT_F),
        *_both("pool_forward", OVERLAP, "matches"),
        *_both("pool_forward", OVERLAP_S2, "matches"),
    ],
    "bug_pool_skip_last_row": [*_both("pool_backward", OVERLAP), *_both("pool_backward", STRIDE_GT_F)],
    "bug_conv_skip_last_col": [_bw(OVERLAP), _bw(STRIDE_GT_F), _bw(F1)],
    "bug_conv_skip_first_row": [_bw(OVERLAP), _bw(STRIDE_GT_F), _bw(F1)],
    "bug_dw_assign": [_bw(OVERLAP), _bw(STRIDE_GT_F), _bw(Geo(1, 2, 2, 2, 2, f=2, stride=1, pad=0), "matches")],
    "bug_da_prev_not_reset": [_bw(OVERLAP), _bw(STRIDE_GT_F), _bw(M1, "matches")],
    "bug_avg_divide_f": [
        Case("pool_backward", OVERLAP, "average"),
        Case("pool_backward", STRIDE_GT_F, "average"),
        *_both("pool_backward", F1, "matches"),
        Case("pool_backward", OVERLAP, "max", "matches"),
    ],
    "bug_pool_window_off_by_one": [*_both("pool_forward", OVERLAP), *_both("pool_forward", STRIDE_GT_F)],
    "bug_avg_mode_typo": [
        Case("pool_backward", OVERLAP, "average"),
        Case("pool_backward", F1, "average"),
        Case("pool_backward", OVERLAP, "max", "matches"),
    ],
    "bug_pool_forward_modes_swapped": [*_both("pool_forward", OVERLAP), *_both("pool_forward", F1, "matches")],
    "bug_no_bias": [
        Case("conv_single_step", OVERLAP),
        Case("conv_forward", OVERLAP),
        Case("conv_forward", STRIDE_GT_F),
    ],
    "bug_zero_pad_h_and_m": [
        Case("zero_pad", OVERLAP, raises=None),
        Case("conv_forward", OVERLAP, raises=ValueError),
        _bw(OVERLAP, raises=ValueError),
        Case("zero_pad", PAD0_NONTILING, expect="matches"),
        Case("conv_forward", PAD0_NONTILING, expect="matches"),
        _bw(PAD0_NONTILING, "matches"),
    ],
    "bug_crop_offset": [_bw(OVERLAP), _bw(STRIDE_EQ_F), _bw(PAD0_NONTILING, "matches"), _bw(STRIDE_GT_F, "matches")],
    "bug_dw_uses_w": [_bw(OVERLAP), _bw(STRIDE_GT_F)],
    "bug_output_size_pad": [
        Case("conv_forward", OVERLAP),
        Case("conv_forward", STRIDE_EQ_F),
        Case("conv_forward", PAD0_NONTILING, expect="matches"),
        Case("conv_forward", STRIDE_GT_F, expect="matches"),
    ],
    "bug_hw_loop_bounds": [
        _bw(OVERLAP),
        _bw(STRIDE_GT_F),
        _bw(Geo(2, 5, 5, 2, 2, f=3, stride=1, pad=1), "matches"),
    ],
    "bug_dw_reset_per_example": [_bw(OVERLAP), _bw(STRIDE_GT_F), _bw(M1, "matches")],
    "bug_pool_forward_skip_last_col": [*_both("pool_forward", OVERLAP), *_both("pool_forward", STRIDE_GT_F)],
    "bug_db_mean": [_bw(OVERLAP), _bw(STRIDE_GT_F)],
    "bug_dw_example0": [_bw(OVERLAP), _bw(STRIDE_GT_F), _bw(M1, "matches")],
    "bug_db_all_channels": [_bw(OVERLAP), _bw(STRIDE_GT_F), _bw(C1, "matches")],
    "bug_pool_mask_other_channel": [
        Case("pool_backward", OVERLAP, "max"),
        Case("pool_backward", STRIDE_GT_F, "max"),
        Case("pool_backward", STRIDE_EQ_F, "max", "matches"),  # one channel
        Case("pool_backward", OVERLAP, "average", "matches"),
    ],
    "bug_dw_starts_from_w": [_bw(OVERLAP), _bw(STRIDE_GT_F), _bw(F1)],
    "bug_crop_outside_example_loop": [_bw(OVERLAP), _bw(STRIDE_GT_F), _bw(M1, "matches")],
    "bug_avg_window_stride": [
        Case("pool_backward", OVERLAP, "average"),  # stride 1: f*f times too much
        Case("pool_backward", STRIDE_GT_F, "average"),  # a 3x3 share on a 2x2 window: a crash
        Case("pool_backward", STRIDE_EQ_F, "average", "matches"),
        Case("pool_backward", OVERLAP, "max", "matches"),
    ],
    "bug_avg_forward_divide_f": [
        Case("pool_forward", OVERLAP, "average"),
        Case("pool_forward", STRIDE_GT_F, "average"),
        *_both("pool_forward", F1, "matches"),
        Case("pool_forward", OVERLAP, "max", "matches"),
    ],
    "bug_mask_axis_max": [
        Case("create_mask_from_window", OVERLAP),
        Case("pool_backward", OVERLAP, "max"),
        Case("create_mask_from_window", F1, expect="matches"),
        Case("pool_backward", OVERLAP, "average", "matches"),
    ],
    "bug_distribute_precedence": [
        Case("distribute_value", OVERLAP),
        Case("pool_backward", OVERLAP, "average"),
        Case("distribute_value", F1, expect="matches"),
        Case("pool_backward", OVERLAP, "max", "matches"),
    ],
    "bug_mask_times_value": [
        Case("create_mask_from_window", OVERLAP),
        Case("pool_backward", OVERLAP, "max"),
        Case("pool_backward", OVERLAP, "average", "matches"),
    ],
    "bug_pool_default_average": [
        Case("pool_forward", OVERLAP, "max", call="no_mode"),
        Case("pool_forward", STRIDE_GT_F, "max", call="no_mode"),
        *_both("pool_forward", OVERLAP, "matches"),
    ],
    "bug_hparameters_by_position": [
        Case("conv_forward", OVERLAP_S2, call="course_order"),  # stride 2, pad 1 read as stride 1, pad 2
        Case("conv_forward", STRIDE_GT_F, call="course_order"),  # pad 0 read as the stride: a crash
        Case("conv_forward", OVERLAP_S2, expect="matches"),
        Case("conv_forward", OVERLAP, expect="matches", call="course_order"),  # stride == pad
    ],
    "bug_pool_skip_zero_gradient": [
        Case("pool_backward", OVERLAP, "max", call="zeros"),
        Case("pool_backward", OVERLAP, "average", call="zeros"),
        *_both("pool_backward", OVERLAP, "matches"),
    ],
    "bug_pool_strides_by_hand": [
        *[Case("pool_forward", OVERLAP, mode, call="fortran") for mode in ("max", "average")],
        Case("pool_forward", STRIDE_GT_F, "max", call="strided"),
        *_both("pool_forward", OVERLAP, "matches"),
        *_both("pool_forward", STRIDE_GT_F, "matches"),
    ],
    "bug_conv_reused_output": [
        Case("conv_forward", OVERLAP, call="again"),
        Case("conv_forward", OVERLAP, expect="matches"),
    ],
}


def _cases(*expects: str) -> list[Any]:
    return [
        pytest.param(name, case, id=f"{name}:{case.label()}")
        for name, cases in WITNESSES.items()
        for case in cases
        if case.expect in expects
    ]


# --- the manifest and the files agree ---------------------------------------------------


def test_manifest_lists_every_zoo_file():
    files = {p.stem for pattern in ("bug_*.py", "correct_*.py") for p in ZOO_DIR.glob(pattern)}
    assert files == set(ZOO) | set(CORRECT)
    assert all(name.startswith("bug_") for name in ZOO)
    assert all(name.startswith("correct_") for name in CORRECT)
    assert len(ZOO) >= 40 and len(CORRECT) >= 7


def test_every_bug_member_has_witnesses_for_exactly_its_failing_functions():
    assert set(WITNESSES) == set(ZOO)
    for name, expectation in ZOO.items():
        shown = {c.function for c in WITNESSES[name] if c.expect in ("differs", "mutates")}
        assert shown == set(expectation.failing), name


@pytest.mark.parametrize("name", [*ZOO, *CORRECT])
def test_member_exposes_the_contract_and_says_what_it_is(name):
    module = load(name)
    assert all(callable(getattr(module, function, None)) for function in FUNCTIONS)
    doc = module.__doc__ or ""
    assert doc.startswith("Bug:" if name.startswith("bug_") else "Correct:"), name
    if name.startswith("bug_"):
        assert "Breaks:" in doc, name
        for function in ZOO[name].failing:
            assert function in doc.split("Breaks:")[1], (name, function)


@pytest.mark.parametrize("name", CORRECT)
def test_correct_members_do_not_import_the_reference(name):
    tree = ast.parse((ZOO_DIR / f"{name}.py").read_text())
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {
        (node.module or "").split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
    }
    assert imported <= {"numpy", "scipy"}, imported


# --- each bug is real, and invisible where its docstring says ---------------------------


@pytest.mark.parametrize(("name", "case"), _cases("differs"))
def test_bug_shows(name, case):
    module = load(name)
    if case.raises is not None:
        with pytest.raises(case.raises):
            run(module, case.function, case.geo, case.mode, call=case.call)
        return
    try:
        got, want, _ = run(module, case.function, case.geo, case.mode, call=case.call)
    except Exception:  # a crash is a visible bug too
        return
    assert not same(got, want), f"{name}.{case.label()} matches the reference"


@pytest.mark.parametrize(("name", "case"), _cases("mutates"))
def test_bug_modifies_an_input(name, case):
    got, want, mutated = run(load(name), case.function, case.geo, case.mode, call=case.call)
    assert same(got, want) and mutated


@pytest.mark.parametrize(("name", "case"), _cases("matches"))
def test_bug_invisible(name, case):
    got, want, mutated = run(load(name), case.function, case.geo, case.mode, call=case.call)
    assert same(got, want) and not mutated


# --- everything else is right ----------------------------------------------------------


def _check_all_geometries(module: Any, function: str) -> None:
    for geo in STANDARD:
        for mode in modes(function):
            for seed in (0, 1):
                got, want, mutated = run(module, function, geo, mode, seed)
                assert same(got, want), f"{function}[{mode}] differs on {geo} seed {seed}"
                assert not mutated, f"{function}[{mode}] modified an input on {geo}"


@pytest.mark.parametrize(
    ("name", "function"),
    [pytest.param(n, f, id=f"{n}:{f}") for n, e in ZOO.items() for f in sorted(e.passing)],
)
def test_passing_function_matches_reference(name, function):
    _check_all_geometries(load(name), function)


@pytest.mark.parametrize(
    ("name", "function"),
    [pytest.param(n, f, id=f"{n}:{f}") for n in CORRECT for f in sorted(FUNCTIONS)],
)
def test_correct_member_matches_reference(name, function):
    _check_all_geometries(load(name), function)


def test_course_mask_marks_every_tied_maximum():
    """The course's ``x == np.max(x)`` is k-hot at a k-way tie (a warning, not a failure)."""
    mask = load("correct_course").create_mask_from_window(np.array([[1.0, 3.0], [3.0, 0.0]]))
    assert np.asarray(mask, dtype=float).sum() == 2


# --- the shape of each error -----------------------------------------------------------


def _conv_backward(name: str, geo: Geo, seed: int = 0):
    args = make_args("conv_backward", geo, None, seed)
    return args, load(name).conv_backward(*copy.deepcopy(args)), reference.conv_backward(*args)


def test_relation_batch_mean_divides_dW_and_db_by_m():
    _, (dA, dW, db), (rdA, rdW, rdb) = _conv_backward("bug_batch_mean", OVERLAP)
    np.testing.assert_allclose(dA, rdA)
    np.testing.assert_allclose(dW * OVERLAP.m, rdW)
    np.testing.assert_allclose(db * OVERLAP.m, rdb)


def test_relation_hw_swapped_transposes_dW():
    _, (dA, dW, db), (rdA, rdW, rdb) = _conv_backward("bug_hw_swapped", OVERLAP)
    np.testing.assert_allclose(dA, rdA)
    np.testing.assert_allclose(dW, rdW.transpose(1, 0, 2, 3))
    np.testing.assert_allclose(db, rdb)


def test_relation_flipped_kernel_is_the_gradient_of_the_rotated_kernel():
    (dZ, (A_prev, W, b, hp)), (dA, dW, _), (_, rdW, _) = _conv_backward(
        "bug_flipped_kernel", OVERLAP_S2
    )
    rotated, _, _ = reference.conv_backward(dZ, (A_prev, W[::-1, ::-1].copy(), b, hp))
    np.testing.assert_allclose(dA, rotated)
    np.testing.assert_allclose(dW, rdW)


def test_relation_db_wrong_keeps_the_last_example():
    (dZ, _), (dA, dW, db), (rdA, rdW, _) = _conv_backward("bug_db_wrong", OVERLAP)
    np.testing.assert_allclose(db, dZ[-1].sum(axis=(0, 1)).reshape(1, 1, 1, -1))
    np.testing.assert_allclose(dA, rdA)
    np.testing.assert_allclose(dW, rdW)


def _coverage(n: int, f: int, stride: int, pad: int, n_out: int) -> np.ndarray:
    """How many windows cover each unpadded index along one axis."""
    count = np.zeros(n + 2 * pad, dtype=int)
    for h in range(n_out):
        count[h * stride : h * stride + f] += 1
    return count[pad : pad + n]


@pytest.mark.parametrize("geo", [OVERLAP, OVERLAP_S2], ids=str)
def test_relation_border_windows_errs_only_near_the_border(geo):
    _, (dA, dW, db), (rdA, rdW, rdb) = _conv_backward("bug_border_windows", geo)
    wrong = ~np.isclose(dA, rdA, rtol=RTOL, atol=ATOL)
    assert wrong.any()
    border = np.ones((geo.n_H, geo.n_W), dtype=bool)
    border[geo.f - 1 : geo.n_H - geo.f + 1, geo.f - 1 : geo.n_W - geo.f + 1] = False
    assert not (wrong & ~border[None, :, :, None]).any()
    np.testing.assert_allclose(dW, rdW)
    np.testing.assert_allclose(db, rdb)


@pytest.mark.parametrize("name", ["bug_overlap_assign_conv", "bug_fancy_index_conv"])
def test_relation_overlap_conv_errs_only_where_windows_overlap(name):
    geo = OVERLAP_S2
    _, (dA, dW, db), (rdA, rdW, rdb) = _conv_backward(name, geo)
    n_H, n_W = geo.out(geo.pad)
    rows = _coverage(geo.n_H, geo.f, geo.stride, geo.pad, n_H)
    cols = _coverage(geo.n_W, geo.f, geo.stride, geo.pad, n_W)
    shared = (rows[:, None] > 1) | (cols[None, :] > 1)
    wrong = ~np.isclose(dA, rdA, rtol=RTOL, atol=ATOL)
    assert wrong.any() and not (wrong & ~shared[None, :, :, None]).any()
    np.testing.assert_allclose(dW, rdW)
    np.testing.assert_allclose(db, rdb)


@pytest.mark.parametrize("mode", ["max", "average"])
def test_relation_overlap_pool_errs_only_where_windows_overlap(mode):
    geo = OVERLAP_S2
    args = make_args("pool_backward", geo, mode, 0)
    got = load("bug_overlap_assign_pool").pool_backward(*copy.deepcopy(args))
    want = reference.pool_backward(*args)
    n_H, n_W = geo.out(0)
    rows = _coverage(geo.n_H, geo.f, geo.stride, 0, n_H)
    cols = _coverage(geo.n_W, geo.f, geo.stride, 0, n_W)
    shared = (rows[:, None] > 1) | (cols[None, :] > 1)
    wrong = ~np.isclose(got, want, rtol=RTOL, atol=ATOL)
    assert wrong.any() and not (wrong & ~shared[None, :, :, None]).any()


def test_relation_avg_no_divide_is_off_by_f_squared():
    args = make_args("pool_backward", OVERLAP_S2, "average", 0)
    got = load("bug_avg_no_divide").pool_backward(*copy.deepcopy(args))
    np.testing.assert_allclose(got, reference.pool_backward(*args) * OVERLAP_S2.f**2)


def test_relation_distribute_factor_is_off_by_n_W():
    module = load("bug_distribute_factor")
    np.testing.assert_allclose(
        module.distribute_value(1.5, (2, 3)), reference.distribute_value(1.5, (2, 3)) * 3
    )
    args = make_args("pool_backward", OVERLAP, "average", 0)
    got = module.pool_backward(*copy.deepcopy(args))
    np.testing.assert_allclose(got, reference.pool_backward(*args) * OVERLAP.f)


def test_relation_bias_in_window_counts_b_f_f_n_C_prev_times():
    geo = OVERLAP
    A_prev, W, b, hp = make_args("conv_forward", geo, None, 0)
    Z, _ = load("bug_bias_in_window").conv_forward(A_prev, W, b, hp)
    Z_ref, _ = reference.conv_forward(A_prev, W, b, hp)
    np.testing.assert_allclose(
        Z - Z_ref, np.broadcast_to((geo.f**2 * geo.n_C_prev - 1) * b, Z.shape)
    )


def test_relation_mask_min_marks_the_minimum():
    x = np.array([[0.5, -1.0, 2.0], [1.5, 0.0, -0.5], [3.0, 2.5, 1.0]])
    mask = np.asarray(load("bug_mask_min").create_mask_from_window(x), dtype=float)
    np.testing.assert_array_equal(mask, x == x.min())


def test_relation_pool_ceil_adds_partial_windows():
    args = make_args("pool_forward", PAD0_NONTILING, "max", 0)
    A, _ = load("bug_pool_ceil").pool_forward(*args)
    A_ref, _ = reference.pool_forward(*args)
    assert A.shape == (A_ref.shape[0], A_ref.shape[1] + 1, *A_ref.shape[2:])
    np.testing.assert_allclose(A[:, :-1], A_ref)


def test_relation_float_b_is_the_numpy_2_float_of_an_array():
    a, W, b = make_args("conv_single_step", OVERLAP, None, 0)
    with pytest.raises(TypeError, match="0-dimensional"):
        load("bug_float_b").conv_single_step(a, W, b)
