"""reference.pool against the naive loops, and max pooling at ties.

Geometry is built valid by construction: draw f and stride, then input sizes
>= f. Values come from ``np.random.default_rng`` seeded by a drawn integer:
either continuous (float64 normals) or drawn from {0, 1, 2}, so windows tie.
At a tie the reference routes the gradient to the FIRST maximum in row-major
order, as the naive loops do (``np.argmax``), so the two agree exactly.
Finite-difference checks are in ``test_reference_fd.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from unittest.mock import patch

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal

import reference._parallel
import reference.pool
from reference import (
    create_mask_from_window,
    distribute_value,
    naive,
    pool_backward,
    pool_forward,
)

TOL = {"rtol": 1e-13, "atol": 1e-13}
MODES = ["max", "average"]


@dataclass(frozen=True)
class PoolCase:
    """One pooling: input (m, n_H_prev, n_W_prev, n_C), window f x f, no padding."""

    m: int
    n_H_prev: int
    n_W_prev: int
    n_C: int
    f: int
    stride: int
    seed: int = 0
    ties: bool = False  # values from {0, 1, 2} instead of normals

    @property
    def hparameters(self) -> dict[str, int]:
        return {"f": self.f, "stride": self.stride}

    @property
    def out_shape(self) -> tuple[int, int, int, int]:
        n_H = (self.n_H_prev - self.f) // self.stride + 1
        n_W = (self.n_W_prev - self.f) // self.stride + 1
        return (self.m, n_H, n_W, self.n_C)

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """A_prev and a random upstream gradient dA (never all ones)."""
        rng = np.random.default_rng(self.seed)
        shape = (self.m, self.n_H_prev, self.n_W_prev, self.n_C)
        if self.ties:
            A_prev = rng.integers(0, 3, size=shape).astype(np.float64)
        else:
            A_prev = rng.standard_normal(shape)
        return A_prev, rng.standard_normal(self.out_shape)


@st.composite
def pool_cases(draw: st.DrawFn) -> PoolCase:
    f = draw(st.integers(1, 4))
    stride = draw(st.integers(1, 4))
    return PoolCase(
        m=draw(st.integers(1, 3)),
        n_H_prev=draw(st.integers(f, f + 8)),
        n_W_prev=draw(st.integers(f, f + 8)),
        n_C=draw(st.integers(1, 3)),
        f=f,
        stride=stride,
        seed=draw(st.integers(0, 2**32 - 1)),
        ties=draw(st.booleans()),
    )


POOL_EXAMPLES = [
    # the usual 2x2, stride 2: windows tile the input
    PoolCase(m=2, n_H_prev=4, n_W_prev=6, n_C=3, f=2, stride=2, seed=1),
    # overlapping windows (stride < f): a pixel can be the maximum of several windows
    PoolCase(m=2, n_H_prev=5, n_W_prev=5, n_C=2, f=3, stride=1, seed=2),
    PoolCase(m=2, n_H_prev=5, n_W_prev=5, n_C=2, f=3, stride=1, seed=2, ties=True),
    # stride > f: rows and columns skipped
    PoolCase(m=2, n_H_prev=7, n_W_prev=8, n_C=2, f=2, stride=3, seed=3),
    # f = 1 (identity when stride = 1)
    PoolCase(m=2, n_H_prev=3, n_W_prev=4, n_C=2, f=1, stride=1, seed=4),
    # m = 1, one channel
    PoolCase(m=1, n_H_prev=4, n_W_prev=4, n_C=1, f=2, stride=1, seed=5, ties=True),
    # non-square input
    PoolCase(m=2, n_H_prev=3, n_W_prev=9, n_C=2, f=3, stride=2, seed=6),
    # non-tiling stride: the last rows and columns are read by no window
    PoolCase(m=2, n_H_prev=7, n_W_prev=6, n_C=3, f=2, stride=2, seed=7, ties=True),
    # one window covering the whole input
    PoolCase(m=3, n_H_prev=3, n_W_prev=3, n_C=2, f=3, stride=2, seed=8, ties=True),
]


def with_examples(cases, name="case"):
    """Attach each of ``cases`` as an explicit hypothesis ``@example``."""

    def decorate(test):
        for case in reversed(cases):
            test = example(**{name: case})(test)
        return test

    return decorate


@pytest.mark.parametrize("mode", MODES)
@given(case=pool_cases())
@with_examples(POOL_EXAMPLES)
def test_pool_forward_matches_naive_loops(mode: str, case: PoolCase) -> None:
    A_prev, _ = case.arrays()
    A, _ = pool_forward(A_prev, case.hparameters, mode)
    A_naive, _ = naive.pool_forward(A_prev, case.hparameters, mode)
    assert A.shape == case.out_shape
    assert A.dtype == np.float64
    assert_allclose(A, A_naive, **TOL)


@pytest.mark.parametrize("mode", MODES)
@given(case=pool_cases())
@with_examples(POOL_EXAMPLES)
def test_pool_backward_matches_naive_loops(mode: str, case: PoolCase) -> None:
    A_prev, dA = case.arrays()
    cache = (A_prev, case.hparameters)
    dA_prev = pool_backward(dA, cache, mode)
    assert dA_prev.shape == A_prev.shape
    assert dA_prev.dtype == np.float64
    assert_allclose(dA_prev, naive.pool_backward(dA, cache, mode), **TOL)
    assert not np.signbit(dA_prev[dA_prev == 0]).any(), "-0.0 in the gradient"


@st.composite
def pool_cases_any_channels(draw: st.DrawFn) -> PoolCase:
    """Few (1..3) or many (8..10) channels: the intermediates' memory layout depends on it."""
    return replace(draw(pool_cases()), n_C=draw(st.sampled_from([1, 2, 3, 8, 9, 10])))


@pytest.mark.parametrize("mode", MODES)
@given(case=pool_cases_any_channels())
@example(case=replace(POOL_EXAMPLES[0], n_C=8))
@example(case=replace(POOL_EXAMPLES[2], n_C=9))
@example(case=replace(POOL_EXAMPLES[7], n_C=10))
def test_pool_channel_layouts_match_naive_loops(mode: str, case: PoolCase) -> None:
    A_prev, dA = case.arrays()
    A, cache = pool_forward(A_prev, case.hparameters, mode)
    assert A.flags.c_contiguous
    assert_allclose(A, naive.pool_forward(A_prev, case.hparameters, mode)[0], **TOL)
    dA_prev = pool_backward(dA, cache, mode)
    assert dA_prev.flags.c_contiguous
    assert_allclose(dA_prev, naive.pool_backward(dA, cache, mode), **TOL)


def first_maximum(window: np.ndarray) -> tuple[int, int]:
    """(p, q) of the first maximum of a 2-D window in row-major order, by a plain scan."""
    best = None
    for p in range(window.shape[0]):
        for q in range(window.shape[1]):
            if best is None or window[p, q] > window[best]:
                best = (p, q)
    return best


@given(case=pool_cases().map(lambda case: replace(case, ties=True)))
@with_examples([c for c in POOL_EXAMPLES if c.ties])
def test_max_pool_gradient_at_ties_goes_to_first_maximum(case: PoolCase) -> None:
    """Per window (dA one-hot at one output): a valid subgradient (non-negative, zero off
    the tied maxima, summing to 1 over them) and exactly one-hot at the first maximum."""
    A_prev, _ = case.arrays()
    cache = (A_prev, case.hparameters)
    f, s = case.f, case.stride
    for i, h, w, c in np.ndindex(case.out_shape):
        dA = np.zeros(case.out_shape)
        dA[i, h, w, c] = 1.0
        grad = pool_backward(dA, cache, "max")
        rows, cols = slice(h * s, h * s + f), slice(w * s, w * s + f)
        window = A_prev[i, rows, cols, c]
        inside = grad[i, rows, cols, c]

        outside = grad.copy()
        outside[i, rows, cols, c] = 0.0
        assert not outside.any(), "gradient leaked outside its window"
        assert (inside >= 0).all()
        assert not inside[window != window.max()].any(), "gradient on a non-maximum"
        assert inside.sum() == 1.0
        expected = np.zeros((f, f))
        expected[first_maximum(window)] = 1.0
        assert_array_equal(inside, expected)


@pytest.mark.parametrize(
    "x, first",
    [
        pytest.param([[7.0]], (0, 0), id="1x1"),
        pytest.param([[1.0, 3.0], [3.0, 0.0]], (0, 1), id="2x2 two-way tie"),
        pytest.param([[2.0, 2.0], [2.0, 2.0]], (0, 0), id="2x2 all equal"),
        pytest.param([[0.0, -1.0, 5.0], [5.0, 5.0, 1.0]], (0, 2), id="2x3 three-way tie"),
        pytest.param([[-3.0, -1.0, -2.0], [-1.0, -5.0, -1.0], [-4, -4, -4]], (0, 1), id="3x3 negative"),
        pytest.param([[0.0, 1.0, 0.0], [0.0, 0.0, 0.0], [1.0, 0.0, 1.0]], (0, 1), id="3x3 corners"),
    ],
)
def test_create_mask_from_window_is_one_hot_at_first_maximum(x, first) -> None:
    x = np.array(x, dtype=np.float64)
    mask = create_mask_from_window(x)
    expected = np.zeros(x.shape)
    expected[first] = 1.0
    assert mask.dtype == np.float64
    assert_array_equal(mask, expected)
    assert_array_equal(mask, naive.create_mask_from_window(x))


@pytest.mark.parametrize("shape", [(1, 1), (2, 2), (3, 3), (2, 5)], ids=str)
@pytest.mark.parametrize("dz", [-1.5, 0.0, 2.0, np.float64(0.3)], ids=repr)
def test_distribute_value_spreads_dz_evenly(dz, shape) -> None:
    out = distribute_value(dz, shape)
    assert out.shape == shape and out.dtype == np.float64
    assert_allclose(out, np.full(shape, dz / (shape[0] * shape[1])), rtol=1e-15)
    assert out.sum() == pytest.approx(dz, abs=1e-15)
    assert_allclose(out, naive.distribute_value(dz, shape), rtol=1e-15)


def test_pool_forward_cache_is_its_inputs() -> None:
    """DESIGN.md: the cache is ``(A_prev, hparameters)``, the very objects passed."""
    A_prev, _ = POOL_EXAMPLES[0].arrays()
    hparameters = POOL_EXAMPLES[0].hparameters
    for mode in MODES:
        _, cache = pool_forward(A_prev, hparameters, mode)
        assert isinstance(cache, tuple) and len(cache) == 2
        assert cache[0] is A_prev and cache[1] is hparameters


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", POOL_EXAMPLES, ids=repr)
def test_pool_functions_do_not_modify_or_alias_inputs(case: PoolCase, mode: str) -> None:
    arrays = case.arrays()
    originals = [x.copy() for x in arrays]
    for x in arrays:
        x.flags.writeable = False  # any in-place write raises
    A_prev, dA = arrays
    hparameters = case.hparameters

    A, cache = pool_forward(A_prev, hparameters, mode)
    dA_prev = pool_backward(dA, cache, mode)
    window = A_prev[0, : case.f, : case.f, 0]
    mask = create_mask_from_window(window)

    for x, original in zip(arrays, originals, strict=True):
        assert_array_equal(x, original)
    assert hparameters == case.hparameters
    for out in (A, dA_prev, mask):
        assert out.flags.writeable
        assert not any(np.shares_memory(out, x) for x in arrays)
    # deterministic: a second call gives the same bits
    assert_array_equal(pool_forward(A_prev, hparameters, mode)[0], A)
    assert_array_equal(pool_backward(dA, cache, mode), dA_prev)


@pytest.mark.parametrize("mode", MODES)
def test_pool_accepts_float32_and_returns_float64(mode: str) -> None:
    case = POOL_EXAMPLES[1]
    A_prev, dA = case.arrays()
    A, cache = pool_forward(A_prev.astype(np.float32), case.hparameters, mode)
    assert A.dtype == np.float64
    assert pool_backward(dA.astype(np.float32), cache, mode).dtype == np.float64


@st.composite
def tiled_pool_cases(draw: st.DrawFn) -> PoolCase:
    """stride = f >= 2: the windows tile the input, with or without rows and columns left over."""
    case = draw(pool_cases())
    f = draw(st.integers(2, 4))
    return replace(
        case,
        f=f,
        stride=f,
        n_H_prev=draw(st.integers(f, 3 * f + 1)),
        n_W_prev=draw(st.integers(f, 3 * f + 1)),
        n_C=draw(st.sampled_from([1, 3, 8])),
    )


@pytest.mark.parametrize("mode", MODES)
@given(case=tiled_pool_cases())
@example(case=replace(POOL_EXAMPLES[0], ties=False))
@example(case=POOL_EXAMPLES[7])  # ties, and a row and column left over
def test_tiled_pooling_matches_naive_loops_and_falls_back_at_ties(mode: str, case: PoolCase) -> None:
    """When the windows tile the input, max routing compares whole rows at once and is
    used only when no window holds tied maxima (else the offset-by-offset routing runs);
    average pooling repeats dA / f^2 along rows. Both give the loops' result, and the tie
    rule decides which max path ran: a window with a tie must take the fallback."""
    A_prev, dA = case.arrays()
    cache = (A_prev, case.hparameters)
    taken = []
    route = reference.pool._route_max_tiled

    def spy(*arguments):
        taken.append(route(*arguments))
        return taken[-1]

    with patch.object(reference.pool, "_route_max_tiled", spy):
        dA_prev = pool_backward(dA, cache, mode)
    assert_allclose(dA_prev, naive.pool_backward(dA, cache, mode), **TOL)
    assert not np.signbit(dA_prev[dA_prev == 0]).any(), "-0.0 in the gradient"
    if mode == "max":
        n_H, n_W = case.out_shape[1:3]
        f = case.f
        windows = A_prev[:, : n_H * f, : n_W * f].reshape(case.m, n_H, f, n_W, f, case.n_C)
        maxima = windows.max(axis=(2, 4), keepdims=True)
        tie = bool(((windows == maxima).sum(axis=(2, 4)) > 1).any())
        assert taken == [not tie]


@pytest.mark.parametrize("mode", MODES)
@given(case=pool_cases_any_channels())
@with_examples([replace(c, m=3) for c in POOL_EXAMPLES])
def test_pooling_split_over_threads_matches_naive_loops(mode: str, case: PoolCase) -> None:
    """Large batches are cut into slices of examples that run in threads
    (``reference._parallel``); with the size threshold at 1 every batch of m >= 2 is cut,
    and forward and backward give the loops' result exactly as one thread would."""
    A_prev, dA = case.arrays()
    cache = (A_prev, case.hparameters)
    A_one, _ = pool_forward(A_prev, case.hparameters, mode)
    dA_prev_one = pool_backward(dA, cache, mode)
    sizes = []
    run = reference._parallel.run

    def spy(tasks):
        sizes.append(len(tasks))
        run(tasks)

    with patch.object(reference._parallel, "MIN_ELEMENTS", 1), patch.object(reference._parallel, "run", spy):
        A, _ = pool_forward(A_prev, case.hparameters, mode)
        dA_prev = pool_backward(dA, cache, mode)
    tasks = min(reference._parallel._cores(), case.m)
    assert sizes == ([tasks, tasks] if A_prev.size >= 2 else [])
    assert_array_equal(A, A_one)
    assert_array_equal(dA_prev, dA_prev_one)
    assert_allclose(dA_prev, naive.pool_backward(dA, cache, mode), **TOL)
