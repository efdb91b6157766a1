"""reference.conv against its oracles: the naive loops and scipy.signal.correlate.

Geometry is built valid by construction: draw f, stride, pad, then input sizes
that fit (n_prev + 2 pad >= f). Array values come from ``np.random.default_rng``
seeded by a drawn integer (float64). Finite-difference checks of the backward
pass are in ``test_reference_fd.py``; argument errors in ``test_reference_errors.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from unittest.mock import patch

import numpy as np
import pytest
import scipy.signal
from hypothesis import example, given
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal

import reference._shifted
import reference.conv
from reference import conv_backward, conv_forward, conv_single_step, naive, zero_pad

# Sums of up to f*f*n_C_prev = 48 products of N(0, 1) values: rounding is ~1e-14.
TOL = {"rtol": 1e-12, "atol": 1e-12}


@dataclass(frozen=True)
class ConvCase:
    """One convolution: input (m, n_H_prev, n_W_prev, n_C_prev), W (f, f, n_C_prev, n_C)."""

    m: int
    n_H_prev: int
    n_W_prev: int
    n_C_prev: int
    n_C: int
    f: int
    stride: int
    pad: int
    seed: int = 0

    @property
    def hparameters(self) -> dict[str, int]:
        return {"stride": self.stride, "pad": self.pad}

    @property
    def z_shape(self) -> tuple[int, int, int, int]:
        n_H = (self.n_H_prev + 2 * self.pad - self.f) // self.stride + 1
        n_W = (self.n_W_prev + 2 * self.pad - self.f) // self.stride + 1
        return (self.m, n_H, n_W, self.n_C)

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """A_prev, W, b and a random upstream gradient dZ (never all ones)."""
        rng = np.random.default_rng(self.seed)
        A_prev = rng.standard_normal((self.m, self.n_H_prev, self.n_W_prev, self.n_C_prev))
        W = rng.standard_normal((self.f, self.f, self.n_C_prev, self.n_C))
        b = rng.standard_normal((1, 1, 1, self.n_C))
        dZ = rng.standard_normal(self.z_shape)
        return A_prev, W, b, dZ


@st.composite
def conv_cases(draw: st.DrawFn) -> ConvCase:
    f = draw(st.integers(1, 4))
    stride = draw(st.integers(1, 4))
    pad = draw(st.integers(0, 3))
    smallest = max(1, f - 2 * pad)  # n_prev + 2 pad >= f
    return ConvCase(
        m=draw(st.integers(1, 3)),
        n_H_prev=draw(st.integers(smallest, smallest + 8)),
        n_W_prev=draw(st.integers(smallest, smallest + 8)),
        n_C_prev=draw(st.integers(1, 3)),
        n_C=draw(st.integers(1, 3)),
        f=f,
        stride=stride,
        pad=pad,
        seed=draw(st.integers(0, 2**32 - 1)),
    )


CONV_EXAMPLES = [
    # pad = 0 (the `x[pad:-pad]` trap), overlapping windows (stride < f)
    ConvCase(m=2, n_H_prev=5, n_W_prev=5, n_C_prev=2, n_C=3, f=3, stride=1, pad=0, seed=1),
    # stride > f: rows and columns of the input are skipped
    ConvCase(m=2, n_H_prev=7, n_W_prev=8, n_C_prev=2, n_C=2, f=2, stride=3, pad=0, seed=2),
    # f = 1 (a per-pixel linear map), with and without padding
    ConvCase(m=2, n_H_prev=3, n_W_prev=4, n_C_prev=3, n_C=2, f=1, stride=1, pad=0, seed=3),
    ConvCase(m=1, n_H_prev=3, n_W_prev=4, n_C_prev=2, n_C=2, f=1, stride=2, pad=1, seed=4),
    # m = 1, one channel in and out
    ConvCase(m=1, n_H_prev=4, n_W_prev=4, n_C_prev=1, n_C=1, f=3, stride=1, pad=1, seed=5),
    # non-square input
    ConvCase(m=2, n_H_prev=4, n_W_prev=9, n_C_prev=2, n_C=3, f=3, stride=1, pad=1, seed=6),
    # non-tiling stride: (n_prev + 2 pad - f) % stride != 0 leaves the last rows unread
    ConvCase(m=2, n_H_prev=6, n_W_prev=7, n_C_prev=2, n_C=2, f=3, stride=2, pad=0, seed=7),
    # overlapping windows with stride > 1, and padding as large as f
    ConvCase(m=3, n_H_prev=5, n_W_prev=6, n_C_prev=3, n_C=3, f=3, stride=2, pad=3, seed=8),
    # filter as large as the padded input: one output pixel
    ConvCase(m=2, n_H_prev=2, n_W_prev=3, n_C_prev=2, n_C=2, f=4, stride=3, pad=1, seed=9),
]


def with_examples(cases, name="case"):
    """Attach each of ``cases`` as an explicit hypothesis ``@example``."""

    def decorate(test):
        for case in reversed(cases):
            test = example(**{name: case})(test)
        return test

    return decorate


@given(case=conv_cases())
@with_examples(CONV_EXAMPLES)
def test_conv_forward_matches_naive_loops(case: ConvCase) -> None:
    A_prev, W, b, _ = case.arrays()
    Z, _ = conv_forward(A_prev, W, b, case.hparameters)
    Z_naive, _ = naive.conv_forward(A_prev, W, b, case.hparameters)
    assert Z.shape == case.z_shape
    assert Z.dtype == np.float64
    assert_allclose(Z, Z_naive, **TOL)


@given(case=conv_cases())
@with_examples(CONV_EXAMPLES)
def test_conv_backward_matches_naive_loops(case: ConvCase) -> None:
    A_prev, W, b, dZ = case.arrays()
    cache = (A_prev, W, b, case.hparameters)
    dA_prev, dW, db = conv_backward(dZ, cache)
    dA_naive, dW_naive, db_naive = naive.conv_backward(dZ, cache)
    assert (dA_prev.shape, dW.shape, db.shape) == (A_prev.shape, W.shape, b.shape)
    assert dA_prev.dtype == dW.dtype == db.dtype == np.float64
    assert_allclose(dA_prev, dA_naive, **TOL)
    assert_allclose(dW, dW_naive, **TOL)
    assert_allclose(db, db_naive, **TOL)


def correlate_oracle(A_prev, W, b, stride, pad):
    """Z[i, :, :, c] = valid 3-D cross-correlation of the padded image with W[..., c],
    sampled every ``stride`` pixels, plus b[c] (scipy, independent of both layers)."""
    A_pad = np.pad(A_prev, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    m, n_C = A_prev.shape[0], W.shape[3]
    planes = [
        [
            scipy.signal.correlate(A_pad[i], W[:, :, :, c], mode="valid", method="direct")[::stride, ::stride, 0]
            + b[0, 0, 0, c]
            for c in range(n_C)
        ]
        for i in range(m)
    ]
    return np.stack([np.stack(row, axis=-1) for row in planes])


@given(case=conv_cases())
@with_examples(CONV_EXAMPLES)
def test_conv_forward_matches_scipy_correlate(case: ConvCase) -> None:
    A_prev, W, b, _ = case.arrays()
    Z, _ = conv_forward(A_prev, W, b, case.hparameters)
    assert_allclose(Z, correlate_oracle(A_prev, W, b, case.stride, case.pad), **TOL)


@given(case=conv_cases())
@with_examples(CONV_EXAMPLES)
def test_zero_pad_matches_np_pad(case: ConvCase) -> None:
    A_prev, *_ = case.arrays()
    padded = zero_pad(A_prev, case.pad)
    pad = case.pad
    assert_array_equal(padded, np.pad(A_prev, ((0, 0), (pad, pad), (pad, pad), (0, 0))))
    assert_array_equal(padded, naive.zero_pad(A_prev, pad))


@pytest.mark.parametrize("shape", [(1, 1, 1), (3, 3, 1), (2, 2, 3), (5, 5, 4)], ids=str)
def test_conv_single_step_is_sum_of_products_plus_bias(shape) -> None:
    rng = np.random.default_rng(sum(shape))
    a_slice, W = rng.standard_normal(shape), rng.standard_normal(shape)
    b = rng.standard_normal((1, 1, 1))
    value = conv_single_step(a_slice, W, b)
    assert type(value) is float
    assert value == pytest.approx(float(np.sum(a_slice * W)) + b.item(), rel=1e-13, abs=1e-13)
    assert value == pytest.approx(naive.conv_single_step(a_slice, W, b), rel=1e-13, abs=1e-13)


def test_conv_forward_cache_is_its_inputs() -> None:
    """DESIGN.md: the cache is ``(A_prev, W, b, hparameters)``, the very objects passed."""
    A_prev, W, b, _ = CONV_EXAMPLES[0].arrays()
    hparameters = CONV_EXAMPLES[0].hparameters
    _, cache = conv_forward(A_prev, W, b, hparameters)
    assert isinstance(cache, tuple) and len(cache) == 4
    assert all(got is given for got, given in zip(cache, (A_prev, W, b, hparameters), strict=True))


@pytest.mark.parametrize("case", CONV_EXAMPLES, ids=repr)
def test_conv_functions_do_not_modify_or_alias_inputs(case: ConvCase) -> None:
    arrays = case.arrays()
    originals = [x.copy() for x in arrays]
    for x in arrays:
        x.flags.writeable = False  # any in-place write raises
    A_prev, W, b, dZ = arrays
    hparameters = case.hparameters

    Z, cache = conv_forward(A_prev, W, b, hparameters)
    grads = conv_backward(dZ, cache)
    padded = zero_pad(A_prev, case.pad)
    conv_single_step(padded[0, : case.f, : case.f, :], W[..., 0], b[..., 0])

    for x, original in zip(arrays, originals, strict=True):
        assert_array_equal(x, original)
    assert hparameters == case.hparameters
    for out in (Z, padded, *grads):
        assert out.flags.writeable
        assert not any(np.shares_memory(out, x) for x in arrays)
    # deterministic: a second call gives the same bits
    assert_array_equal(conv_forward(A_prev, W, b, hparameters)[0], Z)
    for again, first in zip(conv_backward(dZ, cache), grads, strict=True):
        assert_array_equal(again, first)


@pytest.mark.parametrize("dtype", [np.float16, np.float32], ids=lambda t: t.__name__)
def test_conv_accepts_lower_precision_floats_and_returns_float64(dtype) -> None:
    case = CONV_EXAMPLES[0]
    A_prev, W, b, dZ = case.arrays()
    Z, cache = conv_forward(A_prev.astype(dtype), W.astype(dtype), b.astype(dtype), case.hparameters)
    assert Z.dtype == np.float64
    assert all(g.dtype == np.float64 for g in conv_backward(dZ.astype(dtype), cache))


@st.composite
def blocked_conv_cases(draw: st.DrawFn) -> tuple[ConvCase, int]:
    """A case with few (1..3) or many (8..10) input channels, and an im2col block budget
    small enough that the batch is split into several blocks."""
    case = draw(conv_cases())
    n_C_prev = draw(st.sampled_from([1, 2, 3, 8, 9, 10]))
    block_bytes = draw(st.integers(1, 3 * case.z_shape[1] * case.z_shape[2] * case.f**2 * 80))
    return replace(case, n_C_prev=n_C_prev), block_bytes


@given(args=blocked_conv_cases())
@example(args=(replace(CONV_EXAMPLES[5], m=3, n_C_prev=9), 1))
@example(args=(replace(CONV_EXAMPLES[7], n_C_prev=8), 1))
def test_conv_blocks_and_channel_layouts_match_naive_loops(args) -> None:
    """The batch is processed in blocks of examples (``_BLOCK_BYTES`` of im2col rows) and
    col2im switches layout at ``_MANY_CHANNELS`` input channels: every split and both
    layouts give the loops' result."""
    case, block_bytes = args
    A_prev, W, b, dZ = case.arrays()
    cache = (A_prev, W, b, case.hparameters)
    with patch.object(reference.conv, "_BLOCK_BYTES", block_bytes):
        Z, _ = conv_forward(A_prev, W, b, case.hparameters)
        grads = conv_backward(dZ, cache)
    assert_allclose(Z, naive.conv_forward(A_prev, W, b, case.hparameters)[0], **TOL)
    for got, expected in zip(grads, naive.conv_backward(dZ, cache), strict=True):
        assert_allclose(got, expected, **TOL)


@st.composite
def shifted_conv_cases(draw: st.DrawFn) -> tuple[ConvCase, int]:
    """A stride-1 case with 8..10 input channels (the shifted products' domain) and a block
    of grid rows small enough that the rows are split, often mid-image."""
    case = replace(draw(conv_cases()), stride=1, n_C_prev=draw(st.sampled_from([8, 9, 10])))
    return case, draw(st.integers(1, 40))


@given(args=shifted_conv_cases())
@example(args=(replace(CONV_EXAMPLES[0], n_C_prev=8), 1))  # pad = 0
@example(args=(replace(CONV_EXAMPLES[2], n_C_prev=9), 5))  # f = 1
@example(args=(replace(CONV_EXAMPLES[5], n_C_prev=8), 7))  # n_H_prev != n_W_prev
@example(args=(ConvCase(m=2, n_H_prev=2, n_W_prev=3, n_C_prev=8, n_C=2, f=4, stride=1, pad=1, seed=9), 3))
def test_conv_shifted_products_match_naive_loops(args) -> None:
    """Stride-1 convolutions with many channels run as f*f shifted BLAS products over the
    flattened padded input (``reference._shifted``) once the input is large; with the size
    threshold at 0 they run on every case, in blocks of any number of rows, and give the
    loops' result. The spy shows that path was taken, so this test cannot pass on the
    im2col path by accident."""
    case, block_rows = args
    A_prev, W, b, dZ = case.arrays()
    cache = (A_prev, W, b, case.hparameters)
    calls = []

    def spy(function):
        def called(*arguments):
            calls.append(function.__name__)
            return function(*arguments)

        return called

    with (
        patch.object(reference.conv, "_SHIFTED_MIN_ROWS", 0),
        patch.object(reference._shifted, "_BLOCK_ROWS", block_rows),
        patch.object(reference._shifted, "forward", spy(reference._shifted.forward)),
        patch.object(reference._shifted, "input_gradient", spy(reference._shifted.input_gradient)),
    ):
        Z, _ = conv_forward(A_prev, W, b, case.hparameters)
        grads = conv_backward(dZ, cache)
    assert calls == ["forward", "input_gradient"]
    assert Z.flags.c_contiguous and grads[0].flags.c_contiguous
    assert_allclose(Z, naive.conv_forward(A_prev, W, b, case.hparameters)[0], **TOL)
    for got, expected in zip(grads, naive.conv_backward(dZ, cache), strict=True):
        assert got.shape == expected.shape
        assert_allclose(got, expected, **TOL)


def test_large_stride_one_convolutions_take_the_shifted_path() -> None:
    """The size rule itself: stride 1, >= 8 input channels and a large padded input; not
    stride 2, not 3 channels, not a small input."""
    decide = reference.conv._shifted_products
    assert decide(np.empty((8, 30, 30, 8)), {"stride": 1, "pad": 1})
    assert not decide(np.empty((8, 30, 30, 8)), {"stride": 2, "pad": 1})
    assert not decide(np.empty((8, 30, 30, 3)), {"stride": 1, "pad": 1})
    assert not decide(np.empty((1, 5, 5, 8)), {"stride": 1, "pad": 1})
