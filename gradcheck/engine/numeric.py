"""Central finite differences in float64: per element (grouped), and directional.

All functions differentiate the scalar loss ``L(x) = sum(G * F(x))`` for an
upstream gradient ``G`` shaped like the output ``F(x)``.

Error analysis (why the tolerances are what they are)
-----------------------------------------------------
Step. The layers checked here are linear in each differentiated input (conv in
A_prev, W and b separately; average pooling), or piecewise linear with inputs
whose values are further apart than the step (max pooling): the central
difference ``(F(x + h) - F(x - h)) / 2h`` has *no truncation error*, only rounding
error, which falls like 1/h. So the step is large: ``h = 2**-10``. Inputs are
drawn on the grid of multiples of ``2**-20`` (``|x| < 2**10``) and perturbation
directions on multiples of ``2**-8``, so ``x +- h u`` is computed exactly and
the step in the denominator is exact.

Rounding. An output ``F_r`` that sums ``n`` products is computed (in any order)
with error at most ``gamma_n * M_r``, ``gamma_n = n u / (1 - n u)``, ``u = 2**-53``,
``M_r = sum |terms|`` (Higham, *Accuracy and Stability of Numerical Algorithms*,
eq. 3.5). ``M`` is the layer applied to absolute values (``magnitude``). Hence

    |fl(F_r(x+h)) - fl(F_r(x-h)) - (F_r(x+h) - F_r(x-h))| <= 2 gamma_n M_r

and the numeric gradient of element k, a sum of ``G_r * dF_r`` over the outputs
``r`` that k touches (its support), is off by at most

    numeric_bound_k = [sum_{r in supp k} |G_r| (2 gamma_n M_r + 2u |dF_r|)
                       + gamma_{|supp|} sum_{r in supp k} |G_r dF_r|] / 2h.

The analytic gradient is itself a sum of at most ``n'`` products, off by at most
``gamma_{n'} * A_k`` with ``A_k`` the backward applied to absolute values. The
tolerance per element is ``SAFETY * (numeric_bound_k + gamma_{n'} A_k)`` (0 for an
element no output depends on: its gradient is exactly 0). A correct implementation
cannot exceed it, whatever its summation order; a bug of relative size 1e-3 exceeds it by orders of magnitude (the
bounds are ~1e-12 relative on the generated sizes).

Transform algorithms: a norm-wise bound (used only where the element-wise one fails).
The element-wise bound above holds for any order of summing the products of each
output (loops, BLAS, einsum): it is the right test for nearly every submission.
FFT-based convolution (``scipy.signal.correlate(method="fft")``, ``numpy.fft``) and
Winograd / Toom-Cook transforms do not sum those products at all: they are correct,
yet their error is bounded *norm-wise*, and a small output element can carry an
error larger than ``gamma_n M_r``. The checker then falls back, element by element,
to the following bounds, and says so in the verdict (``bound = "norm-wise"``).

FFT. Higham (*Accuracy and Stability of Numerical Algorithms*, 2nd ed., Thm 24.2):
the computed DFT of a length-n vector (n = 2^t, twiddle factors with relative error
mu) satisfies ``||fl(Fx) - Fx||_2 <= g ||Fx||_2``, ``g = t eta / (1 - t eta)``,
``eta = mu + gamma_4 (sqrt(2) + mu)``; with mu = u (pocketfft's twiddles), and the
same form for mixed radices and real transforms. A circular convolution
``z = F^{-1}(Fx .* Fy)`` of zero-padded x and y (length n, so ``||Fx||_2 = sqrt(n)
||x||_2`` and ``||Fy||_inf <= ||y||_1``) then has, to first order in u,

    ||fl(z) - z||_2 <= [(2g + sqrt(2) gamma_2 + u) ||x||_2 ||y||_1 + g ||x||_1 ||y||_2]
                    <= (2g + 3u) (||x||_2 ||y||_1 + ||x||_1 ||y||_2),

(the error of X's transform meets ``||Y||_inf``, that of Y's meets ``||X||_inf <= ||x||_1``,
the complex product adds ``sqrt(2) gamma_2`` (Higham Lemma 3.5), the inverse
transform ``g`` more). Every element is bounded by the 2-norm of the error vector.
Summing K such products (channels, in the frequency or the spatial domain) adds
``gamma_K`` times the same norms, and splitting x or y into pieces (examples,
channels) only lowers the right-hand side, so the bound with the norms of the whole
tensors and ``t = log2`` of the largest FFT grid covers any way of batching the FFTs
(:func:`fft_bound`). Correlation is convolution with a flipped kernel (same norms).

Winograd / Toom-Cook F(m x m, r x r). ``y = A^T [(G g G^T) .* (B^T d B)] A`` on an input
tile d and a kernel g (Lavin & Gray, *Fast algorithms for convolutional neural
networks*, CVPR 2016). By the component-wise analysis of Barabasz, Anderson,
Soodhalter & Gregg (*Error analysis and improving the accuracy of Winograd
convolution for deep neural networks*, ACM TOMS 46(4), 2020), the error is at most
``gamma_k |A^T| [(|G||g||G^T|) .* (|B^T||d||B|)] |A|`` with k the depth of the chain
of sums. For the points {0, 1, -1, inf} of F(2x2, 3x3) every entry of A, B, G is at
most 1 in modulus and A^T has 3 non-zeros per row, so the bound is at most
``9 gamma_k ||d||_1 ||g||_1`` per output and channel; the checker uses
``16 gamma_{12 + n_C_prev}`` times the l1 norm of the (f + 2) x (f + 2) x n_C_prev
neighbourhood of the window (any tile alignment) times ``||W[..., c]||_1``
(:func:`winograd_bound`). Larger tiles (F(4x4, 3x3) with points +-2, +-1/2) have
exponentially growing constants (Barabasz et al.) and are not covered.

Both bounds are far above the element-wise one for small outputs, but far below a
real bug: on the generated sizes they are <= ~1e-10 relative to the output's scale,
and an error of 1e-9 of the output's scale in a single element still fails
(tests/test_engine_no_false_failures.py).

Grouping (Curtis-Powell-Reid). Inputs whose supports are disjoint can be
perturbed together: one pair of forward calls per *color*, and the output
difference is attributed back to each input through its support
(``support_sum``), so the cost depends on the number of colors, not on the
image size. For a conv layer, positions ``(y, x)`` of the padded input with equal
``(y mod f, x mod f)`` and channel never share a window: ``f*f*n_C_prev`` colors.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

STEP = 2.0**-10  # finite-difference step h
GRID = 2.0**-20  # inputs are multiples of GRID, so x +- h u is exact
DIRECTION_GRID = 2.0**-8  # directions u are multiples of this, |u| <= 1
UNIT_ROUNDOFF = 2.0**-53
SAFETY = 4.0  # margin over the bound for operations it does not count (a division by f*f, a separate + b)

Evaluate = Callable[[Sequence[np.ndarray]], list[np.ndarray]]
SupportSum = Callable[[np.ndarray], np.ndarray]


def gamma(n: int | np.ndarray) -> np.ndarray | float:
    """Higham's gamma_n = n u / (1 - n u): relative error bound of an n-term sum."""
    nu = np.asarray(n, dtype=np.float64) * UNIT_ROUNDOFF
    return nu / (1.0 - nu)


OFF_GRID = 1 << 32  # an array seed with this bit draws general float64 values instead of grid values


def off_grid(seed: int) -> bool:
    """Whether the arrays of the case with this seed are general float64 values (full
    mantissas, several magnitudes), not multiples of GRID: such a case is judged against
    the reference, not by differences (which are exact on the grid only). Real data is not
    on a grid, and code that computes in single precision loses nothing on it."""
    return bool(int(seed) & OFF_GRID)


WIDE_VALUES = 1 << 33  # an array seed with this bit draws values from a wider range (see ``wide_values``)


def wide_values(seed: int) -> bool:
    """Whether the case with this seed draws its inputs from a wider range than N(0, 1): values
    256 times larger (pixels run to 255), and for a layer whose inputs may be zero (not pooling,
    whose windows must be tie-free) a whole example and a third of the entries exactly 0
    (blank images, the output of a ReLU)."""
    return bool(int(seed) & WIDE_VALUES)


OTHER_LAYOUT = 1 << 34  # an array seed with this bit passes the arrays in Fortran (column-major) order


def other_layout(seed: int) -> bool:
    """Whether the case with this seed hands the submission its arrays in Fortran order (as a
    transposed view would come), not C order: same values, other strides."""
    return bool(int(seed) & OTHER_LAYOUT)


STRIDED_LAYOUT = 1 << 35  # an array seed with this bit passes the arrays as strided views (neither C nor F order)


def strided_layout(seed: int) -> bool:
    """Whether the case with this seed hands the submission its arrays as strided views that are
    neither C- nor Fortran-contiguous (every other element of a larger buffer, as a slice with
    steps would come; ``gradcheck.boundary.values.StridedView``): same values, other strides."""
    return bool(int(seed) & STRIDED_LAYOUT)


SPARSE_UPSTREAM = 1 << 36  # an array seed with this bit makes about half the upstream gradient exactly 0


def sparse_upstream(seed: int) -> bool:
    """Whether the case with this seed draws an upstream gradient with exact zeros (about half of
    its entries, never all), as the gradient that comes back through a ReLU has: code that skips
    or stops at a zero gradient shows."""
    return bool(int(seed) & SPARSE_UPSTREAM)


DEFAULT_MODE = 1 << 37  # an array seed with this bit calls the function without an argument it has a default for


def default_mode(seed: int) -> bool:
    """Whether the case with this seed calls its function without an argument whose default the
    contract fixes, as the course's notebook calls it (the plan's case says which and when: the
    convolution notebook's ``pool_forward(A_prev, hparameters)`` of a max case, whose default is
    ``mode="max"``; ``gradcheck.plans.convolution.checks.pool.without_mode``)."""
    return bool(int(seed) & DEFAULT_MODE)


COURSE_KEY_ORDER = 1 << 38  # an array seed with this bit passes hparameters in the course's key order


def course_key_order(seed: int) -> bool:
    """Whether the case with this seed passes ``hparameters`` with its keys in the other order, the
    course's own (``{"pad": .., "stride": ..}``, ``{"stride": .., "f": ..}``): code that unpacks
    ``hparameters.values()`` depends on the order and shows."""
    return bool(int(seed) & COURSE_KEY_ORDER)


CALLED_AGAIN = 1 << 39  # an array seed with this bit calls the function again and re-reads its first result


def called_again(seed: int) -> bool:
    """Whether the case with this seed calls the function a second time, on other inputs of the
    same shapes, and then reads its first result again: a result that changed in between is a
    buffer the function reuses between calls (aliasing)."""
    return bool(int(seed) & CALLED_AGAIN)


CALL_KINDS = OTHER_LAYOUT | STRIDED_LAYOUT | SPARSE_UPSTREAM | DEFAULT_MODE | COURSE_KEY_ORDER | CALLED_AGAIN


def value_seed(seed: int) -> int:
    """The part of an array seed the values are drawn from: without the bits that say only how
    the function is called (:data:`CALL_KINDS`: layouts, zeros of the upstream gradient, a call
    without mode, the key order, a second call). Clearing one of those bits gives the same
    inputs called the usual way, which is how a diagnosis tells what a failure depends on."""
    return int(seed) & ~CALL_KINDS


def other_seed(seed: int) -> int:
    """The array seed of the other inputs of a second call (``called_again``): other values, the
    same kinds of case (every flag bit kept)."""
    return int(seed) ^ 0x5BD1E995


def near_ties(values: np.ndarray, rng: np.random.Generator, relative: float = 1e-9) -> np.ndarray:
    """A copy of NHWC ``values`` where, in every image and channel, a few elements have a neighbour
    (right or below) within ``relative`` of them: maxima that nearly tie, which differences cannot
    tell apart (so such a case is judged against the reference, never by differences)."""
    near = np.array(values, dtype=np.float64)
    if near.ndim != 4:
        return near
    m, n_H, n_W, n_C = near.shape
    for i in range(m):
        for c in range(n_C):
            for _ in range(max(1, n_H * n_W // 4)):
                y, x = int(rng.integers(0, n_H)), int(rng.integers(0, n_W))
                dy, dx = (0, 1) if rng.random() < 0.5 else (1, 0)
                if y + dy < n_H and x + dx < n_W:  # a random offset: never two equal values (an exact tie)
                    offset = relative * rng.uniform(0.5, 1.5) * rng.choice([-1.0, 1.0])
                    near[i, y + dy, x + dx, c] = near[i, y, x, c] * (1 - offset)
    return near


def general_values(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Full-mantissa float64 values of several magnitudes (about 2^-4 to 2^4 times a normal draw)."""
    return rng.standard_normal(shape) * np.exp2(rng.uniform(-4.0, 4.0, size=shape))


def quantize(x: np.ndarray) -> np.ndarray:
    """Round to multiples of GRID so that perturbations by h u are exact."""
    return np.round(np.asarray(x, dtype=np.float64) / GRID) * GRID


def random_direction(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """A direction u with entries in [-1, 1] on multiples of DIRECTION_GRID, no zeros."""
    steps = int(round(1.0 / DIRECTION_GRID))
    magnitude = rng.integers(steps // 4, steps + 1, size=shape)
    sign = rng.choice(np.array([-1.0, 1.0]), size=shape)
    return sign * magnitude * DIRECTION_GRID


def upstream_gradient(
    rng: np.random.Generator, shape: tuple[int, ...], general: bool = False, sparse: bool = False
) -> np.ndarray:
    """A random upstream gradient G (never all ones), quantized like the inputs (``general``:
    full-mantissa values of several magnitudes, for a case off the grid; ``sparse``: about half
    of its entries exactly 0, never all of them, as after a ReLU)."""
    upstream = general_values(rng, shape) if general else quantize(rng.standard_normal(shape))
    if sparse and upstream.size:
        zero = rng.random(shape) < 0.5
        if zero.all():
            zero.flat[int(rng.integers(0, upstream.size))] = False
        upstream = np.where(zero, 0.0, upstream)
    return upstream


@dataclass
class Numeric:
    """A numeric gradient and its rounding-error bound, both shaped like the input."""

    gradient: np.ndarray
    bound: np.ndarray
    forward_calls: int


def full_support_sum(output: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Support of every input is every output: the total, broadcast to ``shape``."""
    return np.full(shape, output.sum())


def central_difference(
    evaluate: Evaluate,
    x: np.ndarray,
    upstream: np.ndarray,
    *,
    magnitude: np.ndarray,
    n_terms: int,
    colors: np.ndarray | None = None,
    support_sum: SupportSum | None = None,
    step: float = STEP,
) -> Numeric:
    """Per-element central difference of ``L(x) = sum(upstream * F(x))``.

    ``evaluate`` maps a list of inputs shaped like ``x`` to the list of outputs
    ``F`` (one batch: a single round trip to a worker). ``colors`` (int array shaped
    like ``x``) groups elements with disjoint supports; ``support_sum`` maps an
    output-shaped array to the input-shaped array of its sums over each element's
    support. Without ``colors`` every element is its own color (one at a time,
    ``2 * x.size`` forward calls) and its support is every output.
    ``magnitude`` bounds ``sum |terms|`` of each output (see module docstring) and
    ``n_terms`` is the number of terms an output sums.
    """
    x = np.asarray(x, dtype=np.float64)
    if colors is None:
        colors = np.arange(x.size).reshape(x.shape)
        support_sum = None
    if support_sum is None:
        def support_sum(output: np.ndarray) -> np.ndarray:
            return full_support_sum(output, x.shape)

    color_ids = np.unique(colors)
    perturbed = central_points(x, colors, step)
    outputs = evaluate(perturbed)

    gradient = np.zeros(x.shape)
    bound = np.zeros(x.shape)
    abs_upstream = np.abs(upstream)
    output_bound = 2.0 * gamma(n_terms) * magnitude
    for index, color in enumerate(color_ids):
        selected = colors == color
        out_plus, out_minus = outputs[2 * index], outputs[2 * index + 1]
        delta = out_plus - out_minus
        contribution = upstream * delta
        width = (np.where(selected, x + step, x) - np.where(selected, x - step, x))[selected]
        gradient[selected] = support_sum(contribution)[selected] / width
        rounding = abs_upstream * (output_bound + 2.0 * UNIT_ROUNDOFF * np.abs(delta))
        support_size = support_sum(np.ones(contribution.shape))[selected]
        sum_error = gamma(support_size) * support_sum(np.abs(contribution))[selected]
        bound[selected] = (support_sum(rounding)[selected] + sum_error) / width
    return Numeric(gradient, bound, forward_calls=len(perturbed))


def central_points(x: np.ndarray, colors: np.ndarray | None = None, step: float = STEP) -> list[np.ndarray]:
    """The inputs :func:`central_difference` evaluates, in its order: for each color (ascending),
    ``x`` with that color's elements moved by ``+step``, then by ``-step``."""
    x = np.asarray(x, dtype=np.float64)
    if colors is None:
        colors = np.arange(x.size).reshape(x.shape)
    points: list[np.ndarray] = []
    for color in np.unique(colors):
        selected = colors == color
        points.append(np.where(selected, x + step, x))
        points.append(np.where(selected, x - step, x))
    return points


def directional_points(x: np.ndarray, direction: np.ndarray, step: float = STEP) -> list[np.ndarray]:
    """The inputs :func:`directional_difference` evaluates: ``[x + h u, x - h u]``."""
    return [x + step * direction, x - step * direction]


@dataclass
class Directional:
    """<upstream, J u> by central difference, with its rounding-error bound."""

    value: float
    bound: float


def directional_difference(
    evaluate: Evaluate,
    x: np.ndarray,
    direction: np.ndarray,
    upstream: np.ndarray,
    *,
    magnitude: np.ndarray,
    n_terms: int,
    step: float = STEP,
) -> Directional:
    """``(L(x + h u) - L(x - h u)) / 2h`` with ``L = sum(upstream * F)``: two forward calls.

    Computed as ``sum(upstream * (F(x+hu) - F(x-hu))) / 2h`` to avoid cancellation.
    ``magnitude`` must bound ``sum |terms|`` of F at any point of the segment.
    """
    out_plus, out_minus = evaluate(directional_points(x, direction, step))
    delta = out_plus - out_minus
    width = 2.0 * step
    terms = upstream * delta
    rounding = np.sum(np.abs(upstream) * (2.0 * gamma(n_terms) * magnitude + 2.0 * UNIT_ROUNDOFF * np.abs(delta)))
    rounding += gamma(terms.size) * np.sum(np.abs(terms))
    return Directional(float(np.sum(terms) / width), float(rounding / width))


def sides(window: int | tuple[int, int]) -> tuple[int, int]:
    """(f_H, f_W) of a window given as its side f (square) or as the pair."""
    return (window, window) if isinstance(window, int | np.integer) else (int(window[0]), int(window[1]))


def window_colors(
    shape: tuple[int, ...], window: int | tuple[int, int], pad: int, channel_axis: int | None = 3
) -> np.ndarray:
    """CPR colors of an NHWC array under f_H x f_W windows (``window``: f or the pair):
    ``(y mod f_H, x mod f_W[, channel])``.

    ``y``, ``x`` are padded coordinates. Two elements of one color are at least f_H apart
    in height or f_W in width (or in different examples), so no window holds both.
    """
    f_H, f_W = sides(window)
    m, n_H, n_W = shape[:3]
    rows = (np.arange(n_H) + pad) % f_H
    cols = (np.arange(n_W) + pad) % f_W
    spatial = rows[:, None] * f_W + cols[None, :]
    colors = np.broadcast_to(spatial[None, :, :, None], shape).copy()
    if channel_axis is not None:
        channels = np.arange(shape[3])
        colors = colors * shape[3] + channels[None, None, None, :]
    return colors


FFT_ETA = UNIT_ROUNDOFF + (4 * UNIT_ROUNDOFF / (1 - 4 * UNIT_ROUNDOFF)) * (np.sqrt(2.0) + UNIT_ROUNDOFF)


def fft_log2_length(x_shape: Sequence[int], y_shape: Sequence[int]) -> float:
    """log2 of an upper bound on the length of any FFT grid for correlating arrays of these
    shapes: the product over axes of the full-correlation size, each at most doubled when
    padded to a fast length (so one extra bit per axis)."""
    sizes = [a + b - 1 for a, b in zip(x_shape, y_shape, strict=False)]
    return float(np.sum(np.log2(np.maximum(sizes, 1))) + len(sizes) + 1)


def fft_bound(x: np.ndarray, y: np.ndarray, log2_length: float, n_sum: int) -> float:
    """Norm-wise bound on every element of an FFT-computed correlation of x with y,
    summed over ``n_sum`` products (see the module docstring, "Transform algorithms")."""
    t_eta = log2_length * FFT_ETA
    g = t_eta / (1.0 - t_eta)
    coefficient = 2.0 * g + 3.0 * UNIT_ROUNDOFF + float(gamma(max(int(n_sum), 1)))
    x, y = np.abs(np.asarray(x, dtype=np.float64)), np.abs(np.asarray(y, dtype=np.float64))
    norms = np.sqrt(np.sum(x * x)) * np.sum(y) + np.sum(x) * np.sqrt(np.sum(y * y))
    return float(coefficient * norms)


def winograd_bound(tile_l1: np.ndarray, kernel_l1: np.ndarray, n_C_prev: int) -> np.ndarray:
    """Component-wise bound of an F(2x2, 3x3)-family Winograd convolution per output:
    ``16 gamma_{12 + n_C_prev} * tile_l1 * kernel_l1`` (broadcast; see the module docstring)."""
    return 16.0 * gamma(12 + int(n_C_prev)) * np.asarray(tile_l1) * np.asarray(kernel_l1)
