"""The directional screen of ``check_vjp``: one input's gradient checked along one random direction.

Identity checked (the dot-product test). For an input ``x`` (n elements, any shape), the
upstream gradient ``G`` (shaped like the output ``F``, M elements), the analytic gradient
``g = backward(G)`` for ``x`` (shaped like ``x``) and a direction ``u`` (shaped like ``x``)::

    d/dt <G, F(x + t u)> at t = 0   ==   <g, u>

The left side by central differences of ``phi(t) = <G, F(x + t u)>`` at a few steps, the
right side by one dot product: no element is perturbed alone, so the cost (twelve forward
calls, below) does not depend on n.

Error analysis (what the tolerance is made of)
----------------------------------------------
``F`` is a black box: nothing is known of its structure, so the bounds of
``gradcheck.engine.numeric`` (which apply the layer to absolute values) are not available.
What is known comes from F at points along ``u``.

Points. ``p_t = fl(x + t u)`` is rounded, so the step actually taken at h is ``w_h = (p_h -
p_-h) / 2h`` (h is a power of two and the subtraction of nearby floats is exact, Sterbenz,
except near zero where it rounds once), not ``u``; the analytic side uses the same: ``A(h) =
<g, w_h>``. The midpoints differ from x by at most u|x| (u = 2^-53): a second-order effect,
``|G| |F''| u |x|``, far below every other term.

Truncation (Richardson, Romberg). ``D(h) = sum(G (F(p_h) - F(p_-h))) / 2h = phi' + a h^2 +
b h^4 + ...`` (Taylor; a = phi'''/6, b = phi^(5)/120). Each estimate below is compared with
the same combination of the ``A(h)``, and its truncation error is estimated from the
discrepancies ``e(h) = D(h) - A(h)`` (in which a wrong g enters only through ``w_h - w_2h``,
of relative size u, so a bug cannot hide in its own error estimate):

- ``R(h) = (4 D(h) - D(2h)) / 3 = phi' - 4 b h^4 + O(h^6)``. From three steps h, 2h, 4h
  (Romberg) its error is ``|R(2h) - R(h)| / 15`` and that of ``R(2h)`` 16 times more;
  from two steps only (the fine pair) the screen charges ``|e(2h) - e(h)| / 3``, the error
  of ``D(h)``, far above that of ``R(h)``.
- ``D(4h)`` itself, with error ``(4/3) |e(4h) - e(2h)|``: the least rounding of all (the
  largest step, no extrapolation), so the most sensitive verdict for a function that is
  linear in x, where every truncation error is 0.

Each estimate's tolerance charges 3 times its truncation estimate (three, not one: the
model ``a h^2 + b h^4`` is only asymptotic). Kinks: a kink of phi at ``t0`` with ``h <= |t0|
< 2h`` (crossed by the fine pair's outer points only) moves the fine ``R`` by exactly its
truncation estimate, so it passes with a margin of 3; one closer to x than about h/2 fails
the screen, as a kink within the step fails the per-element check (tests/test_vjp_screen.py).

Rounding of F (estimated, not bounded). Each output ``F_r`` is computed with an error
``e_r`` that cannot be bounded from outside. It shows in the second difference at a tiny
step ``h0 = PROBE * s`` (two more forward calls): ``d2_r = F_r(h0) - 2 F_r(0) + F_r(-h0)``
is ``h0^2 F_r''`` (about u^2 |F_r''| s^2: nothing) plus the errors at three points with
weights 1, 2, 1, so ``E[d2_r^2] = 6 sigma_r^2`` for independent errors of variance
``sigma_r^2`` (the points differ in the last 22 bits of x, which decorrelates the
rounding). A kink at x adds only ``|slope jump| h0``, which the tolerance divides by h:
2^-13 of the jump at most, so a kink is not mistaken for rounding. Rounding errors of
different outputs are modelled as independent and of mean zero (the probabilistic
rounding-error analysis of Higham & Mary, *A new approach to probabilistic rounding error
analysis*, SIAM J. Sci. Comput. 41(5), 2019): ``D(h)`` then has the standard deviation
``sqrt(2 sum_r G_r^2 sigma_r^2) / 2h`` and ``R(h)`` ``sqrt(65/36)`` times it; the tolerance
charges ``LAMBDA = 6`` of them, with ``sigma_r`` at least ``2 u max_t |F_r(t)|`` (an output
carries at least its last rounding or two) so that an output whose difference is small by
chance does not make it 0. Outputs that share a rounded intermediate (softmax's sum, a
norm) round together, not independently: the second difference of phi itself, ``sum_r G_r
d2_r``, sees that, and when its square over 6 exceeds ``sum_r G_r^2 sigma_r^2`` it is used
instead.

Rounding of the sums. ``sum(G (F(p_h) - F(p_-h)))`` over M outputs and ``<g, w_h>`` over n
elements: ``(LAMBDA sqrt(M) + 2) u sum |terms|`` and ``(LAMBDA sqrt(n) + 2) u sum |terms|``
(Higham & Mary, Theorem 3.1, ``gamma~_n(LAMBDA) = LAMBDA sqrt(n) u`` to first order: exceeded
with probability at most ``n 2 exp(-LAMBDA^2 / 2)``, 3e-4 for n = 10,000, and in practice
far less: that bound assumes every rounding error as large as u), weighted as the estimate
combines the steps.

Not modelled: the rounding of ``backward`` itself. A backward that sums the same products as
the forward rounds like it, and its error reaches ``<g, u>`` undivided, whereas the
forward's reaches ``D(h)`` divided by h (2^-11 of the input's scale or less): it is smaller
by orders of magnitude. A backward computed in lower precision (float32) exceeds the
tolerance; the screen then fails and the per-element check, with its own ``rtol``, decides.

Steps, and which estimate decides. Powers of two times the input's scale ``s =
2^ceil(log2(max(1, max |x|)))``: the fine pair ``2^-17 s, 2^-16 s`` (``2^-17`` is about
``u^(1/3)``, the step of the per-element check; so small that a kink rarely lies within it)
and the middle triple ``2^-13 s, 2^-12 s, 2^-11 s`` (where, for a smooth function, the
rounding and the ``h^4`` error of ``R`` balance). Each estimate gives a discrepancy ``E =
numeric - analytic`` and a tolerance T. A wrong gradient shifts every discrepancy by the
same ``<J^T G - g, u>``; a kink crossed by the middle steps only (ReLU inputs or max-pool
windows closer than 2^-10 of the scale, common in a large layer) shifts theirs alone. So a
middle estimate is used only when it agrees with the fine one within its own tolerance and
the fine one's rounding, ``|E - E_fine| <= T + noise_fine + rounding_fine`` (not the fine
one's truncation estimate: that is ``D``'s, while ``R``'s at 2^-17 is about ``h^4``, nothing,
unless a kink lies within the fine step, and then the fine estimate is the one to trust),
and of the estimates that may be used the one with the smallest tolerance decides. A kink
at x itself (ReLU at 0, a tie in a max) shifts all alike: the screen fails, as the
per-element check does there. An estimate from a step at which some output is not finite
is not used.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

UNIT_ROUNDOFF = 2.0**-53
LAMBDA = 6.0  # standard deviations charged for rounding modelled as random (Higham & Mary)
TRUNCATION_SAFETY = 3.0  # times each estimate's truncation estimate
FINE = 2.0**-17  # the fine pair: FINE, 2 FINE (times the input's scale, a power of two)
MIDDLE = 2.0**-13  # the middle triple: MIDDLE, 2 MIDDLE, 4 MIDDLE
PROBE = 2.0**-30  # the step of the second difference that measures the rounding of F
FLOOR = 2.0  # sigma_r is at least FLOOR u max_t |F_r(t)|
R_NOISE = float(np.sqrt(65.0 / 36.0))  # R(h)'s rounding, in units of D(h)'s

Evaluate = Callable[[Sequence[np.ndarray]], list[np.ndarray]]


def scale(x: np.ndarray) -> float:
    """The input's scale as a power of two: ``2^ceil(log2(max(1, max |x|)))``."""
    largest = float(np.max(np.abs(x), initial=0.0))
    return float(2.0 ** np.ceil(np.log2(max(1.0, largest)))) if np.isfinite(largest) else 1.0


def default_steps(x: np.ndarray) -> tuple[float, ...]:
    """The screen's base steps for ``x``: the fine pair's and the middle triple's first step."""
    s = scale(x)
    return (FINE * s, MIDDLE * s)


def random_direction(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """A direction shaped like the input: random signs, magnitudes uniform in [1/4, 1] (never
    0, so an error in any one element moves ``<g, u>`` by at least a quarter of it)."""
    return rng.choice(np.array([-1.0, 1.0]), size=shape) * rng.uniform(0.25, 1.0, size=shape)


@dataclass
class Estimate:
    """One estimate of the directional derivative: ``numeric`` against ``analytic`` (scalars),
    and its tolerance with its parts (see the module docstring). ``label``: ``R(h)``,
    ``D(h)``; ``step``: its h. ``finite`` is False when some output it uses was not
    finite: then it gives no verdict (``tolerance`` is inf)."""

    label: str
    step: float
    numeric: float
    analytic: float
    truncation: float
    noise: float
    rounding: float
    finite: bool = True

    @property
    def tolerance(self) -> float:
        if not self.finite:
            return float("inf")
        return TRUNCATION_SAFETY * self.truncation + self.noise + self.rounding

    @property
    def discrepancy(self) -> float:
        """``numeric - analytic`` (signed)."""
        return self.numeric - self.analytic

    @property
    def error(self) -> float:
        return abs(self.numeric - self.analytic)

    @property
    def passed(self) -> bool:
        return self.finite and bool(self.error <= self.tolerance)  # NaN never passes


@dataclass
class Screen:
    """The screen of one direction: every estimate (the fine one first), the deciding one
    (``decided``), and ``forward_calls``."""

    estimates: list[Estimate]
    decided: Estimate
    forward_calls: int

    @property
    def passed(self) -> bool:
        return self.decided.passed

    @property
    def finite(self) -> bool:
        return any(estimate.finite for estimate in self.estimates)


@dataclass
class _Difference:
    """D(h), A(h), their rounding, and whether the outputs were finite."""

    step: float
    numeric: float
    analytic: float
    rounding: float
    finite: bool

    @property
    def discrepancy(self) -> float:
        return self.numeric - self.analytic


def ladder(steps: Sequence[float]) -> list[float]:
    """Every step evaluated: the fine pair ``h, 2h`` from ``steps[0]``, the triple ``h, 2h, 4h``
    from ``steps[1]`` (when given)."""
    out = [steps[0], 2 * steps[0]]
    if len(steps) > 1:
        out += [steps[1], 2 * steps[1], 4 * steps[1]]
    return out


def points(x: np.ndarray, direction: np.ndarray, steps: Sequence[float], probe: float) -> list[np.ndarray]:
    """The inputs a screen evaluates: ``x +- probe u``, then ``x + h u, x - h u`` for each step."""
    out = [x + probe * direction, x - probe * direction]
    for h in steps:
        out += [x + h * direction, x - h * direction]
    return out


def _difference(plus: np.ndarray, minus: np.ndarray, x_plus: np.ndarray, x_minus: np.ndarray,
                gradient: np.ndarray, upstream: np.ndarray, step: float) -> _Difference:
    if not (np.all(np.isfinite(plus)) and np.all(np.isfinite(minus))):
        return _Difference(step, float("nan"), float("nan"), float("nan"), False)
    terms = upstream * (plus - minus)
    products = gradient * ((x_plus - x_minus) / (2 * step))
    sums = (LAMBDA * np.sqrt(terms.size) + 2) * UNIT_ROUNDOFF * float(np.sum(np.abs(terms))) / (2 * step)
    dots = (LAMBDA * np.sqrt(products.size) + 2) * UNIT_ROUNDOFF * float(np.sum(np.abs(products)))
    return _Difference(step, float(np.sum(terms)) / (2 * step), float(np.sum(products)), float(sums + dots), True)


def _stack(base: np.ndarray, outputs: Sequence[np.ndarray]) -> np.ndarray | None:
    """``base`` and ``outputs`` as one float64 array (base first), when every one is a finite
    array of base's shape; else None (the screen then takes them one by one)."""
    if not all(type(out) is np.ndarray and out.shape == base.shape for out in outputs):
        return None
    stacked = np.stack([base, *outputs]).astype(np.float64, copy=False)
    return stacked if bool(np.isfinite(stacked).all()) else None


def _differences(outputs: np.ndarray, x_points: Sequence[np.ndarray], gradient: np.ndarray, upstream: np.ndarray,
                 steps: Sequence[float]) -> list[_Difference]:
    """:func:`_difference` of every step at once (the outputs stacked and finite): the same sums,
    each over its own row."""
    count = len(steps)
    doubled = 2 * np.asarray(steps, dtype=np.float64)
    plus, minus = outputs[2::2].reshape(count, -1), outputs[3::2].reshape(count, -1)
    xs = np.stack(x_points)
    x_plus, x_minus = xs[2::2].reshape(count, -1), xs[3::2].reshape(count, -1)
    terms = upstream.reshape(-1) * (plus - minus)
    products = gradient.reshape(-1) * ((x_plus - x_minus) / doubled[:, None])
    sums = (LAMBDA * np.sqrt(terms.shape[1]) + 2) * UNIT_ROUNDOFF * np.abs(terms).sum(axis=1)
    dots = (LAMBDA * np.sqrt(products.shape[1]) + 2) * UNIT_ROUNDOFF * np.abs(products).sum(axis=1)
    numeric, analytic = terms.sum(axis=1), products.sum(axis=1)
    return [_Difference(float(h), float(numeric[i]) / float(doubled[i]), float(analytic[i]),
                        float(sums[i]) / float(doubled[i]) + float(dots[i]), True) for i, h in enumerate(steps)]


def _richardson(label: str, first: _Difference, second: _Difference, truncation: float, noise: float) -> Estimate:
    """``(4 X(h) - X(2h)) / 3`` of two differences (numeric and analytic alike)."""
    finite = first.finite and second.finite and np.isfinite(truncation)
    return Estimate(label, first.step, (4 * first.numeric - second.numeric) / 3,
                    (4 * first.analytic - second.analytic) / 3, truncation, R_NOISE * noise / first.step,
                    4 / 3 * first.rounding + 1 / 3 * second.rounding, finite)


def estimates(differences: Sequence[_Difference], noise: float) -> list[Estimate]:
    """The estimates from the ladder's differences (fine pair, then middle triple) and the
    rounding of F, ``noise = LAMBDA sqrt(2 sum G^2 sigma^2) / 2`` (D(h)'s is ``noise / h``)."""
    fine1, fine2 = differences[0], differences[1]
    out = [_richardson("R(h)", fine1, fine2, abs(fine2.discrepancy - fine1.discrepancy) / 3, noise)]
    if len(differences) > 2:
        d1, d2, d4 = differences[2:5]
        r1 = (4 * d1.discrepancy - d2.discrepancy) / 3
        r2 = (4 * d2.discrepancy - d4.discrepancy) / 3
        romberg = abs(r2 - r1) / 15
        out.append(_richardson("R(h)", d1, d2, romberg, noise))
        out.append(_richardson("R(h)", d2, d4, 16 * romberg, noise))
        out.append(Estimate("D(h)", d4.step, d4.numeric, d4.analytic, 4 / 3 * abs(d4.discrepancy - d2.discrepancy),
                            noise / d4.step, d4.rounding, d4.finite and d2.finite))
    return out


def decide(candidates: Sequence[Estimate]) -> Estimate:
    """The deciding estimate: the smallest tolerance among the finite estimates that agree with
    the fine one (``candidates[0]``) within the sum of their tolerances (see the module
    docstring); the fine one when none is finite."""
    fine = candidates[0]
    usable = [
        c for c in candidates
        if c.finite and (not fine.finite or c is fine or abs(c.discrepancy - fine.discrepancy) <= c.tolerance
                         + fine.noise + fine.rounding)
    ]
    return min(usable, key=lambda c: c.tolerance) if usable else fine


def screen(evaluate: Evaluate, x: np.ndarray, direction: np.ndarray, gradient: np.ndarray, upstream: np.ndarray,
           base: np.ndarray, steps: Sequence[float], probe: float | None = None,
           floor: np.ndarray | float | None = None) -> Screen:
    """Screen ``gradient`` (g for x, shaped like x) along ``direction`` with ``base`` = F(x):
    ``steps`` is the fine step, then optionally the middle one (:func:`default_steps`). One
    call of ``evaluate`` (a list of inputs shaped like x -> their outputs): ``2 + 2 *
    len(ladder(steps))`` forward calls. ``floor`` (broadcast like F): a known lower bound of
    each output's rounding ``sigma_r`` (a forward whose rounding bound is known, as a layer
    spec's is): the second difference at the probe sees only rounding that differs between
    nearby points, and a forward whose rounding is shared by them (a mean subtracted, a
    normalisation) hides the rest from it."""
    probe = PROBE * scale(x) if probe is None else probe
    every = ladder(steps)
    x_points = points(x, direction, every, probe)
    outputs = evaluate(x_points)
    stacked = _stack(base, outputs)
    if stacked is not None:  # every output finite and shaped like base: the same numbers, computed at once
        sigma2 = (FLOOR * UNIT_ROUNDOFF * np.abs(stacked).max(axis=0)) ** 2
    else:
        finite = [np.abs(out) for out in (base, *outputs) if np.all(np.isfinite(out))]
        sigma2 = (FLOOR * UNIT_ROUNDOFF * np.maximum.reduce(finite)) ** 2 if finite else np.zeros(base.shape)
    if floor is not None:
        sigma2 = np.maximum(sigma2, np.broadcast_to(np.asarray(floor, dtype=np.float64), base.shape) ** 2)
    coherent = 0.0
    if stacked is not None or (np.all(np.isfinite(outputs[0])) and np.all(np.isfinite(outputs[1]))):
        d2 = (outputs[0] - base) - (base - outputs[1])
        sigma2 = np.maximum(sigma2, d2 * d2 / 6.0)
        coherent = float(np.sum(upstream * d2)) ** 2 / 6.0
    noise = LAMBDA * float(np.sqrt(2.0 * max(float(np.sum(upstream * upstream * sigma2)), coherent))) / 2.0
    if stacked is not None:
        differences = _differences(stacked[1:], x_points, gradient, upstream, every)
    else:
        differences = [
            _difference(outputs[2 + 2 * i], outputs[3 + 2 * i], x_points[2 + 2 * i], x_points[3 + 2 * i], gradient,
                        upstream, h)
            for i, h in enumerate(every)
        ]
    candidates = estimates(differences, noise)
    return Screen(candidates, decide(candidates), len(x_points))
