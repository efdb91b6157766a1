"""Public hypothesis strategies: valid conv/pool geometry, tie-free arrays, tied windows.

Geometry is built directly, never filtered: draw ``f``, ``stride`` and ``pad``,
then the input size as ``max(1, f - 2 pad) + extra`` so the window always fits.
Every edge case is reachable: pad = 0, stride > f, f = 1, m = 1, one channel,
non-square inputs, strides that do not tile the input, overlapping windows
(stride < f). Shrinking moves every integer toward its lower bound, so a failing
case shrinks to the smallest failing geometry.

Example (an author's own test)::

    from hypothesis import given
    from gradcheck.strategies import conv_geometries

    @given(conv_geometries(max_channels=2))
    def test_my_conv_shape(geometry):
        A_prev, W, b = geometry.random_inputs(seed=0)
        Z, _ = my_conv_forward(A_prev, W, b, geometry.hparameters)
        assert Z.shape == geometry.output_shape
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any, ClassVar

import numpy as np
from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from gradcheck.engine.numeric import GRID, STEP, general_values, near_ties, off_grid, quantize, value_seed, wide_values

POOL_MODES = ("max", "average")


def _positive(name: str, value: Any, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return value


def _exact_size(size: int, window: int, stride: int, pad: int) -> int:
    """The smallest input size >= ``size`` at which windows of ``window`` tile the padded input
    exactly: ``(size + 2 pad - window) % stride == 0`` and the window fits."""
    size = max(size, window - 2 * pad, 1)
    return size + (-(size + 2 * pad - window)) % stride


@dataclass(frozen=True)
class ConvGeometry:
    """A valid conv layer geometry (NHWC); ``n_H = (n_H_prev + 2 pad - f) // stride + 1``.

    ``f_W``: the width of a rectangular kernel, whose height is ``f`` (None: square, f x f,
    as in the article's course); ``window`` is (f_H, f_W) either way.
    """

    m: int
    n_H_prev: int
    n_W_prev: int
    n_C_prev: int
    n_C: int
    f: int
    stride: int
    pad: int
    f_W: int | None = None

    SHRINK_FIELDS: ClassVar[tuple[str, ...]] = ("f", "stride", "pad", "n_H_prev", "n_W_prev", "m", "n_C_prev", "n_C")

    @property
    def window(self) -> tuple[int, int]:
        return (self.f, self.f if self.f_W is None else self.f_W)

    @property
    def n_H(self) -> int:
        return (self.n_H_prev + 2 * self.pad - self.f) // self.stride + 1

    @property
    def n_W(self) -> int:
        return (self.n_W_prev + 2 * self.pad - self.window[1]) // self.stride + 1

    @property
    def hparameters(self) -> dict[str, int]:
        return {"stride": self.stride, "pad": self.pad}

    @property
    def input_shape(self) -> tuple[int, int, int, int]:
        return (self.m, self.n_H_prev, self.n_W_prev, self.n_C_prev)

    @property
    def kernel_shape(self) -> tuple[int, int, int, int]:
        return (*self.window, self.n_C_prev, self.n_C)

    @property
    def output_shape(self) -> tuple[int, int, int, int]:
        return (self.m, self.n_H, self.n_W, self.n_C)

    def as_dict(self) -> dict[str, Any]:
        fields = asdict(self)
        if fields["f_W"] is None:
            del fields["f_W"]
        return fields

    def valid(self) -> bool:
        """Every size positive and the kernel inside the padded input."""
        f_H, f_W = self.window
        return min(self.m, self.n_C_prev, self.n_C, f_H, f_W, self.stride, self.n_H_prev, self.n_W_prev) >= 1 and (
            self.pad >= 0 and self.n_H_prev + 2 * self.pad >= f_H and self.n_W_prev + 2 * self.pad >= f_W
        )

    def fitted(self) -> ConvGeometry:
        """The nearest geometry of the contract: here every valid geometry is one."""
        return self

    def random_inputs(self, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(A_prev, W, b) drawn from a seeded Generator, on the exact-perturbation grid (general
        float64 values when ``seed`` has the ``OFF_GRID`` bit)."""
        rng = np.random.default_rng(value_seed(seed))
        shapes = (self.input_shape, self.kernel_shape, (1, 1, 1, self.n_C))
        if off_grid(seed):
            A_prev, W, b = (general_values(rng, shape) for shape in shapes)
        else:
            A_prev, W, b = (quantize(rng.standard_normal(shape)) for shape in shapes)
        if wide_values(seed):  # pixels up to 255, a blank image, zeros as a ReLU leaves them
            A_prev = A_prev * 256.0
            A_prev[rng.random(A_prev.shape) < 1 / 3] = 0.0
            A_prev[int(rng.integers(0, self.m))] = 0.0
        return A_prev, W, b


@dataclass(frozen=True)
class PoolGeometry:
    """A valid pooling geometry (NHWC, no padding); ``n_H = (n_H_prev - f) // stride + 1``.

    ``f_W``: the width of a rectangular window, whose height is ``f`` (None: square);
    ``hparameters["f"]`` is then the pair (f, f_W), as the reference takes it.
    """

    m: int
    n_H_prev: int
    n_W_prev: int
    n_C: int
    f: int
    stride: int
    mode: str = "max"
    f_W: int | None = None

    SHRINK_FIELDS: ClassVar[tuple[str, ...]] = ("f", "stride", "n_H_prev", "n_W_prev", "m", "n_C")

    @property
    def window(self) -> tuple[int, int]:
        return (self.f, self.f if self.f_W is None else self.f_W)

    @property
    def n_H(self) -> int:
        return (self.n_H_prev - self.f) // self.stride + 1

    @property
    def n_W(self) -> int:
        return (self.n_W_prev - self.window[1]) // self.stride + 1

    @property
    def hparameters(self) -> dict[str, Any]:
        f = self.f if self.window[0] == self.window[1] else self.window
        return {"f": f, "stride": self.stride}

    @property
    def input_shape(self) -> tuple[int, int, int, int]:
        return (self.m, self.n_H_prev, self.n_W_prev, self.n_C)

    @property
    def output_shape(self) -> tuple[int, int, int, int]:
        return (self.m, self.n_H, self.n_W, self.n_C)

    def as_dict(self) -> dict[str, Any]:
        fields = asdict(self)
        if fields["f_W"] is None:
            del fields["f_W"]
        return fields

    def valid(self) -> bool:
        """Every size positive and the window inside the input."""
        f_H, f_W = self.window
        return min(self.m, self.n_C, f_H, f_W, self.stride) >= 1 and self.n_H_prev >= f_H and self.n_W_prev >= f_W

    def fitted(self) -> PoolGeometry:
        """The nearest geometry of the contract: here every valid geometry is one."""
        return self

    def random_inputs(self, seed: int) -> np.ndarray:
        """A tie-free A_prev (every two values more than 8 finite-difference steps apart); with
        the ``OFF_GRID`` bit in ``seed``, off the grid: full mantissas, scaled by 2^-4 to 2^4."""
        rng = np.random.default_rng(value_seed(seed))
        values = tie_free_array(rng, self.input_shape)
        if off_grid(seed):  # judged against the reference: near ties may be drawn too
            values = (values + rng.uniform(0.0, 0.2, values.shape) * TIE_FREE_GAP) * np.exp2(rng.uniform(-4.0, 4.0))
            values = near_ties(values, rng)
        if wide_values(seed):
            values = values * 256.0
        return values


@dataclass(frozen=True)
class CS231nConvGeometry(ConvGeometry):
    """CS231n's conv contract (assignment 2): kernels HH x WW with HH and WW independent, and
    output sizes that are integers, ``(H + 2 pad - HH) % stride == 0`` (the same for W): the
    starter code's docstring lets students assume it, so no other input is drawn.

    Fields keep the engine's NHWC names (``f`` = HH, ``f_W`` = WW); :meth:`presented` gives
    CS231n's own (N, C, H, W, F, HH, WW, stride, pad).
    """

    SHRINK_FIELDS: ClassVar[tuple[str, ...]] = (
        "f", "f_W", "stride", "pad", "n_H_prev", "n_W_prev", "m", "n_C_prev", "n_C",
    )

    def __post_init__(self) -> None:
        if self.f_W is None:
            object.__setattr__(self, "f_W", self.f)

    def valid(self) -> bool:
        f_H, f_W = self.window
        return super().valid() and (self.n_H_prev + 2 * self.pad - f_H) % self.stride == 0 and (
            self.n_W_prev + 2 * self.pad - f_W
        ) % self.stride == 0

    def fitted(self) -> CS231nConvGeometry:
        """The same geometry with the input grown, row by row, to the next sizes whose output
        size is an integer."""
        f_H, f_W = self.window
        return replace(
            self,
            n_H_prev=_exact_size(self.n_H_prev, f_H, self.stride, self.pad),
            n_W_prev=_exact_size(self.n_W_prev, f_W, self.stride, self.pad),
        )

    def presented(self) -> dict[str, Any]:
        return {"N": self.m, "C": self.n_C_prev, "H": self.n_H_prev, "W": self.n_W_prev, "F": self.n_C,
                "HH": self.f, "WW": self.window[1], "stride": self.stride, "pad": self.pad}


@dataclass(frozen=True)
class CS231nPoolGeometry(PoolGeometry):
    """CS231n's max-pooling contract: windows pool_height x pool_width, independent, with
    ``(H - pool_height) % stride == 0`` and ``(W - pool_width) % stride == 0`` ("you can
    assume" in the starter code's docstring). Max pooling only.

    Fields keep the engine's NHWC names (``f`` = pool_height, ``f_W`` = pool_width);
    :meth:`presented` gives CS231n's own.
    """

    SHRINK_FIELDS: ClassVar[tuple[str, ...]] = ("f", "f_W", "stride", "n_H_prev", "n_W_prev", "m", "n_C")

    def __post_init__(self) -> None:
        if self.f_W is None:
            object.__setattr__(self, "f_W", self.f)

    def valid(self) -> bool:
        f_H, f_W = self.window
        return super().valid() and (self.n_H_prev - f_H) % self.stride == 0 and (self.n_W_prev - f_W) % self.stride == 0

    def fitted(self) -> CS231nPoolGeometry:
        """The same geometry with the input grown to the next sizes the windows tile exactly."""
        f_H, f_W = self.window
        return replace(
            self,
            n_H_prev=_exact_size(self.n_H_prev, f_H, self.stride, 0),
            n_W_prev=_exact_size(self.n_W_prev, f_W, self.stride, 0),
        )

    def presented(self) -> dict[str, Any]:
        return {"N": self.m, "C": self.n_C, "H": self.n_H_prev, "W": self.n_W_prev,
                "pool_height": self.f, "pool_width": self.window[1], "stride": self.stride}


@st.composite
def _conv(draw, max_batch, max_channels, max_filter, max_stride, max_pad, max_extra) -> ConvGeometry:
    f = draw(st.integers(1, max_filter))
    stride = draw(st.integers(1, max_stride))
    pad = draw(st.integers(0, max_pad))
    smallest = max(1, f - 2 * pad)
    n_H_prev = smallest + draw(st.integers(0, max_extra))
    n_W_prev = smallest + draw(st.integers(0, max_extra))
    m = draw(st.integers(1, max_batch))
    n_C_prev = draw(st.integers(1, max_channels))
    n_C = draw(st.integers(1, max_channels))
    return ConvGeometry(m, n_H_prev, n_W_prev, n_C_prev, n_C, f, stride, pad)


def conv_geometries(
    *,
    max_batch: int = 3,
    max_channels: int = 3,
    max_filter: int = 4,
    max_stride: int = 3,
    max_pad: int = 2,
    max_extra: int = 5,
) -> SearchStrategy[ConvGeometry]:
    """Valid :class:`ConvGeometry`: f in [1, max_filter], stride in [1, max_stride],
    pad in [0, max_pad], n_H_prev, n_W_prev in [max(1, f - 2 pad), that + max_extra]."""
    _positive("max_batch", max_batch)
    _positive("max_channels", max_channels)
    _positive("max_filter", max_filter)
    _positive("max_stride", max_stride)
    _positive("max_pad", max_pad, 0)
    _positive("max_extra", max_extra, 0)
    return _conv(max_batch, max_channels, max_filter, max_stride, max_pad, max_extra)


@st.composite
def _pool(draw, max_batch, max_channels, max_filter, max_stride, max_extra, modes) -> PoolGeometry:
    mode = draw(st.sampled_from(modes))
    f = draw(st.integers(1, max_filter))
    stride = draw(st.integers(1, max_stride))
    n_H_prev = f + draw(st.integers(0, max_extra))
    n_W_prev = f + draw(st.integers(0, max_extra))
    m = draw(st.integers(1, max_batch))
    n_C = draw(st.integers(1, max_channels))
    return PoolGeometry(m, n_H_prev, n_W_prev, n_C, f, stride, mode)


def pool_geometries(
    *,
    max_batch: int = 3,
    max_channels: int = 3,
    max_filter: int = 3,
    max_stride: int = 3,
    max_extra: int = 5,
    modes: tuple[str, ...] = POOL_MODES,
) -> SearchStrategy[PoolGeometry]:
    """Valid :class:`PoolGeometry`: f in [1, max_filter], stride in [1, max_stride],
    n_H_prev, n_W_prev in [f, f + max_extra], mode from ``modes``."""
    _positive("max_batch", max_batch)
    _positive("max_channels", max_channels)
    _positive("max_filter", max_filter)
    _positive("max_stride", max_stride)
    _positive("max_extra", max_extra, 0)
    bad = [mode for mode in modes if mode not in POOL_MODES]
    if bad or not modes:
        raise ValueError(f"modes must be a non-empty subset of {POOL_MODES}, got {modes!r}")
    return _pool(max_batch, max_channels, max_filter, max_stride, max_extra, tuple(modes))


@st.composite
def _cs231n_conv(draw, max_batch, max_channels, max_filter, max_stride, max_pad, max_extra) -> CS231nConvGeometry:
    f_H, f_W = draw(st.integers(1, max_filter)), draw(st.integers(1, max_filter))
    stride = draw(st.integers(1, max_stride))
    pad = draw(st.integers(0, max_pad))
    # the smallest exact size, then whole strides more: the output size is always an integer
    n_H_prev = _exact_size(1, f_H, stride, pad) + stride * draw(st.integers(0, max_extra))
    n_W_prev = _exact_size(1, f_W, stride, pad) + stride * draw(st.integers(0, max_extra))
    m = draw(st.integers(1, max_batch))
    n_C_prev = draw(st.integers(1, max_channels))
    n_C = draw(st.integers(1, max_channels))
    return CS231nConvGeometry(m, n_H_prev, n_W_prev, n_C_prev, n_C, f_H, stride, pad, f_W)


def cs231n_conv_geometries(
    *,
    max_batch: int = 3,
    max_channels: int = 3,
    max_filter: int = 4,
    max_stride: int = 3,
    max_pad: int = 2,
    max_extra: int = 3,
) -> SearchStrategy[CS231nConvGeometry]:
    """Valid :class:`CS231nConvGeometry`: HH and WW each in [1, max_filter], stride in
    [1, max_stride], pad in [0, max_pad], H and W from the smallest size whose output size is
    an integer to ``max_extra`` strides more."""
    for name, value, minimum in (("max_batch", max_batch, 1), ("max_channels", max_channels, 1),
                                 ("max_filter", max_filter, 1), ("max_stride", max_stride, 1),
                                 ("max_pad", max_pad, 0), ("max_extra", max_extra, 0)):
        _positive(name, value, minimum)
    return _cs231n_conv(max_batch, max_channels, max_filter, max_stride, max_pad, max_extra)


@st.composite
def _cs231n_pool(draw, max_batch, max_channels, max_filter, max_stride, max_extra) -> CS231nPoolGeometry:
    f_H, f_W = draw(st.integers(1, max_filter)), draw(st.integers(1, max_filter))
    stride = draw(st.integers(1, max_stride))
    n_H_prev = f_H + stride * draw(st.integers(0, max_extra))
    n_W_prev = f_W + stride * draw(st.integers(0, max_extra))
    m = draw(st.integers(1, max_batch))
    n_C = draw(st.integers(1, max_channels))
    return CS231nPoolGeometry(m, n_H_prev, n_W_prev, n_C, f_H, stride, "max", f_W)


def cs231n_pool_geometries(
    *,
    max_batch: int = 3,
    max_channels: int = 3,
    max_filter: int = 3,
    max_stride: int = 3,
    max_extra: int = 3,
) -> SearchStrategy[CS231nPoolGeometry]:
    """Valid :class:`CS231nPoolGeometry` (max pooling): pool_height and pool_width each in
    [1, max_filter], stride in [1, max_stride], H = pool_height + k * stride (k <= max_extra),
    W likewise."""
    for name, value, minimum in (("max_batch", max_batch, 1), ("max_channels", max_channels, 1),
                                 ("max_filter", max_filter, 1), ("max_stride", max_stride, 1),
                                 ("max_extra", max_extra, 0)):
        _positive(name, value, minimum)
    return _cs231n_pool(max_batch, max_channels, max_filter, max_stride, max_extra)


TIE_FREE_GAP = 16 * STEP  # spacing of the value grid; ties need a gap > 2 h


def tie_free_array(rng: np.random.Generator, shape: tuple[int, ...], gap: float = TIE_FREE_GAP) -> np.ndarray:
    """Distinct values at least ``0.75 * gap`` apart: a shuffled grid plus small jitter, centred.

    Values are multiples of ``GRID`` so finite-difference perturbations are exact.
    """
    size = int(np.prod(shape))
    levels = rng.permutation(size).astype(np.float64) - (size - 1) / 2.0
    jitter = rng.uniform(0.0, 0.25, size)
    return quantize((levels + jitter) * gap).reshape(shape)


def tie_free_arrays(shape: tuple[int, ...], *, gap: float = TIE_FREE_GAP) -> SearchStrategy[np.ndarray]:
    """Float64 arrays of ``shape`` whose values are pairwise more than ``0.75 * gap`` apart."""
    if not all(isinstance(n, int) and n >= 1 for n in shape):
        raise ValueError(f"shape must be a tuple of positive integers, got {shape!r}")
    if not gap > 4 * GRID:
        raise ValueError(f"gap must be larger than {4 * GRID}, got {gap!r}")
    return st.integers(0, 2**32 - 1).map(lambda seed: tie_free_array(np.random.default_rng(seed), shape, gap))


def tie_the_maximum(window: np.ndarray, rng: np.random.Generator, ties: int, above: float) -> None:
    """Set ``ties`` random positions of ``window`` (in place, any view) to its maximum plus
    ``above``: the new maximum occurs exactly ``ties`` times."""
    positions = rng.choice(window.size, size=ties, replace=False)
    top = window.max() + above
    window.flat[positions] = top


def tied_window(rng: np.random.Generator, shape: tuple[int, ...], ties: int) -> np.ndarray:
    """A tie-free window except that its maximum occurs exactly ``ties`` times."""
    window = tie_free_array(rng, shape)
    tie_the_maximum(window, rng, ties, TIE_FREE_GAP)
    return window


def tied_windows(f: int | None = None) -> SearchStrategy[tuple[np.ndarray, int]]:
    """(window, k): an (f, f) window whose maximum is shared by k >= 2 positions."""

    @st.composite
    def build(draw):
        size = f if f is not None else draw(st.integers(2, 4))
        ties = draw(st.integers(2, size * size))
        seed = draw(st.integers(0, 2**32 - 1))
        return tied_window(np.random.default_rng(seed), (size, size), ties), ties

    return build()
