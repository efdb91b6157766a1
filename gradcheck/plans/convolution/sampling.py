"""Draw cases cheaply, and shrink a failing one to a smallest failing geometry.

The engine draws its cases with a seeded ``np.random.Generator`` (microseconds a case)
over the same space as the public hypothesis strategies (``gradcheck.strategies``):
conv f in [1, 4], stride in [1, 3], pad in [0, 2]; pool f in [1, 3], stride in [1, 3];
sizes from the smallest that fits to 5 more; m and channels in [1, 3].

Cases go where bugs live. The (f, stride, pad) combinations are visited in a
shuffled cycle, so that 36 conv cases (9 pool cases) cover every combination:
pad = 0, stride > f, f = 1, overlapping windows (stride < f), strides that do not
tile the input. Sizes, batch and channels lean toward the revealing side: m > 1,
several channels and n_H != n_W in most cases, a single example, channel or row in
some. Every fourth case is tiny (as hypothesis's first examples are): few terms per
output make the tightest rounding bounds, so the smallest errors show there.

:func:`shrink_candidates` lists the cases one step smaller than a failing one, in
the order hypothesis would shrink the strategies' draws (:func:`shrink_key`: f,
stride and pad first, then sizes, batch, channels, the array seed); the engine keeps
the smallest candidate that still fails and repeats until none fails. The result is a
local minimum: no single field can be made smaller and still fail.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import numpy as np

from gradcheck.engine.numeric import (
    CALLED_AGAIN,
    COURSE_KEY_ORDER,
    DEFAULT_MODE,
    OFF_GRID,
    OTHER_LAYOUT,
    SPARSE_UPSTREAM,
    STRIDED_LAYOUT,
    WIDE_VALUES,
)
from gradcheck.plans.convolution.checks.window import WindowCase
from gradcheck.strategies import ConvGeometry, CS231nConvGeometry, CS231nPoolGeometry, PoolGeometry

MAX_BATCH = 3
MAX_CHANNELS = 3
MAX_EXTRA = 5
CONV_FILTERS, CONV_STRIDES, CONV_PADS = range(1, 5), range(1, 4), range(3)
POOL_FILTERS, POOL_STRIDES = range(1, 4), range(1, 4)
WINDOW_SIDES = range(1, 5)


def _lean_high(rng: np.random.Generator, low: int, high: int, p_low: float = 0.25) -> int:
    """``low`` with probability ``p_low``, else uniform in ``(low, high]``."""
    if high == low or rng.random() < p_low:
        return low
    return int(rng.integers(low + 1, high + 1))


def _sizes(rng: np.random.Generator, smallest: int, extra: int = MAX_EXTRA) -> tuple[int, int]:
    n_H = smallest + int(rng.integers(0, extra + 1))
    n_W = smallest + int(rng.integers(0, extra + 1))
    if extra < MAX_EXTRA:
        return n_H, n_W
    if n_H == n_W and rng.random() < 0.6:  # H != W catches swapped axes
        n_W = smallest + (n_W - smallest + 1 + int(rng.integers(0, MAX_EXTRA))) % (MAX_EXTRA + 1)
    return n_H, n_W


def _cycle(rng: np.random.Generator, combos: list[tuple[int, ...]]) -> Iterator[tuple[int, ...]]:
    while True:
        yield from (combos[i] for i in rng.permutation(len(combos)))


def _small(index: int) -> bool:
    """Every fourth case is tiny: the fewest terms per output give the tightest rounding
    bounds (an error of 1e-11 relative shows), and 1-pixel inputs are edge cases."""
    return index % 4 == 1


WIDE_EVERY = 32  # every 32nd case (offset by 7) is wide: beyond the usual ranges
WIDE_FILTERS, WIDE_POOL_FILTERS, WIDE_PADS = (5, 6), (4, 5), range(4)
WIDE_BATCH, WIDE_CHANNELS = (4, 6), (4, 5)


def _wide(index: int) -> bool:
    """Every 32nd case leaves the usual ranges: 4 to 6 examples, 4 or 5 channels, kernels of 5
    or 6 (pool windows of 4 or 5) and pads up to 3, where bugs hide that small cases never
    reach (the fifth example dropped, a transpose that only shows for f >= 5)."""
    return index % WIDE_EVERY == 7


def _wide_sizes(rng: np.random.Generator, smallest: int) -> tuple[int, int]:
    """Input sizes of a wide case: 2 to 4 more than the smallest that fits (the course's own
    test input is 5 x 7, with 10 examples and 4 channels)."""
    return tuple(smallest + int(rng.integers(2, 5)) for _ in range(2))  # type: ignore[return-value]


def _wide_counts(rng: np.random.Generator) -> tuple[int, int, int]:
    """(m, channels in, channels out) of a wide case."""
    return (int(rng.integers(WIDE_BATCH[0], WIDE_BATCH[1] + 1)), *(int(rng.integers(WIDE_CHANNELS[0],
            WIDE_CHANNELS[1] + 1)) for _ in range(2)))


HEAVY_EVERY, HEAVY_AT = 29, 11  # every 29th case (offset by 11) is heavy: far beyond the usual ranges
HEAVY_SIDES = (12, 32)  # input sides of a large image
HEAVY_STRIDES, HEAVY_PADS = (4, 6), (0, 5)
HEAVY_BATCH, HEAVY_CHANNELS = (7, 10), (6, 8)
HEAVY_FILTERS = (5, 7)  # kernels, pooling windows, and the windows of create_mask_from_window / distribute_value
HEAVY_OUTPUTS = 640  # at most this many outputs (examples x rows x columns x channels): a bounded cost
# the two axes a heavy case pushes, in turn: every axis in two of five consecutive heavy cases, and
# never a large image with a large batch (the costly pair)
HEAVY_PAIRS = (("size", "stride"), ("batch", "window"), ("channels", "stride"), ("size", "window"),
               ("batch", "channels"))


def _heavy(index: int) -> bool:
    """Every 29th case is heavy: two axes (of the input's size, the stride and pad, the batch, the
    channels and the window) far beyond the usual ranges: strides of 4 to 6, pads to 5, inputs of
    12 to 32 a side, 7 to 10 examples, 6 to 8 channels, windows of 5 to 7. Bugs hide there that
    neither the usual nor the wide cases reach (a loop bound sized for small images, the seventh
    example dropped, a formula wrong only at stride 4). The other fields stay in the usual ranges,
    and fewer than :data:`HEAVY_OUTPUTS` outputs keep the cost of the article's loops bounded. The
    period 29 moves these cases through every kind of seed (``draw_cases``: values, layouts, ...)."""
    return index % HEAVY_EVERY == HEAVY_AT


def _between(rng: np.random.Generator, bounds: tuple[int, int]) -> int:
    return int(rng.integers(bounds[0], bounds[1] + 1))


def _heavy_fields(rng: np.random.Generator, turn: int, pad: bool = True) -> dict[str, Any]:
    """The fields of the ``turn``-th heavy case that do not depend on the convention: its axes,
    window sides (f_H, f_W), stride, pad, m and channels (in, out)."""
    axes = HEAVY_PAIRS[turn % len(HEAVY_PAIRS)]
    sides = HEAVY_FILTERS if "window" in axes else (1, 4)
    window = (_between(rng, sides), _between(rng, sides))
    stride = _between(rng, HEAVY_STRIDES if "stride" in axes else (1, 3))
    padding = _between(rng, HEAVY_PADS if "stride" in axes or "window" in axes else (0, 2)) if pad else 0
    m = _between(rng, HEAVY_BATCH if "batch" in axes else (1, 3))
    channels = tuple(_between(rng, HEAVY_CHANNELS if "channels" in axes else (1, 3)) for _ in range(2))
    return {"axes": axes, "window": window, "stride": stride, "pad": padding, "m": m, "channels": channels}


def _heavy_sides(rng: np.random.Generator, fields: dict[str, Any], exact: bool) -> list[int]:
    """Input sides of a heavy case: 12 to 32 for a large image; else from the smallest that fits
    to a few strides more (at least two outputs a side when the stride is large). ``exact``: only
    sides at which the output size is an integer (CS231n), the next such side up."""
    sides = []
    for window in fields["window"]:
        smallest = max(1, window - 2 * fields["pad"])
        if "size" in fields["axes"]:
            side = max(smallest, _between(rng, HEAVY_SIDES))
        elif "stride" in fields["axes"]:
            side = smallest + fields["stride"] * _between(rng, (1, 3)) + int(rng.integers(0, fields["stride"]))
        else:
            side = smallest + int(rng.integers(0, MAX_EXTRA + 1))
        if exact:
            side += (-(side + 2 * fields["pad"] - window)) % fields["stride"]
        sides.append(side)
    return sides


def _outputs(geometry: Any) -> int:
    channels = geometry.n_C
    return geometry.m * geometry.n_H * geometry.n_W * channels


def _bounded(geometry: Any, axes: tuple[str, ...]) -> Any:
    """``geometry`` made cheap enough (at most :data:`HEAVY_OUTPUTS` outputs): first the batch and
    channels that are not among the heavy ``axes`` go down to 1, then the larger input side
    shrinks, by whole strides (so that an exact size stays exact), while the window still fits."""
    for field, axis in (("m", "batch"), ("n_C", "channels")):
        if _outputs(geometry) > HEAVY_OUTPUTS and axis not in axes:
            geometry = replace(geometry, **{field: 1})
    pad = getattr(geometry, "pad", 0)
    while _outputs(geometry) > HEAVY_OUTPUTS:
        f_H, f_W = geometry.window
        room = {"n_H_prev": geometry.n_H_prev + 2 * pad - f_H, "n_W_prev": geometry.n_W_prev + 2 * pad - f_W}
        field = max(room, key=lambda name: (room[name], name))
        if room[field] < geometry.stride or getattr(geometry, field) <= geometry.stride:
            break
        geometry = replace(geometry, **{field: getattr(geometry, field) - geometry.stride})
    return geometry


def heavy_conv(rng: np.random.Generator, turn: int, rectangular: bool = False) -> ConvGeometry:
    """The ``turn``-th heavy conv case (:func:`_heavy`); ``rectangular``: CS231n's contract
    (HH and WW apart, output sizes that are integers)."""
    fields = _heavy_fields(rng, turn)
    f_H, f_W = fields["window"]
    if not rectangular:
        fields["window"] = (f_H, f_H)
    n_H_prev, n_W_prev = _heavy_sides(rng, fields, exact=rectangular)
    n_C_prev, n_C = fields["channels"]
    if rectangular:
        geometry = CS231nConvGeometry(fields["m"], n_H_prev, n_W_prev, n_C_prev, n_C, f_H, fields["stride"],
                                      fields["pad"], f_W)
    else:
        geometry = ConvGeometry(fields["m"], n_H_prev, n_W_prev, n_C_prev, n_C, f_H, fields["stride"], fields["pad"])
    return _bounded(geometry, fields["axes"])


def heavy_pool(rng: np.random.Generator, turn: int, mode: str, rectangular: bool = False) -> PoolGeometry:
    """The ``turn``-th heavy pooling case of ``mode`` (:func:`_heavy`); ``rectangular``: CS231n's."""
    fields = _heavy_fields(rng, turn, pad=False)
    f_H, f_W = fields["window"]
    if not rectangular:
        fields["window"] = (f_H, f_H)
    n_H_prev, n_W_prev = _heavy_sides(rng, fields, exact=rectangular)
    if rectangular:
        geometry = CS231nPoolGeometry(fields["m"], n_H_prev, n_W_prev, fields["channels"][0], f_H, fields["stride"],
                                      mode, f_W)
    else:
        geometry = PoolGeometry(fields["m"], n_H_prev, n_W_prev, fields["channels"][0], f_H, fields["stride"], mode)
    return _bounded(geometry, fields["axes"])


def usual(geometry: Any) -> bool:
    """Whether a drawn geometry is one of the usual cases, which visit every (window, stride, pad)
    in turn, not a wide or heavy one drawn between them: windows within the usual filters, stride
    to 3, pad to 2, at most 3 examples and channels."""
    filters = POOL_FILTERS if isinstance(geometry, PoolGeometry) else CONV_FILTERS
    channels = (geometry.n_C_prev, geometry.n_C) if isinstance(geometry, ConvGeometry) else (geometry.n_C,)
    return (all(side in filters for side in geometry.window) and geometry.stride in CONV_STRIDES
            and getattr(geometry, "pad", 0) in CONV_PADS and geometry.m <= MAX_BATCH and max(channels) <= MAX_CHANNELS)


def conv_cases(rng: np.random.Generator) -> Iterator[ConvGeometry]:
    """Endless conv geometries; every 36 consecutive ones cover each (f, stride, pad)."""
    combos = _cycle(rng, list(itertools.product(CONV_FILTERS, CONV_STRIDES, CONV_PADS)))
    for index in itertools.count():
        if _heavy(index):  # between the usual cases too
            yield heavy_conv(rng, index // HEAVY_EVERY)
            continue
        if _wide(index):  # between the usual cases, which keep their cycle
            f, stride, pad = int(rng.choice(WIDE_FILTERS)), int(rng.choice(CONV_STRIDES)), int(rng.choice(WIDE_PADS))
            n_H_prev, n_W_prev = _wide_sizes(rng, max(1, f - 2 * pad))
            m, n_C_prev, n_C = _wide_counts(rng)
            yield ConvGeometry(m, n_H_prev, n_W_prev, n_C_prev, n_C, f, stride, pad)
            continue
        f, stride, pad = next(combos)
        small = _small(index)
        n_H_prev, n_W_prev = _sizes(rng, max(1, f - 2 * pad), 1 if small else MAX_EXTRA)
        most = 2 if small else MAX_BATCH
        m = _lean_high(rng, 1, most)
        n_C_prev = _lean_high(rng, 1, 2 if small else MAX_CHANNELS)
        n_C = _lean_high(rng, 1, 2 if small else MAX_CHANNELS)
        yield ConvGeometry(m, n_H_prev, n_W_prev, n_C_prev, n_C, f, stride, pad)


def pool_cases(rng: np.random.Generator, mode: str) -> Iterator[PoolGeometry]:
    """Endless pooling geometries of ``mode``; every 9 consecutive ones cover each (f, stride)."""
    combos = _cycle(rng, list(itertools.product(POOL_FILTERS, POOL_STRIDES)))
    for index in itertools.count():
        if _heavy(index):  # between the usual cases too
            yield heavy_pool(rng, index // HEAVY_EVERY, mode)
            continue
        if _wide(index):  # between the usual cases, which keep their cycle
            f, stride = int(rng.choice(WIDE_POOL_FILTERS)), int(rng.choice(POOL_STRIDES))
            n_H_prev, n_W_prev = _wide_sizes(rng, f)
            m, n_C, _ = _wide_counts(rng)
            yield PoolGeometry(m, n_H_prev, n_W_prev, n_C, f, stride, mode)
            continue
        f, stride = next(combos)
        small = _small(index)
        n_H_prev, n_W_prev = _sizes(rng, f, 1 if small else MAX_EXTRA)
        m = _lean_high(rng, 1, 2 if small else MAX_BATCH)
        n_C = _lean_high(rng, 1, 2 if small else MAX_CHANNELS)
        yield PoolGeometry(m, n_H_prev, n_W_prev, n_C, f, stride, mode)


def cs231n_conv_cases(rng: np.random.Generator) -> Iterator[CS231nConvGeometry]:
    """Endless geometries of CS231n's conv contract (rectangular kernels HH x WW, output sizes
    that are integers); every 144 consecutive ones cover each (HH, WW, stride, pad)."""
    combos = _cycle(rng, list(itertools.product(CONV_FILTERS, CONV_FILTERS, CONV_STRIDES, CONV_PADS)))
    for index in itertools.count():
        if _heavy(index):  # between the usual cases too
            yield heavy_conv(rng, index // HEAVY_EVERY, rectangular=True)
            continue
        if _wide(index):  # between the usual cases, which keep their cycle
            f_H, f_W = (int(rng.choice(WIDE_FILTERS)) for _ in range(2))
            stride, pad = int(rng.choice(CONV_STRIDES)), int(rng.choice(WIDE_PADS))
            n_H_prev, n_W_prev = _exact_sizes(rng, (f_H, f_W), stride, pad, True)
            m, n_C_prev, n_C = _wide_counts(rng)
            yield CS231nConvGeometry(m, n_H_prev, n_W_prev, n_C_prev, n_C, f_H, stride, pad, f_W)
            continue
        f_H, f_W, stride, pad = next(combos)
        small = _small(index)
        n_H_prev, n_W_prev = _exact_sizes(rng, (f_H, f_W), stride, pad, small)
        m = _lean_high(rng, 1, 2 if small else MAX_BATCH)
        n_C_prev = _lean_high(rng, 1, 2 if small else MAX_CHANNELS)
        n_C = _lean_high(rng, 1, 2 if small else MAX_CHANNELS)
        yield CS231nConvGeometry(m, n_H_prev, n_W_prev, n_C_prev, n_C, f_H, stride, pad, f_W)


def cs231n_pool_cases(rng: np.random.Generator, mode: str = "max") -> Iterator[CS231nPoolGeometry]:
    """Endless geometries of CS231n's max-pooling contract (pool_height x pool_width windows that
    tile the input exactly); every 27 consecutive ones cover each (height, width, stride)."""
    combos = _cycle(rng, list(itertools.product(POOL_FILTERS, POOL_FILTERS, POOL_STRIDES)))
    for index in itertools.count():
        if _heavy(index):  # between the usual cases too
            yield heavy_pool(rng, index // HEAVY_EVERY, mode, rectangular=True)
            continue
        if _wide(index):  # between the usual cases, which keep their cycle
            f_H, f_W = (int(rng.choice(WIDE_POOL_FILTERS)) for _ in range(2))
            stride = int(rng.choice(POOL_STRIDES))
            n_H_prev, n_W_prev = _exact_sizes(rng, (f_H, f_W), stride, 0, True)
            m, n_C, _ = _wide_counts(rng)
            yield CS231nPoolGeometry(m, n_H_prev, n_W_prev, n_C, f_H, stride, mode, f_W)
            continue
        f_H, f_W, stride = next(combos)
        small = _small(index)
        n_H_prev, n_W_prev = _exact_sizes(rng, (f_H, f_W), stride, 0, small)
        m = _lean_high(rng, 1, 2 if small else MAX_BATCH)
        n_C = _lean_high(rng, 1, 2 if small else MAX_CHANNELS)
        yield CS231nPoolGeometry(m, n_H_prev, n_W_prev, n_C, f_H, stride, mode, f_W)


def _exact_sizes(
    rng: np.random.Generator, window: tuple[int, int], stride: int, pad: int, small: bool
) -> tuple[int, int]:
    """Input sizes whose output sizes are integers: the smallest exact size plus whole strides
    (at most ``MAX_EXTRA`` more rows, one more stride in a tiny case)."""
    sizes = []
    for side in window:
        smallest = max(1, side - 2 * pad)
        smallest += (-(smallest + 2 * pad - side)) % stride
        steps = 1 if small else max(1, MAX_EXTRA // stride)
        sizes.append(smallest + stride * int(rng.integers(0, steps + 1)))
    n_H, n_W = sizes
    if n_H == n_W and not small and rng.random() < 0.6:  # H != W catches swapped axes
        n_W += stride
    return n_H, n_W


HEAVY_WINDOW_EVERY = 9  # every 9th window case (offset by 8) has a side of 5 to 7 (9: through every kind of seed)


def window_cases(rng: np.random.Generator, smallest: int = 1) -> Iterator[WindowCase]:
    """Endless window shapes (n_H, n_W) with sides in [smallest, 4], every shape in turn; and
    between them, every 9th case, a large window: one side of 5 to 7 (as a pooling window of
    :data:`HEAVY_FILTERS` passes it), the other from ``smallest`` to 7."""
    sides = [side for side in WINDOW_SIDES if side >= smallest]
    usual = _cycle(rng, list(itertools.product(sides, sides)))
    for index in itertools.count():
        if index % HEAVY_WINDOW_EVERY == HEAVY_WINDOW_EVERY - 1:
            large, other = _between(rng, HEAVY_FILTERS), _between(rng, (smallest, HEAVY_FILTERS[1]))
            yield WindowCase(large, other) if rng.random() < 0.5 else WindowCase(other, large)
            continue
        yield WindowCase(*next(usual))


def smallest_case(geometry: Any, smallest_window: int = 1) -> Any:
    """The geometry of ``geometry``'s kind with every field at its lower bound (hypothesis's
    first example): 1x1 inputs, one example and channel, f = 1, stride 1, pad 0."""
    if isinstance(geometry, WindowCase):
        return WindowCase(smallest_window, smallest_window)
    bounds = {field: 0 if field == "pad" else 1 for field in geometry.SHRINK_FIELDS}
    return replace(geometry, **bounds).fitted()


OFF_GRID_EVERY = 4  # every 4th drawn case has general float64 values (``numeric.off_grid``)
WIDE_VALUES_EVERY = 8  # and every 8th values from a wider range (``numeric.wide_values``)
CALLED_AGAIN_EVERY = 16  # every 16th drawn case calls the function twice (``numeric.called_again``)


def draw_cases(cases: Iterator[Any], rng: np.random.Generator, count: int) -> list[tuple[Any, int]]:
    """``count`` (geometry, array seed) pairs; the seed's flag bits (``gradcheck.engine.numeric``)
    say how each case is drawn and called. Every ``OFF_GRID_EVERY``-th seed has the ``OFF_GRID``
    bit (general float64 values, judged against the reference); of every 8 cases, the one at 5
    has ``WIDE_VALUES`` (values from a wider range), at 2 ``OTHER_LAYOUT`` (arrays in Fortran
    order), at 6 ``STRIDED_LAYOUT`` (arrays as strided views, neither C nor F order), at 4
    ``SPARSE_UPSTREAM`` (half the upstream gradient exactly 0), at 1 ``DEFAULT_MODE`` (max pooling
    called without its mode); every 4th (at 0) ``COURSE_KEY_ORDER`` (hparameters in the course's
    key order), and every 16th (at 5) ``CALLED_AGAIN`` (called twice, the first result re-read)."""
    drawn = []
    flags = {2: OTHER_LAYOUT, 6: STRIDED_LAYOUT, 4: SPARSE_UPSTREAM, 1: DEFAULT_MODE}
    for index, geometry in enumerate(itertools.islice(cases, count)):
        seed = int(rng.integers(0, 2**32))
        if index % OFF_GRID_EVERY == OFF_GRID_EVERY - 1:
            seed |= OFF_GRID
        if index % WIDE_VALUES_EVERY == 5:
            seed |= WIDE_VALUES
        seed |= flags.get(index % WIDE_VALUES_EVERY, 0)
        if index % 4 == 0:
            seed |= COURSE_KEY_ORDER
        if index % CALLED_AGAIN_EVERY == 5:
            seed |= CALLED_AGAIN
        drawn.append((geometry, seed))
    return drawn


def _smaller(value: int, low: int) -> list[int]:
    """Values below ``value`` to try: the bound, halfway, one less."""
    return sorted({low, (low + value) // 2, value - 1} - {value}) if value > low else []


def shrink_key(geometry: Any, seed: int) -> tuple[int, ...]:
    """The order cases shrink in: the order the strategies draw in (window, stride and pad
    first, then the sizes beyond the smallest that fits, batch, channels; the seed last)."""
    if isinstance(geometry, WindowCase):
        return (geometry.n_H, geometry.n_W, seed)
    f_H, f_W = geometry.window
    pad = getattr(geometry, "pad", 0)
    beyond = {
        "n_H_prev": geometry.n_H_prev - max(1, f_H - 2 * pad),
        "n_W_prev": geometry.n_W_prev - max(1, f_W - 2 * pad),
    }
    return (*(beyond.get(field, getattr(geometry, field)) for field in geometry.SHRINK_FIELDS), seed)


def _fields(geometry: Any) -> tuple[str, ...]:
    return ("n_H", "n_W") if isinstance(geometry, WindowCase) else geometry.SHRINK_FIELDS


def shrink_candidates(geometry: Any, seed: int, smallest_window: int = 1) -> list[tuple[Any, int]]:
    """(geometry, seed) pairs smaller than ``(geometry, seed)`` in :func:`shrink_key`, smallest first.

    Each field moves toward its lower bound (to the bound, halfway, one less); a
    smaller pad also comes with the input grown by as much, so the padded input keeps
    its size (a bug that needs a wide input survives pad -> 0); the array seed moves
    to 0. Each candidate is fitted to the contract (``fitted``: CS231n grows the input
    to the next size whose output size is an integer); invalid ones (a window larger
    than the padded input) are left out.
    """
    found: dict[Any, tuple[Any, int]] = {}
    if seed != 0:
        found[(geometry, 0)] = (geometry, 0)
    for field in _fields(geometry):
        low = smallest_window if isinstance(geometry, WindowCase) else (0 if field == "pad" else 1)
        for value in _smaller(getattr(geometry, field), low):
            variants = [replace(geometry, **{field: value})]
            if field == "pad":
                grow = 2 * (geometry.pad - value)
                variants.append(replace(geometry, pad=value, n_H_prev=geometry.n_H_prev + grow,
                                        n_W_prev=geometry.n_W_prev + grow))
            for smaller in variants:
                if not isinstance(smaller, WindowCase):
                    smaller = smaller.fitted()
                    if not smaller.valid():
                        continue
                found[(smaller, seed)] = (smaller, seed)
    key = shrink_key(geometry, seed)
    return sorted((c for c in found.values() if shrink_key(*c) < key), key=lambda c: shrink_key(*c))
